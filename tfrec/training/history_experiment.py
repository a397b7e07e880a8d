"""One reproducible run of a history model (FISM, NAIS, IRIS) under the 1 + 99 protocol.

`run_history_experiment` is `run_experiment` for the item-similarity family: it builds the
preset's model, optionally starts it from a trained FISM (the NAIS code's `pretrain=1`),
trains it with `model.fit` on `HistorySampler` batches (one positive and K sampled
negatives per training pair, the target removed from its history), and evaluates the
final model with protocol C of spec/evaluation.md: each test user's test item ranked
among 99 sampled negatives by scores computed from the user's whole (clipped) training
history, ties counted against the test item (NAIS code). The output directory has the
layout of `run_experiment`: `metrics.json` (`"hr@10"`, `"ndcg@10"`, `"hr@20"`,
`"ndcg@20"` at the top level, then `"config"`, `"history"`, `"seconds"`) and
`model.keras`. The reported metrics are those after the last epoch, or, with early
stopping (`HistoryTraining.patience`, the IRIS protocol), those of the epoch that was best
on the validation events; no epoch is ever picked on the test split.
"""

from __future__ import annotations

import dataclasses
import importlib
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras
import numpy as np

from tfrec.data.interactions import Interactions
from tfrec.data.splits import sample_test_negatives
from tfrec.data.splits import validation_view
from tfrec.evaluation.callback import RankingEvaluationCallback
from tfrec.evaluation.sampled import evaluate_sampled
from tfrec.models.item_similarity_model import ItemSimilarityModel
from tfrec.sampling.history_batches import HistorySampler
from tfrec.sampling.history_dataset import HistoryDataset
from tfrec.training.experiment import ExperimentResult
from tfrec.training.experiment import save_experiment
from tfrec.training.history_presets import HistoryTraining
from tfrec.training.history_presets import history_training
from tfrec.training.optimizers import make_optimizer
from tfrec.training.presets import Preset
from tfrec.training.presets import get_preset

# Model name -> (module, class). IRIS is imported on use (it lives in its own module).
HISTORY_MODELS = {
    "fism": ("tfrec.models.fism", "FISM"),
    "nais": ("tfrec.models.nais", "NAIS"),
    "iris": ("tfrec.models.iris", "IRIS"),
}
# Test negatives are drawn with a seed of their own, so runs with different seeds are
# evaluated on the same candidates (NCF/NAIS `*.test.negative` files are fixed too).
TEST_NEGATIVES = 99
TEST_NEGATIVES_SEED = 0
PROTOCOL = (
    "leave-one-out, test item + {n} sampled negatives, pessimistic ties (NAIS code), "
    "scored from each user's full clipped training history (spec evaluation.md §C)"
)


def build_history_model(
    preset: Preset,
    num_items: int,
    *,
    seed: int = 0,
    item_features: Any = None,
    embeddings_trainable: bool = True,
) -> ItemSimilarityModel:
    """The preset's history model, compiled with its optimizer and `HistoryTraining` options.

    `keras.utils.set_random_seed(seed)` runs first, so the initial weights depend on the seed
    alone.

    Args:
        preset: a `fism`, `nais` or `iris` preset (`tfrec.training.history_presets`).
        num_items: size of the item id space.
        seed: the weight seed.
        item_features: IRIS only: `{"image": [num_items, d_img], "text": [num_items,
            d_txt]}` in item-id order (`image_features` and `text_features` of `IRIS`;
            a modality left out is zeros of `image_feature_dim`/`text_feature_dim`, which
            then belong in the preset's model options).
        embeddings_trainable: False freezes P, Q, b (NAIS code `pretrain=2`).
    """
    if preset.model not in HISTORY_MODELS:
        raise ValueError(
            f"Received a preset of model {preset.model!r}. Expected one of "
            f"{sorted(HISTORY_MODELS)} (other models: `run_experiment`)."
        )
    module, name = HISTORY_MODELS[preset.model]
    model_class = getattr(importlib.import_module(module), name)
    options = dict(preset.model_options)
    if preset.model == "iris":
        options.update(_iris_features(item_features))
    elif item_features is not None:
        raise ValueError(f"Model {preset.model!r} takes no item features.")
    if not embeddings_trainable:
        options["embeddings_trainable"] = False
    keras.utils.set_random_seed(seed)
    model = model_class(num_items, **options)
    training = history_training(preset)
    model.compile(
        optimizer=make_optimizer(
            preset.optimizer, preset.learning_rate, **training.optimizer_options
        )
    )
    return model


