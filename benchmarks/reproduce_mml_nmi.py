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
`implicit`), `cml` (the CML code's preset at k = 32, MML's size), `sml/paper`, `mml/paper` and the Table 8
ablations `mml/euc-mml`, `w-mml`, `m-mml`, `np-mml`, `nr-mml`, and `untrained` (MML's
initial vectors: the NMI of no learning at all). `--epochs` overrides every
preset's epochs (e.g. for a quick pass). Finished runs are skipped when started again.

Each run also gives the paper's Table 7 rows for UBCF and IBCF: the learned embeddings as
the neighbourhoods of user- and item-based CF (`tfrec.evaluation.neighbourhood_cf`, 50
nearest neighbours under the model's entity metrics, inverse-distance weights [INFER]),
HR@50 and Recall@50 over every item on the test split (hin-yelp: the 60/20/20 split of the
MML protocol; training and validation items excluded).
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
from _runs import add_progress_argument
from _runs import code_version

from tfrec.data.registry import load_dataset
from tfrec.evaluation.neighbourhood_cf import two_stage_evaluation
from tfrec.training import get_preset
from tfrec.training.experiment import run_experiment
from tfrec.training.wrmf_experiment import run_wrmf_experiment
from tfrec.utils.atomic import write_json

# row -> (model, preset, option overrides). Every row has k = 32, MML's dimension: the CML
# code preset's d = 64 is set to 32 so the NMI compares spaces of one size.
ROWS = {
    "wrmf": ("wrmf", None, {}),
    "cml": ("cml", None, {"embedding_dim": 32}),
    "sml": ("sml", "paper", {}),
    "mml": ("mml", "paper", {}),
    "euc-mml": ("mml", "euc-mml", {}),
    "w-mml": ("mml", "w-mml", {}),
    "m-mml": ("mml", "m-mml", {}),
    "np-mml": ("mml", "np-mml", {}),
    "nr-mml": ("mml", "nr-mml", {}),
    # [INFER] readings of Eqs. 7-8 that let the hinges act (`MML(push_terms=...)`): the
    # push as the mean of its two distances, or one hinge per push distance.
    "mml-mean": ("mml", "paper", {"push_terms": "mean"}),
    "mml-separate": ("mml", "paper", {"push_terms": "separate"}),
    # Seed-0 trials on top of separate hinges: SML's batch-mean L_R, margins from 0.5,
    # N(0, 1/k) initial vectors.
    "mml-separate-sml-lr": (
        "mml",
        "paper",
        {"push_terms": "separate", "margin_regularizer": "sml_batch_mean"},
    ),
    "mml-separate-m05": ("mml", "paper", {"push_terms": "separate", "initial_margin": 0.5}),
    "mml-separate-normal": ("mml", "paper", {"push_terms": "separate", "initialization": "normal"}),
    # Diagnosis: MML with CML's ingredients (Euclidean metric, N(0, 1/k) start, fixed
    # margins 0.5, no L_LA, no L_P), separate hinges: which of MML's parts hold it back.
    "mml-cml-ingredients": (
        "mml",
        "paper",
        {
            "push_terms": "separate",
            "metric": "euclidean",
            "initialization": "normal",
            "initial_margin": 0.5,
            "adaptive_margins": False,
            "explicit_weight": 1.0,
            "covariance_weight": 0.0,
        },
    ),
    # The floor: MML's initial vectors, untrained (what NMI gives with no learning at all).
    "untrained": ("mml", "paper", {"epochs": 0}),
}
METRICS = ("nmi@10", "nmi@20")
TWO_STAGE_K = 50  # Table 7: HR@50 and Recall@50
TWO_STAGE_METRICS = tuple(
    f"{name}_{metric}@{TWO_STAGE_K}" for name in ("ubcf", "ibcf") for metric in ("hr", "recall")
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="s3rec-sports")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--epochs", type=int, help="override every preset's epochs")
    parser.add_argument("--output", required=True)
    parser.add_argument("--summary-only", action="store_true")
    add_progress_argument(parser)
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
                model, preset_name, overrides = ROWS[row]
                preset = get_preset(model, preset_name, dataset=args.dataset)
                if args.epochs:
                    preset = preset.replace(epochs=args.epochs)
                if overrides:  # after --epochs: the untrained row stays untrained
                    preset = preset.replace(**overrides)
                code, started = code_version(), time.perf_counter()
                if model == "wrmf":
                    result = run_wrmf_experiment(data, preset, seed=seed)
                else:
                    result = run_experiment(data, preset, seed=seed, verbose=args.verbose)
                seconds = time.perf_counter() - started
                two_stage = two_stage_evaluation(result.model, data, ks=(TWO_STAGE_K,))
                record["runs"][key] = {
                    **{m: result.metrics[m] for m in result.metrics},
                    **{
                        f"{name}_{metric}@{TWO_STAGE_K}": ranking.metrics[f"{metric}@{TWO_STAGE_K}"]
                        for name, ranking in two_stage.items()
                        for metric in ("hr", "recall")
                    },
                    "nmi": result.config.get("nmi"),
                    "seconds": seconds,
                    "code": code,
                }
                write_json(output, record)
                run = record["runs"][key]
                print(
                    f"{key}: nmi@10 {run['nmi@10']:.4f}  nmi@20 {run['nmi@20']:.4f}  "
                    f"{run['seconds']:.0f} s",
                    flush=True,
                )
    for title, metrics in (("NMI", METRICS), ("Table 7 (two-stage CF)", TWO_STAGE_METRICS)):
        print(f"\n{args.dataset}: {title}, mean +- std over training seeds")
        print(f"{'':<24}" + "".join(f"{m:>20}" for m in metrics))
        for row in ROWS:
            runs = [record["runs"].get(f"{row}/s{s}") for s in args.seeds]
            runs = [run for run in runs if run and all(m in run for m in metrics)]
            if runs:
                cells = []
                for metric in metrics:
                    values = np.array([run[metric] for run in runs])
                    spread = values.std(ddof=1) if len(values) > 1 else 0.0
                    cells.append(f"{values.mean():.4f} +- {spread:.4f}")
                print(f"{row + f' ({len(runs)})':<24}" + "".join(f"{c:>20}" for c in cells))


if __name__ == "__main__":
    main()
