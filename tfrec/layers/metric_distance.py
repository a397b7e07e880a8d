"""Squared Euclidean distance between users and items, optionally weighted per dimension."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfrec")
class MetricDistance(keras.layers.Layer):
    """Squared Euclidean distance `sum_l w_l (a_l - b_l)^2` over the last axis.

    CML (Hsieh et al., WWW'17) and MAML (Liu et al., MM'19, Eq. 5) measure user-item
    distance with the *squared* Euclidean norm; the authors' code never takes the square
    root (spec cml.md §2). MAML weights each dimension with the attention vector alpha(u, i),
    passed as `dimension_weights`.

    Two call forms:
    - `layer(a, b)`: element-wise over broadcast shapes, e.g. users `[B, 1, d]` against
      negatives `[B, W, d]` -> `[B, W]`.
    - `layer.pairwise(a, b)`: every row of `a` `[n, d]` against every row of `b` `[m, d]`
      -> `[n, m]`, computed as `|a|^2 - 2 a b^T + |b|^2` (one matrix product; used to score
      the whole catalogue). Clamped at 0 against rounding.

    Call arguments:
        a, b: tensors of the same last dimension `d`, broadcastable.
        dimension_weights: optional tensor broadcastable to `a - b` (e.g. `[B, d]`).

    Example:
    >>> layer = MetricDistance()
    >>> layer(ops.array([[0.0, 1.0]]), ops.array([[3.0, 5.0]]))  # 9 + 16
    [25.0]
    """

    def call(self, a, b, dimension_weights=None):
        squared_difference = ops.square(ops.subtract(a, b))
        if dimension_weights is not None:
            squared_difference = ops.multiply(squared_difference, dimension_weights)
        return ops.sum(squared_difference, axis=-1)

    def pairwise(self, a, b):
        a_norms = ops.sum(ops.square(a), axis=-1, keepdims=True)
        b_norms = ops.sum(ops.square(b), axis=-1)
        cross = ops.matmul(a, ops.transpose(b))
        return ops.maximum(a_norms - 2.0 * cross + b_norms[None, :], 0.0)

    def compute_output_shape(self, a_shape, b_shape=None, dimension_weights_shape=None):
        return tuple(a_shape[:-1])