def run_history_experiment(
    interactions: Interactions,
    preset: Preset,
    *,
    seed: int = 0,
    output_dir: str | Path | None = None,
    item_features: Any = None,
    pretrain: str | Preset | ItemSimilarityModel | None = "auto",
    ks: tuple[int, ...] = (10, 20),
    evaluate_every: int = 0,
    patience: int | str | None = "auto",
    callbacks: list[keras.callbacks.Callback] | None = None,
    verbose: str | int = "auto",
    extra_config: Mapping[str, Any] | None = None,
) -> ExperimentResult:
    """Trains a history-model `preset` on `interactions` and evaluates it (protocol C).

    Args:
        interactions: a leave-one-out split (one test item per test user). Its
            `test_negatives` are used when present; otherwise 99 per user are sampled with
            `sample_test_negatives(seed=0)` (recorded in the config).
        preset: a `fism`, `nais` or `iris` preset; its `HistoryTraining` (see
            `tfrec.training.history_presets`) gives the sampler and optimizer settings.
        seed: seeds the weights and the sampler (and the FISM pre-training).
        output_dir: where to write `metrics.json` and `model.keras` (None: nothing written).
        item_features: IRIS's `{"image": ..., "text": ...}` feature matrices (see
            `build_history_model`).
        pretrain: `"auto"` (the preset's `HistoryTraining.pretrain`: FISM for NAIS, none
            for FISM and IRIS), `"fism"` (train the `pretrain_preset` FISM first, with this
            preset's `embedding_dim`), a FISM `Preset` to train first, an already trained
            `ItemSimilarityModel` to copy P, Q, b from, or None.
        ks: cut-offs of HR@K and NDCG@K.
        evaluate_every: also evaluate every N epochs during training (learning curves in
            `history`; never used to pick the model). 0: only at the end.
        patience: early stopping on the validation events (see `HistoryTraining.patience`):
            `"auto"` (the preset's), an integer, or None (train all epochs). Validation
            metrics are logged every epoch as `val_hr@K`/`val_ndcg@K`.
        callbacks: extra Keras callbacks for `model.fit` (e.g. timers), run first.
        verbose: Keras progress display (`"auto"`: progress bar; 2: one line per epoch).
        extra_config: recorded in `metrics.json` under "config".

    Returns:
        An `ExperimentResult`; `result.evaluation` is the `RankingResult` with per-user HR
        and NDCG (for `tfrec.evaluation.significance` paired tests).
    """
    started = time.perf_counter()
    training = history_training(preset)
    if patience != "auto":
        training = dataclasses.replace(training, patience=patience)
    interactions, negatives_note = _with_test_negatives(interactions)
    pretrained, pretrain_config = _pretrained_model(
        interactions, preset, training, pretrain, seed=seed, verbose=verbose
    )
    model = build_history_model(
        preset,
        interactions.num_items,
        seed=seed,
        item_features=item_features,
        embeddings_trainable=not (pretrained is not None and training.freeze_pretrained),
    )
    if pretrained is not None:
        load_item_weights(model, pretrained)
    history, stopping = _fit(
        model, interactions, preset, training, seed, evaluate_every, ks, verbose, callbacks
    )
    evaluation = evaluate_history_model(model, interactions, preset, ks=ks)
    seconds = time.perf_counter() - started
    metrics = {name: float(value) for name, value in evaluation.metrics.items()}
    config = {
        "preset": preset.to_dict(),
        "history_training": training.to_dict(),
        "seed": seed,
        "dataset": interactions.name,
        "dataset_stats": interactions.stats(),
        "backend": keras.backend.backend(),
        "protocol": PROTOCOL.format(n=interactions.test_negatives.shape[1]),
        "test_negatives": negatives_note,
        "pretrain": pretrain_config,
        "early_stopping": stopping,
        **({"item_features": _describe(item_features)} if item_features is not None else {}),
        **dict(extra_config or {}),
    }
    history_values = {name: [float(v) for v in values] for name, values in history.items()}
    result = ExperimentResult(model, metrics, history_values, config, seconds, evaluation)
    if output_dir is not None:
        save_experiment(result, output_dir)
    return result


