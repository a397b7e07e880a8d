"""A `tf.data` pipeline over a `NegativeSampler` (TensorFlow only; imported on demand)."""

from __future__ import annotations

import tensorflow as tf

from tfrec.sampling.dual_triplet_sampler import DualTripletSampler
from tfrec.sampling.negative_sampler import NegativeSampler

# Design, measured on MAML Office (B=5000, W=4) on 2 shared CPU cores, in samples/s:
#   load average ~3.7: numpy sampler alone 12.9M; this pipeline 6.1M (num_parallel_calls=None),
#     6.5M (2), 6.9M (AUTOTUNE); a pure-TF sampler 3.0M;
#   load average ~7.7 (`benchmarks/sampler_throughput.py --seconds 4 --compare-pure-tf`):
#     numpy 8.5M, this pipeline 4.0M, pure TF 1.3M.
# The pure-TF sampler (`stateless_shuffle` per pass + `stateless_uniform` negatives + bitmap
# `tf.gather` + `tf.while_loop` re-draws, AUTOTUNE map; kept in the benchmark) was slower and
# cannot reproduce the numpy stream. So the numpy sampler is mapped over a dataset of flat
# step indices k -> (epoch k // S, step k % S) with `tf.numpy_function` and
# `num_parallel_calls`, `deterministic=True`. Each batch is a pure function of
# (seed, epoch, step), so the parallel map yields exactly the numpy stream, and numpy
# releases the GIL in its heavy loops.


def make_tf_dataset(
    sampler: NegativeSampler | DualTripletSampler,
    *,
    num_epochs: int | None = None,
    initial_epoch: int = 0,
    num_parallel_calls: int | None = tf.data.AUTOTUNE,
    prefetch: int | None = tf.data.AUTOTUNE,
) -> tf.data.Dataset:
    """The batches of `sampler` as a `tf.data.Dataset` of named dicts for `model.fit`.

    Element k is `sampler.batch(initial_epoch + k // S, k % S)` with
    `S = sampler.steps_per_epoch`: the same seeded stream as iterating the sampler, every
    pass reshuffled. Elements are dicts `{"user": int32[B], "positive": int32[B],
    "negatives": int32[B, W]}` (a `DualTripletSampler` adds its user negatives and
    similar/dissimilar entities) with static shapes (batch dimension `None` only when the
    sampler keeps a smaller remainder batch). The names, dtypes and shapes are read off the
    sampler's first batch.

    Args:
        sampler: the `NegativeSampler` to draw from.
        num_epochs: number of passes; `None` repeats forever (give `steps_per_epoch` to
            `model.fit` then).
        initial_epoch: the first pass (e.g. when resuming training).
        num_parallel_calls: batches produced in parallel (order stays deterministic).
        prefetch: prefetch buffer size; `None` or 0 adds no prefetch.

    Example:

    ```python
    dataset = make_tf_dataset(sampler)
    model.fit(dataset, epochs=10, steps_per_epoch=sampler.steps_per_epoch)
    ```
    """
    if not isinstance(sampler, NegativeSampler | DualTripletSampler):
        raise ValueError(
            f"Received: `sampler` of type {type(sampler).__name__}. Expected a "
            "`tfrec.sampling.NegativeSampler` (or a `DualTripletSampler`)."
        )
    steps = sampler.steps_per_epoch
    indices = step_indices(steps, num_epochs, initial_epoch)

    batch_size = sampler.batch_size if sampler.drop_remainder else None
    probe = sampler.batch(0, 0)
    names = list(probe)
    types = [tf.as_dtype(probe[name].dtype) for name in names]
    shapes = [[batch_size, *probe[name].shape[1:]] for name in names]

    def load(flat_step):
        epoch_index, step = divmod(int(flat_step), steps)
        batch = sampler.batch(epoch_index, step)
        return [batch[name] for name in names]

    def to_batch(flat_step):
        values = tf.numpy_function(load, [flat_step], types, stateful=False)
        for value, shape in zip(values, shapes, strict=True):
            value.set_shape(shape)
        return dict(zip(names, values, strict=True))

    if num_parallel_calls:
        dataset = indices.map(to_batch, num_parallel_calls=num_parallel_calls, deterministic=True)
    else:
        dataset = indices.map(to_batch)
    if prefetch:
        dataset = dataset.prefetch(prefetch)
    return dataset


def step_indices(steps_per_epoch: int, num_epochs: int | None, initial_epoch: int):
    """int64 flat step numbers `epoch * steps_per_epoch + step` from `initial_epoch` on,
    for `num_epochs` passes (None: forever); a sampler's `batch(*divmod(i, steps))` maps
    each to its batch. Shared by the tf.data pipelines of the samplers."""
    if num_epochs is not None and (not _is_int(num_epochs) or num_epochs < 1):
        raise ValueError(f"Received: `num_epochs={num_epochs!r}`. Expected None or an int >= 1.")
    if not _is_int(initial_epoch) or initial_epoch < 0:
        raise ValueError(f"Received: `initial_epoch={initial_epoch!r}`. Expected an int >= 0.")
    first = initial_epoch * steps_per_epoch
    if num_epochs is None:
        return tf.data.Dataset.counter(start=first, dtype=tf.int64)
    return tf.data.Dataset.range(first, first + num_epochs * steps_per_epoch, dtype=tf.int64)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
