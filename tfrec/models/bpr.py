"""BPR-MF: matrix factorisation trained with the Bayesian personalised ranking loss."""

from __future__ import annotations

import keras
import keras_rs
from keras import ops

from tfrec.models.embedding_model import EmbeddingModel


@keras.saving.register_keras_serializable(package="tfrec")
class BPR(EmbeddingModel):
    """BPR-MF (Rendle et al., UAI'09), the BPR baseline of the MAML and ACF papers.

    Score `x_ui = p_u . q_i (+ b_i)`; loss `sum_(u,i,j) -ln sigma(x_ui - x_uj)` summed over
    the batch, computed by `keras_rs.losses.PairwiseLogisticLoss` (its
    `log(1 + exp(-(s_i - s_j)))` over (positive, negative) pairs is exactly BPR's), plus
    `l2 * (|p_u|^2 + |q_i|^2 + |q_j|^2)` over the batch rows (spec bpr_and_baselines.md §1;
    ACF Eq. 3 writes the same regulariser over the full tables). With W > 1 negatives
    every (positive, negative) pair contributes one term.

    Args:
        num_users, num_items: sizes of the id spaces.
        embedding_dim: d.
        l2: lambda of the L2 term.
        item_bias: add a learned item bias b_i (ACF Eq. 1 has none).
        initializer_stddev: embeddings ~ N(0, stddev^2) (ACF §5.1: 0.01).
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        embedding_dim: int = 64,
        l2: float = 1e-4,
        item_bias: bool = False,
        initializer_stddev: float = 0.01,
        **kwargs,
    ):
        super().__init__(num_users, num_items, embedding_dim, **kwargs)
        self.l2 = float(l2)
        self.item_bias = bool(item_bias)
        self.initializer_stddev = float(initializer_stddev)

        def initializer():
            return keras.initializers.RandomNormal(stddev=initializer_stddev)

        self.user_embedding = keras.layers.Embedding(
            self.num_users,
            embedding_dim,
            embeddings_initializer=initializer(),
            name="user_embedding",
        )
        self.item_embedding = keras.layers.Embedding(
            self.num_items,
            self.embedding_dim,
            embeddings_initializer=initializer(),
            name="item_embedding",
        )
        self.bias = (
            keras.layers.Embedding(
                self.num_items, 1, embeddings_initializer="zeros", name="item_bias"
            )
            if item_bias
            else None
        )
        self.ranking_loss = keras_rs.losses.PairwiseLogisticLoss(reduction="sum")
        self.build()  # The tables exist from construction on (scoring, export, saving).

    def score_candidates(self, user_ids, item_ids):
        users = ops.expand_dims(self.user_embedding(user_ids), -2)
        scores = ops.sum(users * self.item_embedding(item_ids), axis=-1)
        if self.bias is not None:
            scores = scores + ops.squeeze(self.bias(item_ids), -1)
        return scores

    def score_users(self, user_ids):
        scores = ops.matmul(
            self.user_embedding(user_ids), ops.transpose(self.item_embedding.embeddings)
        )
        if self.bias is not None:
            scores = scores + ops.reshape(self.bias.embeddings, (1, -1))
        return scores

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss = self.ranking_loss(self.candidate_labels(y_pred), y_pred)
        if self.l2:
            items = ops.concatenate([ops.expand_dims(x["positive"], -1), x["negatives"]], axis=-1)
            loss = loss + self.l2 * (
                ops.sum(ops.square(self.user_embedding(x["user"])))
                + ops.sum(ops.square(self.item_embedding(items)))
            )
        return self.with_added_losses(loss)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "l2": self.l2,
                "item_bias": self.item_bias,
                "initializer_stddev": self.initializer_stddev,
            }
        )
        return config
