"""Base class of the models trained on (user, positive, W negatives) batches."""

from __future__ import annotations

import abc

import keras
import numpy as np
from keras import ops

from tfrec.layers.sparse_read_embedding import SparseReadEmbedding
from tfrec.layers.unit_ball_constraint import UnitBallConstraint


class EmbeddingModel(keras.Model, abc.ABC):
    """A user-item model trained on sampled batches and scored against the whole catalogue.

    Subclasses own user/item tables and implement two hooks:
    - `score_candidates(user_ids [B], item_ids [B, M]) -> [B, M]` (higher = better), and
    - `score_users(user_ids [b]) -> [b, num_items]`.

    `call(inputs)` takes the sampler's named batch `{"user": [B], "positive": [B],
    "negatives": [B, W]}` and returns `[B, 1 + W]` scores with the positive in column 0;
    `compute_loss` (same signature as Keras') turns them into the model's loss.

    Args:
        num_users, num_items: sizes of the id spaces.
        embedding_dim: d.
    """

    def __init__(self, num_users: int, num_items: int, embedding_dim: int, **kwargs):
        super().__init__(**kwargs)
        num_users, num_items, embedding_dim = int(num_users), int(num_items), int(embedding_dim)
        for name, value in (
            ("num_users", num_users),
            ("num_items", num_items),
            ("embedding_dim", embedding_dim),
        ):
            if value < 1:
                raise ValueError(f"Received: `{name}={value}`. Expected an integer >= 1.")
        self.num_users = int(num_users)
        self.num_items = int(num_items)
        self.embedding_dim = int(embedding_dim)

    def add_unit_ball_tables(self, initializer, clip_norm: float) -> None:
        """Creates `user_embedding` and `item_embedding`: `[num_users | num_items, d]`
        tables whose rows are clipped to norm <= `clip_norm` after every update (the
        CollMetric/MAML/MML unit-ball constraint). The tables read rows sparsely
        (`SparseReadEmbedding`) and Adagrad updates and clips only the rows a step touched
        (`tfrec.training.optimizers`), so a step does not scale with the table sizes.

        Args:
            initializer: a callable returning a fresh Keras initializer (one per table).
            clip_norm: radius of the ball.
        """
        for name, rows in (("user_embedding", self.num_users), ("item_embedding", self.num_items)):
            table = SparseReadEmbedding(
                rows,
                self.embedding_dim,
                embeddings_initializer=initializer(),
                embeddings_constraint=UnitBallConstraint(clip_norm),
                name=name,
            )
            setattr(self, name, table)

    def build(self, input_shape=None):
        # The tables do not depend on the input shape: build them up front so that the
        # weights exist (and can be saved, exported or read) before the first call.
        for layer in self.layers:
            if isinstance(layer, keras.layers.Embedding) and not layer.built:
                layer.build()
            elif not layer.built:
                layer.build(None)
        self.built = True

    def call(self, inputs):
        items = ops.concatenate(
            [ops.expand_dims(inputs["positive"], -1), inputs["negatives"]], axis=-1
        )
        return self.score_candidates(inputs["user"], items)

    def with_added_losses(self, loss):
        """`loss` plus any losses layers added with `add_loss` during the call."""
        if self.losses:
            loss = loss + ops.sum(self.losses)
        return loss

    @staticmethod
    def candidate_labels(scores):
        """Labels of a `[B, 1 + W]` candidate list: 1 for column 0 (positive), 0 elsewhere."""
        return ops.concatenate(
            [ops.ones_like(scores[:, :1]), ops.zeros_like(scores[:, 1:])], axis=-1
        )

    @abc.abstractmethod
    def score_candidates(self, user_ids, item_ids):
        """`[B]` users x `[B, M]` items -> `[B, M]` scores."""

    @abc.abstractmethod
    def score_users(self, user_ids):
        """`[b]` users -> `[b, num_items]` scores over the whole catalogue."""

    def score_items(self, user_ids, item_ids):
        """Evaluation alias of `score_candidates` (used by the 1 + N protocol)."""
        return self.score_candidates(user_ids, item_ids)

    def score_users_numpy(self, user_ids: np.ndarray) -> np.ndarray:
        """`score_users` as a float32 numpy array (what the evaluators consume)."""
        return np.asarray(ops.convert_to_numpy(self.score_users(ops.convert_to_tensor(user_ids))))

    def build_for_ids(self, num_negatives: int = 1) -> None:
        """Builds the weights by running one dummy batch (so they can be saved or read)."""
        self(
            {
                "user": np.zeros((1,), np.int32),
                "positive": np.zeros((1,), np.int32),
                "negatives": np.zeros((1, num_negatives), np.int32),
            }
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_users": self.num_users,
                "num_items": self.num_items,
                "embedding_dim": self.embedding_dim,
            }
        )
        return config
