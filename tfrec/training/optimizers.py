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


def _is_sparse(gradient) -> bool:
    return type(gradient).__name__ == "IndexedSlices"


def _dense(gradient):
    if not _is_sparse(gradient):
        return gradient
    import tensorflow as tf  # IndexedSlices only exist on the TensorFlow backend.

    # Sums the rows of repeated indices, like TF1's dense accumulation of gathered rows.
    return tf.convert_to_tensor(gradient)


@keras.saving.register_keras_serializable(package="tfrec")
class Adam(_DenseGradients, keras.optimizers.Adam):
    """`keras.optimizers.Adam` with dense (TF1-style, non-lazy) updates of embedding tables."""


class _SparseRows:
    """Applies `tf.IndexedSlices` gradients to the rows they touch, constraints included.

    For optimizers whose update of a row with zero gradient is zero (Adagrad, plain SGD),
    a sparse update gives the values of the dense one. Keras 3 still applies a variable's
    constraint to the *whole* variable after every step, which on a table of millions of
    rows costs more than the step itself (MML at the size of its paper's Table 9: 8M x 32
    rows clipped to the unit ball at every step). A constraint that acts on each row alone
    (`rowwise = True`: `UnitBallConstraint`, `MarginClip`) is applied here to the rows the
    step touched, except at the first step, where it is applied to every row (rows may
    start outside the constraint, e.g. MML's initial vectors outside the unit ball); rows
    a step does not touch do not change, so they stay as the last full pass left them, and
    the values equal those of the dense path. Other backends have dense gradients and use
    the Keras path unchanged.
    """

    def apply(self, grads, trainable_variables=None):
        if trainable_variables is None:
            return super().apply(grads, trainable_variables)
        grads, trainable_variables = list(grads), list(trainable_variables)
        touched = [
            (gradient, variable)
            for gradient, variable in zip(grads, trainable_variables, strict=True)
            if _is_sparse(gradient) and getattr(variable.constraint, "rowwise", False)
        ]
        if not touched:
            return super().apply(grads, trainable_variables)
        import tensorflow as tf  # IndexedSlices only exist on the TensorFlow backend.

        constraints = [variable.constraint for _, variable in touched]
        for _, variable in touched:
            variable.constraint = None
        try:
            result = super().apply(grads, trainable_variables)
        finally:
            for (_, variable), constraint in zip(touched, constraints, strict=True):
                variable.constraint = constraint
        first_step = tf.equal(self.iterations, 1)  # `apply` has counted this step
        for (gradient, variable), constraint in zip(touched, constraints, strict=True):
            rows, _ = tf.unique(gradient.indices)

            def everywhere(variable=variable, constraint=constraint):
                variable.assign(constraint(variable.value))
                return tf.constant(0)

            def on_rows(variable=variable, constraint=constraint, rows=rows):
                values = constraint(tf.gather(variable.value, rows))
                variable.value.scatter_update(tf.IndexedSlices(values, rows))
                return tf.constant(0)

            tf.cond(first_step, everywhere, on_rows)
        return result


@keras.saving.register_keras_serializable(package="tfrec")
class Adagrad(_SparseRows, keras.optimizers.Adagrad):
    """`keras.optimizers.Adagrad`, with sparse gradients applied to the rows they touch.

    Adagrad leaves a row with zero gradient unchanged (its accumulator gains 0), so the
    rows of a `tf.IndexedSlices` gradient are updated alone: the values are those of the
    dense update, and a step no longer reads and writes every row of every table (the
    square root over the whole accumulator of Keras's update included). Repeated indices
    are summed first, as the dense gradient sums them.
    """

    def update_step(self, gradient, variable, learning_rate):
        if not _is_sparse(gradient):
            return super().update_step(gradient, variable, learning_rate)
        import tensorflow as tf

        rows, position = tf.unique(gradient.indices)
        values = tf.math.unsorted_segment_sum(
            tf.cast(gradient.values, variable.dtype), position, tf.shape(rows)[0]
        )
        accumulator = self._accumulators[self._get_variable_index(variable)]
        self.assign_add(accumulator, tf.IndexedSlices(tf.square(values), rows))
        scale = tf.sqrt(tf.gather(accumulator.value, rows) + self.epsilon)
        step = tf.cast(learning_rate, variable.dtype) * values / scale
        self.assign_sub(variable, tf.IndexedSlices(step, rows))


@keras.saving.register_keras_serializable(package="tfrec")
class SGD(_SparseRows, keras.optimizers.SGD):
    """`keras.optimizers.SGD`; dense updates only with momentum (where they differ).

    Without momentum a row's update is `-lr * (its summed gradient)` either way, so the
    sparse (`tf.IndexedSlices`) gradients are applied as they are: densifying them would
    write every row of every table at every step (ACF with `SparseReadEmbedding` tables:
    a step then no longer depends on the table sizes).
    """

    def apply(self, grads, trainable_variables=None):
        if self.momentum:
            grads = [_dense(gradient) for gradient in grads]
        return super().apply(grads, trainable_variables)


def make_optimizer(name: str, learning_rate: float, **kwargs) -> keras.optimizers.Optimizer:
    """Returns an optimizer configured like its TF1 counterpart.

    - `"adam"`: TF1 `AdamOptimizer` uses epsilon 1e-8 (Keras 3 defaults to 1e-7); the
      bias-corrected update is otherwise the same (spec maml.md §7).
    - `"adagrad"`: TF1 `AdagradOptimizer` starts the accumulator at 0.1 and has no epsilon;
      Keras 3 adds epsilon inside the square root, so it is set to 1e-12 (spec cml.md §7).
      NAIS/FISM use an initial accumulator of 1e-8: pass `initial_accumulator_value`.
    - `"sgd"`: plain gradient descent (ACF §5.1).

    Adam applies embedding gradients densely (see `_DenseGradients`), SGD only with
    momentum (see `SGD`); Adagrad and SGD without momentum update the touched rows alone
    (see `_SparseRows`). Extra keyword arguments override these constants.
    """
    if name == "adam":
        return Adam(learning_rate, **{"epsilon": 1e-8, **kwargs})
    if name == "adagrad":
        options = {"initial_accumulator_value": 0.1, "epsilon": 1e-12, **kwargs}
        return Adagrad(learning_rate, **options)
    if name == "sgd":
        return SGD(learning_rate, **kwargs)
    raise ValueError(f"Received: `optimizer={name!r}`. Expected one of {OPTIMIZERS}.")
