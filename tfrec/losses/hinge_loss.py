"""Metric-learning hinge loss over one positive and W sampled negatives."""

from __future__ import annotations

import keras
from keras import ops

HINGE_NEGATIVES = ("closest", "all_sum")


@keras.saving.register_keras_serializable(package="tfrec")
class HingeLoss(keras.losses.Loss):
    """Hinge `[m + d(u, i) - d(u, k)]_+` on scores `s = -d` (column 0 = the positive).

    - `negative="closest"` (default; CollMetric/MAML code, spec cml.md §3.1): one hinge per
      pair with the *closest* of the W sampled negatives, `[m - s_0 + max_w s_w]_+`.
    - `negative="all_sum"` (CML paper Eq. 3 / MAML paper Eq. 6): `sum_w [m - s_0 + s_w]_+`.

    Per-pair weights (the WARP weights) come in as `sample_weight`. The authors' code sums
    over the batch, so `reduction="sum"` is what CML and MAML use.

    Written here rather than taken from keras-rs: `keras_rs.losses.PairwiseHingeLoss` has a
    fixed margin of 1 and no closest-negative form.

    Args:
        margin: m.
        negative: `"closest"` or `"all_sum"`.
        reduction, name, dtype: as `keras.losses.Loss`.

    Call arguments:
        y_true: `[B, 1 + W]` labels, 1 in column 0 (the positive) and 0 elsewhere; only
            the layout is used (the positive is column 0 by construction).
        y_pred: `[B, 1 + W]` scores (negated squared distances).
        sample_weight: optional `[B]` weights.
    """

    def __init__(self, margin: float = 1.0, negative: str = "closest", reduction="sum", **kwargs):
        super().__init__(reduction=reduction, **kwargs)
        if negative not in HINGE_NEGATIVES:
            raise ValueError(
                f"Received: `negative={negative!r}`. Expected one of {HINGE_NEGATIVES}."
            )
        self.margin = float(margin)
        self.negative = negative

    def call(self, y_true, y_pred):
        positive, negatives = y_pred[:, 0], y_pred[:, 1:]
        if self.negative == "closest":
            return ops.relu(self.margin - positive + ops.max(negatives, axis=-1))
        return ops.sum(ops.relu(self.margin - positive[:, None] + negatives), axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update({"margin": self.margin, "negative": self.negative})
        return config
