"""ACF's two attention modules: component level (Eqs. 10-11) and item level (Eqs. 7-8)."""

from __future__ import annotations

import keras
from keras import ops

from tfrec.layers.smoothed_softmax import MASKED_SCORE

MODES = ("att", "avg")
ITEM_INPUTS = ("U", "V", "P", "X")


def segment_softmax(scores, segments, num_segments, mask):
    """Softmax of `scores [N]` within each segment, over the entries where `mask` is True.

    Masked entries get 0 and take no part; the max of each segment is subtracted first (as
    `SmoothedSoftmax` with beta = 1 does on a padded grid). keras.ops has segment sums and
    maxima but no segment softmax, hence these lines.
    """
    filled = ops.where(mask, scores, MASKED_SCORE)
    top = ops.stop_gradient(ops.segment_max(filled, segments, num_segments))
    exp = ops.where(mask, ops.exp(filled - ops.take(top, segments, axis=0)), 0.0)
    total = ops.segment_sum(exp, segments, num_segments)
    return exp / ops.take(ops.where(total > 0.0, total, 1.0), segments, axis=0)


def segment_mean_weights(segments, num_segments, mask):
    """Weights 1 / (the segment's number of `mask` entries) on those entries, 0 elsewhere."""
    mask = ops.cast(mask, "float32")
    counts = ops.segment_sum(mask, segments, num_segments)
    return mask / ops.take(ops.maximum(counts, 1.0), segments, axis=0)


@keras.saving.register_keras_serializable(package="tfrec")
class ComponentAttention(keras.layers.Layer):
    """Weights beta(i, l, m) of the components m of a history item l, for user i.

    ACF (Chen et al., SIGIR 2017) Eqs. 10-11 (spec acf.md §2):

        b(i, l, m) = w2^T ReLU(W2u u_i + W2x x_lm + b2)        (+ c2, dropped)
        beta(i, l, .) = softmax over the item's valid components

    The constant c2 of Eq. 10 is left out: it cancels in the softmax. `mode="avg"` gives
    the paper's component-level AVG ablation (Table 2): beta = 1 / (number of components),
    the "whole item" feature, and has no weights.

    W2x x_lm does not depend on the user, so callers project each *distinct* item of a
    batch once (`project`), and the layer scores only the batch's real (user, history item,
    component) triples, packed: `slots` names each one's component in the projections and
    `entries` its (user, history item) entry. Neither the raw [batch, history, C, F] tensor
    nor the [entries, C] grid padded to the store's most components is formed (amazon-cloth
    tags: 16 slots for 5.7 tags per item on average), and padding costs nothing.

    Args:
        hidden: h, the width of the attention MLP (the paper does not give it; 64 as Elliot).
        mode: `"att"` or `"avg"`.

    Call arguments (M pairs over N entries of B users):
        user_vectors: `[B, D]` u_i.
        projected: `[U, C, h]` W2x x of the batch's distinct history items (`project`).
        slots: `[M]` flat position u * C + c of each pair's component in `projected`.
        entries: `[M]` the entry of each pair, N for padding.
        entry_segments: `[N]` the user row of each entry, B for padding.

    Returns:
        `[M]` weights, summing to 1 over each entry's components, 0 at padding pairs (an
        item without components has no pairs: its entry gets no content).
    """

    def __init__(self, hidden: int = 64, mode: str = "att", **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"Received: `mode={mode!r}`. Expected one of {MODES}.")
        if int(hidden) < 1:
            raise ValueError(f"Received: `hidden={hidden}`. Expected an integer >= 1.")
        self.hidden = int(hidden)
        self.mode = mode

    def build(self, user_dim: int, feature_dim: int):
        if self.mode == "att":
            glorot = keras.initializers.GlorotUniform
            self.user_kernel = self.add_weight(
                shape=(user_dim, self.hidden), initializer=glorot(), name="user_kernel"
            )
            self.feature_kernel = self.add_weight(
                shape=(feature_dim, self.hidden), initializer=glorot(), name="feature_kernel"
            )
            self.hidden_bias = self.add_weight(
                shape=(self.hidden,), initializer="zeros", name="hidden_bias"
            )
            self.output_kernel = self.add_weight(
                shape=(self.hidden,), initializer=glorot(), name="output_kernel"
            )
        self.built = True

    def project(self, components):
        """`[U, C, F]` raw components -> `[U, C, h]` W2x x (None in `avg` mode)."""
        if self.mode == "avg":
            return None
        return ops.matmul(ops.cast(components, self.feature_kernel.dtype), self.feature_kernel)

    def call(self, user_vectors, projected, slots, entries, entry_segments):
        num_entries = ops.shape(entry_segments)[0] + 1  # the last one collects the padding
        real = entries < num_entries - 1
        if self.mode == "avg":
            return segment_mean_weights(entries, num_entries, real)
        # W2u u_i once per user; pair -> entry -> user (padding: an extra zero row each).
        user_terms = ops.matmul(user_vectors, self.user_kernel)
        user_terms = ops.concatenate([user_terms, ops.zeros_like(user_terms[:1])], axis=0)
        padding = ops.full((1,), ops.shape(user_vectors)[0], "int32")
        owners = ops.take(
            ops.concatenate([ops.cast(entry_segments, "int32"), padding], 0), entries, axis=0
        )
        projected = ops.reshape(projected, (-1, self.hidden))
        hidden = ops.relu(
            ops.take(projected, slots, axis=0)
            + ops.take(user_terms, owners, axis=0)
            + self.hidden_bias
        )
        scores = ops.sum(hidden * self.output_kernel, axis=-1)  # [M]
        return segment_softmax(scores, entries, num_entries, real)

    def get_config(self):
        config = super().get_config()
        config.update({"hidden": self.hidden, "mode": self.mode})
        return config


