"""`keras.utils.PyDataset` over a `NegativeSampler`: the backend-agnostic input pipeline."""

from __future__ import annotations

import keras

from tfrec.sampling.acf_batches import ACFSampler
from tfrec.sampling.dual_triplet_sampler import DualTripletSampler
from tfrec.sampling.negative_sampler import NegativeSampler


class SamplerDataset(keras.utils.PyDataset):
    """Feeds `NegativeSampler` (or `ACFSampler`) batches to `model.fit` on every backend.

    Step `i` of Keras epoch `e` is `(sampler.batch(g // P, g % P),)` with
    `g = e * steps_per_epoch + i` and P the sampler's steps per pass (with the default
    `steps_per_epoch`, simply `sampler.batch(e, i)`): a one-element tuple holding the named
    input dict `{"user", "positive", "negatives"}` (no targets; the CML family computes its
    loss from the inputs). The end of an epoch moves on in the stream; every new pass
    reshuffles the pairs and draws fresh negatives. Since every batch is a pure function of
    `(seed, epoch_index, step)`, thread or process workers give the same batches as a serial
    run.

    `model.fit(..., shuffle=True)` (its default) permutes the *order* of the steps of a pass
    with Python's `random`; the pairs are shuffled by the sampler anyway, so pass
    `shuffle=False` for a step order that depends on the sampler's seed alone.

    Args:
        sampler: the `NegativeSampler` to draw from.
        steps_per_epoch: batches per Keras epoch. Default: one sampler pass. The authors'
            MAML code calls 400 batches an epoch (`eva_batches`); with
            `steps_per_epoch=400` the stream runs on across passes, batch `g` of the run
            being `sampler.batch(g // P, g % P)` with P the sampler's steps per pass, so a
            run is the same stream whatever the epoch length.
        initial_epoch: the pass that the first epoch of `fit` uses (e.g. when resuming).
        workers: passed to `keras.utils.PyDataset` (threads or processes making batches).
        use_multiprocessing: passed to `keras.utils.PyDataset`.
        max_queue_size: passed to `keras.utils.PyDataset`.

    Example:

    ```python
    dataset = SamplerDataset(NegativeSampler(train, num_negatives=4, batch_size=5000))
    model.fit(dataset, epochs=10, shuffle=False)
    ```
    """

    def __init__(
        self,
        sampler: NegativeSampler,
        *,
        steps_per_epoch: int | None = None,
        initial_epoch: int = 0,
        workers: int = 1,
        use_multiprocessing: bool = False,
        max_queue_size: int = 10,
    ):
        super().__init__(
            workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size
        )
        if not isinstance(sampler, NegativeSampler | ACFSampler | DualTripletSampler):
            raise ValueError(
                f"Received: `sampler` of type {type(sampler).__name__}. Expected a "
                "`tfrec.sampling.NegativeSampler` (or an `ACFSampler`, `DualTripletSampler`)."
            )
        if (
            isinstance(initial_epoch, bool)
            or not isinstance(initial_epoch, int)
            or initial_epoch < 0
        ):
            raise ValueError(
                f"Received: `initial_epoch={initial_epoch!r}`. Expected an integer >= 0."
            )
        if steps_per_epoch is not None and (
            isinstance(steps_per_epoch, bool)
            or not isinstance(steps_per_epoch, int)
            or steps_per_epoch < 1
        ):
            raise ValueError(
                f"Received: `steps_per_epoch={steps_per_epoch!r}`. Expected None or an "
                "integer >= 1."
            )
        self.sampler = sampler
        self._steps_per_epoch = steps_per_epoch
        self.initial_epoch = initial_epoch
        self.epoch_index = initial_epoch
        self._in_epoch = False

    def __len__(self) -> int:
        return self.steps_per_epoch

    @property
    def steps_per_epoch(self) -> int:
        return self._steps_per_epoch or self.sampler.steps_per_epoch

    def __getitem__(self, index: int) -> tuple[dict]:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"Step {index} out of range for {len(self)} steps per epoch.")
        flat_step = self.epoch_index * self.steps_per_epoch + index
        sampler_pass, step = divmod(flat_step, self.sampler.steps_per_epoch)
        return (self.sampler.batch(sampler_pass, step),)

    def on_epoch_begin(self) -> None:
        self._in_epoch = True

    def on_epoch_end(self) -> None:
        # Keras calls `on_epoch_end` once before the first epoch (EpochIterator.reset()) and
        # may call it twice after one; only the first end after a begin advances the stream.
        # Advancing here, not in `on_epoch_begin`, matters with `workers > 1`: the Keras
        # adapter starts the worker pool (which copies this object into worker processes)
        # *before* it calls `on_epoch_begin`, so the epoch must already be set by then.
        if self._in_epoch:
            self._in_epoch = False
            self.epoch_index += 1
