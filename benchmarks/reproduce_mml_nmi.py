"""MML paper, Tables 4-5 and 8: NMI@10 / NMI@20 of item embeddings (spherical k-means
against item categories) for WRMF, CML, SML, MML and MML's ablations, over seeds.

    python benchmarks/reproduce_mml_nmi.py --dataset s3rec-sports --seeds 0 1 2 \
        --output benchmarks/results/mml_nmi_s3rec-sports.json
    python benchmarks/reproduce_mml_nmi.py --dataset hin-yelp --seeds 0 1 2 \
        --output benchmarks/results/mml_nmi_hin-yelp.json

Each run is what `tfrec train --model NAME [--preset P] --dataset D --seed S` does: the
registry split (s3rec-sports: leave-one-out by sequence position; hin-yelp: 60/20/20 with
ratings < 3 dropped, the MML protocol), the preset's training, then NMI of spherical
k-means (unit-normalised item embeddings, K = 10 and 20, mean over 10 k-means seeds)
against the items' primary category (s3rec-sports: the level-2 Amazon category; hin-yelp:
the first business category), items without a label left out. Rows: `wrmf` (ALS via
`implicit`), `cml` (the CML code's preset), `sml/paper`, `mml/paper` and the Table 8
ablations `mml/euc-mml`, `w-mml`, `m-mml`, `np-mml`, `nr-mml`. `--epochs` overrides every
preset's epochs (e.g. for a quick pass). Finished runs are skipped when started again.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import keras
import numpy as np

from tfrec.data.registry import load_dataset
from tfrec.training import get_preset
from tfrec.training.experiment import run_experiment
from tfrec.training.wrmf_experiment import run_wrmf_experiment
from tfrec.utils.atomic import write_json

ROWS = {
    "wrmf": ("wrmf", None),
    "cml": ("cml", None),
    "sml": ("sml", "paper"),
    "mml": ("mml", "paper"),
    "euc-mml": ("mml", "euc-mml"),
    "w-mml": ("mml", "w-mml"),
    "m-mml": ("mml", "m-mml"),
    "np-mml": ("mml", "np-mml"),
    "nr-mml": ("mml", "nr-mml"),
}
METRICS = ("nmi@10", "nmi@20")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="s3rec-sports")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--epochs", type=int, help="override every preset's epochs")
    parser.add_argument("--output", required=True)
    parser.add_argument("--summary-only", action="store_true")
    args = parser.parse_args()

    output = Path(args.output)
    record = json.loads(output.read_text()) if output.exists() else {"runs": {}}
    if not args.summary_only:
        data = load_dataset(args.dataset, progress=False)
        labels, names = data.item_labels()
        print(data.summary(), f"\n{int((labels >= 0).sum()):,} labelled items, "
              f"{len(names)} labels", flush=True)  # fmt: skip
        record.update(
            command="python benchmarks/reproduce_mml_nmi.py "
            + " ".join(f"{k}={v}" for k, v in vars(args).items()),
            machine=f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
            backend=keras.backend.backend(),
            dataset=data.summary(),
        )
        for seed in args.seeds:
            for row in args.rows:
                key = f"{row}/s{seed}"
                if key in record["runs"]:
                    continue
                model, preset_name = ROWS[row]
                preset = get_preset(model, preset_name, dataset=args.dataset)
                if args.epochs:
                    preset = preset.replace(epochs=args.epochs)
                started = time.perf_counter()
                if model == "wrmf":
                    result = run_wrmf_experiment(data, preset, seed=seed)
                else:
                    result = run_experiment(data, preset, seed=seed, verbose=0)
                record["runs"][key] = {
                    **{m: result.metrics[m] for m in result.metrics},
                    "nmi": result.config.get("nmi"),
                    "seconds": time.perf_counter() - started,
                }
                write_json(output, record)
                run = record["runs"][key]
                print(
                    f"{key}: nmi@10 {run['nmi@10']:.4f}  nmi@20 {run['nmi@20']:.4f}  "
                    f"{run['seconds']:.0f} s",
                    flush=True,
                )
    print(f"\n{args.dataset}: NMI, mean +- std over training seeds")
    for row in ROWS:
        runs = [record["runs"].get(f"{row}/s{s}") for s in args.seeds]
        runs = [run for run in runs if run]
        if runs:
            cells = []
            for metric in METRICS:
                values = np.array([run[metric] for run in runs])
                spread = values.std(ddof=1) if len(values) > 1 else 0.0
                cells.append(f"{values.mean():.4f} +- {spread:.4f}")
            print(f"{row + f' ({len(runs)})':<16}" + "".join(f"{c:>20}" for c in cells))


if __name__ == "__main__":
    main()
