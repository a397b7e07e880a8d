"""NAIS's attention network over a user's history items for one target item."""

from __future__ import annotations

import math

import keras
from keras import ops

from tfrec.layers.smoothed_softmax import SmoothedSoftmax

FORMS = ("prod", "concat")
ACTIVATIONS = ("relu", "sigmoid", "tanh")


@keras.saving.register_keras_serializable(package="tfrec")
class NAISAttention(keras.layers.Layer):
    """Attention weight a_ij of history item i for target item j (NAIS Eqs. 13-15).

    NAIS code `NAIS.py` (spec iris.md §3):

    - input x_ij = p_i * q_j (`form="prod"`, `algorithm=0`, the default) or [p_i; q_j]
      (`form="concat"`, `algorithm=1`);
    - score a_ij = h^T act(W x_ij + b) with act ReLU (default), sigmoid or tanh;
    - weight alpha_ij = exp(a_ij) / (sum_(i' in history) exp(a_i'j))^beta
      (`SmoothedSoftmax`, padding masked out of numerator and denominator).

    Initialisation as in the code: W ~ truncated normal with stddev sqrt(2 / (w + e))
    (concat: sqrt(2 / (w + 2e))), b ~ truncated normal with stddev sqrt(2 / (w + e)) (not
    zero; also for concat), h = ones (trainable). For the concat form W [p; q] is computed
    as W_p p + W_q q (the two halves of W), which is the same value with the history and
    target terms computed once each.

    Args:
        embedding_dim: e, the size of p_i and q_j.
        attention_size: w, the hidden width (code `weight_size`, default 16).
        form: `"prod"` or `"concat"`.
        activation: `"relu"`, `"sigmoid"` or `"tanh"` (code `activation` 0, 1, 2).
        beta: the smoothing exponent (code default 0.5).

    Call arguments:
        history_embeddings: `[..., L, e]` p_i of the history items.
        target_embeddings: `[..., e]` q_j, broadcastable against the history's leading
            dimensions (e.g. `[B, M, 1, e]`-style via `[B, M, e]` with history `[B, 1, L, e]`).
        mask: `[..., L]` bool or 0/1, True/1 for real history items.

    Returns:
        `[..., L]` weights alpha_ij (0 at masked positions).
    """

    def __init__(
        self,
        embedding_dim: int,
        attention_size: int = 16,
        form: str = "prod",
        activation: str = "relu",
        beta: float = 0.5,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if form not in FORMS:
            raise ValueError(f"Received: `form={form!r}`. Expected one of {FORMS}.")
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"Received: `activation={activation!r}`. Expected one of {ACTIVATIONS}."
            )
        for name, value in (("embedding_dim", embedding_dim), ("attention_size", attention_size)):
            if int(value) < 1:
                raise ValueError(f"Received: `{name}={value}`. Expected an integer >= 1.")
        self.embedding_dim = int(embedding_dim)
        self.attention_size = int(attention_size)
        self.form = form
        self.activation = activation
        self.beta = float(beta)
        self.smoothed_softmax = SmoothedSoftmax(beta=self.beta, name="smoothed_softmax")

    def build(self, input_shape=None):
        e, w = self.embedding_dim, self.attention_size
        input_size = e if self.form == "prod" else 2 * e
        self.kernel = self.add_weight(
            shape=(input_size, w),
            initializer=keras.initializers.TruncatedNormal(
                stddev=math.sqrt(2.0 / (w + input_size))
            ),
            name="kernel",
        )
        self.bias = self.add_weight(
            shape=(w,),
            initializer=keras.initializers.TruncatedNormal(stddev=math.sqrt(2.0 / (w + e))),
            name="bias",
        )
        self.projection = self.add_weight(shape=(w,), initializer="ones", name="projection")
        self.built = True

    def scores(self, history_embeddings, target_embeddings):
        """Attention logits a_ij = h^T act(W x_ij + b): `[..., L]` (before the softmax)."""
        targets = ops.expand_dims(target_embeddings, -2)
        if self.form == "prod":
            hidden = ops.matmul(history_embeddings * targets, self.kernel)
        else:
            e = self.embedding_dim
            hidden = ops.matmul(history_embeddings, self.kernel[:e]) + ops.matmul(
                targets, self.kernel[e:]
            )
        hidden = getattr(ops, self.activation)(hidden + self.bias)
        return ops.sum(hidden * self.projection, axis=-1)

    def call(self, history_embeddings, target_embeddings, mask=None):
        return self.smoothed_softmax(self.scores(history_embeddings, target_embeddings), mask)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "embedding_dim": self.embedding_dim,
                "attention_size": self.attention_size,
                "form": self.form,
                "activation": self.activation,
                "beta": self.beta,
            }
        )
        return config
