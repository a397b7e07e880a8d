"""Chooses the free hyper-parameters of the CML and BPR presets on a validation split.

The papers fix most of CML's settings (MAML §4.1.3) but not the training length, and give
nothing for BPR. Choosing those on the test split would inflate the reproduction tables,
so this script carves a validation split out of the *training* pairs of maml-office
(a seeded, unstratified 30% of the training pairs, as the released split itself is an
unstratified ~70/30 split), trains on the rest, and reports validation NDCG@10 after every
400-batch epoch. The test split is never read.

    python benchmarks/tune_presets.py --output benchmarks/results/tune_presets.json

The full default grid takes about 30 minutes on 2 cores (JAX backend recommended:
KERAS_BACKEND=jax). It was run in three parts (results/tune_presets*.json): the CML runs
with l2 in {1e-5, 1e-4, 1e-3}, then `--skip-cml --bpr-l2 3e-3 1e-2 3e-2`, then
`--skip-cml --bpr-l2 0.1 0.3 --bpr-learning-rates 1e-3`, because the best value kept
landing on the edge of the grid.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import time

import numpy as np
import scipy.sparse as sp

from tfrec.data.interactions import Interactions
from tfrec.data.registry import load_dataset
from tfrec.evaluation import RankingEvaluationCallback
from tfrec.training import build_model
from tfrec.training import fit
from tfrec.training import get_preset


def carve_validation(data: Interactions, fraction: float, seed: int) -> Interactions:
    """Moves a random `fraction` of the training pairs to `validation`; test is dropped."""
    train = data.train.tocoo()
    rng = np.random.default_rng(seed)
    held_out = rng.random(train.nnz) < fraction

    def matrix(mask):
        return sp.csr_matrix(
            (train.data[mask], (train.row[mask], train.col[mask])), shape=data.train.shape
        )

    return dataclasses.replace(
        data,
        train=matrix(~held_out),
        validation=matrix(held_out),
        test=sp.csr_matrix(data.train.shape, dtype=np.float32),  # never used here
        test_negatives=None,
        name=f"{data.name}-validation",
    )


def validation_curve(data, preset, seed):
    model = build_model(preset, data.num_users, data.num_items, seed=seed)
    callback = RankingEvaluationCallback(data, split="validation", ks=(10,), verbose=0)
    fit(model, data, preset, seed=seed, callbacks=[callback], verbose=0)
    return [metrics["ndcg@10"] for _, metrics in callback.history]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="maml-office")
    parser.add_argument("--fraction", type=float, default=0.3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--cml-epochs", type=int, default=12)
    parser.add_argument("--bpr-epochs", type=int, default=20)
    parser.add_argument(
        "--bpr-l2", type=float, nargs="+", default=[1e-5, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3]
    )
    parser.add_argument("--bpr-learning-rates", type=float, nargs="+", default=[1e-3, 1e-2])
    parser.add_argument("--skip-cml", action="store_true")
    parser.add_argument("--output", default="benchmarks/results/tune_presets.json")
    args = parser.parse_args()

    data = carve_validation(load_dataset(args.dataset), args.fraction, seed=12345)
    print(data.summary(), flush=True)
    results = {"dataset": args.dataset, "validation_fraction": args.fraction, "runs": []}

    candidates = [] if args.skip_cml else [("cml", "maml", {}), ("cml", "maml-adam", {})]
    for l2, learning_rate in itertools.product(args.bpr_l2, args.bpr_learning_rates):
        candidates.append(("bpr", "maml", {"l2": l2, "learning_rate": learning_rate}))
    for model, preset_name, changes in candidates:
        epochs = args.cml_epochs if model == "cml" else args.bpr_epochs
        preset = get_preset(model, preset_name).replace(epochs=epochs, **changes)
        started = time.perf_counter()
        curves = [validation_curve(data, preset, seed) for seed in args.seeds]
        mean = np.mean(curves, axis=0)
        best = int(np.argmax(mean))
        run = {
            "model": model,
            "preset": preset_name,
            "changes": changes,
            "validation_ndcg@10_per_epoch": mean.round(5).tolist(),
            "best_epochs": best + 1,
            "best_validation_ndcg@10": float(mean[best]),
            "seconds": time.perf_counter() - started,
        }
        results["runs"].append(run)
        print(
            f"{model:4} {preset_name:10} {json.dumps(changes):45} best epoch {best + 1:3d}"
            f"  val NDCG@10 {100 * mean[best]:.3f}%  curve "
            + " ".join(f"{100 * v:.2f}" for v in mean),
            flush=True,
        )
    with open(args.output, "w") as handle:
        json.dump(results, handle, indent=2)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
