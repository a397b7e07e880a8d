"""NAIS's smoothed softmax: exp(a_i) / (sum_i' exp(a_i'))^beta over the unmasked entries."""

from __future__ import annotations

import keras
from keras import ops

# Scores of masked entries are replaced by this before any exp (a finite value, so that
# no inf or NaN reaches the gradient of the branch `where` discards).
MASKED_SCORE = -1e9


@keras.saving.register_keras_serializable(package="tfrec")
class SmoothedSoftmax(keras.layers.Layer):
    """Attention weights `exp(a_i) / (sum_(i' unmasked) exp(a_i'))^beta`, zero where masked.

    NAIS (He et al., TKDE 2018, Eq. 15; NAIS code `_attention_MLP`, spec iris.md §3): with
    beta = 1 this is the softmax; beta < 1 shrinks the denominator so that users with long
    histories are not penalised (the weights then sum to more than 1). IRIS (Lv et al.
    2019, Eq. 4) re-uses it with beta = 0.8.

    The authors' code computes `exp(a)` directly; here the same value is computed in log
    space, `exp(a_i - beta * logsumexp_masked(a))` (spec iris.md §8), which is exact and does
    not overflow for large scores. Masked entries get weight 0 and take no part in the
    denominator; a row with every entry masked gets all-zero weights (the authors' code
    would divide 0 by 0 there).

    Args:
        beta: the smoothing exponent (NAIS code default 0.5; IRIS 0.8). Must be >= 0.

    Call arguments:
        scores: `[..., L]` attention logits a.
        mask: optional `[..., L]` bool or 0/1 mask (broadcastable to `scores`); True/1 marks
            a real entry, False/0 padding. Default: nothing masked.

    Returns:
        `[..., L]` weights (the shape of `scores` broadcast with `mask`).

    Example:

    >>> SmoothedSoftmax(beta=0.5)(np.log([[1.0, 3.0, 5.0]]), np.array([[1, 1, 0]]))
    [[0.5, 1.5, 0.0]]  # 1 / sqrt(4), 3 / sqrt(4), masked
    """

    def __init__(self, beta: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        beta = float(beta)
        if not beta >= 0.0:
            raise ValueError(f"Received: `beta={beta}`. Expected a float >= 0.")
        self.beta = beta

    def call(self, scores, mask=None):
        if mask is None:
            mask = ops.ones_like(scores, dtype="bool")
        mask = ops.cast(mask, scores.dtype)
        # Broadcast both to the common shape.
        scores, mask = scores + ops.zeros_like(mask), mask + ops.zeros_like(scores)
        mask = mask > 0.0
        filled = ops.where(mask, scores, MASKED_SCORE)
        top = ops.stop_gradient(ops.max(filled, axis=-1, keepdims=True))
        shifted = filled - top
        total = ops.sum(ops.where(mask, ops.exp(shifted), 0.0), axis=-1, keepdims=True)
        has_entries = total > 0.0
        # A fully masked row: any finite values work, its weights are zeroed below.
        top = ops.where(has_entries, top, 0.0)
        log_total = ops.log(ops.where(has_entries, total, 1.0))
        # a - beta * logsumexp(a) = (a - top) + (1 - beta) * top - beta * log(total), with
        # the large terms apart so that beta = 1 is exactly the (max-shifted) softmax.
        exponent = shifted + (1.0 - self.beta) * top - self.beta * log_total
        return ops.where(mask, ops.exp(exponent), 0.0)

    def get_config(self):
        config = super().get_config()
        config.update({"beta": self.beta})
        return config
