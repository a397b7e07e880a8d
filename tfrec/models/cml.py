"""CML: collaborative metric learning (Hsieh et al., WWW'17), as the authors' code trains it."""

from __future__ import annotations

import math

import keras
from keras import ops

from tfrec.layers.covariance_regularizer import COVARIANCE_ROWS
from tfrec.layers.covariance_regularizer import CovarianceRegularizer
from tfrec.layers.metric_distance import MetricDistance
from tfrec.layers.warp_weight import WarpWeight
from tfrec.losses.hinge_loss import HingeLoss
from tfrec.models.embedding_model import EmbeddingModel


@keras.saving.register_keras_serializable(package="tfrec")
class CML(EmbeddingModel):
    """Collaborative metric learning with WARP weights and a covariance penalty.

    Defaults follow the CollMetric code (spec cml.md): squared Euclidean distances; a hinge
    on the closest of W sampled negatives, weighted by `ln(1 + J * violators / W)` without
    gradient; the loss summed over the batch; the signed off-diagonal covariance sum over
    all item and user rows; every row clipped to the unit ball after every step;
    embeddings initialised from N(0, 1/d). The MAML paper's CML baseline (Office: d = 64,
    m = 1.6, W = 4, lambda_c = 1, Adam lr 1e-3) is the `maml-office` preset.

    Args:
        num_users, num_items: sizes of the id spaces.
        embedding_dim: d.
        margin: hinge margin m.
        clip_norm: radius of the ball every row is clipped to.
        rank_weight: `"warp_parallel"` (code), `"warp_floor"` or `"none"`.
        hinge_negative: `"closest"` (code) or `"all_sum"` (paper Eq. 3).
        covariance_weight: lambda_c; 0 disables the term (CollMetric's `use_cov_loss=False`).
        covariance_form: `"code_signed_offdiag_sum"` (code), `"squared_offdiag"`,
            `"paper_literal"`.
        covariance_rows: `"all"` item and user rows every step (code) or `"batch"` (the
            batch's user and positive item rows [INFER]: on tables of millions of rows
            the full covariance costs more than the rest of the step).

    Example:
    >>> model = CML(num_users=100, num_items=50, embedding_dim=16)
    >>> model.compile(optimizer=keras.optimizers.Adam(1e-3, epsilon=1e-8))
    >>> model.fit(sampler_dataset, epochs=10)  # batches from tfrec.sampling
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        embedding_dim: int = 64,
        margin: float = 1.6,
        clip_norm: float = 1.0,
        rank_weight: str = "warp_parallel",
        hinge_negative: str = "closest",
        covariance_weight: float = 1.0,
        covariance_form: str = "code_signed_offdiag_sum",
        covariance_rows: str = "all",
        **kwargs,
    ):
        super().__init__(num_users, num_items, embedding_dim, **kwargs)
        self.margin = float(margin)
        self.clip_norm = float(clip_norm)
        self.rank_weight = rank_weight
        self.hinge_negative = hinge_negative
        self.covariance_weight = float(covariance_weight)
        self.covariance_form = covariance_form
        if covariance_rows not in COVARIANCE_ROWS:
            raise ValueError(
                f"Received: `covariance_rows={covariance_rows!r}`. Expected one of "
                f"{COVARIANCE_ROWS}."
            )
        self.covariance_rows = covariance_rows

        # CollMetric: tf.random_normal(stddev=1/sqrt(d)), plain (not truncated) normal.
        def initializer():
            return keras.initializers.RandomNormal(stddev=1.0 / math.sqrt(embedding_dim))

        self.add_unit_ball_tables(initializer, clip_norm)
        self.distance = MetricDistance(name="distance")
        self.warp_weight = WarpWeight(self.num_items, margin, rank_weight, name="warp_weight")
        self.hinge = HingeLoss(margin, hinge_negative, reduction="sum", name="hinge")
        self.covariance = CovarianceRegularizer(covariance_weight, covariance_form)
        self.build()  # The tables exist from construction on (scoring, export, saving).

    def score_candidates(self, user_ids, item_ids):
        users = ops.expand_dims(self.user_embedding(user_ids), -2)
        return -self.distance(users, self.item_embedding(item_ids))

    def score_users(self, user_ids):
        users = self.user_embedding(user_ids)
        return -self.distance.pairwise(users, self.item_embedding.embeddings)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        distances = -y_pred
        weights = self.warp_weight(distances[:, 0], distances[:, 1:])
        loss = self.hinge(self.candidate_labels(y_pred), y_pred, sample_weight=weights)
        if self.covariance_weight:
            if self.covariance_rows == "all":
                # CollMetric: concat(item rows, user rows), all of them, every step.
                rows = ops.concatenate(
                    [self.item_embedding.embeddings, self.user_embedding.embeddings], axis=0
                )
            else:
                rows = ops.concatenate(
                    [self.item_embedding(x["positive"]), self.user_embedding(x["user"])], axis=0
                )
            loss = loss + self.covariance(rows)
        return self.with_added_losses(loss)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "margin": self.margin,
                "clip_norm": self.clip_norm,
                "rank_weight": self.rank_weight,
                "hinge_negative": self.hinge_negative,
                "covariance_weight": self.covariance_weight,
                "covariance_form": self.covariance_form,
                "covariance_rows": self.covariance_rows,
            }
        )
        return config