def evaluate_history_model(
    model: ItemSimilarityModel,
    interactions: Interactions,
    preset: Preset,
    *,
    ks: tuple[int, ...] = (10, 20),
):
    """HR@K and NDCG@K of a trained history model with the 1 + 99 protocol (as trained).

    The histories are the users' training items, clipped as the preset's `HistoryTraining`
    says; the candidates are the stored test negatives (else 99 sampled with seed 0, the
    same as `run_history_experiment` draws).
    """
    interactions, _ = _with_test_negatives(interactions)
    scorer = _scorer(model, interactions, history_training(preset))
    return evaluate_sampled(scorer, interactions, ks=ks)


def load_item_weights(model: ItemSimilarityModel, source: ItemSimilarityModel) -> None:
    """Copies P, Q and b of a trained `source` (e.g. FISM) into `model` (NAIS `pretrain=1`).

    Uses the model's own `load_item_weights` when it has one (NAIS), else copies the three
    tables of `ItemSimilarityModel` (IRIS), checking their shapes.
    """
    if hasattr(model, "load_item_weights"):
        model.load_item_weights(source)
        return
    for name in ("history_embeddings", "target_embeddings", "item_bias"):
        value, target = getattr(source, name), getattr(model, name)
        if tuple(value.shape) != tuple(target.shape):
            raise ValueError(
                f"Received `{name}` of shape {tuple(value.shape)} from "
                f"{type(source).__name__}. Expected {tuple(target.shape)} for "
                f"{type(model).__name__} (same num_items and embedding_dim)."
            )
        target.assign(value)


def _iris_features(item_features) -> dict[str, Any]:
    if not isinstance(item_features, Mapping) or not set(item_features) <= {"image", "text"}:
        keys = sorted(item_features) if isinstance(item_features, Mapping) else None
        raise ValueError(
            f"Received `item_features` of type {type(item_features).__name__} (keys {keys}) "
            "for model 'iris'. Expected a dict with 'image' and/or 'text' arrays of shape "
            "[num_items, d] in item-id order."
        )
    return {
        f"{modality}_features": np.asarray(values, np.float32)
        for modality, values in item_features.items()
    }


def _with_test_negatives(interactions: Interactions) -> tuple[Interactions, str]:
    counts = np.diff(interactions.test.tocsr().indptr)
    if (counts > 1).any():
        user = int(np.argmax(counts > 1))
        raise ValueError(
            f"Received dataset {interactions.name!r} whose user "
            f"{interactions.user_keys[user]!r} has {int(counts[user])} test items "
            f"({int((counts > 1).sum())} such users). Expected a leave-one-out split (one "
            "test item per user) for the 1 + 99 protocol; make one with "
            "`tfrec.data.splits.leave_one_out`."
        )
    if interactions.test_negatives is not None:
        return interactions, "stored with the split"
    interactions = sample_test_negatives(interactions, TEST_NEGATIVES, seed=TEST_NEGATIVES_SEED)
    return interactions, (
        f"{TEST_NEGATIVES} per test user sampled here with "
        f"sample_test_negatives(seed={TEST_NEGATIVES_SEED})"
    )


def _pretrained_model(interactions, preset, training, pretrain, *, seed, verbose):
    """The FISM to start from (or None) and what to record about it."""
    if isinstance(pretrain, str) and pretrain == "auto":
        pretrain = training.pretrain
    if pretrain is None:
        return None, None
    if isinstance(pretrain, ItemSimilarityModel):
        return pretrain, {"from": f"a given trained {type(pretrain).__name__}"}
    if isinstance(pretrain, str) and pretrain == "fism":
        fism_preset = get_preset("fism", training.pretrain_preset)
        dim = preset.model_options.get("embedding_dim")
        if dim is not None:
            fism_preset = fism_preset.replace(embedding_dim=dim)
        pretrain = fism_preset
    if not isinstance(pretrain, Preset) or pretrain.model != "fism":
        raise ValueError(
            f"Received: `pretrain={pretrain!r}`. Expected 'auto', 'fism', None, a FISM "
            "`Preset` or a trained `ItemSimilarityModel`."
        )
    if verbose:
        print(f"pre-training FISM ({pretrain.name}, {pretrain.epochs} epochs)")
    fism = run_history_experiment(
        interactions,
        pretrain,
        seed=seed,
        pretrain=None,
        ks=(10,),
        patience=training.patience,
        verbose=verbose,
    )
    record = {
        "from": "FISM trained here",
        "preset": pretrain.to_dict(),
        "metrics": fism.metrics,
        "history": fism.history,
        "seconds": fism.seconds,
        "frozen": training.freeze_pretrained,
    }
    return fism.model, record