@keras.saving.register_keras_serializable(package="tfrec")
class ItemAttention(keras.layers.Layer):
    """Weights alpha(i, l) of the history items l of user i.

    ACF Eqs. 7-8 (spec acf.md §2):

        a(i, l) = w1^T ReLU(W1u u_i + W1v v_l + W1p p_l + W1x x̄_il + b1)   (+ c1, dropped)
        alpha(i, .) = softmax over the user's history R(i)

    `inputs` picks the terms (the paper's Table 3 ablations: U+V, U+P, U+V+P, U+V+P+X).
    `mode="avg"` is the item-level AVG of Table 2: alpha = 1 / |R(i)| (with no component
    level this is SVD++ trained with BPR).

    The layer works on the batch's real history entries, packed (one row per (user, history
    item) pair, `segments` naming the user's row), not on the [B, L] grid padded to the
    batch's longest history: users are drawn per interaction, so that grid is mostly
    padding (amazon-cloth: 66 columns for 8.2 entries per row on average), and every padded
    cell would cost its projections and their gradients. W1u u_i is formed once per user.
    The softmax over a user's entries is a segment softmax (`segment_softmax`).

    The content term enters only through W1x x̄_il = sum_m beta(i, l, m) W1x x_lm, so
    callers pass `W1x x` of the distinct items (`project`) pooled by the component weights
    (the raw pooled feature x̄_il of size F is never needed).

    Args:
        hidden: h (64 as Elliot; not given in the paper).
        inputs: a subset of `("U", "V", "P", "X")`, at least one.
        mode: `"att"` or `"avg"`.

    Call arguments (N entries; entries with `segments == B` are padding):
        user_vectors: `[B, D]` u_i; history_targets: `[N, D]` v_l of each entry;
        history_auxiliary: `[N, D]` p_l; pooled_content: `[N, h]` W1x x̄_il or None;
        segments: `[N]` int, the row in `user_vectors` of each entry, B for padding.

    Returns:
        `[N]` weights, summing to 1 over each user's entries, 0 at padding entries.
    """

    def __init__(self, hidden: int = 64, inputs=ITEM_INPUTS, mode: str = "att", **kwargs):
        super().__init__(**kwargs)
        inputs = tuple(inputs)
        if mode not in MODES:
            raise ValueError(f"Received: `mode={mode!r}`. Expected one of {MODES}.")
        if not inputs or set(inputs) - set(ITEM_INPUTS) or len(set(inputs)) != len(inputs):
            raise ValueError(
                f"Received: `inputs={inputs}`. Expected distinct names from {ITEM_INPUTS}."
            )
        if int(hidden) < 1:
            raise ValueError(f"Received: `hidden={hidden}`. Expected an integer >= 1.")
        self.hidden = int(hidden)
        self.inputs = tuple(name for name in ITEM_INPUTS if name in inputs)
        self.mode = mode

    def build(self, embedding_dim: int, feature_dim: int | None = None):
        if self.mode == "att":
            glorot = keras.initializers.GlorotUniform
            for name in self.inputs:
                rows = feature_dim if name == "X" else embedding_dim
                if rows is None:
                    raise ValueError(
                        "ItemAttention with input 'X' needs `feature_dim` (component features)."
                    )
                setattr(
                    self,
                    f"kernel_{name}",
                    self.add_weight(shape=(rows, self.hidden), initializer=glorot(), name=name),
                )
            self.hidden_bias = self.add_weight(
                shape=(self.hidden,), initializer="zeros", name="hidden_bias"
            )
            self.output_kernel = self.add_weight(
                shape=(self.hidden,), initializer=glorot(), name="output_kernel"
            )
        self.built = True

    @property
    def uses_content(self) -> bool:
        return self.mode == "att" and "X" in self.inputs

    def project(self, components):
        """`[U, C, F]` raw components -> `[U, C, h]` W1x x (None unless X is an input)."""
        if not self.uses_content:
            return None
        return ops.matmul(ops.cast(components, self.kernel_X.dtype), self.kernel_X)

    def call(self, user_vectors, history_targets, history_auxiliary, pooled_content, segments):
        num_segments = ops.shape(user_vectors)[0] + 1  # the last one collects the padding
        real = segments < num_segments - 1
        if self.mode == "avg":
            return segment_mean_weights(segments, num_segments, real)
        hidden = self.hidden_bias
        for name in self.inputs:
            if name == "U":
                user_terms = ops.matmul(user_vectors, self.kernel_U)  # once per user
                user_terms = ops.concatenate([user_terms, ops.zeros_like(user_terms[:1])], 0)
                hidden = hidden + ops.take(user_terms, segments, axis=0)
            elif name == "X":
                hidden = hidden + pooled_content
            else:
                vectors = history_targets if name == "V" else history_auxiliary
                hidden = hidden + ops.matmul(vectors, getattr(self, f"kernel_{name}"))
        scores = ops.sum(ops.relu(hidden) * self.output_kernel, axis=-1)  # [N]
        return segment_softmax(scores, segments, num_segments, real)

    def get_config(self):
        config = super().get_config()
        config.update({"hidden": self.hidden, "inputs": list(self.inputs), "mode": self.mode})
        return config
