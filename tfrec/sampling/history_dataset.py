"""`keras.utils.PyDataset` over a `HistorySampler`: FISM/NAIS batches for `model.fit`."""

from __future__ import annotations

import keras

from tfrec.sampling.history_batches import HistorySampler


class HistoryDataset(keras.utils.PyDataset):
    """Feeds `HistorySampler` batches to `model.fit` on every backend.

    Step `i` of Keras epoch `e` is `sampler.batch(e, i)`: an `(inputs, labels)` pair with
    inputs `{"user", "history", "history_mask", "item"}` and `[B]` float labels. The end of
    an epoch moves on to the next pass (fresh negatives, new batch order). Every batch is a
    pure function of `(seed, epoch_index, step)`, so workers give the same batches as a
    serial run. Pass `shuffle=False` to `fit` for a step order that depends on the sampler's
    seed alone (the sampler shuffles its batch order anyway).

    Batches of a pass have different history widths (and, with `batching="user"`,
    different sizes): each new shape traces the train step again (`pad_multiple` bounds how
    many there are). On the TensorFlow backend use
    `tfrec.sampling.history_tf_dataset` instead (as `run_history_experiment` does): Keras
    infers a PyDataset's input signature from its first batches and then refuses wider
    histories.

    Args:
        sampler: the `HistorySampler` to draw from.
        initial_epoch: the pass that the first epoch of `fit` uses (e.g. when resuming).
        workers: passed to `keras.utils.PyDataset`.
        use_multiprocessing: passed to `keras.utils.PyDataset`.
        max_queue_size: passed to `keras.utils.PyDataset`.

    Example:

    ```python
    dataset = HistoryDataset(HistorySampler(data.train, num_negatives=4, batch_size=256))
    model.fit(dataset, epochs=10, shuffle=False)
    ```
    """

    def __init__(
        self,
        sampler: HistorySampler,
        *,
        initial_epoch: int = 0,
        workers: int = 1,
        use_multiprocessing: bool = False,
        max_queue_size: int = 10,
    ):
        super().__init__(
            workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size
        )
        if not isinstance(sampler, HistorySampler):
            raise ValueError(
                f"Received: `sampler` of type {type(sampler).__name__}. Expected a "
                "`tfrec.sampling.history_batches.HistorySampler`."
            )
        if (
            isinstance(initial_epoch, bool)
            or not isinstance(initial_epoch, int)
            or initial_epoch < 0
        ):
            raise ValueError(
                f"Received: `initial_epoch={initial_epoch!r}`. Expected an integer >= 0."
            )
        self.sampler = sampler
        self.initial_epoch = initial_epoch
        self.epoch_index = initial_epoch
        self._in_epoch = False

    def __len__(self) -> int:
        return self.sampler.steps_per_epoch

    def __getitem__(self, index: int):
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"Step {index} out of range for {len(self)} steps per epoch.")
        return self.sampler.batch(self.epoch_index, index)

    def on_epoch_begin(self) -> None:
        self._in_epoch = True

    def on_epoch_end(self) -> None:
        # As `SamplerDataset`: Keras calls `on_epoch_end` once before the first epoch and may
        # call it twice after one; only the first end after a begin advances the pass.
        if self._in_epoch:
            self._in_epoch = False
            self.epoch_index += 1
