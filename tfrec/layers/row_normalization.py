"""Row L2 normalisation exactly as TF1's `tf.nn.l2_normalize` (epsilon inside the root)."""

from __future__ import annotations

from keras import ops

EPSILON = 1e-12


def l2_normalize_rows(x, squared_norm=None):
    """`x / sqrt(max(sum(x^2), 1e-12))` over the last axis (TF1 `l2_normalize`).

    `squared_norm` may be passed when it is known more cheaply than from `x` (e.g. the norm
    of a concatenation from the norms of its parts). Written out rather than taken from
    `keras.ops.normalize`, whose epsilon convention differs from TF1's.
    """
    if squared_norm is None:
        squared_norm = ops.sum(ops.square(x), axis=-1, keepdims=True)
    return x * ops.rsqrt(ops.maximum(squared_norm, EPSILON))
