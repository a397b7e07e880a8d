"""Per-model scoring in plain TensorFlow, for the SavedModel export.

Each exportable Keras model class maps to a `Scorer`: which extra per-item weights the
export copies out of the model (besides the user and item tables) and a pure-TensorFlow
function that scores users against the whole catalogue with them. A new model joins the
export with one entry in `SCORERS`.

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

from tfrec.models.bpr import BPR
from tfrec.models.cml import CML


@dataclasses.dataclass(frozen=True)
class Scorer:
    """How one model class scores users against the catalogue in the exported graph.

    Attributes:
        score: `(user_vectors [b, d], item_table [num_items, d], extras) -> [b, num_items]`
            float32 scores (higher is better), TensorFlow ops only. `extras` maps names to
            the tensors `extras_fn` returned (stored as variables in the SavedModel).
        extras_fn: `model -> {name: numpy array}` of further weights the score needs
            (e.g. BPR's item bias); `no_extras` for none.
    """

    score: Callable[[tf.Tensor, tf.Tensor, dict[str, tf.Tensor]], tf.Tensor]
    extras_fn: Callable[[keras.Model], dict[str, np.ndarray]]


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


SCORERS: dict[type, Scorer] = {
    CML: Scorer(score=cml_scores, extras_fn=no_extras),
    BPR: Scorer(score=bpr_scores, extras_fn=bpr_extras),
}


def get_scorer(model: keras.Model) -> Scorer:
    """The `Scorer` of `model`'s class (or of its nearest registered base class)."""
    for cls in type(model).__mro__:
        if cls in SCORERS:
            return SCORERS[cls]
    names = sorted(cls.__name__ for cls in SCORERS)
    raise ValueError(
        f"Received a model of class {type(model).__name__}. Expected one of the exportable "
        f"classes {names}; add an entry to `tfrec.serving.scorers.SCORERS` to export others."
    )
