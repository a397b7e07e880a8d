"""MAML's per (user, item) attention over the embedding dimensions."""

from __future__ import annotations

import keras
from keras import ops

from tfrec.layers.row_normalization import l2_normalize_rows

NORMALIZATIONS = ("scaled_softmax", "softmax")


@keras.saving.register_keras_serializable(package="tfrec")
class MAMLAttention(keras.layers.Layer):
    """Attention vector a(u, k) in R^f from the user, the item and its feature projection.

    MAML code (spec maml.md §2.2): `c = n([p_u; q_k; F_k])`, `e = tanh(B1 c + b1)` (width
    5f), `a_hat = ReLU(B2 n(e) + b2)` (width f), `a = f * softmax(a_hat)` (the paper's
    alpha-scaled softmax with alpha = f, so the weights sum to f). `normalization="softmax"`
    gives the plain softmax of the paper's Fig. 2 ablation (weights sum to 1).

    B1 c is computed from the parts: `B1 [p; q; F] = B1_p p + B1_q q + B1_F F` and
    `|[p; q; F]|^2 = |p|^2 + |q|^2 + |F|^2`, so the user and item terms are computed once
    each, not once per (user, item) pair (`user_terms`, `item_terms`; identical values).

    Args:
        embedding_dim: f.
        hidden_multiplier: width of the tanh layer in units of f (code: 5).
        normalization: `"scaled_softmax"` (code and paper) or `"softmax"`.
        dropout: rate after the tanh layer (code: 0.05, inactive).
        dropout_active: apply the dropout in training (the code never does).

    Call arguments:
        users: `[..., f]`, items: `[..., f]`, projections: `[..., f]` (broadcastable).

    Returns:
        `[..., f]` attention weights.
    """

    def __init__(
        self,
        embedding_dim: int,
        hidden_multiplier: int = 5,
        normalization: str = "scaled_softmax",
        dropout: float = 0.05,
        dropout_active: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if normalization not in NORMALIZATIONS:
            raise ValueError(
                f"Received: `normalization={normalization!r}`. Expected one of {NORMALIZATIONS}."
            )
        self.embedding_dim = int(embedding_dim)
        self.hidden_multiplier = int(hidden_multiplier)
        self.normalization = normalization
        self.dropout = float(dropout)
        self.dropout_active = bool(dropout_active)
        self.hidden = keras.layers.Dense(
            self.hidden_multiplier * self.embedding_dim, name="attention_hidden"
        )
        self.output_layer = keras.layers.Dense(
            self.embedding_dim, activation="relu", name="attention_output"
        )
        self.dropout_layer = keras.layers.Dropout(self.dropout)

    def build(self, input_shape=None):
        self.hidden.build((None, 3 * self.embedding_dim))
        self.output_layer.build((None, self.hidden_multiplier * self.embedding_dim))

    def _kernel_part(self, part):
        f = self.embedding_dim
        return self.hidden.kernel[part * f : (part + 1) * f]

    def user_terms(self, users):
        """(B1_p p, |p|^2) for `[..., f]` users."""
        return ops.matmul(users, self._kernel_part(0)), ops.sum(
            ops.square(users), -1, keepdims=True
        )

    def item_terms(self, items, projections):
        """(B1_q q + B1_F F, |q|^2 + |F|^2) for `[..., f]` items and their projections."""
        terms = ops.matmul(items, self._kernel_part(1)) + ops.matmul(
            projections, self._kernel_part(2)
        )
        norms = ops.sum(ops.square(items), -1, keepdims=True) + ops.sum(
            ops.square(projections), -1, keepdims=True
        )
        return terms, norms

    def from_terms(self, user_terms, item_terms, training=False):
        """Attention from precomputed (broadcastable) user and item terms."""
        (user_linear, user_norm), (item_linear, item_norm) = user_terms, item_terms
        pre_activation = l2_normalize_rows(user_linear + item_linear, user_norm + item_norm)
        # l2_normalize_rows scaled the sum by 1/|c|; the bias is added after, as in B1 c + b1.
        hidden = ops.tanh(pre_activation + self.hidden.bias)
        if self.dropout_active:
            hidden = self.dropout_layer(hidden, training=training)
        # B2 n(e) = (B2 e) / |e|: normalising the f-wide product instead of the 5f-wide
        # hidden layer gives the same values and saves a pass over the largest tensor
        # (the cost of scoring a whole catalogue).
        hidden_norm = ops.sum(ops.square(hidden), axis=-1, keepdims=True)
        projected = l2_normalize_rows(ops.matmul(hidden, self.output_layer.kernel), hidden_norm)
        scores = ops.relu(projected + self.output_layer.bias)
        weights = ops.softmax(scores, axis=-1)
        if self.normalization == "scaled_softmax":
            weights = weights * self.embedding_dim
        return weights

    def call(self, users, items, projections, training=False):
        return self.from_terms(
            self.user_terms(users), self.item_terms(items, projections), training=training
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "embedding_dim": self.embedding_dim,
                "hidden_multiplier": self.hidden_multiplier,
                "normalization": self.normalization,
                "dropout": self.dropout,
                "dropout_active": self.dropout_active,
            }
        )
        return config
