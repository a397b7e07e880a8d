"""ACF paper, Tables 2-3: SVD++, item-level attention only, full ACF, and the item-attention
input ablations, HR@100 / NDCG@100 (leave-one-out, every item ranked), over seeds.

    python benchmarks/reproduce_acf_table.py --dataset amazon-cloth --components tags \
        --seeds 0 1 2 --output benchmarks/results/acf_amazon-cloth.json
    python benchmarks/reproduce_acf_table.py --dataset lrd-office --components text \
        --seeds 0 1 2 --output benchmarks/results/acf_lrd-office.json

Data: `load_dataset(NAME, split="leave-one-out")` (each user's latest event is the test
item; random when the data have no timestamps, e.g. amazon-cloth), as the ACF paper. For
item text, `lrd-office` (Amazon Office 5-core, the superset of MAML's Office with each
item's title + category + brand; LRD's own test items with dev merged into training) is
used rather than ml-1m-sample to fit three seeds x six rows on 2 cores: an epoch is 189
batches of 256 here against 369 there, and an item has 13.5 words on average here against
plots of 525 characters there (every word is a component the attention scores per
(user, history item) pair); `--dataset ml-1m-sample --components text` runs the same table.
Components (built once into `--features-dir` by `write_token_components`, the code of
`tfrec features components`): `tags` = Word2Vec vectors of each item's tags, `text` =
Word2Vec vectors of the words of its text (the paper's image regions and video frames are
not available here). Rows (presets of `tfrec.training.acf_presets`): `svdpp/paper` (item
AVG, no content), `acf/item-only` (item attention, averaged components), `acf/paper` (full
ACF = U+V+P+X), `acf/uv`, `acf/up`, `acf/uvp` (Table 3 inputs). Each run is
`run_acf_experiment` with the preset's epochs (or `--epochs`); the final model is scored
(nothing selected on test). Per-user values are kept in a sibling `.npz` for the paired
t-tests the summary prints for the expected order full ACF >= item-only >= SVD++. Finished
runs are skipped when started again with the same --output.
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
from tfrec.evaluation import evaluate_full_ranking
from tfrec.evaluation import paired_t_test
from tfrec.features.component_features import write_token_components
from tfrec.features.component_store import ComponentStore
from tfrec.training import get_preset
from tfrec.training.acf_experiment import run_acf_experiment

METRICS = ("hr@100", "ndcg@100")
ROWS = {
    "svdpp": ("svdpp", "paper", "SVD++ (item AVG)"),
    "item-only": ("acf", "item-only", "item ATT, component AVG"),
    "acf": ("acf", "paper", "ACF (item + component ATT, U+V+P+X)"),
    "uv": ("acf", "uv", "ACF, item inputs U+V"),
    "up": ("acf", "up", "ACF, item inputs U+P"),
    "uvp": ("acf", "uvp", "ACF, item inputs U+V+P"),
}
COMPARISONS = (("acf", "item-only"), ("item-only", "svdpp"), ("acf", "svdpp"), ("acf", "uvp"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="amazon-cloth")
    parser.add_argument("--components", choices=("tags", "text"), default="tags")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--epochs", type=int, help="override the presets' epochs")
    parser.add_argument("--max-history-length", type=int, help="clip R(i) to the latest N")
    parser.add_argument("--features-dir", default="runs/features")
    parser.add_argument("--output", required=True)
    parser.add_argument("--summary-only", action="store_true")
    add_progress_argument(parser)
    args = parser.parse_args()

    output = Path(args.output)
    record, per_user = load_runs(output)
    data = load_dataset(args.dataset, split="leave-one-out", progress=False)
    if not args.summary_only:
        print(data.summary(), flush=True)
        store = Path(args.features_dir) / f"{args.dataset}_{args.components}_components.h5"
        if not store.exists():
            store.parent.mkdir(parents=True, exist_ok=True)
            write_token_components(data, store, source=args.components)
        components = ComponentStore(store, data.item_keys).load()
        record.update(
            command="python benchmarks/reproduce_acf_table.py "
            + " ".join(f"{k}={v}" for k, v in vars(args).items()),
            machine=f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
            backend=keras.backend.backend(),
            dataset=data.summary(),
            components={"file": str(store), **components.provenance},
        )
        for seed in args.seeds:
            for row in args.rows:
                key = f"{row}/s{seed}"
                if key in record["runs"]:
                    continue
                model, preset_name, _ = ROWS[row]
                preset = get_preset(model, preset_name)
                if args.epochs:
                    preset = preset.replace(epochs=args.epochs)
                print(f"{key}: training ({preset.epochs} epochs)", flush=True)
                code, started = code_version(), time.perf_counter()
                result = run_acf_experiment(
                    data,
                    preset,
                    components=components,
                    seed=seed,
                    max_history_length=args.max_history_length,
                    verbose=args.verbose,
                )
                record["runs"][key] = {
                    **{m: result.metrics[m] for m in METRICS},
                    "seconds": time.perf_counter() - started,
                    "final_loss": result.history["loss"][-1],
                    "code": code,
                }
                save_run(output, record, per_user, key, result.evaluation, METRICS)
                run = record["runs"][key]
                print(
                    f"{key}: hr@100 {100 * run['hr@100']:.2f}  ndcg@100 "
                    f"{100 * run['ndcg@100']:.2f}  {run['seconds']:.0f} s",
                    flush=True,
                )
    summary(record, per_user, args, data)


def summary(record, per_user, args, data) -> None:
    print(f"\n{args.dataset}, components {args.components} (values in %, mean +- std)")
    # Reference without a model: items ranked by their training popularity.
    counts = np.asarray(data.train.sum(axis=0), np.float32).ravel()
    popular = evaluate_full_ranking(
        lambda users: np.broadcast_to(counts, (len(users), len(counts))), data, ks=(100,)
    )
    print(
        f"{'popularity (no model)':<42}"
        + "".join(f"{100 * popular.metrics[m]:>18.2f}" for m in METRICS)
    )
    for row, (_, _, title) in ROWS.items():
        runs = [record["runs"].get(f"{row}/s{s}") for s in args.seeds]
        runs = [run for run in runs if run]
        if not runs:
            continue
        cells = []
        for metric in METRICS:
            values = 100 * np.array([run[metric] for run in runs])
            spread = values.std(ddof=1) if len(values) > 1 else 0.0
            cells.append(f"{values.mean():7.2f} +- {spread:4.2f}")
        print(f"{title + f' ({len(runs)})':<42}" + "".join(f"{c:>18}" for c in cells))
    for better, worse in COMPARISONS:
        for metric in METRICS:
            a = averaged_over_seeds(per_user, better, args.seeds, metric)
            b = averaged_over_seeds(per_user, worse, args.seeds, metric)
            if a is not None and b is not None:
                test = paired_t_test(a, b, metric)
                print(
                    f"  {better} - {worse} {metric}: {100 * test.mean_difference:+.2f} points, "
                    f"p = {test.p_value:.3g}"
                )


if __name__ == "__main__":
    main()
