"""ACF and SVD++ on real data: training throughput and peak memory, TensorFlow and JAX.

    python benchmarks/acf_throughput.py --steps 300 \
        --output benchmarks/results/acf_throughput.json

Data: the leave-one-out splits and component stores of the ACF table
(`reproduce_acf_table.py`): `amazon-cloth` with Word2Vec vectors of its tags as components
and `lrd-office` with those of the words of its item text (`--datasets`; a store missing
from `--features-dir` is built as that script does). Models: the presets of the table's
SVD++ (`svdpp/paper`), item attention only (`acf/item-only`) and full ACF (`acf/paper`),
D = 128, batches of 256 triples.

Each (backend, dataset, model) trains in a fresh process (the Keras backend is fixed at
import, and peak memory is then that configuration's alone), one after the other, never
side by side: `model.fit` over the input `run_acf_experiment` uses (`acf_training_input`:
`tf.data` with parallel batch assembly on TensorFlow, `SamplerDataset` on JAX), `--steps`
steps. Reported: steady-state steps/s and triples/s (wall time from the end of step
`--warmup` to the last step: tracing / XLA compilation excluded), the first steps' wall
time, the mean padded history width and component rows of a batch, and the process's peak
resident memory (`ru_maxrss`, data and store included).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

MODELS = {"svdpp": ("svdpp", "paper"), "item-only": ("acf", "item-only"), "acf": ("acf", "paper")}
SOURCES = {"amazon-cloth": "tags", "lrd-office": "text"}


def load_data(dataset: str, features_dir: str):
    """`(leave-one-out split, in-memory components)` of `dataset`; its component store is
    built into `features_dir` first when missing, as `reproduce_acf_table.py` does."""
    from tfrec.data.registry import load_dataset
    from tfrec.features.component_features import write_token_components
    from tfrec.features.component_store import ComponentStore

    data = load_dataset(dataset, split="leave-one-out", progress=False)
    source = SOURCES[dataset]
    store = Path(features_dir) / f"{dataset}_{source}_components.h5"
    if not store.exists():
        store.parent.mkdir(parents=True, exist_ok=True)
        write_token_components(data, store, source=source)
    return data, ComponentStore(store, data.item_keys).load()


def child(args) -> dict:
    import keras

    from tfrec.sampling.acf_batches import ACFSampler
    from tfrec.training import get_preset
    from tfrec.training.acf_experiment import acf_training_input
    from tfrec.training.acf_experiment import build_acf_model

    data, components = load_data(args.dataset, args.features_dir)
    preset = get_preset(*MODELS[args.model])
    model = build_acf_model(
        preset, data.num_users, data.num_items, component_dim=components.dim, seed=0
    )
    sampler = ACFSampler(
        data.train,
        batch_size=preset.batch_size,
        num_negatives=preset.num_negatives,
        components=components if model.uses_components else None,
        sizes_per_octave=args.sizes_per_octave,
        seed=0,
    )
    dataset, steps = acf_training_input(sampler, args.steps)

    class Clock(keras.callbacks.Callback):
        ends = []

        def on_train_begin(self, logs=None):
            self.begin = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.ends.append(time.perf_counter())

    clock = Clock()
    model.fit(dataset, epochs=1, steps_per_epoch=steps, callbacks=[clock], verbose=0)
    ends = clock.ends
    steady = (ends[-1] - ends[args.warmup - 1]) / (len(ends) - args.warmup)
    shapes = input_shapes(sampler, args.steps, args.warmup)
    return {
        "backend": keras.backend.backend(),
        "dataset": args.dataset,
        "model": args.model,
        "preset": f"{preset.model}/{preset.name}",
        "sizes_per_octave": args.sizes_per_octave,
        "steps": len(ends),
        "warmup_steps_s": ends[args.warmup - 1] - clock.begin,
        "steps_per_s": 1.0 / steady,
        "triples_per_s": preset.batch_size / steady,
        **shapes,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    }


def input_shapes(sampler, steps: int, warmup: int) -> dict:
    """Padded input shapes of the run's batches (a property of the sampler, not the
    backend): mean history width and component rows, and the number of distinct
    (width, component rows, history entries, (entry, component) pairs) tuples, in all and
    first seen after step `warmup`. On JAX each new tuple is an XLA compilation of the train step; TensorFlow
    traces once with unknown dimensions."""
    import numpy as np

    seen = {}
    widths, rows = [], []
    for step in range(steps):
        batch = sampler.batch(*divmod(step, sampler.steps_per_epoch))  # (pass, step)
        widths.append(batch["history"].shape[1])
        rows.append(batch["components"].shape[0] if "components" in batch else 0)
        pairs = batch["component_slots"].shape[0] if "components" in batch else 0
        key = (widths[-1], rows[-1], batch["pair_positions"].shape[0], pairs)
        seen.setdefault(key, step)
    return {
        "mean_history_width": float(np.mean(widths)),
        "mean_component_rows": float(np.mean(rows)),
        "distinct_input_shapes": len(seen),
        "new_input_shapes_after_warmup": sum(first >= warmup for first in seen.values()),
    }


def shapes_only(args) -> None:
    """`--shapes-only`: the input-shape counts of each dataset's ACF batches, no training."""
    from tfrec.sampling.acf_batches import ACFSampler

    for dataset in args.datasets:
        data, components = load_data(dataset, args.features_dir)
        sampler = ACFSampler(
            data.train,
            batch_size=256,
            components=components,
            sizes_per_octave=args.sizes_per_octave,
            seed=0,
        )
        shapes = input_shapes(sampler, args.steps, args.warmup)
        print(f"{dataset:<13} " + "  ".join(f"{k} {v:g}" for k, v in shapes.items()), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(SOURCES), choices=list(SOURCES))
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax"])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20, help="steps left out of the rate")
    parser.add_argument("--features-dir", default="runs/features")
    parser.add_argument(
        "--sizes-per-octave",
        type=int,
        default=0,
        help="pad batch shapes up a geometric ladder (ACFSampler; 0: plain multiples)",
    )
    parser.add_argument("--output", help="JSON file for the results")
    parser.add_argument(
        "--shapes-only", action="store_true", help="count the batches' input shapes only"
    )
    parser.add_argument("--dataset", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not 1 <= args.warmup < args.steps:
        parser.error(f"--warmup {args.warmup} must be in [1, --steps {args.steps})")
    if args.shapes_only:
        shapes_only(args)
        return
    if args.dataset:
        print("RESULT " + json.dumps(child(args)), flush=True)
        return
    runs = []
    for dataset in args.datasets:
        for model in args.models:
            for backend in args.backends:
                command = [sys.executable, os.path.abspath(__file__)]
                command += ["--dataset", dataset, "--model", model, "--steps", str(args.steps)]
                command += ["--warmup", str(args.warmup), "--features-dir", args.features_dir]
                command += ["--sizes-per-octave", str(args.sizes_per_octave)]
                environment = {**os.environ, "KERAS_BACKEND": backend}
                finished = subprocess.run(command, env=environment, capture_output=True, text=True)
                if finished.returncode:
                    sys.exit(f"{backend} {dataset} {model} failed:\n{finished.stderr[-3000:]}")
                runs.append(json.loads(finished.stdout.split("RESULT ", 1)[1]))
                run = runs[-1]
                print(
                    f"{dataset:<13} {model:<10} {backend:<11} {run['steps_per_s']:7.1f} steps/s "
                    f"{run['triples_per_s']:8.0f} triples/s  peak {run['peak_rss_gib']:.2f} GiB",
                    flush=True,
                )
    if args.output:
        from tfrec.utils.atomic import write_json

        write_json(
            Path(args.output),
            {
                "command": "python benchmarks/acf_throughput.py " + " ".join(sys.argv[1:]),
                "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
                "date": time.strftime("%Y-%m-%d"),
                "runs": runs,
            },
        )


if __name__ == "__main__":
    main()
