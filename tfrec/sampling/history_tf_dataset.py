"""A `tf.data` pipeline over a `HistorySampler` (TensorFlow only; imported on demand).

Why not `HistoryDataset` on TensorFlow: Keras' `PyDataset` adapter infers the
`tf.data` signature from the first two batches, so when those two happen to share a
history width every later, wider batch fails ("`generator` yielded an element of shape
(128, 16) where an element of shape (None, 8) was expected"). Here the signature is given:
batch and history dimensions are `None`. As `make_tf_dataset`, the numpy sampler is mapped
over flat step indices with `tf.numpy_function` (deterministic parallel map), so the
stream equals iterating the sampler.
"""

from __future__ import annotations

import tensorflow as tf

from tfrec.sampling.history_batches import HistorySampler
from tfrec.sampling.tf_dataset import step_indices


def make_history_tf_dataset(
    sampler: HistorySampler,
    *,
    num_epochs: int | None = None,
    initial_epoch: int = 0,
    num_parallel_calls: int | None = tf.data.AUTOTUNE,
) -> tf.data.Dataset:
    """The batches of `sampler` as `(inputs, labels)` elements for `model.fit`.

    Element k is `sampler.batch(initial_epoch + k // S, k % S)` with
    `S = sampler.steps_per_epoch`. Inputs are `{"user": int32[B], "history": int32[B, L],
    "history_mask": bool[B, L], "item": int32[B]}`, labels float32 `[B]`; B and L are
    `None` in the signature (they vary from batch to batch).

    Args:
        sampler: the `HistorySampler` to draw from.
        num_epochs: number of passes; None repeats forever (give `steps_per_epoch` to
            `model.fit` then).
        initial_epoch: the first pass.
        num_parallel_calls: batches produced in parallel (order stays deterministic).

    Example:

    ```python
    dataset = make_history_tf_dataset(sampler)
    model.fit(dataset, epochs=10, steps_per_epoch=sampler.steps_per_epoch)
    ```
    """
    if not isinstance(sampler, HistorySampler):
        raise ValueError(
            f"Received: `sampler` of type {type(sampler).__name__}. Expected a "
            "`tfrec.sampling.history_batches.HistorySampler`."
        )
    steps = sampler.steps_per_epoch
    indices = step_indices(steps, num_epochs, initial_epoch)

    def load(flat_step):
        epoch_index, step = divmod(int(flat_step), steps)
        inputs, labels = sampler.batch(epoch_index, step)
        return (
            inputs["user"].astype("int32"),
            inputs["history"].astype("int32"),
            inputs["history_mask"].astype(bool),
            inputs["item"].astype("int32"),
            labels.astype("float32"),
        )

    def to_batch(flat_step):
        users, history, mask, items, labels = tf.numpy_function(
            load, [flat_step], [tf.int32, tf.int32, tf.bool, tf.int32, tf.float32], stateful=False
        )
        users.set_shape([None])
        history.set_shape([None, None])
        mask.set_shape([None, None])
        items.set_shape([None])
        labels.set_shape([None])
        inputs = {"user": users, "history": history, "history_mask": mask, "item": items}
        return inputs, labels

    if num_parallel_calls:
        dataset = indices.map(to_batch, num_parallel_calls=num_parallel_calls, deterministic=True)
    else:
        dataset = indices.map(to_batch)
    return dataset.prefetch(tf.data.AUTOTUNE)
