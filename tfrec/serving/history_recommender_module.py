"""The exported history model (FISM, NAIS, IRIS): a pure-TensorFlow `tf.Module` for TF Serving.

A history model has no user table: a user is the set of their items. The module stores the
training histories (ragged, as variables) for the known users and scores any other history
given in the request, so users unseen at training time are served without retraining.

Signatures (named inputs and outputs; `b` rows per request, `L` history places):

- `serving_default` (also `recommend`), `score`: as `RecommenderModule` (user keys; a known
  user's history is all of their training items; an unknown user key gets the popularity
  ranking and `known_user` False, or NaN scores).
- `recommend_from_history`: `item_keys` string `[b, L]` (a new user's items, padded with
  "" for shorter histories), `k` int32 scalar -> `item_keys` string `[b, k']`, `item_ids`
  int64 `[b, k']`, `scores` float32 `[b, k']` (as `recommend`: the given items excluded,
  padding -1 / "" / -inf), `known_history` bool `[b]` and `history_ids` int64 `[b, L]`
  (-1 for an unknown key). Unknown keys (and "") are dropped from the history and a key
  repeated in a row counts once; a row with no known key gets the popularity ranking
  (nothing excluded) and `known_history` False.
- `explain`: `item_keys` string `[b, L]` (a history per row, as above), `target_keys`
  string `[b]` -> `history_weights` float32 `[b, L]` (w_ij: FISM 1, NAIS attention, IRIS
  interest relevance; 0 at dropped places), `contributions` float32 `[b, L]` (n_u^(-alpha)
  w_ij p_i^T q_j: each history item's share of the logit), `bias` float32 `[b]` (b_j),
  `scores` float32 `[b]` (the logit: contributions + bias), `known` bool `[b]` (the target
  key is known) and `history_ids` int64 `[b, L]`. An unknown target gets a row of zeros.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from tfrec.serving.history_scorers import HistoryScorer
from tfrec.serving.history_scorers import history_explain
from tfrec.serving.history_scorers import history_scores
from tfrec.serving.recommender_module import ITEM_KEYS
from tfrec.serving.recommender_module import USER_KEYS
from tfrec.serving.recommender_module import K
from tfrec.serving.recommender_module import key_lookup_table

HISTORY_KEYS = tf.TensorSpec([None, None], tf.string, name="item_keys")
TARGET_KEYS = tf.TensorSpec([None], tf.string, name="target_keys")


class HistoryRecommenderModule(tf.Module):
    """A trained history model's scores and its training histories, as a servable `tf.Module`.

    Args:
        scorer: the model class's `HistoryScorer` (`tfrec.serving.SCORERS`).
        user_keys, item_keys: `[num_users]`, `[num_items]` raw keys (str), by id.
        train: `[num_users, num_items]` CSR matrix of training interactions: the known
            users' histories (excluded from their recommendations); its column counts are
            the popularity ranking.
        extras: the model's tables (`scorer.extras_fn(model)`).
        options: the graph's structure (`scorer.options_fn(model)`).
        histories: `(row_splits, items)` of the lists the known users are *scored* from,
            when they differ from their training items: the training clip (the NAIS code
            scores from the first 299 items; `from_model(max_history_length=...)`). Default:
            every training item. Recommendations always exclude every training item.

    Example:
    >>> module = HistoryRecommenderModule.from_model(model, interactions)
    >>> module.recommend_from_history(tf.constant([["i3", "i7", ""]]), tf.constant(10))
    """

    def __init__(
        self,
        scorer: HistoryScorer,
        user_keys,
        item_keys,
        train: sp.csr_matrix,
        extras: dict[str, np.ndarray],
        options: dict[str, str],
        histories: tuple[np.ndarray, np.ndarray] | None = None,
    ):
        super().__init__(name="history_recommender")
        user_keys = [str(key) for key in user_keys]
        item_keys = [str(key) for key in item_keys]
        num_users, num_items = len(user_keys), len(item_keys)
        train = sp.csr_matrix(train)
        train.sum_duplicates()
        train.eliminate_zeros()
        train.sort_indices()
        if train.shape != (num_users, num_items):
            raise ValueError(
                f"Received a training matrix of shape {train.shape}. Expected "
                f"{(num_users, num_items)} (num_users, num_items)."
            )
        rows = np.asarray(extras["target_embeddings"]).shape[0]
        if rows != num_items:
            raise ValueError(
                f"Received a model with {rows} items for {num_items} item keys. Expected one "
                "row per key (was the model trained on these interactions?)."
            )
        self._scorer = scorer
        self._options = dict(options)
        self.num_items = num_items
        self.user_lookup = key_lookup_table(user_keys)
        self.item_lookup = key_lookup_table(item_keys)
        self.user_keys = tf.Variable(user_keys, trainable=False, name="user_keys")
        self.item_keys = tf.Variable(item_keys + [""], trainable=False, name="item_keys")
        # Each user's training items as a ragged tensor: row r is values[splits[r]:splits[r+1]].
        self.train_row_splits = tf.Variable(
            train.indptr.astype(np.int64), trainable=False, name="train_row_splits"
        )
        self.train_items = tf.Variable(
            train.indices.astype(np.int64), trainable=False, name="train_items"
        )
        splits, items = histories if histories is not None else (train.indptr, train.indices)
        if len(splits) != num_users + 1:
            raise ValueError(
                f"Received `histories` with {len(splits) - 1} rows. Expected {num_users}."
            )
        # The lists the known users are scored from (clipped as in training).
        self.history_row_splits = tf.Variable(
            np.asarray(splits, np.int64), trainable=False, name="history_row_splits"
        )
        self.history_items = tf.Variable(
            np.asarray(items, np.int64), trainable=False, name="history_items"
        )
        popularity = np.bincount(train.indices, minlength=num_items).astype(np.float32)
        self.popularity = tf.Variable(popularity, trainable=False, name="popularity")
        self.extras = {
            name: tf.Variable(np.asarray(value), trainable=False, name=name)
            for name, value in extras.items()
        }

    @classmethod
    def from_model(
        cls,
        model,
        interactions,
        scorer: HistoryScorer | None = None,
        *,
        max_history_length: int | None = None,
        clip: str = "first",
    ) -> HistoryRecommenderModule:
        """Copies `model`'s tables (as numpy, on any Keras backend) and `interactions`.

        `max_history_length` and `clip` are the training's (`HistoryTraining`): known users
        are scored from the same clipped lists as in training and evaluation (histories in
        time order when the split has timestamps).
        """
        from tfrec.sampling.user_histories import UserHistories
        from tfrec.serving.scorers import get_scorer

        scorer = scorer or get_scorer(model)
        histories = None
        if max_history_length is not None:
            lists = UserHistories(
                interactions.train,
                max_history_length=max_history_length,
                clip=clip,
                timestamps=interactions.train_timestamps,
            )
            ids, mask = lists.gather(np.arange(interactions.num_users), pad_multiple=1)
            splits = np.concatenate([[0], np.cumsum(mask.sum(axis=1))])
            histories = (splits, ids[mask])
        return cls(
            scorer,
            interactions.user_keys,
            interactions.item_keys,
            interactions.train,
            scorer.extras_fn(model),
            scorer.options_fn(model),
            histories,
        )

    def serving_signatures(self) -> dict:
        """Signature name -> concrete function, for `tf.saved_model.save`."""
        recommend = self.recommend.get_concrete_function()
        return {
            "serving_default": recommend,
            "recommend": recommend,
            "recommend_from_history": self.recommend_from_history.get_concrete_function(),
            "score": self.score.get_concrete_function(),
            "explain": self.explain.get_concrete_function(),
        }

    @tf.function(input_signature=[USER_KEYS, K])
    def recommend(self, user_keys, k):
        user_ids = self.user_lookup.lookup(user_keys)
        known_user = user_ids >= 0
        history, mask = self._scoring_histories(tf.maximum(user_ids, 0), known_user)
        scores = self._user_scores(user_ids, known_user, history, mask)
        # Unknown users: the popularity ranking (training counts), nothing excluded.
        scores = tf.where(known_user[:, None], scores, self.popularity[None, :])
        excluded = self._marks(*self._training_histories(tf.maximum(user_ids, 0), known_user))
        outputs = self._top_k(scores, excluded, k)
        outputs["known_user"] = known_user
        return outputs

    @tf.function(input_signature=[HISTORY_KEYS, K])
    def recommend_from_history(self, item_keys, k):
        history_ids, history, mask = self._request_history(item_keys)
        known_history = tf.reduce_any(mask, axis=1)
        scores = self._request_scores(history, mask)
        scores = tf.where(known_history[:, None], scores, self.popularity[None, :])
        outputs = self._top_k(scores, self._marks(history, mask), k)
        outputs["known_history"] = known_history
        outputs["history_ids"] = history_ids
        return outputs

    @tf.function(input_signature=[USER_KEYS, ITEM_KEYS])
    def score(self, user_keys, item_keys):
        user_ids = self.user_lookup.lookup(user_keys)
        item_ids = self.item_lookup.lookup(item_keys)
        known_user = user_ids >= 0
        history, mask = self._scoring_histories(tf.maximum(user_ids, 0), known_user)
        scores = self._user_scores(user_ids, known_user, history, mask, tf.maximum(item_ids, 0))
        valid = tf.logical_and(known_user[:, None], item_ids >= 0)
        return {
            "scores": tf.where(valid, scores, tf.constant(np.nan, tf.float32)),
            "item_ids": item_ids,
            "known_user": known_user,
        }

    @tf.function(input_signature=[HISTORY_KEYS, TARGET_KEYS])
    def explain(self, item_keys, target_keys):
        history_ids, history, mask = self._request_history(item_keys)
        targets = self.item_lookup.lookup(target_keys)
        known = targets >= 0
        parts = history_explain(
            history, mask, tf.maximum(targets, 0), self._extras(), self._options
        )
        rows = known[:, None]  # An unknown target: a row of zeros.
        outputs = {
            "history_weights": tf.where(rows, parts["history_weights"], 0.0),
            "contributions": tf.where(rows, parts["contributions"], 0.0),
            "bias": tf.where(known, parts["bias"], 0.0),
            "scores": tf.where(known, parts["scores"], 0.0),
            "known": known,
        }
        outputs["history_ids"] = history_ids
        return outputs

    # ----------------------------------------------------------------- helpers
    def _extras(self):
        return {name: variable.read_value() for name, variable in self.extras.items()}

    def _catalogue_scores(self, history, mask):
        catalogue = tf.range(self.num_items, dtype=tf.int64)[None, :]
        return history_scores(history, mask, catalogue, self._extras(), self._options)

    # Scoring hooks of the signatures; a model with user vectors (ACF) overrides them.
    def _user_scores(self, user_ids, known_user, history, mask, items=None):
        """Known users' scores from their scoring `history`: every item (`items` None,
        `[b, num_items]`) or the `[b, J]` ids `items`."""
        if items is None:
            return self._catalogue_scores(history, mask)
        return history_scores(history, mask, items, self._extras(), self._options)

    def _request_scores(self, history, mask):
        """`[b, num_items]` scores of a request's histories (new users)."""
        return self._catalogue_scores(history, mask)

    def _training_histories(self, user_ids, known_user):
        """`[b, L]` training items of the users (padding num_items; none for unknown users)
        and their bool mask, L the longest history in the batch."""
        return self._rows(self.train_row_splits, self.train_items, user_ids, known_user)

    def _scoring_histories(self, user_ids, known_user):
        """As `_training_histories`, the lists the users are scored from (clipped)."""
        return self._rows(self.history_row_splits, self.history_items, user_ids, known_user)

    def _rows(self, row_splits, values, user_ids, known_user):
        starts = tf.gather(row_splits, user_ids)
        limits = tf.where(known_user, tf.gather(row_splits, user_ids + 1), starts)
        positions = tf.ragged.range(starts, limits)
        items = positions.with_flat_values(tf.gather(values, positions.flat_values))
        history = items.to_tensor(default_value=tf.constant(self.num_items, tf.int64))
        mask = tf.sequence_mask(items.row_lengths(), tf.shape(history, tf.int64)[1])
        return history, mask

    def _request_history(self, item_keys):
        """Ids `[b, L]` of the request's keys (-1 unknown), the history with dropped places
        set to the padding id, and its mask (known keys, first place of a repeated key)."""
        ids = self.item_lookup.lookup(item_keys)
        # A repeated id counts once: sort each row (stable), keep the first of equal runs.
        order = tf.argsort(ids, axis=1, stable=True)
        ordered = tf.gather(ids, order, batch_dims=1)
        first = tf.concat(
            [tf.ones_like(ordered[:, :1], tf.bool), ordered[:, 1:] != ordered[:, :-1]], axis=1
        )
        inverse = tf.argsort(order, axis=1, stable=True)
        mask = tf.logical_and(ids >= 0, tf.gather(first, inverse, batch_dims=1))
        history = tf.where(mask, ids, tf.constant(self.num_items, tf.int64))
        return ids, history, mask

    def _marks(self, history, mask):
        """`[b, num_items]` bool: the items of the histories."""
        places = tf.where(mask)  # [n, 2] (row, place)
        items = tf.gather_nd(history, places)
        marks = tf.scatter_nd(
            tf.stack([places[:, 0], items], axis=1),
            tf.ones_like(items, tf.int32),
            tf.cast(tf.stack([tf.shape(history)[0], self.num_items]), tf.int64),
        )
        return marks > 0

    def _top_k(self, scores, excluded, k):
        """Top-k of `scores` without `excluded`, padded as `RecommenderModule.recommend`."""
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
        }
