"""SML: symmetric metric learning with adaptive margins (Li et al., AAAI 2020), the MML
paper's adaptive-margin baseline, as its authors' code computes it (spec
bpr_and_baselines.md §6, `MingmingLie/SML` SML.py)."""

from __future__ import annotations

import math

import keras
from keras import ops

from tfrec.layers.metric_distance import MetricDistance
from tfrec.models.embedding_model import EmbeddingModel
from tfrec.models.mml import MarginClip


@keras.saving.register_keras_serializable(package="tfrec")
class SML(EmbeddingModel):
    """Squared-Euclidean metric learning with per-user and per-item trainable margins.

    For a batch of (u, i, j) triples (one negative j per positive i, `NegativeSampler`):

        L = sum [d(u,i) - d(u,j) + m_u]_+ + lambda * sum [d(u,i) - d(i,j) + n_i]_+
            - gamma * (mean_batch m_u + mean_batch n_i)

    with d the squared Euclidean distance, the first hinge user-centric (the user must be
    closer to i than to j) and the second item-centric (i must be closer to u than to j).
    Margins start at 1.0 and are clipped to [0, 1] after every step, as are user and item
    rows to the unit ball. Scores are `-d(u, i)`.

    Deviations [INFER]: the SML code draws a negative from a fixed per-user pool of up to
    500 non-interacted items; here negatives are uniform over the user's non-interacted
    items (the sampler every model here shares); embeddings start as CML's N(0, 1/d).

    Args:
        num_users, num_items: sizes of the id spaces.
        embedding_dim: d (SML code: 100; the MML tables use 32 for every embedding model).
        item_weight: lambda (code: 0.01).
        margin_weight: gamma (code: 10).
        initial_margin: start of every margin (code: 1.0).
        clip_norm: unit-ball radius.
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        embedding_dim: int = 100,
        item_weight: float = 0.01,
        margin_weight: float = 10.0,
        initial_margin: float = 1.0,
        clip_norm: float = 1.0,
        **kwargs,
    ):
        super().__init__(num_users, num_items, embedding_dim, **kwargs)
        self.item_weight = float(item_weight)
        self.margin_weight = float(margin_weight)
        self.initial_margin = float(initial_margin)
        self.clip_norm = float(clip_norm)

        def initializer():
            return keras.initializers.RandomNormal(stddev=1.0 / math.sqrt(embedding_dim))

        self.add_unit_ball_tables(initializer, clip_norm)
        self.distance = MetricDistance(name="distance")

        def margins(size, name):
            return self.add_weight(
                shape=(size,),
                initializer=keras.initializers.Constant(self.initial_margin),
                constraint=MarginClip(0.0),
                name=name,
            )

        self.user_margins = margins(self.num_users, "user_margins")  # m_u
        self.item_margins = margins(self.num_items, "item_margins")  # n_i
        self.build()

    def score_candidates(self, user_ids, item_ids):
        users = ops.expand_dims(self.user_embedding(user_ids), -2)
        return -self.distance(users, self.item_embedding(item_ids))

    def score_users(self, user_ids):
        return -self.distance.pairwise(
            self.user_embedding(user_ids), self.item_embedding.embeddings
        )

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        users = ops.convert_to_tensor(x["user"], "int32")
        positives = ops.convert_to_tensor(x["positive"], "int32")
        distances = -y_pred  # [B, 1 + W]: d(u, i), d(u, j_1..W)
        positive_items = ops.expand_dims(self.item_embedding(positives), 1)
        negative_items = self.item_embedding(ops.convert_to_tensor(x["negatives"], "int32"))
        item_distances = self.distance(positive_items, negative_items)  # d(i, j) [B, W]
        user_margin = ops.take(self.user_margins, users)[:, None]
        item_margin = ops.take(self.item_margins, positives)[:, None]
        user_hinge = ops.relu(distances[:, :1] - distances[:, 1:] + user_margin)
        item_hinge = ops.relu(distances[:, :1] - item_distances + item_margin)
        loss = ops.sum(user_hinge) + self.item_weight * ops.sum(item_hinge)
        loss = loss - self.margin_weight * (ops.mean(user_margin) + ops.mean(item_margin))
        return self.with_added_losses(loss)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "item_weight": self.item_weight,
                "margin_weight": self.margin_weight,
                "initial_margin": self.initial_margin,
                "clip_norm": self.clip_norm,
            }
        )
        return config
