"""CML training throughput on MAML Office: tfrec (TensorFlow, JAX) vs a TF1 peer, side by side.

    python benchmarks/cml_throughput.py [--seconds 24] [--repeats 3] [--json PATH]
        [--train DIR/train.csv --test DIR/test.csv] [--authors-code DIR] [--only NAME ...]

Setting of the issue: batch B = 5000, W = 4 negatives, d = 64, MAML Office. One sample is
one (user, positive, 4 negatives) row, so samples/s = steps * B / seconds. Every
implementation runs in its own subprocess (the Keras backend must be chosen before Keras is
imported; `TF_CPP_MIN_LOG_LEVEL=2` keeps TensorFlow's log noise out of the results). All of
them are started and warmed up first (graph building, XLA compilation, input pipeline
start, 2 x `--warmup-steps` steps), one after the other; then the timed windows run in
rounds, one window of each implementation per round, `--repeats` rounds of
`--seconds / --repeats` seconds per implementation. Interleaving makes the ratios robust to
the load of a shared machine drifting during the run; the reported rate is the median
window (all windows are in the JSON).

- `tfrec-tensorflow`: `tfrec.training.build_model(get_preset("cml") + B, W, d overrides)`,
  recompiled with `model.compile(optimizer=make_optimizer(...), jit_compile=True)`, trained
  with `model.fit` on `tfrec.sampling.tf_dataset.make_tf_dataset(sampler)` (tf.data running
  the numpy sampler in parallel map calls).
- `tfrec-jax`: the same model and compile on the JAX backend, `model.fit` on
  `tfrec.sampling.SamplerDataset(sampler)` (a `keras.utils.PyDataset`).
- `tf1-peer`: the CollMetric training step (changun/CollMetric `CML.py`) re-expressed with
  `tf.compat.v1` in graph mode: placeholders for the `[B, 2]` pairs and `[B, W]` negatives,
  `tf.nn.embedding_lookup`, squared distances, the hinge on the closest negative weighted
  by `ln(1 + J * impostors / W)`, the batch sum, the signed off-diagonal covariance sum over
  `concat(items, users)`, `tf.compat.v1.train.AdagradOptimizer(0.1)`, then the two
  `clip_by_norm` assigns under a control dependency on the update, fetched together with
  the loss by `session.run(feed_dict=...)` as the authors' `optimize` loop does. Batches
  come from the same numpy `NegativeSampler` through a background thread and a queue (the
  authors used worker processes and a queue). This is a PEER written from spec/cml.md, NOT
  the authors' code; it measures the architecture (TF1 graph + feed_dict), not their file.
- `authors-cml` (only with `--authors-code DIR`, a local clone of changun/CollMetric at
  d9026cfce7c6e8dd2640b842ad524b61031b29ac): imports the authors' `CML` class from
  `DIR/CML.py` with `import tensorflow` resolved to `tf.compat.v1` (their helper modules
  `evaluator`, `sampler`, `utils`, `toolz` are stubbed when they cannot be imported: only
  the class is used), builds `CML(n_users, n_items, embed_dim=64, margin=1.6,
  master_learning_rate=0.1, clip_norm=1.0, use_rank_weight=True, use_cov_loss=True,
  cov_loss_weight=1.0)` and times `session.run((model.optimize, model.loss), feed_dict)`
  fed by the same sampler thread. Best effort: the repository cannot be downloaded on the
  project machine, so this path was only exercised against the version of `CML.py` stored
  in a public code index (commit 0a50858d), not against d9026cf itself.

The issue quotes the authors' code at about 185,000 samples/s on these machines; that figure
is printed as a second reference, labelled "quoted, not measured in this run".

Data: `--train/--test` (MAML-format CSV files), else the shared data folder
(`$TFREC_SHARED_DATA` or `<repo>/../shared/data`, `liufancs_MAML/Office/{train,test}.csv`),
else the `maml-office` registry dataset.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

QUOTED_AUTHORS = 185_000.0
IMPLEMENTATIONS = ("tfrec-tensorflow", "tfrec-jax", "tf1-peer", "authors-cml")
DESCRIPTIONS = {
    "tfrec-tensorflow": ("tfrec CML", "TensorFlow (XLA, tf.data)"),
    "tfrec-jax": ("tfrec CML", "JAX (XLA, PyDataset)"),
    "tf1-peer": ("TF1 peer of CollMetric step", "tf.compat.v1 graph, feed_dict"),
    "authors-cml": ("authors' CML.py (--authors-code)", "tf.compat.v1 graph, feed_dict"),
}
EMBEDDING_DIM = 64
MARGIN = 1.6
LEARNING_RATE = 0.1
REPO_ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- data
def load_office(args):
    """MAML Office `Interactions`: --train/--test, the shared folder, or the registry."""
    from tfrec.data.loaders.maml_csv import load_maml_csv

    if args.train or args.test:
        if not (args.train and args.test):
            raise SystemExit("--train and --test go together")
        return load_maml_csv(args.train, args.test, name="maml-office")
    shared = Path(os.environ.get("TFREC_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
    folder = shared / "liufancs_MAML" / "Office"
    if (folder / "train.csv").is_file() and (folder / "test.csv").is_file():
        return load_maml_csv(folder / "train.csv", folder / "test.csv", name="maml-office")
    from tfrec.data import load_dataset

    return load_dataset("maml-office")


# ----------------------------------------------------------------------------- timing
def warm_up(train, warmup_steps: int) -> float:
    """Runs `train(warmup_steps)` twice (compilation, pipeline start); returns s/step of the
    second run, used to size the timed windows."""
    train(warmup_steps)
    started = time.perf_counter()
    train(warmup_steps)
    return (time.perf_counter() - started) / warmup_steps


# ----------------------------------------------------------------------------- tfrec
def prepare_tfrec(args):
    """`train(steps)` for tfrec's CML on the current Keras backend."""
    import keras

    from tfrec.training import build_model
    from tfrec.training import get_preset
    from tfrec.training import make_optimizer
    from tfrec.training import make_sampler

    data = load_office(args)
    preset = get_preset("cml").replace(
        batch_size=args.batch_size,
        num_negatives=args.num_negatives,
        embedding_dim=EMBEDDING_DIM,
    )
    model = build_model(preset, data.num_users, data.num_items, seed=0)
    # Explicitly XLA, whatever build_model's default is.
    model.compile(
        optimizer=make_optimizer(preset.optimizer, preset.learning_rate), jit_compile=True
    )
    sampler = make_sampler(data, preset, seed=0)
    if keras.backend.backend() == "tensorflow":
        from tfrec.sampling.tf_dataset import make_tf_dataset

        dataset = make_tf_dataset(sampler)

        def train(steps):
            model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)

    else:
        from tfrec.sampling import SamplerDataset

        def train(steps):
            model.fit(
                SamplerDataset(sampler, steps_per_epoch=steps), epochs=1, verbose=0, shuffle=False
            )

    return train


