"""Sparse Adagrad/SGD updates and touched-row constraints give the dense path's values."""

import keras
import numpy as np
import pytest

from tfrec.layers.unit_ball_constraint import UnitBallConstraint
from tfrec.models.mml import MML
from tfrec.training.optimizers import _dense
from tfrec.training.optimizers import make_optimizer

tensorflow_only = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="IndexedSlices gradients (the sparse path) exist on TensorFlow only",
)


class DenseAdagrad(keras.optimizers.Adagrad):
    """The reference: every gradient densified, constraints on whole variables (Keras)."""

    def apply(self, grads, trainable_variables=None):
        return super().apply([_dense(g) for g in grads], trainable_variables)


def mml_batches(num_users, num_items, steps, seed=0):
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(steps):
        users = rng.integers(0, num_users, 6)
        batches.append(
            {
                "user": users.astype("int32"),
                "positive": rng.integers(0, num_items, 6).astype("int32"),
                "negatives": rng.integers(0, num_items, (6, 1)).astype("int32"),
                "negative_users": rng.integers(0, num_users, (6, 1)).astype("int32"),
                "similar_users": rng.integers(0, num_users, 6).astype("int32"),
                "dissimilar_users": rng.integers(0, num_users, 6).astype("int32"),
                "has_similar_user": np.ones(6, "float32"),
                "similar_items": rng.integers(0, num_items, 6).astype("int32"),
                "dissimilar_items": rng.integers(0, num_items, 6).astype("int32"),
                "has_similar_item": np.ones(6, "float32"),
            }
        )
    return batches


def trained_mml(optimizer, batches, **options):
    keras.utils.set_random_seed(0)
    model = MML(40, 30, 32, push_terms="separate", covariance_rows="batch", **options)
    model.compile(optimizer=optimizer)
    for batch in batches:
        model.train_on_batch(batch)
    return model


@tensorflow_only
@pytest.mark.parametrize("margin_regularizer", ["paper_full_mean", "sml_batch_mean"])
def test_sparse_adagrad_matches_dense(margin_regularizer):
    batches = mml_batches(40, 30, 6)
    # The paper's initial vectors (norm about 1.6) start outside the unit ball: the first
    # step clips every row, later steps only the touched ones; the values must not differ.
    options = {"initialization": "paper_uniform", "margin_regularizer": margin_regularizer}
    sparse = trained_mml(make_optimizer("adagrad", 0.05), batches, **options)
    reference = DenseAdagrad(0.05, initial_accumulator_value=0.1, epsilon=1e-12)
    dense = trained_mml(reference, batches, **options)
    for a, b in zip(sparse.weights, dense.weights, strict=True):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), atol=1e-6, err_msg=a.path
        )
    # Users never in a batch were clipped at the first step and no other way: from norm
    # about 1.6 (k = 32) to exactly 1.
    touched = {int(u) for batch in batches for key in ("user", "negative_users",
               "similar_users", "dissimilar_users") for u in np.ravel(batch[key])}  # fmt: skip
    untouched = sorted(set(range(40)) - touched)
    assert untouched
    norms = np.linalg.norm(keras.ops.convert_to_numpy(sparse.user_embedding.embeddings), axis=1)
    np.testing.assert_allclose(norms[untouched], 1.0, rtol=1e-5)
    assert norms.max() <= 1.0 + 1e-5


@tensorflow_only
def test_the_sparse_path_is_taken():
    # A table's gradient is IndexedSlices and its constraint is row-wise: after the first
    # step the constraint is applied to the touched rows only. A row moved outside the
    # ball by hand (not by a gradient) stays there, which the dense path would clip.
    batches = mml_batches(40, 30, 2)
    model = trained_mml(make_optimizer("adagrad", 0.05), batches[:1], initialization="normal")
    untouched = sorted(set(range(30)) - {int(i) for b in batches[1:] for key in
                       ("positive", "negatives", "similar_items", "dissimilar_items")
                       for i in np.ravel(b[key])})  # fmt: skip
    row = untouched[0]
    table = keras.ops.convert_to_numpy(model.item_embedding.embeddings).copy()
    table[row] = 3.0
    model.item_embedding.embeddings.assign(table)
    for batch in batches[1:]:
        model.train_on_batch(batch)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model.item_embedding.embeddings)[row], 3.0
    )
    assert getattr(UnitBallConstraint(), "rowwise", False)


@tensorflow_only
def test_sgd_with_momentum_still_densifies():
    # Momentum moves untouched rows (their velocity decays), so SGD with momentum must stay
    # dense; without momentum the touched-row path applies.
    batches = mml_batches(40, 30, 3)
    with_momentum = trained_mml(make_optimizer("sgd", 0.05, momentum=0.9), batches,
                                initialization="normal")  # fmt: skip
    reference = trained_mml(
        type("DenseSGD", (keras.optimizers.SGD,), {
            "apply": lambda self, g, v=None: keras.optimizers.SGD.apply(
                self, [_dense(x) for x in g], v)})(0.05, momentum=0.9),
        batches,
        initialization="normal",
    )  # fmt: skip
    for a, b in zip(with_momentum.weights, reference.weights, strict=True):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), atol=1e-6
        )
