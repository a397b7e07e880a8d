"""Samples/s of the negative sampler alone, and through the tf.data pipeline.

    python benchmarks/sampler_throughput.py [--seconds 10] [--batch-size 5000] [--num-negatives 4]
        [--compare-pure-tf]

One sample = one (user, positive, W negatives) row. Measured on MAML Office (37,027
training pairs) and on a synthetic matrix of 100,000 users x 50,000 items with 5M pairs
(scaling). Target: at least 2,000,000 samples/s on MAML Office on 2 cores, so that the
sampler is never the bottleneck of a training step (CML trains at ~0.5M samples/s).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import scipy.sparse as sp
from _office import add_office_arguments
from _office import load_office

from tfrec.sampling import NegativeSampler


def numpy_rate(sampler, seconds):
    count, started, epoch = 0, time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        for batch in sampler.epoch(epoch):
            count += len(batch["user"])
        epoch += 1
    return count / (time.perf_counter() - started)


def tf_data_rate(sampler, seconds):
    from tfrec.sampling.tf_dataset import make_tf_dataset

    iterator = iter(make_tf_dataset(sampler))
    for _ in range(5):  # warm-up: graph tracing, thread pool
        next(iterator)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        batch = next(iterator)
        count += int(batch["user"].shape[0])
    return count / (time.perf_counter() - started)


def pure_tf_rate(sampler, seconds):
    """The rejected alternative to `make_tf_dataset`: the same sampler written in pure TF.

    Stateless shuffle per pass, `stateless_uniform` negatives, bitmap lookups with
    `tf.gather` and re-draws in a `tf.while_loop`. It cannot reproduce the numpy stream, and
    it was slower (see tfrec/sampling/tf_dataset.py), so it exists only here, for comparison.
    """
    import tensorflow as tf

    num_pairs, batch_size = sampler.num_pairs, sampler.batch_size
    steps, width, stride = sampler.steps_per_epoch, sampler.num_negatives, sampler._stride
    users = tf.constant(sampler._users)
    items = tf.constant(sampler._items)
    bitmap = tf.constant(sampler._bitmap.astype(np.int32))

    def contains(keys):
        byte = tf.gather(bitmap, keys // 8)
        return tf.bitwise.bitwise_and(tf.bitwise.right_shift(byte, keys % 8), 1) > 0

    def one_pass(epoch):
        seed = tf.stack([epoch, tf.constant(0, tf.int64)])
        order = tf.random.experimental.stateless_shuffle(tf.range(num_pairs), seed=seed)
        rows = tf.reshape(order[: steps * batch_size], [steps, batch_size])
        return tf.data.Dataset.from_tensor_slices(rows).enumerate().map(lambda k, r: (epoch, k, r))

    def make_batch(epoch, step, rows):
        batch_users = tf.gather(users, rows)
        seed = tf.stack([epoch * 100_003 + step, tf.constant(1, tf.int64)])
        shape = [batch_size, width]
        draw = lambda s: tf.random.stateless_uniform(  # noqa: E731
            shape, seed=s, minval=0, maxval=sampler.num_items, dtype=tf.int32
        )
        row_keys = batch_users[:, None] * stride

        def redraw(negatives, round_index):
            fresh = draw(tf.stack([seed[0], round_index + 2]))
            return tf.where(contains(row_keys + negatives), fresh, negatives), round_index + 1

        negatives, _ = tf.while_loop(
            lambda negatives, _: tf.reduce_any(contains(row_keys + negatives)),
            redraw,
            [draw(seed), tf.constant(0, tf.int64)],
        )
        return {"user": batch_users, "positive": tf.gather(items, rows), "negatives": negatives}

    dataset = (
        tf.data.Dataset.counter()
        .flat_map(one_pass)
        .map(make_batch, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    iterator = iter(dataset)
    for _ in range(5):
        next(iterator)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        count += int(next(iterator)["user"].shape[0])
    return count / (time.perf_counter() - started)


def synthetic_train(num_users=100_000, num_items=50_000, num_pairs=5_000_000, seed=0):
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, num_users, num_pairs)
    cols = (rng.zipf(1.3, num_pairs) - 1) % num_items  # popularity skew
    matrix = sp.csr_matrix(
        (np.ones(num_pairs, np.float32), (rows, cols)), shape=(num_users, num_items)
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_office_arguments(parser)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--num-negatives", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--compare-pure-tf",
        action="store_true",
        help="also time a pure-TF sampler (the rejected tf.data design; exact-bitmap data only)",
    )
    args = parser.parse_args()

    office = load_office(args).train
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores; B = {args.batch_size}, W = {args.num_negatives}"
    )
    for name, train in (
        ("MAML Office", office),
        ("synthetic 100k x 50k, 5M pairs", synthetic_train()),
    ):
        sampler = NegativeSampler(
            train, num_negatives=args.num_negatives, batch_size=args.batch_size, seed=0
        )
        rates = {
            "numpy": numpy_rate(sampler, args.seconds),
            "tf.data": tf_data_rate(sampler, args.seconds),
        }
        if args.compare_pure_tf and sampler.membership == "bitmap":
            rates["pure-TF tf.data"] = pure_tf_rate(sampler, args.seconds)
        shown = "   ".join(f"{pipeline} {rate:,.0f} samples/s" for pipeline, rate in rates.items())
        print(f"{name:<32} ({sampler.membership} membership)  {shown}", flush=True)


if __name__ == "__main__":
    main()