# ----------------------------------------------------------------------------- TF1
def start_batch_thread(data, args):
    """A daemon thread that fills a queue with `(pairs [B, 2], negatives [B, W])` batches."""
    import queue
    import threading

    import numpy as np

    from tfrec.sampling import NegativeSampler

    sampler = NegativeSampler(
        data.train, num_negatives=args.num_negatives, batch_size=args.batch_size, seed=0
    )
    batches: queue.Queue = queue.Queue(maxsize=20)

    def produce():
        for batch in sampler:
            pairs = np.stack([batch["user"], batch["positive"]], axis=1)
            batches.put((pairs, batch["negatives"]))

    threading.Thread(target=produce, daemon=True).start()
    return batches


def build_tf1_peer(tf1, num_users, num_items, width):
    """The CollMetric training step in graph mode; returns (pairs, negatives, fetches)."""
    tf = tf1  # the authors' code calls everything as tf.*; v1 semantics throughout
    dim = EMBEDDING_DIM
    pairs = tf.placeholder(tf.int32, [None, 2])
    negatives = tf.placeholder(tf.int32, [None, width])
    user_table = tf.Variable(tf.random_normal([num_users, dim], stddev=1 / dim**0.5))
    item_table = tf.Variable(tf.random_normal([num_items, dim], stddev=1 / dim**0.5))
    # embedding_loss
    users = tf.nn.embedding_lookup(user_table, pairs[:, 0])
    positives = tf.nn.embedding_lookup(item_table, pairs[:, 1])
    positive_distance = tf.reduce_sum(tf.squared_difference(users, positives), 1)
    negative_items = tf.transpose(tf.nn.embedding_lookup(item_table, negatives), (0, 2, 1))
    negative_distance = tf.reduce_sum(
        tf.squared_difference(tf.expand_dims(users, -1), negative_items), 1
    )
    closest = tf.reduce_min(negative_distance, 1)
    per_pair = tf.maximum(positive_distance - closest + MARGIN, 0)
    impostors = (tf.expand_dims(positive_distance, -1) - negative_distance + MARGIN) > 0
    rank = tf.reduce_mean(tf.cast(impostors, dtype=tf.float32), 1) * num_items
    per_pair *= tf.log(rank + 1)
    loss = tf.reduce_sum(per_pair)
    # covariance_loss, cov_loss_weight = 1 (MAML's CML baseline)
    rows = tf.concat((item_table, user_table), 0)
    n_rows = tf.cast(tf.shape(rows)[0], tf.float32)
    rows = rows - tf.reduce_mean(rows, axis=0)
    covariance = tf.matmul(rows, rows, transpose_a=True) / n_rows
    loss += tf.reduce_sum(tf.matrix_set_diag(covariance, tf.zeros(dim, tf.float32)))
    # optimize: Adagrad, then clip every row under a control dependency
    update = tf.train.AdagradOptimizer(LEARNING_RATE).minimize(
        loss, var_list=[user_table, item_table]
    )
    with tf.control_dependencies([update]):
        clip = [
            tf.assign(user_table, tf.clip_by_norm(user_table, 1.0, axes=[1])),
            tf.assign(item_table, tf.clip_by_norm(item_table, 1.0, axes=[1])),
        ]
    return pairs, negatives, ([update, clip], loss)


