"""A `tf.data` pipeline over an `ACFSampler` (TensorFlow only; imported on demand).

As `make_tf_dataset` does for the CML family: the numpy sampler is mapped over flat step
numbers with `tf.numpy_function` and a deterministic parallel map, so the pipeline yields
exactly the sampler's seeded stream. Batch, history and distinct-item dimensions are
declared `None` (one trace serves every batch); the component slots and feature size are
fixed by the store.
"""

from __future__ import annotations

import tensorflow as tf

from tfrec.sampling.acf_batches import ACFSampler
from tfrec.sampling.tf_dataset import step_indices


def make_acf_tf_dataset(
    sampler: ACFSampler,
    *,
    num_epochs: int | None = None,
    initial_epoch: int = 0,
    num_parallel_calls: int | None = tf.data.AUTOTUNE,
    prefetch: int | None = 2,
) -> tf.data.Dataset:
    """The batches of `sampler` as named dicts for `model.fit` (see `ACFSampler.batch`).

    Args:
        sampler: the `ACFSampler`.
        num_epochs: number of passes (None: forever; give `steps_per_epoch` to `fit`).
        initial_epoch: the first pass.
        num_parallel_calls: batches produced in parallel (order stays deterministic).
        prefetch: batches prefetched (a batch with components can be large: small default).
    """
    if not isinstance(sampler, ACFSampler):
        raise ValueError(
            f"Received: `sampler` of type {type(sampler).__name__}. Expected a "
            "`tfrec.sampling.acf_batches.ACFSampler`."
        )
    steps = sampler.steps_per_epoch
    components = sampler.components
    names = ["user", "positive", "negatives", "history", "history_mask", "pair_positions"]
    types = [tf.int32, tf.int32, tf.int32, tf.int32, tf.bool, tf.int32]
    shapes = [[None], [None], [None, sampler.num_negatives], [None, None], [None, None], [None]]
    if components is not None:
        names += ["components", "component_mask", "component_slots", "component_entries"]
        types += [tf.as_dtype(components.dtype), tf.bool, tf.int32, tf.int32]
        shapes += [
            [None, components.max_components, components.dim],
            [None, components.max_components],
            [None],
            [None],
        ]

    def load(flat_step):
        batch = sampler.batch(*divmod(int(flat_step), steps))
        return [batch[name] for name in names]

    def to_batch(flat_step):
        values = tf.numpy_function(load, [flat_step], types, stateful=False)
        for value, shape in zip(values, shapes, strict=True):
            value.set_shape(shape)
        return dict(zip(names, values, strict=True))

    indices = step_indices(steps, num_epochs, initial_epoch)
    if num_parallel_calls:
        dataset = indices.map(to_batch, num_parallel_calls=num_parallel_calls, deterministic=True)
    else:
        dataset = indices.map(to_batch)
    return dataset.prefetch(prefetch) if prefetch else dataset
