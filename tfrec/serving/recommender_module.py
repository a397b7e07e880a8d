"""The exported recommender: a pure-TensorFlow `tf.Module` that TF Serving can load.

Everything the graph needs is state of the module: the id vocabularies are lookup tables,
the embedding tables, the users' training items and the item popularity are variables.
No Keras layer, no tfrec code and no `py_function` is part of the graph, so the SavedModel
loads with TensorFlow alone (or in TF Serving). The history models (FISM, NAIS, IRIS: no
user table) export as `HistoryRecommenderModule` instead (same `recommend` and `score`,
plus `recommend_from_history` and their own `explain`).

Signatures (named inputs and outputs; `b` users per request):

- `serving_default` (also `recommend`): `user_keys` string `[b]`, `k` int32 scalar ->
  `item_keys` string `[b, k']`, `item_ids` int64 `[b, k']`, `scores` float32 `[b, k']`,
  `known_user` bool `[b]`, where `k' = min(max(k, 0), num_items)`. Best first, ties to the
  lower item id (`tf.math.top_k`). A known user's training items are never recommended;
  when fewer than `k'` items remain, the tail places are padding: `item_ids` -1,
  `item_keys` "" and `scores` -inf. An unknown user key gets the training popularity
  ranking (scores = training interaction counts, nothing excluded) and `known_user`
  False; it never fails the request.
- `score`: `user_keys` string `[b]`, `item_keys` string `[b, m]` -> `scores` float32
  `[b, m]` (the model's score, training items included), `item_ids` int64 `[b, m]` (-1 for
  an unknown item key) and `known_user` bool `[b]`. The score is NaN where the user or the
  item key is unknown.
- `explain` (models whose `Scorer` has `explain`: MAML): `user_keys` string `[n]`,
  `item_keys` string `[n]` (one item per user key: pair r is `(user_keys[r],
  item_keys[r])`, both of length n) -> `attention` float32 `[n, f]` (MAML's attention
  vector a(u, i), spec maml.md §2.2; scaled softmax: the weights sum to f),
  `dimension_contributions` float32 `[n, f]` (`a_l^2 (p_ul - q_il)^2`, the share of each
  dimension in the distance: they sum to minus the score), `scores` float32 `[n]` (the
  score of the pair, as `score` gives it) and `known` bool `[n]`. Where the user or the
  item key is unknown the row is zeros (attention, contributions and score) and `known` is
  False; it never fails the request.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from tfrec.serving.scorers import Scorer

USER_KEYS = tf.TensorSpec([None], tf.string, name="user_keys")
ITEM_KEYS = tf.TensorSpec([None, None], tf.string, name="item_keys")
PAIR_ITEM_KEYS = tf.TensorSpec([None], tf.string, name="item_keys")
K = tf.TensorSpec([], tf.int32, name="k")


class RecommenderModule(tf.Module):
    """A trained model's scores and its training data, as a servable `tf.Module`.

    Args:
        scorer: the model class's `Scorer` (see `tfrec.serving.scorers.SCORERS`).
        user_keys, item_keys: `[num_users]`, `[num_items]` raw keys (str), by id.
        user_table, item_table: `[num_users, d]`, `[num_items, d]` float32 arrays.
        train: `[num_users, num_items]` CSR matrix of training interactions (excluded
            from the recommendations; its column counts are the popularity ranking).
        extras: further weights the scorer needs (`Scorer.extras_fn(model)`).

    Example:
    >>> module = RecommenderModule.from_model(model, interactions)
    >>> module.recommend(tf.constant(["u1", "nobody"]), tf.constant(10))["item_keys"]
    """

    def __init__(
        self,
        scorer: Scorer,
        user_keys,
        item_keys,
        user_table: np.ndarray,
        item_table: np.ndarray,
        train: sp.csr_matrix,
        extras: dict[str, np.ndarray] | None = None,
    ):
        super().__init__(name="recommender")
        user_keys = [str(key) for key in user_keys]
        item_keys = [str(key) for key in item_keys]
        num_users, num_items = len(user_keys), len(item_keys)
        user_table = np.asarray(user_table, np.float32)
        item_table = np.asarray(item_table, np.float32)
        if user_table.shape[0] != num_users or item_table.shape[0] != num_items:
            raise ValueError(
                f"Received tables of shapes {user_table.shape} and {item_table.shape} for "
                f"{num_users} user keys and {num_items} item keys. Expected one row per key "
                "(was the model trained on these interactions?)."
            )
        train = sp.csr_matrix(train)
        train.sort_indices()
        if train.shape != (num_users, num_items):
            raise ValueError(
                f"Received a training matrix of shape {train.shape}. Expected "
                f"{(num_users, num_items)} (num_users, num_items)."
            )
        self._scorer = scorer
        self.num_items = num_items
        self.user_lookup = key_lookup_table(user_keys)
        self.item_lookup = key_lookup_table(item_keys)
        # The keys by id (for clients that list them); items with "" at index num_items
        # for the padded places of a recommendation.
        self.user_keys = tf.Variable(user_keys, trainable=False, name="user_keys")
        self.item_keys = tf.Variable(item_keys + [""], trainable=False, name="item_keys")
        self.user_table = tf.Variable(user_table, trainable=False, name="user_table")
        self.item_table = tf.Variable(item_table, trainable=False, name="item_table")
        # Each user's training items as a ragged tensor: row r is values[splits[r]:splits[r+1]].
        self.train_row_splits = tf.Variable(
            train.indptr.astype(np.int64), trainable=False, name="train_row_splits"
        )
        self.train_items = tf.Variable(
            train.indices.astype(np.int64), trainable=False, name="train_items"
        )
        popularity = np.bincount(train.indices, minlength=num_items).astype(np.float32)
        self.popularity = tf.Variable(popularity, trainable=False, name="popularity")
        self.extras = {
            name: tf.Variable(np.asarray(value), trainable=False, name=name)
            for name, value in (extras or {}).items()
        }
        if scorer.explain is not None:
            # Only the models that can explain a score get the signature.
            self.explain = tf.function(self._explain, input_signature=[USER_KEYS, PAIR_ITEM_KEYS])

    @classmethod
    def from_model(cls, model, interactions, scorer: Scorer | None = None) -> RecommenderModule:
        """Copies `model`'s weights (as numpy, on any Keras backend) and `interactions`."""
        import keras

        from tfrec.serving.scorers import get_scorer

        scorer = scorer or get_scorer(model)
        return cls(
            scorer,
            interactions.user_keys,
            interactions.item_keys,
            keras.ops.convert_to_numpy(model.user_embedding.embeddings),
            keras.ops.convert_to_numpy(model.item_embedding.embeddings),
            interactions.train,
            scorer.extras_fn(model),
        )

    def serving_signatures(self) -> dict:
        """Signature name -> concrete function, for `tf.saved_model.save`."""
        recommend = self.recommend.get_concrete_function()
        signatures = {
            "serving_default": recommend,
            "recommend": recommend,
            "score": self.score.get_concrete_function(),
        }
        if hasattr(self, "explain"):
            signatures["explain"] = self.explain.get_concrete_function()
        return signatures

    @tf.function(input_signature=[USER_KEYS, K])
    def recommend(self, user_keys, k):
        user_ids = self.user_lookup.lookup(user_keys)
        known_user = user_ids >= 0
        user_ids = tf.maximum(user_ids, 0)
        scores = self._full_scores(user_ids)
        # Unknown users: the popularity ranking (training counts), nothing excluded.
        scores = tf.where(known_user[:, None], scores, self.popularity[None, :])
        excluded = self._training_mask(user_ids, known_user, tf.shape(scores))
        masked = tf.where(excluded, tf.constant(-np.inf, tf.float32), scores)
        width = tf.minimum(tf.maximum(k, 0), self.num_items)
        top_scores, top_ids = tf.math.top_k(masked, k=width, sorted=True)
        padding = tf.gather(excluded, top_ids, batch_dims=1)
        item_ids = tf.where(padding, tf.constant(-1, tf.int64), tf.cast(top_ids, tf.int64))
        key_index = tf.where(padding, tf.constant(self.num_items, tf.int32), top_ids)
        return {
            "item_keys": tf.gather(self.item_keys, key_index),
            "item_ids": item_ids,
            "scores": tf.where(padding, tf.constant(-np.inf, tf.float32), top_scores),
            "known_user": known_user,
        }

    @tf.function(input_signature=[USER_KEYS, ITEM_KEYS])
    def score(self, user_keys, item_keys):
        user_ids = self.user_lookup.lookup(user_keys)
        item_ids = self.item_lookup.lookup(item_keys)
        known_user = user_ids >= 0
        if self._scorer.score_items is None:
            scores = self._full_scores(tf.maximum(user_ids, 0))
            picked = tf.gather(scores, tf.maximum(item_ids, 0), batch_dims=1)
        else:  # Only the requested pairs (MAML: attention per pair).
            safe_ids = tf.maximum(item_ids, 0)
            picked = self._scorer.score_items(
                tf.gather(self.user_table, tf.maximum(user_ids, 0)),
                tf.gather(self.item_table, safe_ids),
                safe_ids,
                self._extras(),
            )
        valid = tf.logical_and(known_user[:, None], item_ids >= 0)
        return {
            "scores": tf.where(valid, picked, tf.constant(np.nan, tf.float32)),
            "item_ids": item_ids,
            "known_user": known_user,
        }

    def _explain(self, user_keys, item_keys):
        user_ids = self.user_lookup.lookup(user_keys)
        item_ids = self.item_lookup.lookup(item_keys)
        known = tf.logical_and(user_ids >= 0, item_ids >= 0)
        item_ids = tf.maximum(item_ids, 0)
        user_vectors = tf.gather(self.user_table, tf.maximum(user_ids, 0))
        item_vectors = tf.gather(self.item_table, item_ids)
        parts = self._scorer.explain(user_vectors, item_vectors, item_ids, self._extras())
        contributions = parts["dimension_contributions"]
        zeros = tf.zeros_like(contributions)
        return {
            "attention": tf.where(known[:, None], parts["attention"], zeros),
            "dimension_contributions": tf.where(known[:, None], contributions, zeros),
            "scores": tf.where(known, -tf.reduce_sum(contributions, axis=-1), 0.0),
            "known": known,
        }

    def _extras(self):
        return {name: variable.read_value() for name, variable in self.extras.items()}

    def _full_scores(self, user_ids):
        user_vectors = tf.gather(self.user_table, user_ids)
        return self._scorer.score(user_vectors, self.item_table.read_value(), self._extras())

    def _training_mask(self, user_ids, known_user, shape):
        """`[b, num_items]` bool: the known users' training items."""
        starts = tf.gather(self.train_row_splits, user_ids)
        limits = tf.where(known_user, tf.gather(self.train_row_splits, user_ids + 1), starts)
        positions = tf.ragged.range(starts, limits)
        rows = positions.value_rowids()
        items = tf.gather(self.train_items, positions.flat_values)
        marks = tf.scatter_nd(
            tf.stack([rows, items], axis=1), tf.ones_like(items, tf.int32), tf.cast(shape, tf.int64)
        )
        return marks > 0


def key_lookup_table(keys: list[str]) -> tf.lookup.StaticHashTable:
    """Raw key -> int64 id, -1 for an unknown key."""
    if len(set(keys)) != len(keys):
        raise ValueError("Received duplicate raw keys. Expected unique user and item keys.")
    initializer = tf.lookup.KeyValueTensorInitializer(
        tf.constant(keys, tf.string), tf.range(len(keys), dtype=tf.int64)
    )
    return tf.lookup.StaticHashTable(initializer, default_value=-1)
