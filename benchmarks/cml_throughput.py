"""CML training throughput on MAML Office: tfrec (TensorFlow, JAX) vs a TF1 peer, side by side.

    python benchmarks/cml_throughput.py [--seconds 30] [--json PATH]

Setting of the issue: batch 5000, 4 negatives, d = 64, Office. One sample = one
(user, positive, 4 negatives) row. Three implementations run one after the other in
separate processes (the Keras backend is chosen before Keras is imported), each warmed up
(compiled) first, then timed for `--seconds`:

- tfrec CML, TensorFlow backend: `model.fit` on the tf.data sampler pipeline, XLA.
- tfrec CML, JAX backend: `model.fit` on the numpy sampler (`SamplerDataset`), XLA.
- TF1 peer: the CollMetric training step re-expressed with `tf.compat.v1` in graph mode
  (placeholders, `embedding_lookup`, closest-negative hinge x WARP weight, signed
  covariance over concat(items, users), `AdagradOptimizer`, `clip_by_norm` after the
  update, `session.run(feed_dict=...)` fed by a sampler thread as the authors' worker
  processes did). It is a peer written from spec/cml.md, not the authors' file, which
  cannot be fetched here; the issue quotes the authors' code at about 185,000 samples/s
  on these machines, printed as a second reference.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

from _office import add_office_arguments
from _office import load_office

QUOTED_AUTHORS = 185_000.0
IMPLEMENTATIONS = ("tfrec-tensorflow", "tfrec-jax", "tf1-peer")


def run_tfrec(args) -> dict:
    import keras

    from tfrec.training import build_model
    from tfrec.training import get_preset
    from tfrec.training.trainer import make_sampler

    data = load_office(args)
    preset = get_preset("cml").replace(
        batch_size=args.batch_size, num_negatives=args.num_negatives, embedding_dim=64
    )
    model = build_model(preset, data.num_users, data.num_items, seed=0)
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

    train(20)  # compile
    started = time.perf_counter()
    train(50)
    per_step = (time.perf_counter() - started) / 50
    steps = max(50, int(args.seconds / per_step))
    started = time.perf_counter()
    train(steps)
    seconds = time.perf_counter() - started
    return {"steps": steps, "seconds": seconds}


def run_tf1_peer(args) -> dict:
    import queue
    import threading

    import tensorflow as tf

    from tfrec.sampling import NegativeSampler

    tf1 = tf.compat.v1
    tf1.disable_eager_execution()
    data = load_office(args)
    num_users, num_items = data.num_users, data.num_items
    dim, margin, width = 64, 1.6, args.num_negatives
    pairs = tf1.placeholder(tf.int32, [None, 2])
    negatives = tf1.placeholder(tf.int32, [None, width])
    user_table = tf.Variable(tf1.random_normal([num_users, dim], stddev=dim**-0.5))
    item_table = tf.Variable(tf1.random_normal([num_items, dim], stddev=dim**-0.5))
    users = tf.nn.embedding_lookup(user_table, pairs[:, 0])
    positives = tf.nn.embedding_lookup(item_table, pairs[:, 1])
    positive_distance = tf.reduce_sum(tf.math.squared_difference(users, positives), 1)
    negative_items = tf.transpose(tf.nn.embedding_lookup(item_table, negatives), (0, 2, 1))
    negative_distance = tf.reduce_sum(
        tf.math.squared_difference(tf.expand_dims(users, -1), negative_items), 1
    )
    per_pair = tf.maximum(positive_distance - tf.reduce_min(negative_distance, 1) + margin, 0)
    impostors = (tf.expand_dims(positive_distance, -1) - negative_distance + margin) > 0
    rank = tf.reduce_mean(tf.cast(impostors, tf.float32), 1) * num_items
    loss = tf.reduce_sum(per_pair * tf.math.log(rank + 1))
    rows = tf.concat((item_table, user_table), 0)
    rows = rows - tf.reduce_mean(rows, axis=0)
    covariance = tf.matmul(rows, rows, transpose_a=True) / tf.cast(tf.shape(rows)[0], tf.float32)
    loss += tf.reduce_sum(tf1.matrix_set_diag(covariance, tf.zeros(dim)))
    update = tf1.train.AdagradOptimizer(0.1).minimize(loss, var_list=[user_table, item_table])
    with tf.control_dependencies([update]):
        clip = [
            tf1.assign(table, tf.clip_by_norm(table, 1.0, axes=[1]))
            for table in (user_table, item_table)
        ]

    sampler = NegativeSampler(data.train, num_negatives=width, batch_size=args.batch_size, seed=0)
    batches: queue.Queue = queue.Queue(maxsize=20)

    def produce():
        for batch in sampler:
            batches.put(batch)

    threading.Thread(target=produce, daemon=True).start()
    session = tf1.Session()
    session.run(tf1.global_variables_initializer())

    def train(steps):
        for _ in range(steps):
            batch = batches.get()
            feed = {
                pairs: __import__("numpy").stack([batch["user"], batch["positive"]], 1),
                negatives: batch["negatives"],
            }
            session.run(clip, feed_dict=feed)

    train(20)
    started = time.perf_counter()
    train(30)
    per_step = (time.perf_counter() - started) / 30
    steps = max(30, int(args.seconds / per_step))
    started = time.perf_counter()
    train(steps)
    return {"steps": steps, "seconds": time.perf_counter() - started}


def child(args) -> None:
    result = run_tf1_peer(args) if args.child == "tf1-peer" else run_tfrec(args)
    result["samples_per_second"] = result["steps"] * args.batch_size / result["seconds"]
    result["ms_per_step"] = 1000 * result["seconds"] / result["steps"]
    print("RESULT " + json.dumps(result), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_office_arguments(parser)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--num-negatives", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--only", nargs="+", choices=IMPLEMENTATIONS, default=list(IMPLEMENTATIONS))
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument("--child", choices=IMPLEMENTATIONS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)

    results = {}
    for name in args.only:
        backend = "jax" if name == "tfrec-jax" else "tensorflow"
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
        command = [sys.executable, __file__, "--child", name] + [
            f"--{key.replace('_', '-')}={value}"
            for key, value in vars(args).items()
            if key in ("train", "test", "batch_size", "num_negatives", "seconds")
            and value is not None
        ]
        completed = subprocess.run(command, env=env, capture_output=True, text=True)
        lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
        if completed.returncode or not lines:
            sys.exit(f"{name} failed:\n{completed.stderr[-3000:]}")
        results[name] = json.loads(lines[-1][len("RESULT ") :])
        print(f"  {name}: {results[name]['samples_per_second']:,.0f} samples/s", flush=True)

    peer = results.get("tf1-peer", {}).get("samples_per_second")
    print(
        f"\nCML training on MAML Office, B = {args.batch_size}, W = {args.num_negatives}, d = 64; "
        f"{platform.machine()}, {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'implementation':<20}{'samples/s':>12}{'ms/step':>10}{'x TF1 peer':>12}{'x quoted authors':>18}"
    )
    for name, result in results.items():
        rate = result["samples_per_second"]
        versus_peer = f"{rate / peer:.2f}" if peer else "-"
        print(
            f"{name:<20}{rate:>12,.0f}{result['ms_per_step']:>10.2f}{versus_peer:>12}"
            f"{rate / QUOTED_AUTHORS:>18.2f}"
        )
    print(
        f"(authors' CollMetric code: {QUOTED_AUTHORS:,.0f} samples/s, quoted in the issue, not run here)"
    )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"command": " ".join(sys.argv), "results": results}, handle, indent=2)


if __name__ == "__main__":
    main()
