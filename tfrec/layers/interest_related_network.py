"""IRIS's interest-related network: attention of history items from content features."""

from __future__ import annotations

import keras
from keras import ops

from tfrec.layers.smoothed_softmax import SmoothedSoftmax

ACTIVATIONS = ("relu", "sigmoid", "tanh")
PROJECTION_INITIALIZERS = ("glorot_uniform", "ones")


@keras.saving.register_keras_serializable(package="tfrec")
class InterestRelatedNetwork(keras.layers.Layer):
    """Interest relevance alpha_ij of history item i for target j from their features.

    IRIS (Lv et al., IEEE Access 2019, §III.C; spec iris.md §5.3), a two-layer perceptron
    on the content features of the history item i and the target item j:

        a_ij = h^T act(W1 v_i + W2 v_j + b)                          (image, Eq. 4)
        a_ij = h^T act(W1 v_i + W2 v_j + W3 t_i + W4 t_j + b)        (with text, Eq. 6)
        alpha_ij = exp(a_ij) / (sum_(i' in history) exp(a_i'j))^beta

    (`SmoothedSoftmax`: padding masked out of numerator and denominator). Unlike NAIS the
    network never sees the latent factors p_i, q_j: only the features.

    Choices the paper leaves open, each a switch: `activation` [INFER: ReLU; the paper
    says "ReLU, sigmoid, etc."]; `attention_size` [INFER: e, as NAIS's w = e];
    `projection_initializer` [INFER: "glorot_uniform", the paper's "Xavier for all
    weights"; "ones" is the NAIS code's h]. W1..W4 are Glorot uniform, b is zero.

    Args:
        feature_dim: e, the width of v_i, v_j (and t_i, t_j).
        attention_size: the hidden width.
        use_text: build W3, W4 and expect textual vectors (Image-add-Text and Multimodal
            IRIS); False is Image IRIS (Eq. 4).
        activation: `"relu"`, `"sigmoid"` or `"tanh"`.
        beta: the smoothing exponent (IRIS: 0.8).
        projection_initializer: `"glorot_uniform"` or `"ones"` for h.

    Call arguments:
        history_visual: `[..., L, e]` v_i.
        target_visual: `[..., e]` v_j, broadcastable against the history's leading
            dimensions (e.g. history `[B, 1, L, e]` and targets `[B, M, e]`).
        mask: `[..., L]` bool or 0/1, True/1 for real history items.
        history_textual, target_textual: t_i and t_j, shaped as the visual ones (required
            when `use_text`).

    Returns:
        `[..., L]` weights alpha_ij (0 at masked positions).
    """

    def __init__(
        self,
        feature_dim: int,
        attention_size: int = 16,
        use_text: bool = True,
        activation: str = "relu",
        beta: float = 0.8,
        projection_initializer: str = "glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, value in (("feature_dim", feature_dim), ("attention_size", attention_size)):
            if int(value) < 1:
                raise ValueError(f"Received: `{name}={value}`. Expected an integer >= 1.")
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"Received: `activation={activation!r}`. Expected one of {ACTIVATIONS}."
            )
        if projection_initializer not in PROJECTION_INITIALIZERS:
            raise ValueError(
                f"Received: `projection_initializer={projection_initializer!r}`. Expected "
                f"one of {PROJECTION_INITIALIZERS}."
            )
        self.feature_dim = int(feature_dim)
        self.attention_size = int(attention_size)
        self.use_text = bool(use_text)
        self.activation = activation
        self.beta = float(beta)
        self.projection_initializer = projection_initializer
        self.smoothed_softmax = SmoothedSoftmax(beta=self.beta, name="smoothed_softmax")

    def build(self, input_shape=None):
        shape = (self.feature_dim, self.attention_size)

        def kernel(name):
            return self.add_weight(shape=shape, initializer="glorot_uniform", name=name)

        self.history_visual_kernel = kernel("history_visual_kernel")  # W1
        self.target_visual_kernel = kernel("target_visual_kernel")  # W2
        if self.use_text:
            self.history_textual_kernel = kernel("history_textual_kernel")  # W3
            self.target_textual_kernel = kernel("target_textual_kernel")  # W4
        self.bias = self.add_weight(shape=(self.attention_size,), initializer="zeros", name="bias")
        self.projection = self.add_weight(
            shape=(self.attention_size,),
            initializer=self.projection_initializer,
            name="projection",
        )
        self.built = True

    def kernels(self):
        """W1, W2 (and W3, W4): the IRN weights of Eq. 12 (b and h are not regularised)."""
        names = ["history_visual_kernel", "target_visual_kernel"]
        if self.use_text:
            names += ["history_textual_kernel", "target_textual_kernel"]
        return [getattr(self, name) for name in names]

    def scores(self, history_visual, target_visual, history_textual=None, target_textual=None):
        """Relevance logits a_ij: `[..., L]` (before the smoothed softmax)."""
        if self.use_text and (history_textual is None or target_textual is None):
            raise ValueError(
                "Received no textual vectors. Expected `history_textual` and `target_textual` "
                "for an InterestRelatedNetwork with `use_text=True`."
            )
        # The history and target terms are computed once each and broadcast.
        history_terms = ops.matmul(history_visual, self.history_visual_kernel)
        target_terms = ops.matmul(target_visual, self.target_visual_kernel) + self.bias
        if self.use_text:
            history_terms = history_terms + ops.matmul(history_textual, self.history_textual_kernel)
            target_terms = target_terms + ops.matmul(target_textual, self.target_textual_kernel)
        hidden = getattr(ops, self.activation)(history_terms + ops.expand_dims(target_terms, -2))
        return ops.sum(hidden * self.projection, axis=-1)

    def call(
        self,
        history_visual,
        target_visual,
        mask=None,
        history_textual=None,
        target_textual=None,
    ):
        scores = self.scores(history_visual, target_visual, history_textual, target_textual)
        return self.smoothed_softmax(scores, mask)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "feature_dim": self.feature_dim,
                "attention_size": self.attention_size,
                "use_text": self.use_text,
                "activation": self.activation,
                "beta": self.beta,
                "projection_initializer": self.projection_initializer,
            }
        )
        return config