def _fit(
    model, interactions, preset, training: HistoryTraining, seed, every, ks, verbose, extra=None
):
    sampler = HistorySampler(
        interactions.train,
        num_negatives=preset.num_negatives,
        batch_size=preset.batch_size,
        batching=training.batching,
        max_history_length=training.max_history_length,
        clip=training.clip,
        timestamps=interactions.train_timestamps,
        seed=seed,
    )
    callbacks = list(extra or [])
    if every:
        callbacks.append(
            RankingEvaluationCallback(
                interactions,
                protocol="sampled",
                ks=ks,
                every_n_epochs=every,
                score_fn=_scorer(model, interactions, training),
                verbose=0,
            )
        )
    if keras.backend.backend() == "tensorflow":
        # tf.data with a declared signature (variable batch and history widths); see
        # `tfrec.sampling.history_tf_dataset` for why not `HistoryDataset` here.
        from tfrec.sampling.history_tf_dataset import make_history_tf_dataset

        dataset = make_history_tf_dataset(sampler)
        steps = preset.steps_per_epoch or sampler.steps_per_epoch
    else:
        dataset = HistoryDataset(sampler)
        steps = preset.steps_per_epoch
    stopping = _early_stopping(model, interactions, training, ks, callbacks)
    history = model.fit(
        dataset,
        epochs=preset.epochs,
        steps_per_epoch=steps,
        shuffle=False,  # The sampler shuffles its batch order every pass.
        callbacks=callbacks,
        verbose=verbose,
    )
    if stopping is not None and stopping["applied"]:
        early = callbacks[-1]
        curve = history.history[early.monitor]
        stopping.update(
            epochs_trained=len(curve),
            best_epoch=int(early.best_epoch) + 1,
            best_value=float(early.best),
        )
    return history.history, stopping


def _early_stopping(model, interactions, training: HistoryTraining, ks, callbacks):
    """Adds validation + EarlyStopping callbacks when the preset asks and the split allows."""
    if training.patience is None:
        return None
    if interactions.validation is None or interactions.validation.nnz == 0:
        print(
            f"note: no validation events in {interactions.name!r}: early stopping is off, "
            "all epochs are trained (use the leave-one-out-random split for the IRIS protocol)"
        )
        return {"patience": training.patience, "applied": False, "reason": "no validation"}
    monitor = training.monitor
    cutoffs = tuple(sorted({*ks, int(monitor.split("@")[1])}))
    validation = validation_view(interactions, interactions.test_negatives.shape[1])
    callbacks.append(
        RankingEvaluationCallback(
            validation,
            protocol="sampled",
            ks=cutoffs,
            prefix="val_",
            score_fn=_scorer(model, validation, training),
            verbose=0,
        )
    )
    callbacks.append(
        keras.callbacks.EarlyStopping(
            monitor=f"val_{monitor}",
            mode="max",
            patience=training.patience,
            restore_best_weights=True,
        )
    )
    return {
        "patience": training.patience,
        "monitor": f"validation {monitor}",
        "applied": True,
        "validation_negatives": "99 per user, sample_test_negatives(seed=1), test item excluded",
    }


def _scorer(model, interactions, training: HistoryTraining):
    # The evaluation history is the training one, clipped as in training (NAIS code).
    return model.sampled_scorer(
        interactions.train,
        max_history_length=training.max_history_length,
        clip=training.clip,
        timestamps=interactions.train_timestamps,
    )


def _describe(item_features) -> Any:
    if isinstance(item_features, Mapping):
        return {name: list(np.shape(value)) for name, value in item_features.items()}
    return list(np.shape(item_features))
