"""Chooses the training length of the MAML and CML-with-features presets on a validation split.

As benchmarks/tune_presets.py (same seeded 30% of the maml-office *training* pairs held out
as validation; the test split is never read), for the models with item features: MAML in
the code-faithful (`code`) and paper-faithful (`paper`) presets, and FeatureCML (CML_text)
in both. Text features: Doc2Vec PV-DM (100 dims, seed 0) of the real LRD Office item text.
Validation NDCG@10 is logged after every 400-batch epoch; the best epoch of the mean curve
becomes the preset's `epochs`.

    python benchmarks/tune_maml.py --output benchmarks/results/tune_maml.json
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from tune_presets import carve_validation

from tfrec.data.registry import load_dataset
from tfrec.evaluation import RankingEvaluationCallback
from tfrec.features.item_features import text_features_from_side_info
from tfrec.training import build_model
from tfrec.training import fit
from tfrec.training import get_preset

CANDIDATES = {
    "maml/code": 16,
    "maml/paper": 10,
    "cml-features/maml": 12,
    "cml-features/paper": 12,
}


def validation_curve(data, preset, features, seed):
    model = build_model(preset, data.num_users, data.num_items, seed=seed, item_features=features)
    callback = RankingEvaluationCallback(data, split="validation", ks=(10,), verbose=0)
    fit(model, data, preset, seed=seed, callbacks=[callback], verbose=0)
    return [metrics["ndcg@10"] for _, metrics in callback.history]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="maml-office")
    parser.add_argument("--fraction", type=float, default=0.3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--only", nargs="+", choices=sorted(CANDIDATES))
    parser.add_argument("--output", default="benchmarks/results/tune_maml.json")
    args = parser.parse_args()

    full = load_dataset(args.dataset)
    table, _ = text_features_from_side_info(full.item_side.text, full.item_keys, dim=100, seed=0)
    features = table.values
    data = carve_validation(full, args.fraction, seed=12345)
    print(data.summary(), flush=True)
    results = {"dataset": args.dataset, "validation_fraction": args.fraction, "runs": []}
    for name in args.only or CANDIDATES:
        model, preset_name = name.split("/")
        preset = get_preset(model, preset_name).replace(epochs=CANDIDATES[name])
        started = time.perf_counter()
        curves = [validation_curve(data, preset, features, seed) for seed in args.seeds]
        mean = np.mean(curves, axis=0)
        best = int(np.argmax(mean))
        results["runs"].append(
            {
                "model": model,
                "preset": preset_name,
                "validation_ndcg@10_per_epoch": mean.round(5).tolist(),
                "best_epochs": best + 1,
                "best_validation_ndcg@10": float(mean[best]),
                "seconds": time.perf_counter() - started,
            }
        )
        print(
            f"{name:20} best epoch {best + 1:3d}  val NDCG@10 {100 * mean[best]:.3f}%  curve "
            + " ".join(f"{100 * v:.2f}" for v in mean)
            + f"  ({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
        with open(args.output, "w") as handle:
            json.dump(results, handle, indent=2)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