def import_authors_cml(directory: str, tf1):
    """The `CML` class of the authors' `CML.py`, with `import tensorflow` -> `tf.compat.v1`."""
    import importlib.util
    import types

    path = Path(directory) / "CML.py"
    if not path.is_file():
        raise SystemExit(f"--authors-code: {path} does not exist (expected a CollMetric clone)")
    sys.path.insert(0, str(path.parent))
    # Only the class is used; its module imports helpers for the demo at the bottom.
    for name, attributes in (
        ("toolz", {}),
        ("evaluator", {"RecallEvaluator": object}),
        ("sampler", {"WarpSampler": object}),
        ("utils", {"citeulike": None, "split_data": None}),
    ):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - any failure: stub it (py2 code, missing deps)
            sys.modules[name] = types.SimpleNamespace(**attributes)
    saved = sys.modules.get("tensorflow")
    sys.modules["tensorflow"] = tf1
    try:
        spec = importlib.util.spec_from_file_location("authors_cml", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.modules["tensorflow"] = saved
    return module.CML


def prepare_tf1(args):
    """`train(steps)` for the TF1 peer (or the authors' class)."""
    import tensorflow as tf

    tf1 = tf.compat.v1
    tf1.disable_eager_execution()
    data = load_office(args)
    if args.child == "authors-cml":
        cml_class = import_authors_cml(args.authors_code, tf1)
        model = cml_class(
            data.num_users,
            data.num_items,
            embed_dim=EMBEDDING_DIM,
            features=None,
            margin=MARGIN,
            master_learning_rate=LEARNING_RATE,
            clip_norm=1.0,
            use_rank_weight=True,
            use_cov_loss=True,
            cov_loss_weight=1.0,
        )
        pairs, negatives = model.user_positive_items_pairs, model.negative_samples
        fetches = (model.optimize, model.loss)
    else:
        pairs, negatives, fetches = build_tf1_peer(
            tf1, data.num_users, data.num_items, args.num_negatives
        )
    batches = start_batch_thread(data, args)
    session = tf1.Session()
    session.run(tf1.global_variables_initializer())

    def train(steps):
        for _ in range(steps):
            pair_batch, negative_batch = batches.get()
            session.run(fetches, feed_dict={pairs: pair_batch, negatives: negative_batch})

    return train


# ----------------------------------------------------------------------------- driver
def child(args) -> None:
    """Warms up, says READY, then runs `RUN <steps>` windows from stdin until `EXIT`."""
    train = prepare_tfrec(args) if args.child.startswith("tfrec") else prepare_tf1(args)
    per_step = warm_up(train, args.warmup_steps)
    print(f"READY {per_step}", flush=True)
    for line in sys.stdin:
        command = line.split()
        if not command or command[0] != "RUN":
            break
        started = time.perf_counter()
        train(int(command[1]))
        print(f"WINDOW {time.perf_counter() - started}", flush=True)


def machine_info() -> dict:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {"python": platform.python_version()}
    for package in ("tensorflow", "keras", "jax", "jaxlib", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "absent"
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "machine": platform.machine(),
        "versions": versions,
    }


class Child:
    """One implementation in its own process, driven window by window over stdin/stdout.

    Subclasses for other scripts set `script` (the file the child runs) and `forwarded`
    (the optional path arguments passed on to it).
    """

    script = __file__
    forwarded = ("train", "test", "authors_code")

    def __init__(self, name: str, args):
        self.name = name
        backend = "jax" if name == "tfrec-jax" else "tensorflow"
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
        self.command = [sys.executable, os.path.abspath(self.script), "--child", name]
        for key in self.forwarded:
            if getattr(args, key):
                self.command += [f"--{key.replace('_', '-')}", str(getattr(args, key))]
        for key in ("batch_size", "num_negatives", "warmup_steps"):
            self.command += [f"--{key.replace('_', '-')}", str(getattr(args, key))]
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(
            self.command,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            bufsize=1,
        )
        self.seconds_per_step = float(self._expect("READY"))

    def _expect(self, tag: str) -> str:
        for line in self.process.stdout:
            if line.startswith(tag + " "):
                return line[len(tag) + 1 :].strip()
        self.fail()

    def run(self, steps: int) -> float:
        try:
            self.process.stdin.write(f"RUN {steps}\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            self.fail()
        return float(self._expect("WINDOW"))

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.write("EXIT\n")
                self.process.stdin.close()
            except BrokenPipeError:
                pass
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.stderr.close()

    def fail(self):
        self.process.kill()
        self.process.wait()
        self.stderr.seek(0)
        tail = self.stderr.read()[-4000:]
        sys.exit(
            f"{self.name} failed (exit code {self.process.returncode}); "
            f"command: {shlex.join(self.command)}\n--- stderr tail ---\n{tail}"
        )


def measure(names: list[str], args) -> dict:
    """Starts (and warms up) every implementation, then times their windows in rounds.

    Round r runs window r of every implementation, one after the other, so a change in
    the machine's load during the run hits all of them alike.
    """
    children = {}
    try:
        for name in names:
            print(f"starting {name} (warm-up) ...", flush=True)
            children[name] = Child(name, args)
        steps = {
            name: max(10, int(args.seconds / args.repeats / child.seconds_per_step))
            for name, child in children.items()
        }
        windows = {name: [] for name in names}
        for round_index in range(args.repeats):
            for name, child in children.items():
                windows[name].append(child.run(steps[name]))
            print(
                f"  round {round_index + 1}/{args.repeats}: "
                + ", ".join(
                    f"{name} {steps[name] * args.batch_size / windows[name][-1]:,.0f}"
                    for name in names
                )
                + " samples/s",
                flush=True,
            )
    finally:
        for child in children.values():
            child.close()
    results = {}
    for name in names:
        rates = [steps[name] * args.batch_size / seconds for seconds in windows[name]]
        rate = statistics.median(rates)
        results[name] = {
            "steps_per_window": steps[name],
            "window_seconds": windows[name],
            "samples_per_second_windows": rates,
            "samples_per_second": rate,
            "ms_per_step": 1000 * args.batch_size / rate,
        }
    return results


def print_table(results: dict, args, machine: dict, load: tuple) -> None:
    peer = results.get("tf1-peer", {}).get("samples_per_second")
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
    print()
    print(f"command: {shlex.join(['python'] + sys.argv)}")
    print(
        f"machine: {machine['cpu_model']} ({machine['machine']}), nproc {machine['nproc']}; "
        f"load average {load[0][0]:.2f} before, {load[1][0]:.2f} after"
    )
    print(f"software: {versions}")
    print(
        f"CML training on MAML Office, B = {args.batch_size}, W = {args.num_negatives}, "
        f"d = {EMBEDDING_DIM}; median of {args.repeats} interleaved windows after warm-up"
    )
    header = (
        f"{'implementation':<34}{'backend':<31}{'samples/s':>11}{'ms/step':>9}"
        f"{'x TF1 peer':>12}{'x authors (quoted)':>20}"
    )
    print(header)
    print("-" * len(header))
    for name, result in results.items():
        label, backend = DESCRIPTIONS[name]
        rate = result["samples_per_second"]
        versus_peer = f"{rate / peer:.2f}" if peer else "-"
        print(
            f"{label:<34}{backend:<31}{rate:>11,.0f}{result['ms_per_step']:>9.2f}"
            f"{versus_peer:>12}{rate / QUOTED_AUTHORS:>20.2f}"
        )
    print(
        f"x authors (quoted): ratio to the {QUOTED_AUTHORS:,.0f} samples/s that the issue "
        "quotes for the authors' TF1 CML code (quoted, not measured in this run)."
    )
    if "tf1-peer" in results:
        print(
            "TF1 peer: the CollMetric training step re-expressed from the spec with "
            "tf.compat.v1 (graph + feed_dict); a peer of the authors' code, not their code."
        )


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--train", help="MAML-format train.csv (default: MAML Office)")
    parser.add_argument("--test", help="MAML-format test.csv (with --train)")
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--num-negatives", type=int, default=4)
    parser.add_argument(
        "--seconds", type=float, default=24.0, help="timed seconds per implementation"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed windows per implementation (median shown)"
    )
    parser.add_argument("--warmup-steps", type=int, default=20)
    parser.add_argument(
        "--authors-code",
        help="local clone of changun/CollMetric (d9026cf): also time its CML class",
    )
    parser.add_argument(
        "--only", nargs="+", choices=IMPLEMENTATIONS, help="run only these implementations"
    )
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument("--child", choices=IMPLEMENTATIONS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.repeats < 1 or args.seconds <= 0 or args.warmup_steps < 1:
        parser.error("--repeats and --warmup-steps must be >= 1 and --seconds > 0")
    if args.child:
        return child(args)

    names = args.only or [name for name in IMPLEMENTATIONS if name != "authors-cml"]
    if args.authors_code and "authors-cml" not in names:
        names.append("authors-cml")
    if "authors-cml" in names and not args.authors_code:
        parser.error("authors-cml needs --authors-code DIR")
    machine = machine_info()
    load_before = os.getloadavg()
    results = measure(names, args)
    load = (load_before, os.getloadavg())
    print_table(results, args, machine, load)
    if args.json:
        peer = results.get("tf1-peer", {}).get("samples_per_second")
        for result in results.values():
            rate = result["samples_per_second"]
            result["ratio_vs_tf1_peer"] = rate / peer if peer else None
            result["ratio_vs_quoted_authors"] = rate / QUOTED_AUTHORS
        payload = {
            "command": shlex.join(["python"] + sys.argv),
            "machine": machine,
            "load_average_before": load_before,
            "load_average_after": load[1],
            "quoted_authors_samples_per_second": QUOTED_AUTHORS,
            "quoted_authors_note": "quoted from the issue, not measured in this run",
            "setting": {
                "batch_size": args.batch_size,
                "num_negatives": args.num_negatives,
                "embedding_dim": EMBEDDING_DIM,
                "repeats": args.repeats,
                "seconds_per_implementation": args.seconds,
            },
            "results": results,
        }
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        with open(args.json, "w") as handle:
            json.dump(payload, handle, indent=2)


if __name__ == "__main__":
    main()
