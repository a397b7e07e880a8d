"""Presets of MML (magnetic metric learning, spec mml.md) and its Table 8 ablations.

`Preset` fixes the model options, optimizer, B, W and epochs; what it has no field for, the
Jaccard threshold theta of the similar-pair buffers S_U and S_I, lives in an `MMLTraining`
record registered for the same `(model, preset name)`; `mml_training(preset)` returns it.

Paper values (§4.1, spec mml.md §5-6): k = 32, AdaGrad with lr tuned in {0.01, 0.02, 0.05}
(0.05 here [INFER]: the paper does not say which it kept), B = 512, lambda = 0.5,
theta = 0.3, alpha = 0.7, omega = 0.03 for both omega_P and omega_R [INFER], initial
margins 0.02 [INFER], one user and one item negative per pair (Algorithm 1). Epochs: the
paper's Fig. 11 peaks within about 30 epochs: 30 [INFER].
"""

from __future__ import annotations

import dataclasses

from tfrec.models.mml import MML_VARIANTS
from tfrec.training.presets import Preset
from tfrec.training.presets import register_preset


@dataclasses.dataclass(frozen=True)
class MMLTraining:
    """How MML's batches are drawn, beyond `Preset`.

    Attributes:
        similarity_threshold: theta: (a, b) in S iff Jaccard(list(a), list(b)) > theta,
            lists from the training interactions (`tfrec.data.similar_pairs`).
        max_similar_per_row: None (the paper: every such pair) or the most similar
            entities kept per user and per item, a seeded uniform choice [INFER]; needed
            on very sparse data, where the pairs outgrow memory (see `similar_pairs`).
    """

    similarity_threshold: float = 0.3
    max_similar_per_row: int | None = None


_TRAINING: dict[tuple[str, str], MMLTraining] = {}


def mml_training(preset: Preset) -> MMLTraining:
    """The `MMLTraining` of `preset` (by model and name); defaults when none is known."""
    return _TRAINING.get((preset.model, preset.name), MMLTraining())


_PAPER_OPTIONS = dict(
    embedding_dim=32,
    initial_margin=0.02,
    dual_balance=0.5,
    explicit_weight=0.7,
    covariance_weight=0.03,
    margin_weight=0.03,
)
_SOURCE = (
    "MML paper §4.1 (spec mml.md): k 32, AdaGrad lr 0.05 (grid 0.01/0.02/0.05 [INFER]), "
    "B 512, lambda 0.5, theta 0.3, alpha 0.7, omega_P = omega_R = 0.03 [INFER], margins "
    "start at 0.02 [INFER], one user and one item negative, 30 epochs [INFER: Fig. 11]"
)
_ABLATIONS = {name: changes for name, changes in MML_VARIANTS.items() if name != "MML"}
for _name, _changes in {"paper": {}, **_ABLATIONS}.items():
    _preset_name = "paper" if _name == "paper" else _name.lower()
    register_preset(
        Preset(
            name=_preset_name,
            model="mml",
            model_options={**_PAPER_OPTIONS, **_changes},
            optimizer="adagrad",
            learning_rate=0.05,
            batch_size=512,
            num_negatives=1,
            steps_per_epoch=None,
            epochs=30,
            source=_SOURCE if _name == "paper" else f"{_name} (paper Table 8): {_SOURCE}",
        ),
        default=_name == "paper",
    )
    _TRAINING[("mml", _preset_name)] = MMLTraining(similarity_threshold=0.3)


# WRMF, the inner-product baseline of the MML tables (spec bpr_and_baselines.md §7): k = 32
# as every embedding model of those tables; lambda, a and the sweeps are not given by the
# MML paper: implicit's defaults (lambda 0.01, a 1) and 15 sweeps [INFER]. ALS has no
# optimizer, batches or negatives: those fields are unused ("als", 0).
register_preset(
    Preset(
        name="paper",
        model="wrmf",
        model_options={"embedding_dim": 32, "regularization": 0.01, "alpha": 1.0},
        optimizer="als",
        learning_rate=0.0,
        batch_size=0,
        num_negatives=0,
        steps_per_epoch=None,
        epochs=15,
        source="WRMF (Hu et al. 2008) via implicit's AlternatingLeastSquares: k 32 (MML "
        "tables), lambda 0.01 and confidence a 1 (implicit defaults [INFER]), 15 ALS sweeps "
        "(`epochs`) [INFER]",
    ),
    default=True,
)


# SML, the adaptive-margin baseline of the MML tables (spec bpr_and_baselines.md §6): the
# SML code's lambda 0.01, gamma 10, margins 1.0, Adagrad 0.05, B 512, one negative; k = 32
# as every embedding model of the MML tables (the SML code's own default is 100: preset
# `code`); 30 epochs as MML [INFER].
for _name, _dim, _origin in (("paper", 32, "k 32 as the MML tables"), ("code", 100, "SML code")):
    register_preset(
        Preset(
            name=_name,
            model="sml",
            model_options={
                "embedding_dim": _dim,
                "item_weight": 0.01,
                "margin_weight": 10.0,
                "initial_margin": 1.0,
            },
            optimizer="adagrad",
            learning_rate=0.05,
            batch_size=512,
            num_negatives=1,
            steps_per_epoch=None,
            epochs=30,
            source=f"SML code (SML.py/train.py): lambda 0.01, gamma 10, margins 1.0, Adagrad "
            f"lr 0.05, B 512, one negative; d {_dim} ({_origin}); 30 epochs [INFER]",
        ),
        default=_name == "paper",
    )
