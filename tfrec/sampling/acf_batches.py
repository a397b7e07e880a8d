"""ACF batches: BPR triples with each user's history and the components of its items.

One training batch (spec acf.md §4) holds B triples (i, j, k): a training pair (i, j) and
W uniform negatives k that are not training items of i (`NegativeSampler`: every pair once
per pass, shuffled, negatives re-drawn against the training set), plus user i's history
R(i) as padded item ids (`UserHistories`) with the positions of its real entries, and,
for models that read content, the components of the batch's *distinct* history items only:

    pair_positions    [N]       flat position b * L + l of each real (unpadded) history entry
    components        [U, C, F] the U distinct items' components (U <= B * L, padded)
    component_mask    [U, C]
    component_slots   [M]       flat position u * C + c in `components` of each real
                                component of each real entry (an item's components
                                once per entry that holds it)
    component_entries [M]       the entry (index into pair_positions) each belongs to

so memory per step grows with the distinct items of one batch, never with all users'
histories (15,000 items x 49 x 2,048 would be 6 GB per copy in float32), and both
attentions run on real values only: the item attention on the N real history entries, not
on the padded B x L grid (users are drawn per interaction, so a batch's longest history is
often several times its mean: on ml-1m-sample 232 against 40, on amazon-cloth 66 against
8), and the component attention on the M real (entry, component) pairs, not on N x C
(amazon-cloth's tags: C = 16 slots for 5.7 tags per item on average). N and M are padded
to multiples of `pair_pad_multiple`: N with the position B * L, M with the entry N, which
the model drops.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from tfrec.sampling.negative_sampler import NegativeSampler
from tfrec.sampling.user_histories import UserHistories
from tfrec.sampling.user_histories import padded_size


def history_inputs(
    histories: UserHistories,
    users: np.ndarray,
    components=None,
    *,
    excluded: np.ndarray | None = None,
    pad_multiple: int = 8,
    component_pad_multiple: int = 64,
    pair_pad_multiple: int = 256,
    sizes_per_octave: int = 0,
) -> dict[str, np.ndarray]:
    """The history part of an ACF batch for `users` (see the module docstring).

    Args:
        histories: the users' training items (clipped as configured).
        users: `[B]` user ids.
        components: a `tfrec.features.ComponentStore`, or None for no content.
        excluded: `[B]` position in each user's list of an item to leave out, -1 for none.
        pad_multiple: history width rounded up to a multiple of this.
        component_pad_multiple: number of distinct items rounded up to a multiple of this
            (fewer distinct shapes, so fewer retraces / XLA compilations).
        pair_pad_multiple: number of real history entries, and of real (entry, component)
            pairs, rounded up likewise.
        sizes_per_octave: round all three further up a geometric ladder with this many
            sizes per doubling (`padded_size`; 0: plain multiples). Bounds the distinct
            shapes, hence JAX's XLA compilations, at the cost of more padding.
    """
    users = np.asarray(users, np.int64)
    history, mask = histories.gather(
        users, excluded, pad_multiple=pad_multiple, sizes_per_octave=sizes_per_octave
    )
    positions = np.flatnonzero(mask.ravel())
    pairs = padded_size(len(positions), pair_pad_multiple, sizes_per_octave)
    pair_positions = np.full(pairs, mask.size, np.int32)  # B * L: dropped by the model
    pair_positions[: len(positions)] = positions
    inputs = {
        "user": users.astype(np.int32),
        "history": history,
        "history_mask": mask,
        "pair_positions": pair_positions,
    }
    if components is None:
        return inputs
    distinct, slots = np.unique(np.where(mask, history, -1), return_inverse=True)
    slots = slots.reshape(history.shape)
    if distinct[0] == -1:  # Padding present: drop its row and shift the slots.
        distinct = distinct[1:]
        slots = np.where(mask, slots - 1, 0)
    rows = padded_size(len(distinct), component_pad_multiple, sizes_per_octave)
    padded = np.full(rows, components.num_items, np.int64)  # the padding id: no components
    padded[: len(distinct)] = distinct
    values, component_mask = components.gather(padded)
    # Every real (entry, component) pair, in entry order: np.nonzero walks the [N, C] mask
    # of the entries' items row by row.
    entries, columns = np.nonzero(component_mask[slots.ravel()[positions]])
    size = padded_size(len(entries), pair_pad_multiple, sizes_per_octave)
    component_slots = np.zeros(size, np.int32)  # padding: any valid slot, dropped by entry
    component_slots[: len(entries)] = slots.ravel()[positions][entries] * values.shape[1] + columns
    component_entries = np.full(size, pairs, np.int32)  # N: dropped by the model
    component_entries[: len(entries)] = entries
    inputs.update(
        components=values,
        component_mask=component_mask,
        component_slots=component_slots,
        component_entries=component_entries,
    )
    return inputs


class ACFSampler:
    """Seeded ACF training batches (a `NegativeSampler` plus histories and components).

    Args:
        train: `[num_users, num_items]` training matrix.
        batch_size: B triples per batch (paper grid: 256, 512).
        num_negatives: W negatives per pair (paper: 1).
        components: a loaded or lazy `ComponentStore`, or None (no content).
        max_history_length, clip, timestamps: see `UserHistories` (default: no clip).
        exclude_target: leave the positive j out of R(i) in its own row (NAIS style). The
            paper's R(i) is all training items of i (default False, spec acf.md §2).
        drop_remainder: drop the last `N mod B` pairs of a pass.
        sizes_per_octave: pad the variable dimensions up a geometric ladder
            (`history_inputs`; 0, default: plain multiples). Padding is masked, so it
            changes shapes, not values.
        seed: seed of the whole stream; batch (epoch, step) is a pure function of it.
    """

    def __init__(
        self,
        train: sp.spmatrix,
        *,
        batch_size: int = 256,
        num_negatives: int = 1,
        components=None,
        max_history_length: int | None = None,
        clip: str = "latest",
        timestamps=None,
        exclude_target: bool = False,
        drop_remainder: bool = False,
        sizes_per_octave: int = 0,
        seed: int = 0,
    ):
        self.pairs = NegativeSampler(
            train,
            num_negatives=num_negatives,
            batch_size=batch_size,
            drop_remainder=drop_remainder,
            seed=seed,
        )
        self.histories = UserHistories(
            train, max_history_length=max_history_length, clip=clip, timestamps=timestamps
        )
        if components is not None and components.num_items != self.histories.num_items:
            raise ValueError(
                f"Received a component store for {components.num_items} items. Expected "
                f"{self.histories.num_items} (the training matrix's columns)."
            )
        self.components = components
        self.exclude_target = bool(exclude_target)
        if self.exclude_target:
            # (user, item) keys of the training pairs, sorted, with each pair's position in
            # its user's history list: `_positions` looks the batch's positives up in it.
            keys = self.histories.pair_users.astype(np.int64) * self.histories.num_items
            keys = keys + self.histories.items
            order = np.argsort(keys, kind="stable")
            self._pair_keys = keys[order]
            self._pair_positions = self.histories.pair_positions[order].astype(np.int64)
        self.batch_size = int(batch_size)
        self.num_negatives = int(num_negatives)
        self.sizes_per_octave = int(sizes_per_octave)
        self.seed = int(seed)

    @property
    def steps_per_epoch(self) -> int:
        return self.pairs.steps_per_epoch

    @property
    def num_pairs(self) -> int:
        return self.pairs.num_pairs

    def batch(self, epoch_index: int, step: int) -> dict[str, np.ndarray]:
        """Batch `step` of pass `epoch_index` (keys: see the module docstring)."""
        triples = self.pairs.batch(epoch_index, step)
        excluded = None
        if self.exclude_target:
            excluded = self._positions(triples["user"], triples["positive"])
        inputs = history_inputs(
            self.histories,
            triples["user"],
            self.components,
            excluded=excluded,
            sizes_per_octave=self.sizes_per_octave,
        )
        inputs.update(positive=triples["positive"], negatives=triples["negatives"])
        return inputs

    def _positions(self, users, items) -> np.ndarray:
        """Position of each training (user, item) pair in the user's history list."""
        keys = np.asarray(users, np.int64) * self.histories.num_items + items
        return self._pair_positions[np.searchsorted(self._pair_keys, keys)]
