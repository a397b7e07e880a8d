"""Base of the history-based item-similarity models (FISM, NAIS): scores from a user's items."""

from __future__ import annotations

import abc

import keras
import numpy as np
from keras import ops

from tfrec.sampling.history_batches import evaluation_batches
from tfrec.sampling.user_histories import UserHistories


class ItemSimilarityModel(keras.Model, abc.ABC):
    """A user is the (weighted) sum of their history items; the score is its dot product.

    Shared by FISM and NAIS as implemented in the NAIS code (spec iris.md §2-3):

        logit(u, j) = n_u^(-alpha) * sum_(i in history) w_ij * p_i^T q_j + b_j

    with two item tables, P (history side, code `c1`) and Q (target side, code
    `embedding_Q`), an item bias b, n_u the number of (unmasked) history items and the
    weights w_ij given by the subclass hook `history_weights` (FISM: 1; NAIS: attention).
    The prediction is sigmoid(logit); the models return logits, which rank candidates the
    same way without the ties of saturated sigmoids.

    Inputs are the named dicts of `tfrec.sampling.history_batches`: `{"history": int32
    [B, L], "history_mask": [B, L], "item": int32 [B]}` (one target per row; `call`
    returns `[B]` logits) or with `"items": int32 [B, M]` instead (candidates sharing a
    history; `call` returns `[B, M]`). The padding id is `num_items`: P has a constant
    zero row there, so it never moves; the mask also removes it from n_u and attention.
    A `"user"` entry is ignored (the user is their history).

    Loss (`compute_loss`): the mean log loss of the TF1 code, `-[y ln(s + eps) + (1 - y)
    ln(1 - s + eps)]` with s = sigmoid(logit) and eps = `log_loss_epsilon` (1e-7; 0 uses
    the exact `softplus` form), plus `target_l2 * |Q|^2 + history_l2 * |P|^2` summed over the
    *full* tables (code `regs[0]`, `regs[1]`), plus the subclass's `regularization_loss`.

    Choices where the code is undefined: with alpha > 0 and an empty history n_u^(-alpha)
    is taken as 1 (the code never sees an empty history); the code's older versions
    multiplied by n_u^(+alpha) (fixed in commit 8a76837); here the exponent is -alpha.

    Args:
        num_items: size of the item id space (padding id = `num_items`).
        embedding_dim: e (code default 16).
        alpha: the history-length normalisation exponent (code default 0: a plain sum).
        history_l2: gamma, L2 weight on P (code 1e-7).
        target_l2: lambda, L2 weight on Q (code 1e-7).
        log_loss_epsilon: the eps inside the logs of the log loss (TF1 `log_loss`: 1e-7).
        initializer_stddev: P and Q ~ truncated normal (cut at 2 stddev), code 0.01.
        embeddings_trainable: False freezes P, Q and b (NAIS code `pretrain=2`).
    """

    def __init__(
        self,
        num_items: int,
        embedding_dim: int = 16,
        alpha: float = 0.0,
        history_l2: float = 1e-7,
        target_l2: float = 1e-7,
        log_loss_epsilon: float = 1e-7,
        initializer_stddev: float = 0.01,
        embeddings_trainable: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, value in (("num_items", num_items), ("embedding_dim", embedding_dim)):
            if int(value) < 1:
                raise ValueError(f"Received: `{name}={value}`. Expected an integer >= 1.")
        for name, value in (
            ("history_l2", history_l2),
            ("target_l2", target_l2),
            ("log_loss_epsilon", log_loss_epsilon),
        ):
            if not float(value) >= 0.0:
                raise ValueError(f"Received: `{name}={value}`. Expected a float >= 0.")
        self.num_items = int(num_items)
        self.embedding_dim = int(embedding_dim)
        self.alpha = float(alpha)
        self.history_l2 = float(history_l2)
        self.target_l2 = float(target_l2)
        self.log_loss_epsilon = float(log_loss_epsilon)
        self.initializer_stddev = float(initializer_stddev)
        self.embeddings_trainable = bool(embeddings_trainable)

    def build(self, input_shape=None):
        def initializer():
            return keras.initializers.TruncatedNormal(stddev=self.initializer_stddev)

        shape = (self.num_items, self.embedding_dim)
        trainable = self.embeddings_trainable
        self.history_embeddings = self.add_weight(
            shape=shape, initializer=initializer(), trainable=trainable, name="history_embeddings"
        )
        self.target_embeddings = self.add_weight(
            shape=shape, initializer=initializer(), trainable=trainable, name="target_embeddings"
        )
        self.item_bias = self.add_weight(
            shape=(self.num_items,), initializer="zeros", trainable=trainable, name="item_bias"
        )
        for layer in self.layers:
            if not layer.built:
                layer.build(None)
        self.built = True

    # ----------------------------------------------------------------- hooks
    @abc.abstractmethod
    def history_weights(
        self, history_embeddings, history_mask, target_embeddings, history=None, items=None
    ):
        """Weights w_ij of the history items for each target.

        Args:
            history_embeddings: `[B, L, e]` p_i (zero at padding).
            history_mask: `[B, L]` float 0/1.
            target_embeddings: `[B, M, e]` q_j.
            history, items: the `[B, L]` history and `[B, M]` target ids (for models that
                look up more than the embeddings, e.g. IRIS's item features).

        Returns:
            `[B, M, L]`, or `[B, 1, L]` when the weights do not depend on the target.
        """

    def regularization_loss(self):
        """Extra L2 terms of the subclass (added to the loss)."""
        return 0.0

    # ----------------------------------------------------------------- scoring
    def padded_history_table(self):
        """P with the constant zero row of the padding id appended: `[num_items + 1, e]`."""
        zeros = ops.zeros((1, self.embedding_dim), dtype=self.history_embeddings.dtype)
        return ops.concatenate([self.history_embeddings, zeros], axis=0)

    def _parts(self, history, history_mask, items):
        history = ops.convert_to_tensor(history, "int32")
        items = ops.convert_to_tensor(items, "int32")
        mask = ops.cast(ops.convert_to_tensor(history_mask), self.history_embeddings.dtype)
        history_embeddings = ops.take(self.padded_history_table(), history, axis=0)
        history_embeddings = history_embeddings * ops.expand_dims(mask, -1)
        target_embeddings = ops.take(self.target_embeddings, items, axis=0)
        weights = self.history_weights(
            history_embeddings, mask, target_embeddings, history=history, items=items
        )
        count = ops.sum(mask, axis=-1, keepdims=True)
        if self.alpha:
            coefficient = ops.power(ops.where(count > 0.0, count, 1.0), -self.alpha)
        else:
            coefficient = ops.ones_like(count)
        return history_embeddings, target_embeddings, weights, coefficient

    def score_candidates(self, history, history_mask, items):
        """Logits of `[B, M]` candidate items for `[B, L]` histories: `[B, M]`.

        Args:
            history: `[B, L]` int item ids (padding `num_items`).
            history_mask: `[B, L]` bool or 0/1.
            items: `[B, M]` int candidate ids.
        """
        history_embeddings, target_embeddings, weights, coefficient = self._parts(
            history, history_mask, items
        )
        users = ops.matmul(weights, history_embeddings)  # [B, M or 1, e]
        scores = ops.sum(users * target_embeddings, axis=-1)
        return coefficient * scores + ops.take(self.item_bias, items, axis=0)

    def call(self, inputs):
        if "items" in inputs:
            return self.score_candidates(inputs["history"], inputs["history_mask"], inputs["items"])
        items = ops.expand_dims(ops.convert_to_tensor(inputs["item"], "int32"), -1)
        return ops.squeeze(
            self.score_candidates(inputs["history"], inputs["history_mask"], items), -1
        )

    def explain(self, history, history_mask, items):
        """Per-history-item weights and contributions for one target per row.

        `logit = sum(contributions) + bias`, with contribution_i = n_u^(-alpha) w_ij p_i^T q_j.

        Args:
            history: `[B, L]` int ids, history_mask: `[B, L]`, items: `[B]` int target ids.

        Returns:
            `{"weights": [B, L], "contributions": [B, L], "bias": [B], "logits": [B]}`
            numpy arrays (weights 0 and contributions 0 at padding).
        """
        items = ops.expand_dims(ops.convert_to_tensor(items, "int32"), -1)
        history_embeddings, target_embeddings, weights, coefficient = self._parts(
            history, history_mask, items
        )
        mask = ops.cast(ops.convert_to_tensor(history_mask), weights.dtype)
        weights = weights[:, 0, :] * mask
        similarities = ops.sum(history_embeddings * target_embeddings, axis=-1)  # [B, L]
        contributions = coefficient * weights * similarities
        bias = ops.take(self.item_bias, items[:, 0], axis=0)
        result = {
            "weights": weights,
            "contributions": contributions,
            "bias": bias,
            "logits": ops.sum(contributions, axis=-1) + bias,
        }
        return {name: np.asarray(ops.convert_to_numpy(value)) for name, value in result.items()}

    def sampled_scorer(
        self,
        train,
        *,
        max_history_length: int | None = None,
        clip: str = "latest",
        timestamps=None,
        max_cells: int = 2**20,
    ):
        """A `score_fn(user_ids, item_ids)` for `tfrec.evaluation.sampled.evaluate_sampled`.

        The 1 + N protocol of the NAIS code (spec evaluation.md §C.7): every candidate of a
        user is scored against the user's whole (clipped) training history.

        Args:
            train: the training matrix (e.g. `Interactions.train`) or a `UserHistories`.
            max_history_length, clip, timestamps: as in `HistorySampler` (use the training
                settings; the NAIS code evaluates with its clipped list).
            max_cells: users x candidates x history slots per scoring call (memory bound).

        Returns:
            A function `(user_ids [b], item_ids [b, M]) -> float32 numpy [b, M]` of logits.
        """
        histories = (
            train
            if isinstance(train, UserHistories)
            else UserHistories(
                train, max_history_length=max_history_length, clip=clip, timestamps=timestamps
            )
        )

        def score_fn(user_ids, item_ids):
            item_ids = np.asarray(item_ids)
            scores = np.zeros(item_ids.shape, np.float32)
            for rows, inputs in evaluation_batches(
                histories, np.asarray(user_ids), item_ids, max_cells=max_cells
            ):
                scores[rows] = ops.convert_to_numpy(
                    self.score_candidates(
                        inputs["history"], inputs["history_mask"], inputs["items"]
                    )
                )
            return scores

        return score_fn

    # ----------------------------------------------------------------- loss
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        labels = ops.reshape(ops.cast(y, y_pred.dtype), ops.shape(y_pred))
        if self.log_loss_epsilon:
            probabilities = ops.sigmoid(y_pred)
            epsilon = self.log_loss_epsilon
            losses = -(
                labels * ops.log(probabilities + epsilon)
                + (1.0 - labels) * ops.log(1.0 - probabilities + epsilon)
            )
        else:
            losses = labels * ops.softplus(-y_pred) + (1.0 - labels) * ops.softplus(y_pred)
        if sample_weight is not None:
            losses = losses * ops.reshape(ops.cast(sample_weight, losses.dtype), ops.shape(losses))
        loss = ops.mean(losses)
        if self.target_l2:
            loss = loss + self.target_l2 * ops.sum(ops.square(self.target_embeddings))
        if self.history_l2:
            loss = loss + self.history_l2 * ops.sum(ops.square(self.history_embeddings))
        loss = loss + self.regularization_loss()
        if self.losses:
            loss = loss + ops.sum(self.losses)
        return loss

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_items": self.num_items,
                "embedding_dim": self.embedding_dim,
                "alpha": self.alpha,
                "history_l2": self.history_l2,
                "target_l2": self.target_l2,
                "log_loss_epsilon": self.log_loss_epsilon,
                "initializer_stddev": self.initializer_stddev,
                "embeddings_trainable": self.embeddings_trainable,
            }
        )
        return config
