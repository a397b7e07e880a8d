"""WARP rank weight of CML: ln(1 + J * violators / W), without gradient."""

from __future__ import annotations

import keras
from keras import ops

RANK_WEIGHTS = ("warp_parallel", "warp_floor", "none")


@keras.saving.register_keras_serializable(package="tfrec")
class WarpWeight(keras.layers.Layer):
    """Rank-based weight of each (user, positive) pair from W sampled negatives.

    The CollMetric code (spec cml.md §3.1) estimates the rank of the positive item as
    `r = J * (1/W) * sum_w 1[d(u, i) - d(u, k_w) + margin > 0]`: a sampled negative counts
    as an impostor when it violates the *margin*, not merely when it is closer. The weight is
    `ln(1 + r)` (natural log), with no floor, and no gradient flows through it (the code
    builds it from a boolean indicator).

    Args:
        num_items: J, the number of items in the catalogue.
        margin: the hinge margin m.
        mode: `"warp_parallel"` (default; the authors' code), `"warp_floor"` (the WARP
            paper's `ln(1 + floor(r))`), or `"none"` (weight 1 for every pair).

    Call arguments:
        positive_distances: `[B]` squared distances d(u, i).
        negative_distances: `[B, W]` squared distances d(u, k_w).

    Returns:
        `[B]` weights (stop-gradient).
    """

    def __init__(self, num_items: int, margin: float, mode: str = "warp_parallel", **kwargs):
        super().__init__(**kwargs)
        if mode not in RANK_WEIGHTS:
            raise ValueError(f"Received: `mode={mode!r}`. Expected one of {RANK_WEIGHTS}.")
        if int(num_items) < 1:
            raise ValueError(f"Received: `num_items={num_items}`. Expected an integer >= 1.")
        self.num_items = int(num_items)
        self.margin = float(margin)
        self.mode = mode

    def call(self, positive_distances, negative_distances):
        if self.mode == "none":
            return ops.ones_like(positive_distances)
        violations = positive_distances[:, None] - negative_distances + self.margin > 0
        violation_rate = ops.mean(ops.cast(violations, positive_distances.dtype), axis=-1)
        rank = self.num_items * violation_rate
        if self.mode == "warp_floor":
            rank = ops.floor(rank)
        return ops.stop_gradient(ops.log(rank + 1.0))

    def get_config(self):
        config = super().get_config()
        config.update({"num_items": self.num_items, "margin": self.margin, "mode": self.mode})
        return config
