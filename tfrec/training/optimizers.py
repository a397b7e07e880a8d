"""Optimizers with the numerical constants and update semantics of the authors' TF1 code."""

from __future__ import annotations

import keras

OPTIMIZERS = ("adam", "adagrad", "sgd")


class _DenseGradients:
    """Applies embedding gradients densely, as TF1 and the JAX backend do.

    On the TensorFlow backend the gradient of an embedding lookup is a `tf.IndexedSlices`,
    and Keras 3 then updates Adam's moments only on the rows in the batch ("lazy Adam").
    TF1's `AdamOptimizer` decays the moments of *every* row at every step, and so does the
    JAX backend (its gradients are dense). Densifying here makes TensorFlow match both; it
    changes nothing for Adagrad or SGD, whose update of an untouched row is zero either way.
    tests/models/test_backend_equivalence.py checks TF and JAX train identically.
    """

    def apply(self, grads, trainable_variables=None):
        return super().apply([_dense(g) for g in grads], trainable_variables)


def _dense(gradient):
    if type(gradient).__name__ != "IndexedSlices":
        return gradient
    import tensorflow as tf  # IndexedSlices only exist on the TensorFlow backend.

    # Sums the rows of repeated indices, like TF1's dense accumulation of gathered rows.
    return tf.convert_to_tensor(gradient)


@keras.saving.register_keras_serializable(package="tfrec")
class Adam(_DenseGradients, keras.optimizers.Adam):
    """`keras.optimizers.Adam` with dense (TF1-style, non-lazy) updates of embedding tables."""


@keras.saving.register_keras_serializable(package="tfrec")
class Adagrad(_DenseGradients, keras.optimizers.Adagrad):
    """`keras.optimizers.Adagrad` with dense updates (identical values, one code path)."""


@keras.saving.register_keras_serializable(package="tfrec")
class SGD(_DenseGradients, keras.optimizers.SGD):
    """`keras.optimizers.SGD`; dense updates only with momentum (where they differ).

    Without momentum a row's update is `-lr * (its summed gradient)` either way, so the
    sparse (`tf.IndexedSlices`) gradients are applied as they are: densifying them would
    write every row of every table at every step (ACF with `SparseReadEmbedding` tables:
    a step then no longer depends on the table sizes).
    """

    def apply(self, grads, trainable_variables=None):
        if self.momentum:
            return super().apply(grads, trainable_variables)
        return keras.optimizers.SGD.apply(self, grads, trainable_variables)


def make_optimizer(name: str, learning_rate: float, **kwargs) -> keras.optimizers.Optimizer:
    """Returns an optimizer configured like its TF1 counterpart.

    - `"adam"`: TF1 `AdamOptimizer` uses epsilon 1e-8 (Keras 3 defaults to 1e-7); the
      bias-corrected update is otherwise the same (spec maml.md §7).
    - `"adagrad"`: TF1 `AdagradOptimizer` starts the accumulator at 0.1 and has no epsilon;
      Keras 3 adds epsilon inside the square root, so it is set to 1e-12 (spec cml.md §7).
      NAIS/FISM use an initial accumulator of 1e-8: pass `initial_accumulator_value`.
    - `"sgd"`: plain gradient descent (ACF §5.1).

    Adam and Adagrad apply embedding gradients densely (see `_DenseGradients`), SGD only
    with momentum (see `SGD`). Extra keyword arguments override these constants.
    """
    if name == "adam":
        return Adam(learning_rate, **{"epsilon": 1e-8, **kwargs})
    if name == "adagrad":
        options = {"initial_accumulator_value": 0.1, "epsilon": 1e-12, **kwargs}
        return Adagrad(learning_rate, **options)
    if name == "sgd":
        return SGD(learning_rate, **kwargs)
    raise ValueError(f"Received: `optimizer={name!r}`. Expected one of {OPTIMIZERS}.")
