"""IRIS paper, Tables II-V: FISM, NAIS, Image-add-Text IRIS, Multimodal IRIS (1 + 99).

    python benchmarks/reproduce_iris_tables.py --dataset ml-1m-sample --dims 16 64 \
        --seeds 0 1 2 --output benchmarks/results/iris_ml-1m-sample.json
    python benchmarks/reproduce_iris_tables.py --dataset amazon-cloth --dims 16 \
        --seeds 0 1 2 --output benchmarks/results/iris_amazon-cloth.json

Protocol (IRIS paper §IV, spec evaluation.md §C): `load_dataset(NAME,
split="leave-one-out-random")`: one random interaction per user for test and one more for
validation (seed 0), 99 fixed test negatives (seed 0). Every model trains with early stopping
on the validation interactions (NDCG@10 of each validation item among 99 negatives of its
own, patience 3, best epoch kept, at most `--max-epochs`) and is scored once on test;
nothing is selected on the test split. For each (embedding size, seed):

1. FISM, preset `code[-64]` (NAIS authors' FISM.py: Adagrad 0.01, 4 negatives).
2. NAIS, preset `iris-paper[-64]` (NAIS.py with the IRIS paper's beta 0.8), started from the
   FISM of step 1 (the NAIS code's `pretrain=1`; the same FISM run, not a second one).
1b, 2b. `fism-adam`, `nais-adam`: the same models trained as IRIS is (Adam 0.001; presets
   `iris-adam[-64]`), NAIS from the Adam FISM.
3. Image-add-Text IRIS and Multimodal IRIS, presets `image-add-text[-64]` and
   `multimodal[-64]` (paper §IV.D: Adam 0.001, batch 512, beta 0.8, no pre-training).

Item features (built once per dataset by the same code as `tfrec train`, cached in
`--features-dir`): ml-1m-sample: the "visual" tower takes the OMDb/MovieLens metadata
(genres, director, writer, actors, rating class; TF-IDF then truncated SVD) and the "text"
tower the Doc2Vec PV-DM vectors of the OMDb plot (posters cannot be downloaded here);
amazon-cloth: the tags (TF-IDF + SVD) in the visual tower and zeros as text (the paper's
rule for a missing modality).

The JSON has every run's metrics, epochs and seconds; per-user HR/NDCG are kept in a
sibling `.npz` for paired t-tests, which the summary prints for the expected order
(Multimodal >= Image-add-Text >= NAIS >= FISM) on per-user values averaged over the seeds.
Finished runs are skipped when the script is started again with the same --output.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import keras
import numpy as np
from _runs import add_progress_argument
from _runs import averaged_over_seeds
from _runs import code_version
from _runs import load_runs
from _runs import save_run

from tfrec.data.registry import load_dataset
from tfrec.evaluation import paired_t_test
from tfrec.evaluation.sampled import evaluate_sampled
from tfrec.features.movie_features import iris_item_features
from tfrec.training import get_preset
from tfrec.training.history_experiment import run_history_experiment

METRICS = ("hr@10", "ndcg@10", "hr@20", "ndcg@20")
ROWS = ("fism", "nais", "fism-adam", "nais-adam", "image-add-text", "multimodal")
TITLES = {
    "fism": "FISM",
    "nais": "NAIS",
    "fism-adam": "FISM (Adam)",
    "nais-adam": "NAIS (Adam)",
    "image-add-text": "Image-add-Text IRIS",
    "multimodal": "Multimodal IRIS",
}
# IRIS paper (fractions): Tables IV (e = 16) and V (e = 64) on MovieLens-1M with HR/NDCG@10
# and @20; Tables II (MovieLens) and III (Amazon CSJ), @10 only, repeat e = 64. The paper's
# Tables IV-V list Image IRIS instead of Image-add-Text IRIS; Table II/III have both.
PAPER = {
    ("ml-1m", 16): {
        "fism": (0.7914, 0.5384, 0.8945, 0.5597),
        "nais": (0.7992, 0.5523, 0.9025, 0.5760),
        "multimodal": (0.8113, 0.5639, 0.9053, 0.5798),
    },
    ("ml-1m", 64): {
        "fism": (0.8136, 0.5750, 0.9066, 0.5941),
        "nais": (0.8194, 0.5736, 0.9109, 0.6025),
        "image-add-text": (0.8252, 0.5875, None, None),
        "multimodal": (0.8293, 0.5898, 0.9149, 0.6123),
    },
    ("amazon-cloth", 64): {
        "fism": (0.4080, 0.2592, None, None),
        "nais": (0.4099, 0.2425, None, None),
        "image-add-text": (0.4530, 0.2884, None, None),
        "multimodal": (0.4631, 0.2924, None, None),
    },
}


def run_one(data, model: str, dim: int, seed: int, args, features, fism):
    suffix = "-64" if dim == 64 else ""  # Other sizes: the e = 16 preset, resized.
    if model in ("fism", "fism-adam"):
        preset = get_preset("fism", f"{'code' if model == 'fism' else 'iris-adam'}{suffix}")
        kwargs = {"pretrain": None}
    elif model in ("nais", "nais-adam"):
        preset = get_preset("nais", f"{'iris-paper' if model == 'nais' else 'iris-adam'}{suffix}")
        kwargs = {"pretrain": fism[model.replace("nais", "fism")]}
    else:
        preset = get_preset("iris", f"{model}{suffix}")
        kwargs = {"pretrain": None, "item_features": features}
    preset = preset.replace(embedding_dim=dim, epochs=args.max_epochs)
    return run_history_experiment(
        data, preset, seed=seed, patience=args.patience, verbose=args.verbose, **kwargs
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-1m-sample")
    parser.add_argument("--dims", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--models", nargs="+", default=list(ROWS), choices=ROWS)
    parser.add_argument("--max-epochs", type=int, default=100)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--features-dir", default="runs/features")
    parser.add_argument("--output", required=True, help="JSON of all runs (resumable)")
    parser.add_argument("--summary-only", action="store_true", help="print the tables only")
    add_progress_argument(parser)
    args = parser.parse_args()

    output = Path(args.output)
    record, per_user = load_runs(output)
    data = load_dataset(args.dataset, split="leave-one-out-random", progress=False)
    # Reference row: items ranked by their training popularity (no model).
    popularity = np.asarray(data.train.sum(axis=0)).ravel().astype(np.float32)
    ranked = evaluate_sampled(lambda users, items: popularity[items], data, ks=(10, 20))
    record["popularity"] = {m: ranked.metrics[m] for m in METRICS}
    if not args.summary_only:
        print(data.summary(), flush=True)
        store = Path(args.features_dir) / f"{args.dataset}_iris_features.h5"
        store.parent.mkdir(parents=True, exist_ok=True)
        features, described = iris_item_features(data, store)
        record.update(
            command="python benchmarks/reproduce_iris_tables.py "
            + " ".join(f"{k}={v}" for k, v in vars(args).items()),
            machine=f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
            backend=keras.backend.backend(),
            dataset=data.summary(),
            features=described,
        )
        for dim in args.dims:
            for seed in args.seeds:
                missing = [m for m in args.models if f"{m}/e{dim}/s{seed}" not in record["runs"]]
                for nais, fism_name in (("nais", "fism"), ("nais-adam", "fism-adam")):
                    if nais in missing and fism_name not in missing:
                        missing.insert(0, fism_name)  # NAIS starts from this seed's FISM.
                fism = {}
                for model in missing:
                    key = f"{model}/e{dim}/s{seed}"
                    code, started = code_version(), time.perf_counter()
                    result = run_one(data, model, dim, seed, args, features, fism)
                    if model.startswith("fism"):
                        fism[model] = result.model
                    stopping = result.config.get("early_stopping") or {}
                    record["runs"][key] = {
                        **{m: result.metrics[m] for m in METRICS},
                        "epochs": stopping.get("epochs_trained"),
                        "best_epoch": stopping.get("best_epoch"),
                        "validation": stopping.get("best_value"),
                        "seconds": time.perf_counter() - started,
                        "preset": result.config["preset"]["name"],
                        "code": code,
                    }
                    save_run(output, record, per_user, key, result.evaluation, METRICS)
                    row = record["runs"][key]
                    print(
                        f"{key}: "
                        + "  ".join(f"{m} {100 * row[m]:.2f}" for m in METRICS)
                        + f"  epochs {row['epochs']} (best {row['best_epoch']})"
                        f"  {row['seconds']:.0f} s",
                        flush=True,
                    )
    summary(record, per_user, args)


def summary(record, per_user, args) -> None:
    paper_name = "ml-1m" if args.dataset.startswith("ml-1m") else args.dataset
    for dim in args.dims:
        print(f"\n{args.dataset}, e = {dim} (values in %, mean +- std over seeds; paper row)")
        print(f"{'method':<22}" + "".join(f"{m:>17}" for m in METRICS) + "   epochs")
        if "popularity" in record:
            cells = "".join(f"{100 * record['popularity'][m]:>17.2f}" for m in METRICS)
            print(f"{'Popularity':<22}{cells}")
        for model in ROWS:
            runs = [record["runs"].get(f"{model}/e{dim}/s{s}") for s in args.seeds]
            runs = [run for run in runs if run]
            if not runs:
                continue
            cells = []
            for metric in METRICS:
                values = 100 * np.array([run[metric] for run in runs])
                cells.append(
                    f"{values.mean():8.2f} +- {values.std(ddof=1) if len(values) > 1 else 0:4.2f}"
                )
            epochs = ",".join(str(run["epochs"]) for run in runs)
            print(
                f"{TITLES[model] + f' ({len(runs)})':<22}"
                + "".join(f"{c:>17}" for c in cells)
                + f"   {epochs}"
            )
            paper = PAPER.get((paper_name, dim), {}).get(model)
            if paper:
                print(
                    f"{'  paper':<22}"
                    + "".join(f"{'' if v is None else f'{100 * v:.2f}':>17}" for v in paper)
                )
        for better, worse in (
            ("multimodal", "image-add-text"),
            ("image-add-text", "nais"),
            ("nais", "fism"),
            ("multimodal", "fism"),
            ("image-add-text", "nais-adam"),
            ("nais-adam", "fism-adam"),
            ("multimodal", "fism-adam"),
            ("fism-adam", "fism"),
        ):
            for metric in ("hr@10", "ndcg@10"):
                a = averaged_over_seeds(per_user, f"{better}/e{dim}", args.seeds, metric)
                b = averaged_over_seeds(per_user, f"{worse}/e{dim}", args.seeds, metric)
                if a is None or b is None:
                    continue
                test = paired_t_test(a, b, metric)
                print(
                    f"  {TITLES[better]} - {TITLES[worse]} {metric}: "
                    f"{100 * test.mean_difference:+.2f} points, p = {test.p_value:.3g}"
                )


if __name__ == "__main__":
    main()
