"""One reproducible WRMF run: ALS fit, full-ranking metrics and NMI, as `run_experiment`.

Writes `metrics.json` (ranking metrics and "nmi@K" at the top level, then "config",
"history" (empty: ALS has no epochs to log), "seconds") and `model.npz` (the factors).
"""

from __future__ import annotations

import time
from pathlib import Path

from tfrec.data.interactions import Interactions
from tfrec.evaluation.full_ranking import evaluate_full_ranking
from tfrec.models.wrmf import WRMF
from tfrec.training.experiment import ExperimentResult
from tfrec.training.experiment import item_clustering_nmi
from tfrec.training.presets import Preset
from tfrec.utils.atomic import write_json

MODEL_FILE = "model.npz"


def run_wrmf_experiment(
    interactions: Interactions,
    preset: Preset,
    *,
    seed: int = 0,
    output_dir: str | Path | None = None,
    ks: tuple[int, ...] = (10,),
    nmi_ks: tuple[int, ...] = (10, 20),
    extra_config: dict | None = None,
) -> ExperimentResult:
    """Fits the preset's WRMF (`epochs` = ALS sweeps) and evaluates it."""
    if preset.model != "wrmf":
        raise ValueError(f"Received a preset of model {preset.model!r}. Expected 'wrmf'.")
    started = time.perf_counter()
    model = WRMF(
        interactions.num_users,
        interactions.num_items,
        iterations=preset.epochs,
        seed=seed,
        **preset.model_options,
    ).fit(interactions.train)
    evaluation = evaluate_full_ranking(model.score_users_numpy, interactions, ks=ks)
    metrics = {name: float(value) for name, value in evaluation.metrics.items()}
    nmi = item_clustering_nmi(model, interactions, nmi_ks)
    metrics.update({name: record["mean"] for name, record in nmi.items()})
    config = {
        "preset": preset.to_dict(),
        "seed": seed,
        "dataset": interactions.name,
        "dataset_stats": interactions.stats(),
        "protocol": "full ranking over all items, training items excluded",
        **({"nmi": nmi} if nmi else {}),
        **(extra_config or {}),
    }
    result = ExperimentResult(model, metrics, {}, config, time.perf_counter() - started, evaluation)
    if output_dir is not None:
        output = Path(output_dir)
        output.mkdir(parents=True, exist_ok=True)
        model.save(output / MODEL_FILE)
        write_json(
            output / "metrics.json",
            {**metrics, "config": config, "history": {}, "seconds": result.seconds},
        )
    return result
