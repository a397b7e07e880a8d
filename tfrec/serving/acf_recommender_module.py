"""The exported ACF / SVD++ model: a pure-TensorFlow `tf.Module` for TF Serving.

ACF represents user i by u'_i = u_i + sum_l alpha(i, l) p_l over their history R(i), with
the item-level attention alpha reading u_i, v_l, p_l and the item's content pooled by the
component-level attention beta (spec acf.md §2). The module stores U, V, P, the attention
weights, the training histories (ragged) and, instead of the raw components, their two
projections W2x x and W1x x per item, computed once at export (a 15,000 x 49 x 2,048
catalogue becomes 2 x 15,000 x 49 x 64 floats; with averaged components, one pooled
vector per item), so the graph needs neither the feature store nor Keras.

Signatures (as `HistoryRecommenderModule`'s where the names agree):

- `serving_default` (= `recommend`), `score`: user keys; a known user is scored from all of
  their training items (exactly `ACF.full_ranking_scorer`), the training items excluded;
  an unknown user gets the popularity ranking and `known_user` False (NaN scores).
- `recommend_from_history`: a new user's `item_keys` `[b, L]` and `k`: u_i is unknown, so
  u' = sum_l alpha(l) p_l with the user term of both attentions set to zero [INFER: the
  paper has no cold-start user]; the given items are excluded; `known_history` False (and
  the popularity ranking) for a row without a known key.
- `explain`: `user_keys` `[b]`, `item_keys` `[b]` -> `history_ids` int64 `[b, L]` (the
  user's training items, -1 padding), `item_weights` float32 `[b, L]` (alpha),
  `component_weights` float32 `[b, L, C]` (beta; uniform over valid components with
  averaged components, zeros without content), `scores` float32 `[b]` (u'^T v_j), `known`
  bool `[b]` (user and item known; otherwise zeros).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfrec.serving.history_recommender_module import HistoryRecommenderModule
from tfrec.serving.recommender_module import PAIR_ITEM_KEYS
from tfrec.serving.recommender_module import USER_KEYS

_MASKED = -1e9


def acf_extras(model, components=None) -> tuple[dict[str, np.ndarray], dict]:
    """The tables of the exported graph (float32 numpy) and its structure options."""

    def numpy(value):
        return np.asarray(keras.ops.convert_to_numpy(value), np.float32)

    dim = model.embedding_dim
    zero = np.zeros((1, dim), np.float32)
    extras = {
        "target_embeddings": numpy(model.item_embedding.embeddings),
        "user_embeddings": numpy(model.user_embedding.embeddings),
        "padded_targets": np.concatenate([numpy(model.item_embedding.embeddings), zero]),
        "padded_auxiliary": np.concatenate([numpy(model.auxiliary_embedding.embeddings), zero]),
    }
    item = model.item_attention
    options = {
        "item_attention": model.item_attention_mode,
        "inputs": ",".join(model.attention_inputs),
        "content": "none",
    }
    if item.mode == "att":
        for name in model.attention_inputs:
            if name != "X":
                extras[f"item_kernel_{name}"] = numpy(getattr(item, f"kernel_{name}"))
        extras["item_hidden_bias"] = numpy(item.hidden_bias)
        extras["item_output_kernel"] = numpy(item.output_kernel)
    if model.uses_components:
        if components is None:
            raise ValueError(
                "This ACF reads component features: pass `components` (its ComponentStore) "
                "to `export_model`."
            )
        store = components.load() if not components.loaded else components
        ids = np.arange(store.num_items + 1)  # Row num_items: the padding id, no components.
        values, mask = store.gather(ids)
        values = values.astype(np.float32)
        content = np.einsum("icf,fh->ich", values, numpy(item.kernel_X))  # W1x x
        comp = model.component_attention
        extras["component_mask"] = mask.astype(np.float32)
        if comp.mode == "att":
            options["content"] = "attention"
            extras["item_content"] = content
            extras["component_projection"] = np.einsum(
                "icf,fh->ich", values, numpy(comp.feature_kernel)
            )
            extras["component_user_kernel"] = numpy(comp.user_kernel)
            extras["component_hidden_bias"] = numpy(comp.hidden_bias)
            extras["component_output_kernel"] = numpy(comp.output_kernel)
        else:
            options["content"] = "average"
            counts = np.maximum(mask.sum(axis=1, keepdims=True), 1)
            extras["pooled_content"] = (content * mask[..., None]).sum(axis=1) / counts
    return {name: np.asarray(value, np.float32) for name, value in extras.items()}, options


def _softmax(scores, mask):
    """Masked softmax over the last axis; all-zero for a row with nothing valid."""
    filled = tf.where(mask, scores, _MASKED)
    shifted = filled - tf.stop_gradient(tf.reduce_max(filled, axis=-1, keepdims=True))
    exp = tf.where(mask, tf.exp(shifted), 0.0)
    total = tf.reduce_sum(exp, axis=-1, keepdims=True)
    return exp / tf.where(total > 0.0, total, 1.0)


def _mean(mask):
    mask = tf.cast(mask, tf.float32)
    count = tf.reduce_sum(mask, axis=-1, keepdims=True)
    return mask / tf.where(count > 0.0, count, 1.0)


class ACFRecommenderModule(HistoryRecommenderModule):
    """A trained ACF (or SVD++) with its training histories, as a servable `tf.Module`.

    Args:
        user_keys, item_keys, train: as `HistoryRecommenderModule`.
        extras, options: `acf_extras(model, components)`.
    """

    def __init__(self, user_keys, item_keys, train, extras, options):
        # No `HistoryScorer`: every scoring method is ACF's own (`_represent`).
        super().__init__(None, user_keys, item_keys, train, extras, options)

    @classmethod
    def from_model(cls, model, interactions, scorer=None, *, components=None, **unused):
        extras, options = acf_extras(model, components)
        return cls(interactions.user_keys, interactions.item_keys, interactions.train, extras,
                   options)  # fmt: skip

    def serving_signatures(self) -> dict:
        signatures = super().serving_signatures()
        signatures["explain"] = self.explain.get_concrete_function()
        return signatures

    # ----------------------------------------------------------------- graph
    def _represent(self, user_vectors, history, mask):
        """(u' [b, D], alpha [b, L], beta [b, L, C] or None) for histories `[b, L]`."""
        extras = self._extras()
        options = self._options
        auxiliary = tf.gather(extras["padded_auxiliary"], history)
        beta = None
        if options["item_attention"] == "avg":
            alpha = _mean(mask)
        else:
            hidden = extras["item_hidden_bias"]
            inputs = options["inputs"].split(",")
            if "U" in inputs:
                hidden = hidden + tf.matmul(user_vectors, extras["item_kernel_U"])[:, None, :]
            if "V" in inputs:
                targets = tf.gather(extras["padded_targets"], history)
                hidden = hidden + tf.einsum("bld,dh->blh", targets, extras["item_kernel_V"])
            if "P" in inputs:
                hidden = hidden + tf.einsum("bld,dh->blh", auxiliary, extras["item_kernel_P"])
            if options["content"] == "attention":
                component_mask = tf.gather(extras["component_mask"], history) > 0.0
                user_term = tf.matmul(user_vectors, extras["component_user_kernel"])
                projected = tf.gather(extras["component_projection"], history)  # [b, L, C, h]
                inner = tf.nn.relu(
                    projected + user_term[:, None, None, :] + extras["component_hidden_bias"]
                )
                scores = tf.reduce_sum(inner * extras["component_output_kernel"], axis=-1)
                beta = _softmax(scores, component_mask)
                content = tf.gather(extras["item_content"], history)
                hidden = hidden + tf.reduce_sum(beta[..., None] * content, axis=-2)
            elif options["content"] == "average":
                hidden = hidden + tf.gather(extras["pooled_content"], history)
            scores = tf.reduce_sum(tf.nn.relu(hidden) * extras["item_output_kernel"], axis=-1)
            alpha = _softmax(scores, mask)
        represented = user_vectors + tf.reduce_sum(alpha[..., None] * auxiliary, axis=1)
        if beta is None and options["content"] != "none":
            beta = _mean(tf.gather(extras["component_mask"], history) > 0.0)
        return represented, alpha, beta

    def _known_representation(self, user_keys):
        user_ids = self.user_lookup.lookup(user_keys)
        known_user = user_ids >= 0
        safe = tf.maximum(user_ids, 0)
        history, mask = self._scoring_histories(safe, known_user)
        users = tf.gather(self.extras["user_embeddings"], safe)
        users = tf.where(known_user[:, None], users, 0.0)
        return user_ids, known_user, history, mask, self._represent(users, history, mask)

    def _all_scores(self, represented):
        return tf.matmul(represented, self.extras["target_embeddings"], transpose_b=True)

    # ----------------------------------------------------------------- signatures
    # `recommend`, `recommend_from_history` and `score` are the base class's; they reach
    # ACF's scores through these two hooks.
    def _user_scores(self, user_ids, known_user, history, mask, items=None):
        users = tf.gather(self.extras["user_embeddings"], tf.maximum(user_ids, 0))
        users = tf.where(known_user[:, None], users, 0.0)
        represented, _, _ = self._represent(users, history, mask)
        if items is None:
            return self._all_scores(represented)
        targets = tf.gather(self.extras["target_embeddings"], items)
        return tf.einsum("bd,bjd->bj", represented, targets)

    def _request_scores(self, history, mask):
        # A new user: u_i unknown, taken as zero [INFER].
        users = tf.zeros([tf.shape(history)[0], tf.shape(self.extras["user_embeddings"])[1]])
        represented, _, _ = self._represent(users, history, mask)
        return self._all_scores(represented)

    @tf.function(input_signature=[USER_KEYS, PAIR_ITEM_KEYS])
    def explain(self, user_keys, item_keys):
        _, known_user, history, mask, parts = self._known_representation(user_keys)
        represented, alpha, beta = parts
        item_ids = self.item_lookup.lookup(item_keys)
        known = tf.logical_and(known_user, item_ids >= 0)
        targets = tf.gather(self.extras["target_embeddings"], tf.maximum(item_ids, 0))
        scores = tf.reduce_sum(represented * targets, axis=-1)
        slots = tf.shape(self.extras["component_mask"])[1] if beta is not None else 1
        if beta is None:
            beta = tf.zeros(tf.concat([tf.shape(history), [slots]], axis=0))
        rows = known[:, None]
        return {
            "history_ids": tf.where(mask, history, tf.constant(-1, tf.int64)),
            "item_weights": tf.where(rows, alpha, 0.0),
            "component_weights": tf.where(rows[:, :, None], beta, 0.0),
            "scores": tf.where(known, scores, 0.0),
            "known": known,
        }
