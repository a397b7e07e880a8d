"""MML paper, Table 9 scale: one training epoch of MML and of CML on the same synthetic data
of about 6.4M users, 1.66M items and 14.8M interactions; time per epoch and peak memory.

    python benchmarks/mml_million_scale.py --model mml --output benchmarks/results/mml_million_scale.json
    python benchmarks/mml_million_scale.py --model cml --output benchmarks/results/mml_million_scale.json

Each model runs in its own process (peak memory is the process's maximum resident set,
`resource.getrusage`, so every run is measured alone). Stages, each timed: the synthetic data
(`make_synthetic`, planted clusters, no image features), the sampler (for MML the similar-
pair buffers S_U and S_I, Jaccard > 0.3 by blocked sparse products, at most
`--max-similar-per-row` per entity: without a cap S_U alone would hold about 4.9 billion
pairs here, see `similar_pairs`), building the model, and one epoch of
`tfrec.training.fit` with the preset (`mml/paper`: B 512, k 32, AdaGrad; `cml`: the CML
code preset with `--cml-batch-size`, default 512 as MML, and k 32) on tf.data.

At this size a step must not touch whole tables: Adagrad updates and unit-ball clips only
the rows a step touches (`tfrec.training.optimizers`), and the covariance penalty reads the
batch's user and positive item rows in both models (`--covariance-rows batch` [INFER]; the
codes' "every row at every step" is a product over 8M x 32 rows per step; a throwaway
timing before these changes, not reproducible from this tree, gave seconds per step).
`--max-steps` stops
the epoch early (the time per step then extrapolates to the
full epoch, reported as such). The JSON keeps one record per model (and size), so both runs
land in one file; a progress line is printed every `--log-every` steps.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import time
from pathlib import Path

import keras

from tfrec.data.synthetic import make_synthetic
from tfrec.training import build_model
from tfrec.training import get_preset
from tfrec.training.mml_presets import mml_training
from tfrec.training.trainer import make_sampler
from tfrec.utils.atomic import write_json

# MML paper Table 9 (Amazon Beauty, "million-scale"): 6.4M users, 1.66M items, 14.8M events.
USERS, ITEMS, INTERACTIONS = 6_400_000, 1_660_000, 14_800_000


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


class Progress(keras.callbacks.Callback):
    """Prints steps done, steps/s and peak memory every `every` steps; stops at `max_steps`."""

    def __init__(self, total: int, every: int, max_steps: int | None):
        super().__init__()
        self.total, self.every, self.max_steps = total, every, max_steps
        self.started = None
        self.steps = 0

    def on_train_batch_begin(self, batch, logs=None):
        if self.started is None:
            self.started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.steps = batch + 1
        if self.steps % self.every == 0 or self.steps == self.total:
            seconds = time.perf_counter() - self.started
            print(
                f"  step {self.steps:,}/{self.total:,}  {self.steps / seconds:.1f} steps/s  "
                f"peak {peak_gib():.2f} GiB",
                flush=True,
            )
        if self.max_steps and self.steps >= self.max_steps:
            self.model.stop_training = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("mml", "cml"), required=True)
    parser.add_argument("--users", type=int, default=USERS)
    parser.add_argument("--items", type=int, default=ITEMS)
    parser.add_argument("--interactions", type=int, default=INTERACTIONS)
    parser.add_argument("--cml-batch-size", type=int, default=512)
    parser.add_argument(
        "--max-similar-per-row",
        type=int,
        default=10,
        help="cap of S_U / S_I per entity (0: none, the paper; see similar_pairs). 100 "
        "kept 640M user pairs (13 GB while the CSR is built) and ran out of 24 GB",
    )
    parser.add_argument(
        "--covariance-rows",
        choices=("batch", "all"),
        default="batch",
        help="rows of the covariance penalty, both models (all: every row every step)",
    )
    parser.add_argument("--max-steps", type=int, help="stop the epoch after N steps")
    parser.add_argument("--log-every", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()

    stages = {}
    started = time.perf_counter()
    data = make_synthetic(
        num_users=args.users,
        num_items=args.items,
        interactions_per_user=args.interactions / args.users,
        num_clusters=20,
        image_dim=0,
        text_vocabulary_size=200,
        test_fraction=0.2,
        seed=args.seed,
    )
    data.item_side.text = {}  # not used here: free the strings
    stages["data_seconds"] = time.perf_counter() - started
    print(data.summary(), f"({stages['data_seconds']:.0f} s)", flush=True)

    if args.model == "mml":
        preset = get_preset("mml", "paper")
    else:
        preset = get_preset("cml").replace(embedding_dim=32, batch_size=args.cml_batch_size)
    preset = preset.replace(epochs=1, covariance_rows=args.covariance_rows)
    started = time.perf_counter()
    training = None
    if args.model == "mml":
        training = dataclasses.replace(
            mml_training(preset), max_similar_per_row=args.max_similar_per_row or None
        )
    sampler = make_sampler(data, preset, seed=args.seed, training=training)
    stages["sampler_seconds"] = time.perf_counter() - started
    buffers = {
        name: int(getattr(sampler, name).nnz)
        for name in ("similar_users", "similar_items")
        if getattr(sampler, name, None) is not None
    }
    print(f"sampler ({stages['sampler_seconds']:.0f} s) {buffers}", flush=True)

    started = time.perf_counter()
    model = build_model(preset, data.num_users, data.num_items, seed=args.seed)
    stages["build_seconds"] = time.perf_counter() - started
    steps = sampler.steps_per_epoch
    progress = Progress(steps, args.log_every, args.max_steps)

    from tfrec.sampling.tf_dataset import make_tf_dataset  # TensorFlow-only module.

    started = time.perf_counter()
    model.fit(
        make_tf_dataset(sampler),
        epochs=1,
        steps_per_epoch=steps,
        shuffle=False,
        callbacks=[progress],
        verbose=0,
    )
    fit_seconds = time.perf_counter() - started
    done = progress.steps
    # The first step includes tracing and XLA compilation: the rate is over steps 2..done.
    per_step = (time.perf_counter() - progress.started) / max(done, 1)
    record = {
        "model": args.model,
        "preset": f"{preset.model}/{preset.name}",
        "batch_size": preset.batch_size,
        "embedding_dim": preset.model_options.get("embedding_dim"),
        "dataset": data.summary(),
        "train_pairs": int(data.train.nnz),
        "similar_pairs": buffers,
        **stages,
        "steps_per_epoch": steps,
        "steps_run": done,
        "fit_seconds": fit_seconds,
        "seconds_per_step": per_step,
        "epoch_seconds": fit_seconds if done == steps else per_step * steps,
        "epoch_extrapolated": done != steps,
        "peak_rss_gib": peak_gib(),
        "backend": keras.backend.backend(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "command": "python benchmarks/mml_million_scale.py "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if v),
    }
    output = Path(args.output)
    results = json.loads(output.read_text()) if output.exists() else {}
    results[f"{args.model}/{args.users}x{args.items}"] = record
    write_json(output, results)
    print(json.dumps(record, indent=1), flush=True)


if __name__ == "__main__":
    main()
