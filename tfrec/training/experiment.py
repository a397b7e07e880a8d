"""One reproducible run: build from a preset, train, evaluate the final model, save it all.

`run_experiment` is what `tfrec train` calls and what the benchmarks call for the
reproduction tables. Its output directory holds:

- `metrics.json`: the final model's metrics (fractions, e.g. `"ndcg@10": 0.0671`) at the
  top level, then `"config"` (the resolved preset, seed, dataset, backend), `"history"`
  (per-epoch loss and, when evaluated during training, the per-epoch metrics) and
  `"seconds"`. The metrics are those of the model after the last epoch: no epoch is
  selected on the test split.
- `model.keras`: the trained model (`keras.saving.load_model` restores it).

Both files are written atomically.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from tfrec.data.interactions import Interactions
from tfrec.evaluation.callback import RankingEvaluationCallback
from tfrec.evaluation.full_ranking import evaluate_full_ranking
from tfrec.models.embedding_model import EmbeddingModel
from tfrec.training.presets import Preset
from tfrec.training.trainer import build_model
from tfrec.training.trainer import fit
from tfrec.utils.atomic import atomic_path
from tfrec.utils.atomic import write_json

METRICS_FILE = "metrics.json"
MODEL_FILE = "model.keras"


@dataclasses.dataclass
class ExperimentResult:
    """What one run produced."""

    model: EmbeddingModel
    metrics: dict[str, float]
    history: dict[str, list[float]]
    config: dict[str, Any]
    seconds: float
    evaluation: Any  # tfrec.evaluation.RankingResult of the final model (per-user values).


def run_experiment(
    interactions: Interactions,
    preset: Preset,
    *,
    seed: int = 0,
    output_dir: str | Path | None = None,
    ks: tuple[int, ...] = (10,),
    evaluate_every: int = 0,
    verbose: str | int = "auto",
    input_pipeline: str = "auto",
    extra_config: dict[str, Any] | None = None,
    item_features: np.ndarray | None = None,
    nmi_ks: tuple[int, ...] = (10, 20),
) -> ExperimentResult:
    """Trains `preset` on `interactions` with `seed` and evaluates the final model.

    Args:
        interactions: train/test split (full-ranking protocol on `interactions.test`, the
            user's training items excluded).
        preset: the complete configuration (see `tfrec.training.get_preset`).
        seed: seeds the weights and the sampler.
        output_dir: where to write `metrics.json` and `model.keras` (nothing is written
            when None).
        ks: cut-offs of the reported metrics.
        evaluate_every: also evaluate on test every N epochs during training, to log
            learning curves (0: only at the end). These values are logged, never used to
            pick the reported model.
        verbose: Keras progress display.
        input_pipeline: see `tfrec.training.fit`.
        extra_config: recorded in `metrics.json` under "config" (e.g. the registry name).
        item_features: `[num_items, d_in]` item features of the feature models (MAML).
        nmi_ks: when the items have category labels (`Interactions.item_labels`), also
            report `"nmi@K"`: NMI of spherical k-means (K clusters, mean over 10 k-means
            seeds) of the item embeddings against the labels (MML protocol; per-seed values
            and stds under "config"/"nmi"). Empty: no NMI.
    """
    started = time.perf_counter()
    model = build_model(
        preset,
        interactions.num_users,
        interactions.num_items,
        seed=seed,
        item_features=item_features,
    )
    callbacks = []
    if evaluate_every:
        callbacks.append(
            RankingEvaluationCallback(interactions, ks=ks, every_n_epochs=evaluate_every, verbose=0)
        )
    history = fit(
        model,
        interactions,
        preset,
        seed=seed,
        callbacks=callbacks,
        verbose=verbose,
        input_pipeline=input_pipeline,
    )
    evaluation = evaluate_full_ranking(model.score_users_numpy, interactions, ks=ks)
    metrics = {name: float(value) for name, value in evaluation.metrics.items()}
    nmi = item_clustering_nmi(model, interactions, nmi_ks)
    metrics.update({name: record["mean"] for name, record in nmi.items()})
    seconds = time.perf_counter() - started
    config = {
        "preset": preset.to_dict(),
        "seed": seed,
        "dataset": interactions.name,
        "dataset_stats": interactions.stats(),
        "backend": keras.backend.backend(),
        "protocol": "full ranking over all items, training items excluded (MAML protocol)",
        **({"nmi": nmi} if nmi else {}),
        **(extra_config or {}),
    }
    history_values = {name: [float(v) for v in values] for name, values in history.history.items()}
    result = ExperimentResult(model, metrics, history_values, config, seconds, evaluation)
    if output_dir is not None:
        save_experiment(result, output_dir)
    return result


def item_clustering_nmi(model, interactions: Interactions, ks=(10, 20)) -> dict[str, dict]:
    """`{"nmi@K": {"mean", "std", "per_seed"}}` of the model's item embeddings (MML §4.2).

    Empty when `ks` is empty, the items have no category labels, or the model has no
    `item_embedding` table. Items without a label are left out of the clustering.
    """
    table = getattr(model, "item_embedding", None)
    if not ks or table is None:
        return {}
    labels, names = interactions.item_labels()
    labelled = int((labels >= 0).sum())
    if len(names) < 2:
        return {}
    from tfrec.evaluation.clustering import nmi_spherical_kmeans

    embeddings = keras.ops.convert_to_numpy(table.embeddings)
    result = {}
    for k in ks:
        if k > labelled:
            continue
        mean, std, per_seed = nmi_spherical_kmeans(embeddings, labels, k)
        result[f"nmi@{k}"] = {
            "mean": float(mean),
            "std": float(std),
            "per_seed": [float(v) for v in per_seed],
            "labelled_items": labelled,
            "labels": len(names),
        }
    return result


def save_experiment(result: ExperimentResult, output_dir: str | Path) -> Path:
    """Writes `metrics.json` and `model.keras` into `output_dir`, each atomically."""
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    with atomic_path(output / MODEL_FILE) as temporary:
        result.model.save(temporary)
    payload = dict(result.metrics)
    payload.update({"config": result.config, "history": result.history, "seconds": result.seconds})
    write_json(output / METRICS_FILE, payload)
    return output
