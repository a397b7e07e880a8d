"""Presets of the history models (FISM, NAIS, IRIS) and their history-specific settings.

Each `register_preset(Preset(...))` below fixes a model's constructor arguments, the
optimizer, K (`num_negatives`), the batch size and the epochs. What `Preset` has no field
for (the optimizer's extra constants, how rows are batched and how histories are clipped,
whether to start from a trained FISM) lives in a `HistoryTraining` record registered for
the same `(model, preset name)`; `history_training(preset)` returns it, so a preset changed
with `Preset.replace` (same name) keeps its training settings.

Sources (spec iris.md): FISM and NAIS take the values of the authors' code
(`AaronHeee/Neural-Attentive-Item-Similarity-Model` @ 751bb9a, `FISM.py`, `NAIS.py`), which
the IRIS paper says it ran for its baselines; IRIS takes the paper's (Lv et al., IEEE Access
2019, §IV.D). Embedding sizes 16 and 64 are the two of the IRIS tables (`-64` presets).

Deliberate deviation from the code, in every preset: the code's `batch_choice='user'`
(one batch = all rows of one user, a new tensor shape per user) is replaced by batches of
`batch_size` rows of similar history length (`HistorySampler(batching="length")`): the
code's per-user batches average 5 |R_u| rows (about 80 on ml-1m-sample, 825 on ML-1M), and
one shape per user would trace the train step thousands of times. `batch_size=512` is the
IRIS paper's mini-batch. `HistoryTraining(batching="user")` restores the code's scheme.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tfrec.training.presets import Preset
from tfrec.training.presets import register_preset

PRETRAINS = ("fism", None)


@dataclasses.dataclass(frozen=True)
class HistoryTraining:
    """How a history model is trained, beyond the fields of `Preset`.

    Attributes:
        optimizer_options: extra keyword arguments of `make_optimizer` (e.g. the NAIS
            code's Adagrad `initial_accumulator_value=1e-8`).
        batching: `"length"` (fixed-size batches of similar history length) or `"user"`
            (the code's one-user batches); see `HistorySampler`.
        max_history_length: clip histories to this many items (code `ITEM_CLIP` 300: 299
            items); None for no clip.
        clip: which items a clipped history keeps (`"first"`: the code's truncation).
        pretrain: `"fism"` to start from a trained FISM's P, Q and b (NAIS code
            `pretrain=1`), or None.
        pretrain_preset: the FISM preset name used for pre-training.
        freeze_pretrained: keep the pre-trained P, Q, b fixed (NAIS code `pretrain=2`).
        patience: early stopping on the validation interaction of each user (IRIS paper
            §IV.C): stop after this many epochs without a better validation `monitor`, and
            keep the best epoch's weights; `epochs` is then the maximum. None: train all
            `epochs` (FISM/NAIS code). Needs a split with a validation event per user
            (`split="leave-one-out-random"`); without one, all epochs are trained.
        monitor: the validation metric of early stopping (`"ndcg@10"`, `"hr@10"`, ...).
        source: where these settings come from.
    """

    optimizer_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    batching: str = "length"
    max_history_length: int | None = 299
    clip: str = "first"
    pretrain: str | None = None
    pretrain_preset: str = "code"
    freeze_pretrained: bool = False
    patience: int | None = None
    monitor: str = "ndcg@10"
    source: str = ""

    def __post_init__(self):
        if self.pretrain not in PRETRAINS:
            raise ValueError(
                f"Received: `pretrain={self.pretrain!r}`. Expected one of {PRETRAINS}."
            )
        if self.patience is not None and self.patience < 1:
            raise ValueError(
                f"Received: `patience={self.patience}`. Expected None or an integer >= 1."
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_TRAINING: dict[tuple[str, str], HistoryTraining] = {}


def register_history_preset(
    preset: Preset, training: HistoryTraining, *, default: bool = False
) -> Preset:
    """Registers `preset` (see `register_preset`) and its `HistoryTraining`."""
    _TRAINING[(preset.model, preset.name)] = training
    return register_preset(preset, default=default)


def history_training(preset: Preset) -> HistoryTraining:
    """The `HistoryTraining` of `preset` (by model and name); defaults when none is known."""
    return _TRAINING.get((preset.model, preset.name), HistoryTraining())


# ---------------------------------------------------------------------------- code
# NAIS code Adagrad: `tf.train.AdagradOptimizer(lr, initial_accumulator_value=1e-8)`; Keras
# adds epsilon inside the square root, so it is set far below the accumulator (spec §8).
_CODE_ADAGRAD = {"initial_accumulator_value": 1e-8, "epsilon": 1e-10}
_CODE_TRAINING = dict(
    optimizer_options=_CODE_ADAGRAD,
    batching="length",
    max_history_length=299,
    clip="first",
)
_BATCH = 512
_FISM_CODE = dict(alpha=0.0, history_l2=1e-7, target_l2=1e-7, initializer_stddev=0.01)
_NAIS_CODE = dict(
    alpha=0.0,
    beta=0.5,
    attention="prod",
    activation="relu",
    attention_size=16,
    history_l2=1e-7,
    target_l2=1e-7,
    attention_l2=1e-5,
    initializer_stddev=0.01,
)

for _dim, _suffix in ((16, ""), (64, "-64")):
    register_history_preset(
        Preset(
            name=f"code{_suffix}",
            model="fism",
            model_options={**_FISM_CODE, "embedding_dim": _dim},
            optimizer="adagrad",
            learning_rate=0.01,
            batch_size=_BATCH,
            num_negatives=4,
            steps_per_epoch=None,
            epochs=500,
            source="NAIS authors' FISM.py defaults (spec iris.md §2): alpha 0, regs "
            "[1e-7, 1e-7], truncated normal 0.01, Adagrad(lr 0.01, accumulator 1e-8), 4 "
            f"negatives, 500 epochs; e = {_dim}"
            + (" (IRIS tables)" if _suffix else " (code default)")
            + "; batches of 512 rows of similar history length instead of one user per batch",
        ),
        HistoryTraining(
            **_CODE_TRAINING,
            source="NAIS code: Adagrad initial accumulator 1e-8, ITEM_CLIP 300 (first 299)",
        ),
        default=not _suffix,
    )
    for _name, _beta, _origin in (
        ("code", 0.5, "NAIS.py defaults"),
        ("iris-paper", 0.8, "NAIS.py defaults with the IRIS paper's beta 0.8 (§IV.D)"),
    ):
        register_history_preset(
            Preset(
                name=f"{_name}{_suffix}",
                model="nais",
                model_options={**_NAIS_CODE, "beta": _beta, "embedding_dim": _dim},
                optimizer="adagrad",
                learning_rate=0.01,
                batch_size=_BATCH,
                num_negatives=4,
                steps_per_epoch=None,
                epochs=100,
                source=f"NAIS authors' {_origin} (spec iris.md §3): prod attention, ReLU, "
                f"w 16, alpha 0, beta {_beta}, regs [1e-7, 1e-7, 1e-5], Adagrad(lr 0.01, "
                f"accumulator 1e-8), 4 negatives, 100 epochs from a trained FISM "
                f"(pretrain=1); e = {_dim}; batches of 512 rows of similar history length "
                "instead of one user per batch",
            ),
            HistoryTraining(
                **_CODE_TRAINING,
                pretrain="fism",
                pretrain_preset=f"code{_suffix}",
                source="NAIS code: Adagrad initial accumulator 1e-8, ITEM_CLIP 300, "
                "pretrain=1 (P, Q, b restored from FISM, still trained)",
            ),
            default=_name == "code" and not _suffix,
        )

# ------------------------------------------------------------------- iris-adam baselines
# The IRIS paper trains with Adam (lr 0.001, §IV.D) and does not say whether its FISM and
# NAIS baselines kept the NAIS code's Adagrad. On ml-1m-sample (IRIS split, e = 16, seed 0)
# the best validation NDCG@10 of FISM is 0.260 with the code's Adagrad(0.01) and 0.282 with
# Adam(0.001) (benchmarks/results/iris_ml-1m-sample.json): the code's optimizer leaves
# FISM near the popularity ranking in the epochs early stopping allows. These presets
# train FISM and NAIS like IRIS [INFER].
for _dim, _suffix in ((16, ""), (64, "-64")):
    register_history_preset(
        Preset(
            name=f"iris-adam{_suffix}",
            model="fism",
            model_options={**_FISM_CODE, "embedding_dim": _dim},
            optimizer="adam",
            learning_rate=1e-3,
            batch_size=_BATCH,
            num_negatives=4,
            steps_per_epoch=None,
            epochs=100,
            source="FISM.py's model (alpha 0, regs 1e-7) trained as the IRIS paper trains "
            f"(Adam lr 0.001, batch 512, 4 negatives, early stopping) [INFER]; e = {_dim}",
        ),
        HistoryTraining(
            max_history_length=299,
            clip="first",
            patience=3,
            source="IRIS paper's training for the baselines [INFER]: Adam, early stopping",
        ),
    )
    register_history_preset(
        Preset(
            name=f"iris-adam{_suffix}",
            model="nais",
            model_options={**_NAIS_CODE, "beta": 0.8, "embedding_dim": _dim},
            optimizer="adam",
            learning_rate=1e-3,
            batch_size=_BATCH,
            num_negatives=4,
            steps_per_epoch=None,
            epochs=100,
            source="NAIS.py's model with the IRIS paper's beta 0.8, trained as IRIS (Adam lr "
            "0.001, batch 512, 4 negatives, early stopping) from a FISM trained the same way "
            f"[INFER]; e = {_dim}",
        ),
        HistoryTraining(
            max_history_length=299,
            clip="first",
            pretrain="fism",
            pretrain_preset=f"iris-adam{_suffix}",
            patience=3,
            source="IRIS paper's training [INFER], FISM pre-training as the NAIS code",
        ),
    )

# ---------------------------------------------------------------------------- IRIS
# Paper §IV.D: Adam lr 0.001, mini-batch 512, e in {16, 64}, alpha 0, beta 0.8, K = 4
# (§IV.C, positive:negative 1:4), no pre-training mentioned. Epochs are not stated: at most
# 100 as NAIS [INFER]; the paper stops early on a validation interaction per user (§IV.C;
# patience and metric not stated: 3 epochs on NDCG@10 [INFER]).
_IRIS_VARIANTS = (
    ("multimodal", "multimodal", "Multimodal IRIS (knowledge-sharing unit)"),
    ("image-add-text", "image_add_text", "Image-add-Text IRIS (no W_share)"),
    ("image", "image", "Image IRIS (visual features only)"),
)
for _dim, _suffix in ((16, ""), (64, "-64")):
    for _name, _variant, _title in _IRIS_VARIANTS:
        register_history_preset(
            Preset(
                name=f"{_name}{_suffix}",
                model="iris",
                model_options={
                    "variant": _variant,
                    "embedding_dim": _dim,
                    "alpha": 0.0,
                    "beta": 0.8,
                },
                optimizer="adam",
                learning_rate=1e-3,
                batch_size=_BATCH,
                num_negatives=4,
                steps_per_epoch=None,
                epochs=100,
                source=f"IRIS paper §IV.D, {_title}: Adam(lr 0.001), mini-batch 512, e = "
                f"{_dim}, alpha 0, beta 0.8, 4 negatives; early stopping on the validation "
                "interaction (patience 3 on NDCG@10 [INFER]), at most 100 epochs as NAIS "
                "[INFER]; no pre-training",
            ),
            HistoryTraining(
                optimizer_options={},
                batching="length",
                max_history_length=299,
                clip="first",
                pretrain=None,
                pretrain_preset=f"code{_suffix}",
                patience=3,
                monitor="ndcg@10",
                source="IRIS paper: fixed-size batches of 512 [INFER], no pre-training, "
                "early stopping on validation (patience 3 on NDCG@10 [INFER]); history clip "
                "as the NAIS code [INFER]",
            ),
            default=_name == "multimodal" and not _suffix,
        )
