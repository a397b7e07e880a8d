"""ACF and SVD++: presets and one reproducible run under ACF's protocol.

Protocol (ACF paper §5.1, spec evaluation.md): leave-one-out (each user's latest
interaction is the test item; random when the data have no timestamps), every item
ranked (training items excluded), HR@K and NDCG@K with K = 100. `run_acf_experiment`
writes the layout of `run_experiment`: `metrics.json` with `"hr@100"` and `"ndcg@100"` at
the top level, then `"config"`, `"history"`, `"seconds"`, and `model.keras`. The
reported metrics are those after the last epoch.

Presets: `tfrec.training.acf_presets`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras

from tfrec.data.interactions import Interactions
from tfrec.evaluation.callback import RankingEvaluationCallback
from tfrec.evaluation.full_ranking import evaluate_full_ranking
from tfrec.models.acf import ACF
from tfrec.sampling.acf_batches import ACFSampler
from tfrec.training.acf_presets import ACF_MODELS
from tfrec.training.experiment import ExperimentResult
from tfrec.training.experiment import save_experiment
from tfrec.training.optimizers import make_optimizer
from tfrec.training.presets import Preset

PROTOCOL = (
    "leave-one-out, every item ranked, training items excluded, HR@K and NDCG@K (ACF §5.1, K = 100)"
)


def build_acf_model(
    preset: Preset, num_users: int, num_items: int, *, component_dim: int | None, seed: int = 0
) -> ACF:
    """The preset's ACF (or SVD++), compiled; `keras.utils.set_random_seed(seed)` first."""
    if preset.model not in ACF_MODELS:
        raise ValueError(f"Received a preset of model {preset.model!r}. Expected {ACF_MODELS}.")
    options = dict(preset.model_options)
    if preset.model == "acf":
        if component_dim is None:
            raise ValueError(
                "ACF reads component features: give a component store (`tfrec features "
                "components ...`, `--components FILE.h5`), or train svdpp."
            )
        options["component_dim"] = component_dim
    keras.utils.set_random_seed(seed)
    model = ACF(num_users, num_items, **options)
    model.compile(optimizer=make_optimizer(preset.optimizer, preset.learning_rate))
    return model


def acf_training_input(sampler: ACFSampler, steps_per_epoch: int | None = None):
    """`(dataset, steps)` for `model.fit(dataset, steps_per_epoch=steps)` over `sampler`:
    on TensorFlow a `tf.data` pipeline (`make_acf_tf_dataset`), elsewhere a
    `SamplerDataset` (steps None: it knows its length). `steps_per_epoch` None: one pass
    over the training pairs."""
    if keras.backend.backend() == "tensorflow":
        from tfrec.sampling.acf_tf_dataset import make_acf_tf_dataset

        return make_acf_tf_dataset(sampler), steps_per_epoch or sampler.steps_per_epoch
    from tfrec.sampling.keras_dataset import SamplerDataset

    return SamplerDataset(sampler, steps_per_epoch=steps_per_epoch), None


def run_acf_experiment(
    interactions: Interactions,
    preset: Preset,
    *,
    components=None,
    seed: int = 0,
    output_dir: str | Path | None = None,
    ks: tuple[int, ...] = (100,),
    evaluate_every: int = 0,
    exclude_target: bool = False,
    max_history_length: int | None = None,
    sizes_per_octave: int = 0,
    verbose: str | int = "auto",
    extra_config: Mapping[str, Any] | None = None,
) -> ExperimentResult:
    """Trains an `acf`/`svdpp` preset and evaluates it with full ranking at `ks`.

    Args:
        interactions: a leave-one-out split.
        preset: an `acf` or `svdpp` preset.
        components: a `ComponentStore` aligned with `interactions.item_keys` (ACF only);
            it is read into memory once when it fits (`load()`), else read per batch.
        seed: seeds the weights and the sampler.
        output_dir: where to write `metrics.json` and `model.keras` (None: nowhere).
        ks: cut-offs (paper: 100).
        evaluate_every: also evaluate every N epochs (learning curves only).
        exclude_target: leave the positive out of R(i) in its training row (spec §2).
        max_history_length: clip R(i) to the latest items (None: the whole history).
        sizes_per_octave: pad the batches' variable dimensions up a geometric ladder with
            this many sizes per doubling (`ACFSampler`; 0: plain multiples). Values are
            unchanged; fewer distinct shapes mean fewer XLA compilations on JAX.
        verbose: Keras progress display.
        extra_config: recorded under "config".
    """
    started = time.perf_counter()
    if preset.model == "svdpp":
        components = None
    model = build_acf_model(
        preset,
        interactions.num_users,
        interactions.num_items,
        component_dim=None if components is None else components.dim,
        seed=seed,
    )
    sampler = ACFSampler(
        interactions.train,
        batch_size=preset.batch_size,
        num_negatives=preset.num_negatives,
        components=components if model.uses_components else None,
        max_history_length=max_history_length,
        timestamps=interactions.train_timestamps,
        exclude_target=exclude_target,
        sizes_per_octave=sizes_per_octave,
        seed=seed,
    )
    scorer = model.full_ranking_scorer(sampler.histories, sampler.components)
    callbacks = []
    if evaluate_every:
        callbacks.append(
            RankingEvaluationCallback(
                interactions, ks=ks, every_n_epochs=evaluate_every, score_fn=scorer, verbose=0
            )
        )
    dataset, steps = acf_training_input(sampler, preset.steps_per_epoch)
    history = model.fit(
        dataset,
        epochs=preset.epochs,
        steps_per_epoch=steps,
        shuffle=False,
        callbacks=callbacks,
        verbose=verbose,
    )
    evaluation = evaluate_full_ranking(scorer, interactions, ks=ks)
    config = {
        "preset": preset.to_dict(),
        "seed": seed,
        "dataset": interactions.name,
        "dataset_stats": interactions.stats(),
        "backend": keras.backend.backend(),
        "protocol": PROTOCOL,
        "exclude_target": exclude_target,
        "max_history_length": max_history_length,
        "sizes_per_octave": sizes_per_octave,
        "components": None
        if sampler.components is None
        else {
            "file": str(sampler.components.path),
            "max_components": sampler.components.max_components,
            "dim": sampler.components.dim,
            "items_without_components": int((sampler.components.counts == 0).sum()),
        },
        **dict(extra_config or {}),
    }
    result = ExperimentResult(
        model,
        {name: float(value) for name, value in evaluation.metrics.items()},
        {name: [float(v) for v in values] for name, values in history.history.items()},
        config,
        time.perf_counter() - started,
        evaluation,
    )
    if output_dir is not None:
        save_experiment(result, output_dir)
    return result
