"""SparseReadEmbedding: Keras Embedding's values and gradients, read sparsely on TensorFlow."""

import keras
import numpy as np

from tfrec.layers import SparseReadEmbedding
from tfrec.training import make_optimizer


def pair(rows=6, dim=3):
    plain = keras.layers.Embedding(rows, dim)
    sparse = SparseReadEmbedding(rows, dim)
    plain.build((None,))
    sparse.build((None,))
    table = np.arange(rows * dim, dtype=np.float32).reshape(rows, dim) / 7.0
    plain.embeddings.assign(table)
    sparse.embeddings.assign(table)
    return plain, sparse, table


def test_lookups_equal_keras_embedding():
    plain, sparse, table = pair()
    ids = np.array([[0, 5, 5], [2, 1, 0]], np.int32)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(sparse(ids)), table[ids])
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(sparse(ids)), keras.ops.convert_to_numpy(plain(ids))
    )
    assert SparseReadEmbedding.from_config(sparse.get_config()).input_dim == 6


def test_sgd_steps_equal_the_dense_update_with_repeated_ids():
    """Two SGD steps through each layer (ids repeat within the batch, so rows get summed
    gradients): the tables stay equal, whatever the gradients' representation."""
    plain, sparse, _ = pair()
    densified, _, _ = pair()  # gradients made dense before the update (the momentum path)
    ids = np.array([1, 1, 4, 0, 4, 4], np.int32)
    target = np.linspace(-1.0, 1.0, 18, dtype=np.float32).reshape(6, 3)
    for layer in (plain, sparse, densified):
        optimizer = make_optimizer("sgd", 0.1)
        for _ in range(2):
            if keras.backend.backend() == "tensorflow":
                import tensorflow as tf

                with tf.GradientTape() as tape:
                    loss = keras.ops.sum(keras.ops.square(layer(ids) - target))
                gradients = tape.gradient(loss, layer.trainable_variables)
                if layer is sparse:  # the sparse read gives a row-sparse gradient
                    assert isinstance(gradients[0], tf.IndexedSlices)
                if layer is densified:
                    gradients = [tf.convert_to_tensor(g) for g in gradients]
                optimizer.apply(gradients, layer.trainable_variables)
            else:
                import jax

                def loss_fn(table, layer=layer):
                    return jax.numpy.sum(jax.numpy.square(table[ids] - target))

                gradient = jax.grad(loss_fn)(layer.embeddings.value)
                optimizer.apply([gradient], layer.trainable_variables)
    for other in (plain, densified):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(sparse.embeddings),
            keras.ops.convert_to_numpy(other.embeddings),
            rtol=1e-6,
            atol=1e-7,
        )
    # Rows 2, 3 and 5 were never looked up: untouched.
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(sparse.embeddings)[[2, 3, 5]], pair()[2][[2, 3, 5]]
    )
