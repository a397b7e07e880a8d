"""Row-wise clip to a ball of radius `max_norm`, applied after every optimizer step."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfrec")
class UnitBallConstraint(keras.constraints.Constraint):
    """Rescales every row to norm <= `max_norm`: `w * c / max(||w||_2, c)` (rows inside untouched).

    This is CollMetric's `clip_by_norm` on axis 1, run after every update on *all* rows
    (spec cml.md §5). Keras 3 applies a variable's constraint right after each optimizer
    update, which is exactly that order. `keras.constraints.MaxNorm` is not a substitute: it
    normalises along axis 0 by default (columns) and adds an epsilon to the norm.

    Args:
        max_norm: the radius c.
    """

    rowwise = True  # acts on each row alone (see tfrec.training.optimizers._SparseRows)

    def __init__(self, max_norm: float = 1.0):
        if not max_norm > 0:
            raise ValueError(f"Received: `max_norm={max_norm}`. Expected a positive number.")
        self.max_norm = float(max_norm)

    def __call__(self, w):
        norms = ops.sqrt(ops.sum(ops.square(w), axis=-1, keepdims=True))
        return w * (self.max_norm / ops.maximum(norms, self.max_norm))

    def get_config(self):
        return {"max_norm": self.max_norm}
