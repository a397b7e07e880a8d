"""ACF on a Pinterest-sized component catalogue: peak memory and training throughput.

    python benchmarks/acf_memory.py --output benchmarks/results/acf_memory.json

A synthetic catalogue of `--items` 15,000 items x `--components` 49 regions x `--dim`
2,048 (the ACF paper's ResNet-152 res5c map), float16 in an HDF5 component store on disk
(3.0 GB; written once, streamed, into `--store`), and a synthetic interaction matrix
(`--users` users with `--history` items each, items drawn with Zipf-like popularity, so
histories overlap as real ones do). Full ACF (item and component attention, D = 128,
h = 64, batches of 256 triples) trains `--steps` steps in each configuration, each in a
fresh process (so peak memory is that configuration's alone), one after the other:

- `loaded`: `ComponentStore.load()` reads the whole float16 array into memory once (3 GB),
  each step gathers its batch's distinct items from it;
- `lazy`: each step reads its batch's distinct items from the HDF5 file (nothing but one
  batch of components is ever in memory).

Reported: peak resident memory of the process (`ru_maxrss`), seconds to load the store,
steady-state steps/s and triples/s (the first step, which traces/compiles, excluded), the
mean number of distinct history items per batch (the rows whose components a step reads).
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

import numpy as np


def write_store(path: Path, items: int, components: int, dim: int) -> None:
    from tfrec.features.component_store import ComponentStoreWriter

    rng = np.random.default_rng(0)
    started = time.perf_counter()
    with ComponentStoreWriter(
        path, items, components, dim, dtype="float16", provenance={"extractor": "synthetic"}
    ) as writer:
        for start in range(0, items, 250):
            count = min(250, items - start)
            values = rng.standard_normal((count, components, dim), dtype=np.float32)
            keys = [str(k) for k in range(start, start + count)]
            writer.write(keys, np.maximum(values, 0.0), np.full(count, components))
    print(
        f"wrote {path} ({path.stat().st_size / 2**30:.2f} GiB) in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )


def interactions(users: int, items: int, history: int):
    import scipy.sparse as sp

    rng = np.random.default_rng(1)
    weights = 1.0 / np.arange(1, items + 1) ** 0.8
    weights /= weights.sum()
    rows, columns = [], []
    for user in range(users):
        chosen = rng.choice(items, history, replace=False, p=weights)
        rows.extend([user] * history)
        columns.extend(chosen.tolist())
    return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, columns)), shape=(users, items))


def child(args) -> dict:
    import keras

    from tfrec.features.component_store import ComponentStore
    from tfrec.models.acf import ACF
    from tfrec.sampling.acf_batches import ACFSampler

    train = interactions(args.users, args.items, args.history)
    keys = [str(k) for k in range(args.items)]
    started = time.perf_counter()
    store = ComponentStore(args.store, keys)
    if args.mode == "loaded":
        store.load()
    load_seconds = time.perf_counter() - started
    sampler = ACFSampler(train, batch_size=args.batch_size, components=store, seed=0)
    keras.utils.set_random_seed(0)
    model = ACF(args.users, args.items, 128, component_dim=args.dim)
    model.compile(optimizer=keras.optimizers.SGD(0.05))
    seconds, distinct = [], []
    for step in range(args.steps):
        batch = sampler.batch(0, step)
        distinct.append(int((batch["component_mask"].any(axis=1)).sum()))
        begin = time.perf_counter()
        model.train_on_batch(batch)
        seconds.append(time.perf_counter() - begin)
    steady = float(np.mean(seconds[1:]))
    return {
        "backend": keras.backend.backend(),
        "mode": args.mode,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "store_load_s": load_seconds,
        "first_step_s": seconds[0],
        "steps_per_s": 1.0 / steady,
        "triples_per_s": args.batch_size / steady,
        "distinct_items_per_batch": float(np.mean(distinct)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=15000)
    parser.add_argument("--components", type=int, default=49)
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--history", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--store", default="runs/acf_memory_components.h5")
    parser.add_argument("--modes", nargs="+", default=["loaded", "lazy"])
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax"])
    parser.add_argument("--output", help="JSON file for the results")
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        print("RESULT " + json.dumps(child(args)), flush=True)
        return
    store = Path(args.store)
    if not store.exists():
        store.parent.mkdir(parents=True, exist_ok=True)
        write_store(store, args.items, args.components, args.dim)
    runs = []
    for backend in args.backends:
        for mode in args.modes:
            command = [sys.executable, os.path.abspath(__file__), "--mode", mode]
            for name in (
                "items",
                "components",
                "dim",
                "users",
                "history",
                "batch_size",
                "steps",
                "store",
            ):
                command += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
            environment = {**os.environ, "KERAS_BACKEND": backend}
            output = subprocess.run(
                command, env=environment, capture_output=True, text=True, check=True
            ).stdout
            runs.append(json.loads(output.split("RESULT ", 1)[1]))
            print(json.dumps(runs[-1]), flush=True)
    if args.output:
        record = {
            "command": "python benchmarks/acf_memory.py " + " ".join(sys.argv[1:]),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
            "date": time.strftime("%Y-%m-%d"),
            "catalogue": {
                "items": args.items,
                "components": args.components,
                "dim": args.dim,
                "store_gib": store.stat().st_size / 2**30,
            },
            "runs": runs,
        }
        Path(args.output).write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
