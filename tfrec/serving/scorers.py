"""Per-model scoring in plain TensorFlow, for the SavedModel export.

Each exportable Keras model class maps to a `Scorer`: which extra weights the export
copies out of the model (besides the user and item tables) and pure-TensorFlow functions
that score users against the whole catalogue with them (and, optionally, against given
items, and explain a score). A new model joins the export with one entry in `SCORERS`.
The history models (FISM, NAIS, IRIS: no user table, a user is their items) map to a
`HistoryScorer` (`tfrec.serving.history_scorers`) and export as a
`HistoryRecommenderModule`.

The functions repeat the model's own `score_users` formula with `tf` ops only, so the
exported graph needs neither Keras nor tfrec, and a model trained on the JAX backend
exports the same graph.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from tfrec.models.acf import ACF
from tfrec.models.bpr import BPR
from tfrec.models.cml import CML
from tfrec.models.feature_cml import FeatureCML
from tfrec.models.fism import FISM
from tfrec.models.iris import IRIS
from tfrec.models.maml import MAML
from tfrec.models.mml import MML
from tfrec.models.nais import NAIS
from tfrec.models.sml import SML
from tfrec.models.wrmf import WRMF
from tfrec.serving.history_scorers import HistoryScorer
from tfrec.serving.history_scorers import fism_extras
from tfrec.serving.history_scorers import fism_options
from tfrec.serving.history_scorers import iris_extras
from tfrec.serving.history_scorers import iris_options
from tfrec.serving.history_scorers import nais_extras
from tfrec.serving.history_scorers import nais_options

# MAML's full-catalogue scoring computes the attention of (users x block) pairs at a time:
# the block holds MAML_PAIRS_PER_BLOCK // users items (at least MAML_MIN_BLOCK_ITEMS), so a
# block takes about MAML_PAIRS_PER_BLOCK x 5f floats whatever the catalogue size and the
# batch (f = 64: 5 MB, cache-sized: larger blocks measured slower), MAML_PARALLEL_BLOCKS
# blocks at a time; one user's request scores a catalogue of up to 4096 items in one block.
MAML_PAIRS_PER_BLOCK = 4096
MAML_MIN_BLOCK_ITEMS = 16
MAML_PARALLEL_BLOCKS = 2
EPSILON = 1e-12  # TF1 `l2_normalize`, as tfrec.layers.row_normalization.


@dataclasses.dataclass(frozen=True)
class Scorer:
    """How one model class scores users against the catalogue in the exported graph.

    Attributes:
        score: `(user_vectors [b, d], item_table [num_items, d], extras) -> [b, num_items]`
            float32 scores (higher is better), TensorFlow ops only. `extras` maps names to
            the tensors `extras_fn` returned (stored as variables in the SavedModel).
        extras_fn: `model -> {name: numpy array}` of further weights the score needs
            (e.g. BPR's item bias); `no_extras` for none.
        score_items: optional `(user_vectors [b, d], item_vectors [b, m, d], item_ids
            [b, m], extras) -> [b, m]` scores of given items (ids valid, >= 0). None: the
            `score` signature gathers them from the full-catalogue scores.
        explain: optional `(user_vectors [n, d], item_vectors [n, d], item_ids [n],
            extras) -> {"attention": [n, d], "dimension_contributions": [n, d]}` for the
            `explain` signature (the contributions sum to minus the score). None: the
            export has no `explain` signature.
    """

    score: Callable[[tf.Tensor, tf.Tensor, dict[str, tf.Tensor]], tf.Tensor]
    extras_fn: Callable[[keras.Model], dict[str, np.ndarray]]
    score_items: Callable[..., tf.Tensor] | None = None
    explain: Callable[..., dict[str, tf.Tensor]] | None = None


def no_extras(model: keras.Model) -> dict[str, np.ndarray]:
    return {}


def cml_scores(user_vectors, item_table, extras):
    """CML/MAML distance score: `-|u - v|^2` as `-(|u|^2 - 2 u v^T + |v|^2)`, clamped at 0.

    The same expansion and clamp as `MetricDistance.pairwise` (Hsieh et al., WWW'17, Eq. 1:
    squared Euclidean distance), so the exported scores match `CML.score_users`.
    """
    user_norms = tf.reduce_sum(tf.square(user_vectors), axis=-1, keepdims=True)
    item_norms = tf.reduce_sum(tf.square(item_table), axis=-1)
    cross = tf.matmul(user_vectors, item_table, transpose_b=True)
    return -tf.maximum(user_norms - 2.0 * cross + item_norms[None, :], 0.0)


def bpr_scores(user_vectors, item_table, extras):
    """BPR-MF score `p_u . q_i (+ b_i)` (Rendle et al., UAI'09), as `BPR.score_users`."""
    scores = tf.matmul(user_vectors, item_table, transpose_b=True)
    if "item_bias" in extras:
        scores = scores + extras["item_bias"][None, :]
    return scores


def bpr_extras(model: BPR) -> dict[str, np.ndarray]:
    if model.bias is None:
        return {}
    bias = keras.ops.convert_to_numpy(model.bias.embeddings)
    return {"item_bias": np.asarray(bias, np.float32).reshape(-1)}


# ------------------------------------------------------------------------------ MML
def mml_extras(model: MML) -> dict[str, np.ndarray]:
    """The user-item metric W_UI = P P^T of `model` as its projection `P` (`[k, k]`).

    `LearnedMetric.project(x)` is `x P` for every parameterisation (full: the factor L;
    diagonal: diag(sqrt(w)); Euclidean: I), so `project(I)` is P and
    `d_W(u, v) = |u P - v P|^2`.
    """
    metric = model.user_item_metric
    identity = keras.ops.eye(model.embedding_dim, dtype="float32")
    projection = keras.ops.convert_to_numpy(metric.project(identity))
    return {"metric_projection": np.asarray(projection, np.float32)}


def mml_scores(user_vectors, item_table, extras):
    """MML score `-d_W_UI(u, v) = -|u P - v P|^2`, as `MML.score_users` (`cml_scores` on the
    projected vectors: the same expansion and clamp as `LearnedMetric.pairwise`)."""
    projection = extras["metric_projection"]
    return cml_scores(
        tf.matmul(user_vectors, projection), tf.matmul(item_table, projection), extras
    )


# ------------------------------------------------------------------------------ MAML
# MAMLAttention's decomposition (tfrec/layers/maml_attention.py, spec maml.md §2.2): with
# B1 = [B1_p; B1_q; B1_F], the tanh layer's input B1 n([p; q; F]) is
# (B1_p p + (B1_q q + B1_F F)) / |[p; q; F]|, |[p; q; F]|^2 = |p|^2 + (|q|^2 + |F|^2).
# The item terms in brackets are constant after training: the export computes them once
# (`attention_item_linear`, `attention_item_norm`) and the graph adds the user terms.


def maml_extras(model: MAML) -> dict[str, np.ndarray]:
    """F, the attention network's weights and the precomputed item terms of `model`.

    F is `model.projections()`: the cached projection of the frozen fusion network, or,
    when it was trained (`train_attention_and_fusion=True`), its output computed now (F is
    constant once training is over). A model without attention (`use_attention=False`)
    exports F alone and scores as CML.
    """

    def numpy(tensor):
        return np.asarray(keras.ops.convert_to_numpy(tensor), np.float32)

    projections = model.projections()
    extras = {"item_projection": numpy(projections)}
    attention = model.attention
    if attention is None:
        return extras
    item_linear, item_norm = attention.item_terms(model.item_embedding.embeddings, projections)
    scale = attention.embedding_dim if attention.normalization == "scaled_softmax" else 1.0
    extras.update(
        {
            "attention_hidden_kernel": numpy(attention.hidden.kernel),  # [3f, 5f]
            "attention_hidden_bias": numpy(attention.hidden.bias),
            "attention_output_kernel": numpy(attention.output_layer.kernel),  # [5f, f]
            "attention_output_bias": numpy(attention.output_layer.bias),
            "attention_scale": np.float32(scale),
            "attention_item_linear": numpy(item_linear),  # [num_items, 5f]
            "attention_item_norm": numpy(item_norm),  # [num_items, 1]
        }
    )
    return extras


def _has_attention(extras) -> bool:
    return "attention_output_kernel" in extras


def _dense(inputs, kernel):
    """`inputs [..., n] @ kernel [n, m]` (one `Einsum` op)."""
    return tf.einsum("...n,nm->...m", inputs, kernel)


def _user_terms(user_vectors, extras):
    """(B1_p p, |p|^2) of `[..., f]` users (`MAMLAttention.user_terms`)."""
    f = tf.shape(user_vectors)[-1]
    linear = _dense(user_vectors, extras["attention_hidden_kernel"][:f])
    return linear, tf.reduce_sum(tf.square(user_vectors), axis=-1, keepdims=True)


def _attention_from_terms(linear, norm, extras):
    """a(u, k) from the summed user and item terms (`MAMLAttention.from_terms`)."""
    hidden = tf.tanh(
        linear * tf.math.rsqrt(tf.maximum(norm, EPSILON)) + extras["attention_hidden_bias"]
    )
    hidden_norm = tf.reduce_sum(tf.square(hidden), axis=-1, keepdims=True)
    projected = _dense(hidden, extras["attention_output_kernel"]) * tf.math.rsqrt(
        tf.maximum(hidden_norm, EPSILON)
    )
    scores = tf.nn.relu(projected + extras["attention_output_bias"])
    return tf.nn.softmax(scores, axis=-1) * extras["attention_scale"]


def _maml_pairs(user_vectors, item_vectors, item_ids, extras):
    """Attention `[..., f]` and `a^2 (p - q)^2` `[..., f]` of broadcast (user, item) pairs:
    users `[b, 1, f]` (or `[n, f]`), items `[b, m, f]` (`[n, f]`), ids `[b, m]` (`[n]`)."""
    user_linear, user_norm = _user_terms(user_vectors, extras)
    item_linear = tf.gather(extras["attention_item_linear"], item_ids)
    item_norm = tf.gather(extras["attention_item_norm"], item_ids)
    weights = _attention_from_terms(user_linear + item_linear, user_norm + item_norm, extras)
    contributions = tf.square(user_vectors - item_vectors) * tf.square(weights)
    return weights, contributions


def maml_scores(user_vectors, item_table, extras):
    """MAML score `-sum_l a_l(u, k)^2 (p_ul - q_kl)^2` of every item, as `MAML.score_users`.

    The attention of every (user, item) pair is computed (spec maml.md §2.4), one block of
    items at a time in a `tf.while_loop` (`tf.map_fn`), so memory does not grow with the
    catalogue. Without attention: `cml_scores`.
    """
    if not _has_attention(extras):
        return cml_scores(user_vectors, item_table, extras)
    num_users = tf.shape(user_vectors)[0]
    num_items = tf.shape(item_table)[0]
    block = tf.maximum(MAML_PAIRS_PER_BLOCK // tf.maximum(num_users, 1), MAML_MIN_BLOCK_ITEMS)
    block = tf.minimum(block, tf.maximum(num_items, 1))
    num_blocks = (num_items + block - 1) // block
    padding = num_blocks * block - num_items
    user_linear, user_norm = _user_terms(user_vectors, extras)

    def blocks(rows):  # [num_items, w] -> [num_blocks, block, w], zero rows appended.
        rows = tf.pad(rows, [[0, padding], [0, 0]])
        return tf.reshape(rows, [num_blocks, block, tf.shape(rows)[-1]])

    def score_block(inputs):
        item_linear, item_norm, items = inputs
        weights = _attention_from_terms(
            user_linear[:, None, :] + item_linear[None],
            user_norm[:, None, :] + item_norm[None],
            extras,
        )
        squared = tf.square(user_vectors[:, None, :] - items[None]) * tf.square(weights)
        return -tf.reduce_sum(squared, axis=-1)  # [b, block]

    scores = tf.map_fn(
        score_block,
        (
            blocks(extras["attention_item_linear"]),
            blocks(extras["attention_item_norm"]),
            blocks(item_table),
        ),
        fn_output_signature=tf.TensorSpec([None, None], tf.float32),
        parallel_iterations=MAML_PARALLEL_BLOCKS,
    )  # [num_blocks, b, block]
    scores = tf.reshape(tf.transpose(scores, [1, 0, 2]), [num_users, num_blocks * block])
    return scores[:, :num_items]


def maml_score_items(user_vectors, item_vectors, item_ids, extras):
    """MAML scores of given items `[b, m]` (only those pairs' attention is computed)."""
    if not _has_attention(extras):
        squared = tf.square(user_vectors[:, None, :] - item_vectors)
        return -tf.reduce_sum(squared, axis=-1)
    _, contributions = _maml_pairs(user_vectors[:, None, :], item_vectors, item_ids, extras)
    return -tf.reduce_sum(contributions, axis=-1)


def maml_explain(user_vectors, item_vectors, item_ids, extras):
    """a(u, k) and `a_l^2 (p_ul - q_kl)^2` of `[n]` pairs (all weights 1 without attention)."""
    if not _has_attention(extras):
        contributions = tf.square(user_vectors - item_vectors)
        return {"attention": tf.ones_like(contributions), "dimension_contributions": contributions}
    weights, contributions = _maml_pairs(user_vectors, item_vectors, item_ids, extras)
    return {"attention": weights, "dimension_contributions": contributions}


CML_SCORER = Scorer(score=cml_scores, extras_fn=no_extras)


@dataclasses.dataclass(frozen=True)
class ACFScorer:
    """Marks ACF (and SVD++): exported as `tfrec.serving.ACFRecommenderModule`, whose tables
    come from `acf_extras` (user vectors, attention weights, component projections)."""


SCORERS: dict[type, Scorer | HistoryScorer | ACFScorer] = {
    # ACF / SVD++: user vectors plus attention over the history (and its components).
    ACF: ACFScorer(),
    CML: CML_SCORER,
    BPR: Scorer(score=bpr_scores, extras_fn=bpr_extras),
    MAML: Scorer(
        score=maml_scores,
        extras_fn=maml_extras,
        score_items=maml_score_items,
        explain=maml_explain,
    ),
    # MAML without attention: CML's plain distance (its F only shaped the training).
    FeatureCML: CML_SCORER,
    # MML: CML's distance under the learned user-item metric W_UI.
    MML: Scorer(score=mml_scores, extras_fn=mml_extras),
    # SML: plain squared Euclidean distance, as CML (its margins only shaped the training).
    SML: CML_SCORER,
    # WRMF (implicit ALS, numpy): the dot product p_u . q_i, as BPR without a bias.
    WRMF: Scorer(score=bpr_scores, extras_fn=no_extras),
    # History models: scores from the user's items (training or request history).
    FISM: HistoryScorer(extras_fn=fism_extras, options_fn=fism_options),
    NAIS: HistoryScorer(extras_fn=nais_extras, options_fn=nais_options),
    IRIS: HistoryScorer(extras_fn=iris_extras, options_fn=iris_options),
}


def get_scorer(model: keras.Model) -> Scorer | HistoryScorer | ACFScorer:
    """The `Scorer` (or `HistoryScorer`) of `model`'s class (or of its nearest registered
    base class)."""
    for cls in type(model).__mro__:
        if cls in SCORERS:
            return SCORERS[cls]
    names = sorted(cls.__name__ for cls in SCORERS)
    raise ValueError(
        f"Received a model of class {type(model).__name__}. Expected one of the exportable "
        f"classes {names}; add an entry to `tfrec.serving.scorers.SCORERS` to export others."
    )
