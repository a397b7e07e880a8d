"""MAML: multimodal attentive metric learning (Liu et al., ACM MM'19), as the authors' code runs."""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from tfrec.layers.covariance_regularizer import CovarianceRegularizer
from tfrec.layers.feature_fusion import FeatureFusion
from tfrec.layers.maml_attention import MAMLAttention
from tfrec.layers.metric_distance import MetricDistance
from tfrec.layers.warp_weight import WarpWeight
from tfrec.losses.hinge_loss import HingeLoss
from tfrec.models.embedding_model import EmbeddingModel

FEATURE_LOSS_FORMS = ("squared_all_items", "paper_unsquared")
# Full-catalogue scoring computes the attention of (users x SCORE_CHUNK_ITEMS) pairs at a
# time: user_batch x SCORE_CHUNK_ITEMS x 5f floats (1024 users: 21 MB, small enough to stay
# in cache), whatever the catalogue size.
SCORE_CHUNK_ITEMS = 16


@keras.saving.register_keras_serializable(package="tfrec")
class MAML(EmbeddingModel):
    """CML with per (user, item) attention over dimensions and a multimodal feature pull.

    Defaults follow the authors' code (spec maml.md §2-7): the fusion MLP projects the item
    features to F (unit ball); V is initialised to F; the distance is
    `D(u, k) = sum_l a_l(u, k)^2 (p_ul - q_kl)^2` with `a = MAMLAttention(p, q, F)`; the loss
    is the WARP-weighted closest-negative hinge (batch sum) + `feature_weight * sum_j |V_j -
    F_j|^2` over all items + the signed covariance penalty; only U and V are trained (the
    fusion and attention networks stay at their random initialisation:
    `train_attention_and_fusion=False`), dropout is inactive, rows are clipped to the unit
    ball after every step. `train_attention_and_fusion=True` is the paper's model (Eq. 12).

    Args:
        num_users, num_items: sizes of the id spaces.
        item_features: `[num_items, d_in]` item features (text then image, concatenated);
            or None with `feature_dim` when the weights are loaded from a file.
        embedding_dim: f.
        margin: hinge margin m (Office 1.6).
        feature_weight: lambda_f (code/README Office 5.0; paper 7).
        covariance_weight: lambda_c (code 5.0).
        train_attention_and_fusion: False = code (frozen random networks); True = paper.
        attention_normalization: `"scaled_softmax"` (alpha = f) or `"softmax"` (Fig. 2).
        feature_loss_form: `"squared_all_items"` (code) or `"paper_unsquared"` (Eq. 10).
        init_items_from_features: V <- F before training (code).
        dropout_active: apply the code's (inactive) dropout layers in training.
        hidden_dim: fusion MLP width H (256). Remaining options as `CML`.
        use_attention: False drops the attention (all weights 1): CML with MAML's feature
            projector and feature loss, the CML_text/image/all rows of Table 2
            (`FeatureCML`).
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        item_features: np.ndarray | None = None,
        embedding_dim: int = 64,
        margin: float = 1.6,
        feature_weight: float = 5.0,
        covariance_weight: float = 5.0,
        train_attention_and_fusion: bool = False,
        attention_normalization: str = "scaled_softmax",
        feature_loss_form: str = "squared_all_items",
        init_items_from_features: bool = True,
        dropout_active: bool = False,
        hidden_dim: int = 256,
        clip_norm: float = 1.0,
        rank_weight: str = "warp_parallel",
        hinge_negative: str = "closest",
        covariance_form: str = "code_signed_offdiag_sum",
        feature_dim: int | None = None,
        use_attention: bool = True,
        **kwargs,
    ):
        super().__init__(num_users, num_items, embedding_dim, **kwargs)
        if item_features is None and feature_dim is None:
            raise ValueError("MAML needs `item_features` ([num_items, d_in]) or `feature_dim`.")
        if item_features is not None:
            item_features = np.asarray(item_features, dtype=np.float32)
            if item_features.shape[0] != self.num_items or item_features.ndim != 2:
                raise ValueError(
                    f"Received `item_features` of shape {item_features.shape}. Expected "
                    f"({self.num_items}, d_in): one row per item id."
                )
            feature_dim = item_features.shape[1]
        if feature_loss_form not in FEATURE_LOSS_FORMS:
            raise ValueError(
                f"Received: `feature_loss_form={feature_loss_form!r}`. "
                f"Expected one of {FEATURE_LOSS_FORMS}."
            )
        self.feature_dim = int(feature_dim)
        self.margin = float(margin)
        self.feature_weight = float(feature_weight)
        self.covariance_weight = float(covariance_weight)
        self.train_attention_and_fusion = bool(train_attention_and_fusion)
        self.attention_normalization = attention_normalization
        self.feature_loss_form = feature_loss_form
        self.init_items_from_features = bool(init_items_from_features)
        self.dropout_active = bool(dropout_active)
        self.hidden_dim = int(hidden_dim)
        self.clip_norm = float(clip_norm)
        self.rank_weight = rank_weight
        self.hinge_negative = hinge_negative
        self.covariance_form = covariance_form
        self.use_attention = bool(use_attention)

        def initializer():
            return keras.initializers.RandomNormal(stddev=1.0 / math.sqrt(self.embedding_dim))

        self.add_unit_ball_tables(initializer, clip_norm)
        self.fusion = FeatureFusion(
            self.embedding_dim, self.hidden_dim, dropout_active=dropout_active, name="fusion"
        )
        self.attention = None
        if self.use_attention:
            self.attention = MAMLAttention(
                self.embedding_dim,
                normalization=attention_normalization,
                dropout_active=dropout_active,
                name="attention",
            )
            self.attention.trainable = self.train_attention_and_fusion
        # The code optimises `var_list=[U, V]` only (spec maml.md §7).
        self.fusion.trainable = self.train_attention_and_fusion
        self.distance = MetricDistance(name="distance")
        self.warp_weight = WarpWeight(self.num_items, margin, rank_weight, name="warp_weight")
        self.hinge = HingeLoss(margin, hinge_negative, reduction="sum", name="hinge")
        self.covariance = CovarianceRegularizer(covariance_weight, covariance_form)
        self.build()
        if item_features is not None:
            self.item_features.assign(item_features)
            # A numpy copy: on JAX two variables must not share one buffer (donation).
            projection = ops.convert_to_numpy(self.fusion(self.item_features))
            self.item_projection.assign(projection)
            if self.init_items_from_features:
                self.item_embedding.embeddings.assign(projection)

    def build(self, input_shape=None):
        if self.built:  # Built in __init__; `build_model` and Keras may call it again.
            return
        self.user_embedding.build()
        self.item_embedding.build()
        self.fusion.build((None, self.feature_dim))
        if self.attention is not None:
            self.attention.build()
        # State lives in variables (saved with the model): the features, and F as computed
        # by the frozen fusion network (recomputed every step when it is trained).
        self.item_features = self.add_weight(
            shape=(self.num_items, self.feature_dim),
            initializer="zeros",
            trainable=False,
            name="item_features",
        )
        self.item_projection = self.add_weight(
            shape=(self.num_items, self.embedding_dim),
            initializer="zeros",
            trainable=False,
            name="item_projection",
        )
        self.built = True

    def projections(self, training=False):
        """F for every item: the cached projection, or recomputed when the MLP trains."""
        if self.train_attention_and_fusion:
            return self.fusion(self.item_features, training=training)
        return self.item_projection

    def score_candidates(self, user_ids, item_ids, training=False):
        users = ops.expand_dims(self.user_embedding(user_ids), -2)
        items = self.item_embedding(item_ids)
        if self.attention is None:
            return -self.distance(users, items)
        projections = ops.take(self.projections(training), item_ids, axis=0)
        weights = self.attention(users, items, projections, training=training)
        return -self.distance(users, items, ops.square(weights))

    def attention_weights(self, user_ids, item_ids):
        """a(u, k): `[B]` users x `[B, M]` items -> `[B, M, f]` attention vectors."""
        if self.attention is None:
            raise ValueError("This model has no attention (`use_attention=False`).")
        users = ops.expand_dims(self.user_embedding(user_ids), -2)
        items = self.item_embedding(item_ids)
        projections = ops.take(self.projections(), item_ids, axis=0)
        return self.attention(users, items, projections)

    def call(self, inputs, training=False):
        if "positive" not in inputs:  # {"user": ids}: every item (compiled `predict`).
            return self.score_users(inputs["user"])
        items = ops.concatenate(
            [ops.expand_dims(inputs["positive"], -1), inputs["negatives"]], axis=-1
        )
        return self.score_candidates(inputs["user"], items, training=training)

    def score_users(self, user_ids):
        """Scores of every item: the attention of every (user, item) pair (spec §2.4).

        Items are processed in blocks of `SCORE_CHUNK_ITEMS` with `keras.ops.map`, so memory
        is `len(user_ids) x SCORE_CHUNK_ITEMS x 5f` floats whatever the catalogue size, and
        a compiled call (`score_users_numpy`) runs the blocks in a loop, not unrolled.
        """
        users = self.user_embedding(user_ids)
        items = self.item_embedding.embeddings
        if self.attention is None:
            return -self.distance.pairwise(users, items)
        user_linear, user_norm = self.attention.user_terms(users)
        item_linear, item_norm = self.attention.item_terms(items, self.projections())
        chunk = SCORE_CHUNK_ITEMS
        padding = (-self.num_items) % chunk

        def blocks(rows):  # [num_items, w] -> [num_blocks, chunk, w], zero-padded.
            rows = ops.pad(rows, [[0, padding], [0, 0]])
            return ops.reshape(rows, (-1, chunk, ops.shape(rows)[-1]))

        def score_block(block):
            linear, norm, block_items = block
            weights = self.attention.from_terms(
                (user_linear[:, None, :], user_norm[:, None, :]), (linear[None], norm[None])
            )
            return -self.distance(users[:, None, :], block_items[None], ops.square(weights))

        scores = ops.map(score_block, (blocks(item_linear), blocks(item_norm), blocks(items)))
        scores = ops.reshape(ops.transpose(scores, (1, 0, 2)), (ops.shape(users)[0], -1))
        return scores[:, : self.num_items]

    def score_users_numpy(self, user_ids: np.ndarray) -> np.ndarray:
        """`score_users` through Keras' compiled predict function (XLA on both backends):
        about 5x faster than eager calls for the per-pair attention."""
        return np.asarray(self.predict_on_batch({"user": np.asarray(user_ids, np.int32)}))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        distances = -y_pred
        weights = self.warp_weight(distances[:, 0], distances[:, 1:])
        loss = self.hinge(self.candidate_labels(y_pred), y_pred, sample_weight=weights)
        items = self.item_embedding.embeddings
        if self.feature_weight:
            gap = ops.sum(ops.square(items - self.projections(training)), axis=-1)
            if self.feature_loss_form == "paper_unsquared":
                gap = ops.sqrt(ops.maximum(gap, 1e-12))
            loss = loss + self.feature_weight * ops.sum(gap)
        if self.covariance_weight:
            rows = ops.concatenate([items, self.user_embedding.embeddings], axis=0)
            loss = loss + self.covariance(rows)
        return self.with_added_losses(loss)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "feature_dim": self.feature_dim,
                "margin": self.margin,
                "feature_weight": self.feature_weight,
                "covariance_weight": self.covariance_weight,
                "train_attention_and_fusion": self.train_attention_and_fusion,
                "attention_normalization": self.attention_normalization,
                "feature_loss_form": self.feature_loss_form,
                "init_items_from_features": self.init_items_from_features,
                "dropout_active": self.dropout_active,
                "hidden_dim": self.hidden_dim,
                "clip_norm": self.clip_norm,
                "rank_weight": self.rank_weight,
                "hinge_negative": self.hinge_negative,
                "covariance_form": self.covariance_form,
                "use_attention": self.use_attention,
            }
        )
        return config
