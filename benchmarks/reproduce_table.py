"""Reproduction table: models x seeds with their presets, against the paper's row.

    KERAS_BACKEND=jax python benchmarks/reproduce_table.py --dataset maml-office \
        --models cml bpr --seeds 0 1 2 --output benchmarks/results/maml_office.json
    python benchmarks/reproduce_table.py --dataset maml-office \
        --models cml cml-features maml --compare maml:cml maml:cml-features \
        --output benchmarks/results/maml_office_text_code.json
    python benchmarks/reproduce_table.py --dataset maml-office \
        --models cml cml-features:paper maml:paper \
        --compare maml:paper:cml maml:paper:cml-features:paper ...

A model is `NAME` (its preset for the dataset) or `NAME:PRESET`. Each run is exactly
`tfrec train --model NAME [--preset PRESET] --dataset D --seed S --evaluate-every 1`; the
feature models (maml = MAML_text, cml-features = CML_text) get the Doc2Vec PV-DM vectors of
the dataset's item text (100 dims, seed 0), as `tfrec train` builds them. Two rows per model, mean +- std over seeds, next to the MAML paper's
Table 2 row (values in %):

- "final": the model after the preset's last epoch (what `metrics.json` reports; the epoch
  count was fixed on a validation split of the training pairs, benchmarks/tune_presets.py).
- "best on test": the best epoch by test NDCG@10, which is how the authors' code reports
  (it prints test metrics after every 400-batch epoch and never stops; spec/evaluation.md
  A.7). Shown for comparability with the paper only: it selects on the test split.

Also prints the wall time of every run and paired t-tests over users (final models): for
each `--compare A:B` pair (default: the first two models), per seed and on the per-user
values averaged over the seeds.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

import keras
import numpy as np
from _runs import add_progress_argument

from tfrec.data.registry import load_dataset
from tfrec.evaluation import RankingResult
from tfrec.evaluation import paired_t_test
from tfrec.features import text_features_from_side_info
from tfrec.models.registry import needs_item_features
from tfrec.training import get_preset
from tfrec.training.experiment import run_experiment

METRICS = ("ndcg@10", "recall@10", "hr@10", "precision@10")

# MAML paper, Table 2 (values in %): NDCG, Recall, HR, Precision @10. With text features
# only: cml-features = CML_text, maml = MAML_text.
PAPER = {
    "maml-office": {
        "bpr": (4.557, 7.780, 21.410, 2.562),
        "cml": (6.680, 8.986, 24.025, 3.141),
        "cml-features": (6.889, 9.171, 24.778, 3.223),
        "maml": (7.094, 9.346, 25.165, 3.222),
    },
    "maml-menclothing": {
        "bpr": (1.229, 2.375, 4.611, 0.478),
        "cml": (2.520, 4.040, 7.815, 0.811),
        "cml-features": (3.212, 4.952, 9.659, 1.005),
        "maml": (3.282, 4.961, 9.843, 1.019),
    },
    "maml-toysgames": {
        "bpr": (0.807, 1.733, 3.235, 0.385),
        "cml": (6.207, 8.638, 17.454, 2.204),
        "cml-features": (6.345, 8.787, 17.957, 2.260),
        "maml": (6.410, 8.954, 18.093, 2.289),
    },
}


def ablation_features(interactions, kind: str, text_dim: int) -> np.ndarray:
    """The item features of the feature models, by kind (see --features)."""
    if kind == "text":
        table, _ = text_features_from_side_info(
            interactions.item_side.text, interactions.item_keys, dim=text_dim, seed=0
        )
        return table.values
    if kind == "category":
        codes, names = interactions.item_labels()
        onehot = np.zeros((interactions.num_items, len(names) + 1), np.float32)
        onehot[np.arange(interactions.num_items), codes] = 1.0  # -1 (unknown): last column
        return onehot
    return (
        np.random.default_rng(0).normal(size=(interactions.num_items, text_dim)).astype(np.float32)
    )


def mean_over_seeds(results: list[RankingResult]) -> RankingResult:
    """Per-user values averaged over seeds (same users in every run)."""
    per_user = {
        name: np.mean([result.per_user[name] for result in results], axis=0)
        for name in results[0].per_user
    }
    metrics = {name: float(values.mean()) for name, values in per_user.items()}
    return RankingResult(metrics, per_user, results[0].users, results[0].protocol)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="maml-office")
    parser.add_argument("--models", nargs="+", default=["cml", "bpr"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--compare", nargs="+", default=[], help="A:B pairs (paired t-tests)")
    parser.add_argument("--text-dim", type=int, default=100, help="Doc2Vec size (feature models)")
    parser.add_argument(
        "--features",
        choices=("text", "category", "random"),
        default="text",
        help="feature-quality ablation: Doc2Vec of the item text (default), the one-hot of "
        "the item's category (a feature of known, strong signal), or seeded Gaussian noise",
    )
    parser.add_argument("--epochs", type=int, help="override every preset's epochs (smoke runs)")
    parser.add_argument("--steps-per-epoch", type=int, help="override (smoke runs)")
    parser.add_argument("--output", help="write all results as JSON")
    add_progress_argument(parser)
    args = parser.parse_args()

    interactions = load_dataset(args.dataset)
    print(interactions.summary(), flush=True)
    features = None
    if any(needs_item_features(spec.split(":")[0]) for spec in args.models):
        features = ablation_features(interactions, args.features, args.text_dim)
        print(f"item features: {args.features}, {features.shape}", flush=True)
    rows, evaluations = {}, {}
    for spec in args.models:
        model, _, preset_name = spec.partition(":")
        preset = get_preset(model, preset_name or None, dataset=args.dataset).replace(
            epochs=args.epochs, steps_per_epoch=args.steps_per_epoch
        )
        runs = []
        for seed in args.seeds:
            started = time.perf_counter()
            result = run_experiment(
                interactions,
                preset,
                seed=seed,
                verbose=args.verbose,
                evaluate_every=1,
                item_features=features if needs_item_features(model) else None,
            )
            seconds = time.perf_counter() - started
            curve = result.history["ndcg@10"]
            best = int(np.argmax(curve))
            runs.append(
                {
                    "seed": seed,
                    "seconds": seconds,
                    **result.metrics,
                    "best_on_test_epoch": best + 1,
                    "best_on_test": {m: result.history[m][best] for m in METRICS},
                    "test_curve": {m: result.history[m] for m in METRICS},
                }
            )
            evaluations.setdefault(spec, []).append(result.evaluation)
            shown = "  ".join(f"{m} {100 * result.metrics[m]:.3f}" for m in METRICS)
            print(f"{spec} seed {seed}: {shown}  ({seconds:.0f} s)", flush=True)
        rows[spec] = {"preset": preset.to_dict(), "runs": runs}

    paper = PAPER.get(args.dataset, {})
    print(f"\n{args.dataset}, full ranking, final model, mean +- std over seeds {args.seeds} (%)")
    print(f"{'model':<24}" + "".join(f"{m:>20}" for m in METRICS) + f"{'s/run':>8}")
    for spec, row in rows.items():
        model = spec.split(":")[0]
        seconds = np.mean([run["seconds"] for run in row["runs"]])
        for label, pick in (("final", lambda run: run), ("best", lambda run: run["best_on_test"])):
            values = np.array([[pick(run)[m] for m in METRICS] for run in row["runs"]]) * 100
            cells = "".join(
                f"{mean:>12.3f} +- {std:<5.3f}"
                for mean, std in zip(values.mean(0), values.std(0), strict=True)
            )
            name = f"{spec} {label}"
            print(f"{name:<24}{cells}" + (f"{seconds:>8.0f}" if label == "final" else ""))
            row[f"{label}_mean"] = dict(zip(METRICS, values.mean(0).tolist(), strict=True))
            row[f"{label}_std"] = dict(zip(METRICS, values.std(0).tolist(), strict=True))
        epochs = [run["best_on_test_epoch"] for run in row["runs"]]
        print(f"{'':<24}(best-on-test epochs: {epochs} of {row['preset']['epochs']})")
        if model in paper:
            print(f"{'paper':<24}" + "".join(f"{v:>20.3f}" for v in paper[model]))
            row["paper"] = dict(zip(METRICS, paper[model], strict=True))
    pairs = [_split_pair(text, rows) for text in args.compare]
    if not pairs and len(rows) >= 2:
        pairs = [tuple(list(rows)[:2])]
    tests = []
    for first, second in pairs:
        per_seed = [
            paired_t_test(a, b, "ndcg@10")
            for a, b in zip(evaluations[first], evaluations[second], strict=True)
        ]
        pooled = paired_t_test(
            mean_over_seeds(evaluations[first]), mean_over_seeds(evaluations[second]), "ndcg@10"
        )
        print(
            f"\npaired t-test {first} vs {second}, NDCG@10 over {pooled.num_users} users, "
            f"per-user values averaged over seeds: {100 * pooled.mean_difference:+.3f} points, "
            f"t = {pooled.statistic:.2f}, p = {pooled.p_value:.2g}; per seed: "
            + ", ".join(f"{100 * t.mean_difference:+.3f} (p = {t.p_value:.2g})" for t in per_seed)
        )
        tests.append(
            {
                "a": first,
                "b": second,
                "metric": "ndcg@10",
                "seed_averaged": vars(pooled),
                "per_seed": [vars(t) for t in per_seed],
            }
        )
    if args.output:
        payload = {
            "dataset": args.dataset,
            "command": " ".join(sys.argv),
            "backend": keras.backend.backend(),
            "machine": platform.platform(),
            "models": rows,
            "paired_t_tests": tests,
            "features": args.features,
        }
        with open(args.output, "w") as handle:
            json.dump(payload, handle, indent=2)
        print(f"wrote {args.output}")


def _split_pair(text: str, rows: dict) -> tuple[str, str]:
    """ "A:B" where A and B are model specs that may contain ':' themselves."""
    parts = text.split(":")
    for cut in range(1, len(parts)):
        first, second = ":".join(parts[:cut]), ":".join(parts[cut:])
        if first in rows and second in rows:
            return first, second
    raise SystemExit(f"--compare {text!r}: expected A:B with A and B among {list(rows)}")


if __name__ == "__main__":
    main()
