"""Test HR@100 / NDCG@100 of SVD++ and item-attention ACF every few epochs (learning curves).

    python benchmarks/acf_learning_curves.py --datasets lrd-office amazon-cloth \
        --output benchmarks/results/acf_learning_curves.json

Why: on both datasets of the ACF table the attention variants end well below SVD++ with a
lower training loss. Scoring the test items during training (diagnosis only: the table
scores the final model, nothing is selected on test) shows whether the attention rows ever
reach SVD++ and then fall (over-fitting) or stay below from the start. Same data, presets,
components and seed handling as `reproduce_acf_table.py` (`run_acf_experiment` with
`evaluate_every`); rows `svdpp/paper` and `acf/item-only` by default, seed 0. A finished
(dataset, row, seed) is skipped when started again with the same --output.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import keras
from _runs import add_progress_argument
from _runs import code_version
from _runs import load_runs
from acf_throughput import SOURCES
from acf_throughput import load_data
from reproduce_acf_table import ROWS

from tfrec.training import get_preset
from tfrec.training.acf_experiment import run_acf_experiment
from tfrec.utils.atomic import write_json

METRICS = ("hr@100", "ndcg@100")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(SOURCES), choices=list(SOURCES))
    parser.add_argument("--rows", nargs="+", default=["svdpp", "item-only"], choices=list(ROWS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--every", type=int, default=3, help="evaluate every N epochs")
    parser.add_argument("--features-dir", default="runs/features")
    parser.add_argument("--output", required=True)
    add_progress_argument(parser)
    args = parser.parse_args()
    output = Path(args.output)
    record, _ = load_runs(output)
    record.update(
        machine=f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        backend=keras.backend.backend(),
    )
    for dataset in args.datasets:
        data, components = load_data(dataset, args.features_dir)
        for seed in args.seeds:
            for row in args.rows:
                key = f"{dataset}/{row}/s{seed}"
                if key in record["runs"]:
                    continue
                model, preset_name, _ = ROWS[row]
                preset = get_preset(model, preset_name)
                print(f"{key}: training ({preset.epochs} epochs)", flush=True)
                code, started = code_version(), time.perf_counter()
                result = run_acf_experiment(
                    data,
                    preset,
                    components=components,
                    seed=seed,
                    evaluate_every=args.every,
                    verbose=args.verbose,
                )
                # Keras's History appends a metric only in the epochs that logged it.
                # The callback also scores the last epoch when it is not a multiple.
                epochs = list(range(args.every, preset.epochs + 1, args.every))
                if preset.epochs % args.every:
                    epochs.append(preset.epochs)
                record["runs"][key] = {
                    "epochs": epochs,
                    **{m: result.history[m] for m in METRICS},
                    "loss": result.history["loss"],
                    "final": {m: result.metrics[m] for m in METRICS},
                    "seconds": time.perf_counter() - started,
                    "code": code,
                }
                write_json(output, record)
                run = record["runs"][key]
                print(
                    f"{key}: "
                    + "  ".join(
                        f"e{e} {100 * h:.2f}/{100 * n:.2f}"
                        for e, h, n in zip(epochs, run["hr@100"], run["ndcg@100"], strict=True)
                    ),
                    flush=True,
                )


if __name__ == "__main__":
    main()
