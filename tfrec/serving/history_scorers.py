"""The history models' scores (FISM, NAIS, IRIS) in plain TensorFlow, for the SavedModel export.

A history model has no user table: a user is their history (`ItemSimilarityModel`),

    logit(u, j) = n_u^(-alpha) * sum_(i in history) w_ij p_i^T q_j + b_j,

with w_ij = 1 (FISM) or a smoothed softmax over the history of attention logits
a_ij = h^T act(x_ij + b) (`SmoothedSoftmax`, beta), where the hidden input x_ij is

- `"prod"` (NAIS `attention="prod"`): W (p_i * q_j), computed per (history item, target);
- `"additive"`: A_i + B_j, a history term and a target term per item, constant after
  training and computed once at export: NAIS `attention="concat"` (A = P W_p, B = Q W_q)
  and IRIS (A = W1 v_i + W3 t_i, B = W2 v_j + W4 t_j from the item representations v, t
  of its feature networks: the exported graph has no feature network).

The functions repeat `ItemSimilarityModel.score_candidates` and `.explain` with `tf` ops
only. The attention of (rows x history slots x candidates) triples is computed one block of
candidates at a time in a `tf.while_loop` (`tf.map_fn`): a block holds
HISTORY_CELLS_PER_BLOCK // (rows x history slots) candidates (at least
HISTORY_MIN_BLOCK_ITEMS), so memory stays about HISTORY_CELLS_PER_BLOCK x w floats per block
whatever the catalogue, the batch and the history lengths.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

HISTORY_CELLS_PER_BLOCK = 2**16  # (row, history slot, candidate) triples per block.
HISTORY_MIN_BLOCK_ITEMS = 8
HISTORY_PARALLEL_BLOCKS = 2
ATTENTION_FORMS = ("none", "prod", "additive")
_MASKED_SCORE = -1e9  # As tfrec.layers.smoothed_softmax.
_ACTIVATIONS = {"relu": tf.nn.relu, "sigmoid": tf.sigmoid, "tanh": tf.tanh}


@dataclasses.dataclass(frozen=True)
class HistoryScorer:
    """How one history-model class scores histories in the exported graph.

    The export of such a model is a `tfrec.serving.HistoryRecommenderModule` (signatures
    `recommend`, `recommend_from_history`, `score`, `explain`).

    Attributes:
        extras_fn: `model -> {name: numpy array}`: the tables `history_scores` reads
            (stored as variables in the SavedModel).
        options_fn: `model -> {"attention": one of ATTENTION_FORMS, "activation": str}`:
            the graph's structure, fixed when the signatures are traced.
    """

    extras_fn: Callable[[keras.Model], dict[str, np.ndarray]]
    options_fn: Callable[[keras.Model], dict[str, str]]


def _numpy(tensor) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(tensor), np.float32)


def _base_extras(model) -> dict[str, np.ndarray]:
    """P with its zero padding row (id num_items), Q, b and alpha."""
    return {
        "history_embeddings": _numpy(model.padded_history_table()),  # [num_items + 1, e]
        "target_embeddings": _numpy(model.target_embeddings),  # [num_items, e]
        "item_bias": _numpy(model.item_bias).reshape(-1),
        "alpha": np.float32(model.alpha),
    }


def _with_padding_row(table: np.ndarray) -> np.ndarray:
    return np.concatenate([table, np.zeros((1, table.shape[1]), np.float32)], axis=0)


def fism_extras(model) -> dict[str, np.ndarray]:
    return _base_extras(model)


def fism_options(model) -> dict[str, str]:
    return {"attention": "none", "activation": "relu"}


def nais_extras(model) -> dict[str, np.ndarray]:
    """P, Q, b, alpha and the attention network (concat: its history and target terms)."""
    network = model.attention_network
    extras = _base_extras(model)
    extras.update(
        {
            "beta": np.float32(network.beta),
            "attention_bias": _numpy(network.bias),
            "attention_projection": _numpy(network.projection),
        }
    )
    kernel = _numpy(network.kernel)
    if network.form == "prod":
        extras["attention_kernel"] = kernel  # [e, w]
    else:  # W [p; q] = W_p p + W_q q (NAISAttention.scores).
        e = network.embedding_dim
        extras["attention_history_terms"] = extras["history_embeddings"] @ kernel[:e]
        extras["attention_target_terms"] = extras["target_embeddings"] @ kernel[e:]
    return extras


def nais_options(model) -> dict[str, str]:
    network = model.attention_network
    form = "prod" if network.form == "prod" else "additive"
    return {"attention": form, "activation": network.activation}


def iris_extras(model) -> dict[str, np.ndarray]:
    """P, Q, b, alpha and the IRN's per-item terms of the trained feature networks' v, t."""
    network = model.interest_network
    ops = keras.ops
    visual, textual = model.all_item_representations()  # [num_items, e] each (t: or None)
    history_terms = ops.matmul(visual, network.history_visual_kernel)  # W1 v_i
    target_terms = ops.matmul(visual, network.target_visual_kernel)  # W2 v_j
    if textual is not None:
        history_terms = history_terms + ops.matmul(textual, network.history_textual_kernel)
        target_terms = target_terms + ops.matmul(textual, network.target_textual_kernel)
    extras = _base_extras(model)
    extras.update(
        {
            "beta": np.float32(network.beta),
            "attention_bias": _numpy(network.bias),
            "attention_projection": _numpy(network.projection),
            "attention_history_terms": _with_padding_row(_numpy(history_terms)),
            "attention_target_terms": _numpy(target_terms),
        }
    )
    return extras


def iris_options(model) -> dict[str, str]:
    return {"attention": "additive", "activation": model.interest_network.activation}


# ------------------------------------------------------------------------------ graph
def _history_parts(history_ids, history_mask, extras):
    """p_i `[b, L, e]` (zero at padding), the float mask `[b, L]`, n_u^(-alpha) `[b, 1]`."""
    mask = tf.cast(history_mask, tf.float32)
    vectors = tf.gather(extras["history_embeddings"], history_ids) * mask[..., None]
    count = tf.reduce_sum(mask, axis=-1, keepdims=True)
    coefficient = tf.pow(tf.where(count > 0.0, count, 1.0), -extras["alpha"])
    return vectors, mask, coefficient


def _smoothed_softmax(scores, mask, beta):
    """`SmoothedSoftmax` over axis 1 of `[b, L, J]` scores, mask `[b, L, 1]` (0/1)."""
    mask = tf.broadcast_to(mask > 0.0, tf.shape(scores))
    filled = tf.where(mask, scores, _MASKED_SCORE)
    top = tf.reduce_max(filled, axis=1, keepdims=True)
    shifted = filled - top
    total = tf.reduce_sum(tf.where(mask, tf.exp(shifted), 0.0), axis=1, keepdims=True)
    has_entries = total > 0.0
    top = tf.where(has_entries, top, 0.0)
    log_total = tf.math.log(tf.where(has_entries, total, 1.0))
    exponent = shifted + (1.0 - beta) * top - beta * log_total
    return tf.where(mask, tf.exp(exponent), 0.0)


def _attention(vectors, history_ids, mask, candidates, targets, extras, options):
    """w_ij `[b, L, J]` of history `[b, L]` for candidates `[b or 1, J]` (q_j: `targets`)."""
    if options["attention"] == "none":
        return tf.broadcast_to(mask[:, :, None], tf.concat([tf.shape(mask), [1]], 0))
    if options["attention"] == "prod":  # W (p_i * q_j): [b, L, J, e] -> [b, L, J, w].
        products = vectors[:, :, None, :] * targets[:, None, :, :]
        hidden = tf.einsum("...n,nm->...m", products, extras["attention_kernel"])
    else:  # A_i + B_j.
        history_terms = tf.gather(extras["attention_history_terms"], history_ids)
        target_terms = tf.gather(extras["attention_target_terms"], candidates)
        hidden = history_terms[:, :, None, :] + target_terms[:, None, :, :]
    hidden = _ACTIVATIONS[options["activation"]](hidden + extras["attention_bias"])
    logits = tf.reduce_sum(hidden * extras["attention_projection"], axis=-1)  # [b, L, J]
    return _smoothed_softmax(logits, mask[:, :, None], extras["beta"])


def history_scores(history_ids, history_mask, candidates, extras, options):
    """Logits `[b, m]` of candidates for `[b, L]` histories (`score_candidates`).

    Args:
        history_ids: `[b, L]` int item ids (padding `num_items`).
        history_mask: `[b, L]` bool, True for the history items.
        candidates: `[b, m]` item ids per row, or `[1, m]` shared by every row (the
            catalogue); ids valid (>= 0).
        extras: the tensors of the scorer's `extras_fn`.
        options: the scorer's `options_fn` values.
    """
    vectors, mask, coefficient = _history_parts(history_ids, history_mask, extras)
    bias = tf.gather(extras["item_bias"], candidates)
    if options["attention"] == "none":  # FISM: one user vector per row.
        users = tf.reduce_sum(vectors, axis=1)  # [b, e]
        targets = tf.gather(extras["target_embeddings"], candidates)  # [b or 1, m, e]
        scores = tf.matmul(users[:, None, :], targets, transpose_b=True)[:, 0, :]  # [b, m]
        return coefficient * scores + bias
    num_rows = tf.shape(history_ids)[0]
    cells = num_rows * tf.shape(history_ids)[1]
    width = tf.shape(candidates)[1]
    block = tf.maximum(HISTORY_CELLS_PER_BLOCK // tf.maximum(cells, 1), HISTORY_MIN_BLOCK_ITEMS)
    block = tf.minimum(block, tf.maximum(width, 1))
    num_blocks = tf.maximum((width + block - 1) // block, 1)
    padded = tf.pad(candidates, [[0, 0], [0, num_blocks * block - width]])  # Item 0: valid.
    blocks = tf.transpose(
        tf.reshape(padded, [tf.shape(candidates)[0], num_blocks, block]), [1, 0, 2]
    )

    def score_block(block_ids):  # [b or 1, J] -> [b, J]
        targets = tf.gather(extras["target_embeddings"], block_ids)  # [b or 1, J, e]
        weights = _attention(vectors, history_ids, mask, block_ids, targets, extras, options)
        users = tf.einsum("blj,ble->bje", weights, vectors)  # sum_i w_ij p_i
        return tf.reduce_sum(users * targets, axis=-1)

    scores = tf.map_fn(
        score_block,
        blocks,
        fn_output_signature=tf.TensorSpec([None, None], tf.float32),
        parallel_iterations=HISTORY_PARALLEL_BLOCKS,
    )  # [num_blocks, b, block]
    scores = tf.reshape(tf.transpose(scores, [1, 0, 2]), [num_rows, num_blocks * block])
    return coefficient * scores[:, :width] + bias


def history_explain(history_ids, history_mask, targets, extras, options):
    """w_ij, contributions `n_u^(-alpha) w_ij p_i^T q_j` `[b, L]`, b_j and logits `[b]`
    of one target `[b]` per row (`ItemSimilarityModel.explain`; ids valid)."""
    vectors, mask, coefficient = _history_parts(history_ids, history_mask, extras)
    target_vectors = tf.gather(extras["target_embeddings"], targets)  # [b, e]
    weights = _attention(
        vectors, history_ids, mask, targets[:, None], target_vectors[:, None, :], extras, options
    )
    weights = weights[:, :, 0] * mask
    similarities = tf.reduce_sum(vectors * target_vectors[:, None, :], axis=-1)
    contributions = coefficient * weights * similarities
    bias = tf.gather(extras["item_bias"], targets)
    return {
        "history_weights": weights,
        "contributions": contributions,
        "bias": bias,
        "scores": tf.reduce_sum(contributions, axis=-1) + bias,
    }
