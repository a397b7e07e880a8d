"""Pointwise batches of (history, target item, label) for FISM/NAIS-style models (numpy).

The NAIS/FISM code (`Batch_gen.py`, spec iris.md §4) represents a user by the items of
their training history. Every epoch it makes, for each training (user, item) pair, one
positive row (label 1) and K negative rows (label 0, items the user has not interacted
with); each row carries the user's history with the target item removed, padded with the
id `num_items` (a constant zero row of the history table) up to the longest history of
the batch.

`HistorySampler` produces these rows as a seeded numpy stream whose batches are grouped
by history length (little padding); `evaluation_batches` gives the full-history inputs of
the 1 + N leave-one-out protocol (spec evaluation.md §C). Both are backend-neutral; feed
the sampler to `model.fit` with `tfrec.sampling.history_dataset.HistoryDataset`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp

from tfrec.sampling.user_histories import UserHistories

BATCHINGS = ("length", "user")

_PLAN_STREAM = 0
_BATCH_STREAM = 1
_CACHED_EPOCHS = 2


class HistorySampler:
    """Pointwise (history, item, label) batches with K negatives per positive, by length.

    Each pass (epoch) over the training matrix:

    1. For every training pair (u, i): one row (u, i, label 1) and `num_negatives` rows
       (u, j, label 0), j uniform over `[0, num_items)` re-drawn while j is a training item
       of u (NAIS code: the same rule, against the user's training list).
    2. Every row gets u's training history, in history order (by `timestamps` when given,
       else by item id), as item ids. With `exclude_target=True` (the code) the row's item
       is removed from it, so a positive row of a user with n items has n - 1 history
       items and a negative row n. Histories longer than `max_history_length` are clipped
       (after the target is removed) to their latest, first or a random subset of items.
    3. `batching="length"` (default): rows are sorted by history length (ties in random
       order) and cut into batches of `batch_size` consecutive rows, so rows of a batch
       have (nearly) the same length and padding is small; the batch order is shuffled.
       `batching="user"` is the code's default `batch_choice='user'`: one batch holds all
       (1 + K) * n rows of one user, shuffled, batch order shuffled (batch sizes vary).
    4. A batch is padded to its longest history rounded up to a multiple of
       `pad_multiple` (fewer distinct shapes, hence fewer retraces) with the id
       `num_items`, and comes with a mask.

    Every pass and every batch is a pure function of `(seed, epoch_index, step)` (numpy
    `SeedSequence` streams), so batches can be produced in any order and by parallel
    workers and still match.

    Differences from the authors' code, all deliberate: negatives are rejected against the
    full training set (the code's `'user'` mode checks the clipped list); the code clips
    the training list to its first 299 items *before* making instances (so only those
    positives are trained on), here every pair is a positive and each history is clipped
    after removing its target (`clip="first"` with `max_history_length=299` gives the
    code's histories for users under the clip).

    Args:
        train: `[num_users, num_items]` scipy sparse training matrix.
        num_negatives: K, negatives per positive (code: 4).
        batch_size: rows per batch for `batching="length"` (ignored for `"user"`).
        batching: `"length"` or `"user"` (see above).
        max_history_length: clip histories to this many items. Default None: no clip.
        clip: which items a clipped history keeps: `"latest"` (default), `"random"` (a
            uniform subset, drawn anew every pass, in history order) or `"first"` (the
            code's truncation of its file-ordered list).
        exclude_target: remove the row's item from its history (the code; switch off for
            the paper's Eq. without the exclusion).
        timestamps: optional sparse matrix aligned with `train` (e.g.
            `Interactions.train_timestamps`) ordering each history by time (ties by id).
        pad_multiple: round the padded width up to a multiple of this.
        seed: non-negative integer seed.

    Example:

    ```python
    sampler = HistorySampler(data.train, num_negatives=4, batch_size=256, seed=0)
    inputs, labels = sampler.batch(epoch_index=0, step=0)
    inputs["history"], inputs["history_mask"], inputs["item"]  # [B, L], [B, L], [B]
    ```
    """

    def __init__(
        self,
        train: sp.spmatrix | sp.sparray,
        *,
        num_negatives: int = 4,
        batch_size: int = 256,
        batching: str = "length",
        max_history_length: int | None = None,
        clip: str = "latest",
        exclude_target: bool = True,
        timestamps: sp.spmatrix | sp.sparray | None = None,
        pad_multiple: int = 8,
        seed: int = 0,
    ):
        if batching not in BATCHINGS:
            raise ValueError(f"Received: `batching={batching!r}`. Expected one of {BATCHINGS}.")
        for name, value in (
            ("num_negatives", num_negatives),
            ("batch_size", batch_size),
            ("pad_multiple", pad_multiple),
        ):
            if not _is_int(value) or value < 1:
                raise ValueError(f"Received: `{name}={value!r}`. Expected an integer >= 1.")
        if not _is_int(seed) or seed < 0:
            raise ValueError(f"Received: `seed={seed!r}`. Expected an integer >= 0.")
        self.histories = UserHistories(
            train, max_history_length=max_history_length, clip=clip, timestamps=timestamps
        )
        self.num_users = self.histories.num_users
        self.num_items = self.histories.num_items
        self.num_pairs = self.histories.num_pairs
        if self.num_pairs == 0:
            raise ValueError("Received an empty training matrix. Expected training pairs.")
        full = np.flatnonzero(self.histories.counts >= self.num_items)
        if full.size:
            raise ValueError(
                f"Received: user {int(full[0])} with all {self.num_items} items in training "
                f"({full.size} such user(s)). Expected every user to have an item left to "
                "sample as a negative; drop those users."
            )
        self.num_negatives = int(num_negatives)
        self.batch_size = int(batch_size)
        self.batching = batching
        self.max_history_length = self.histories.max_history_length
        self.clip = clip
        self.exclude_target = bool(exclude_target)
        self.pad_multiple = int(pad_multiple)
        self.seed = int(seed)
        self.num_rows = self.num_pairs * (1 + self.num_negatives)
        # Training keys user * num_items + item, sorted (for the negative check).
        self._keys = np.sort(
            self.histories.pair_users.astype(np.int64) * self.num_items
            + self.histories.items.astype(np.int64)
        )
        self._plans: OrderedDict[int, dict[str, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- properties
    @property
    def steps_per_epoch(self) -> int:
        """Batches per pass: `ceil(rows / batch_size)`, or the number of users with items."""
        if self.batching == "user":
            return int(np.count_nonzero(self.histories.counts))
        return -(-self.num_rows // self.batch_size)

    # ----------------------------------------------------------------- batches
    def batch(self, epoch_index: int, step: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Batch `step` of pass `epoch_index`.

        Returns:
            `(inputs, labels)`: inputs `{"user": int32[B], "history": int32[B, L],
            "history_mask": bool[B, L], "item": int32[B]}` and float32 `[B]` labels.
        """
        if not _is_int(step) or not 0 <= step < self.steps_per_epoch:
            raise ValueError(
                f"Received: `step={step!r}`. Expected an integer in "
                f"[0, {self.steps_per_epoch}) (`steps_per_epoch`)."
            )
        plan = self._plan(epoch_index)
        batch = plan["batch_order"][step]
        rows = plan["rows"][plan["starts"][batch] : plan["starts"][batch + 1]]
        users = plan["user"][rows]
        rng = np.random.default_rng(
            np.random.SeedSequence(self.seed, spawn_key=(int(epoch_index), _BATCH_STREAM, step))
        )
        history, mask = self.histories.gather(
            users, plan["excluded"][rows], pad_multiple=self.pad_multiple, rng=rng
        )
        inputs = {
            "user": users,
            "history": history,
            "history_mask": mask,
            "item": plan["item"][rows],
        }
        return inputs, plan["label"][rows]

    def epoch(self, epoch_index: int) -> Iterator[tuple[dict[str, np.ndarray], np.ndarray]]:
        """All batches of one pass, in order."""
        for step in range(self.steps_per_epoch):
            yield self.batch(epoch_index, step)

    # ----------------------------------------------------------------- internals
    def _plan(self, epoch_index: int) -> dict[str, np.ndarray]:
        if not _is_int(epoch_index) or epoch_index < 0:
            raise ValueError(f"Received: `epoch_index={epoch_index!r}`. Expected an int >= 0.")
        epoch_index = int(epoch_index)
        with self._lock:
            plan = self._plans.get(epoch_index)
            if plan is None:
                plan = self._make_plan(epoch_index)
                self._plans[epoch_index] = plan
                while len(self._plans) > _CACHED_EPOCHS:
                    self._plans.popitem(last=False)
        return plan

    def _make_plan(self, epoch_index: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(
            np.random.SeedSequence(self.seed, spawn_key=(epoch_index, _PLAN_STREAM))
        )
        width = 1 + self.num_negatives
        pair_users = self.histories.pair_users
        users = np.repeat(pair_users, width)
        items = np.empty((self.num_pairs, width), np.int32)
        items[:, 0] = self.histories.items
        items[:, 1:] = self._negatives(pair_users, rng)
        labels = np.zeros((self.num_pairs, width), np.float32)
        labels[:, 0] = 1.0
        # Position of the target in its user's history list, -1 for none removed.
        excluded = np.full((self.num_pairs, width), -1, np.int32)
        if self.exclude_target:
            excluded[:, 0] = self.histories.pair_positions
        excluded = excluded.ravel()
        counts = self.histories.counts[users] - (excluded >= 0)
        lengths = np.minimum(counts, self.max_history_length or np.iinfo(np.int32).max)
        if self.batching == "length":
            rows = np.lexsort((rng.random(len(users)), lengths))
            starts = np.minimum(
                np.arange(self.steps_per_epoch + 1) * self.batch_size, self.num_rows
            )
        else:
            rows = np.lexsort((rng.random(len(users)), users))
            per_user = np.bincount(users, minlength=self.num_users)
            starts = np.concatenate([[0], np.cumsum(per_user[per_user > 0])])
        return {
            "user": users.astype(np.int32),
            "item": items.ravel(),
            "label": labels.ravel(),
            "excluded": excluded,
            "rows": rows,
            "starts": starts,
            "batch_order": rng.permutation(len(starts) - 1),
        }

    def _negatives(self, pair_users: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """`[num_pairs, K]` uniform items that are not training items of the pair's user."""
        shape = (len(pair_users), self.num_negatives)
        negatives = rng.integers(0, self.num_items, size=shape, dtype=np.int64)
        users = np.broadcast_to(pair_users[:, None].astype(np.int64), shape)
        pending = np.arange(negatives.size)
        flat_users = users.ravel()
        flat = negatives.ravel()
        while pending.size:
            keys = flat_users[pending] * self.num_items + flat[pending]
            found = np.searchsorted(self._keys, keys)
            found = np.minimum(found, len(self._keys) - 1)
            collide = self._keys[found] == keys
            pending = pending[collide]
            flat[pending] = rng.integers(0, self.num_items, size=pending.size)
        return flat.reshape(shape).astype(np.int32)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_lock"] = None
        state["_plans"] = OrderedDict()
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()


def evaluation_batches(
    train,
    users: np.ndarray,
    candidates: np.ndarray,
    *,
    max_history_length: int | None = None,
    clip: str = "latest",
    timestamps=None,
    max_cells: int = 2**20,
    pad_multiple: int = 8,
    seed: int = 0,
) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """Inputs of the 1 + N protocol: each user's full training history vs its candidates.

    NAIS code `Evaluate.py` (spec evaluation.md §C.7): the history is the user's whole
    (clipped) training list, nothing excluded (the test item is not a training item), and
    the same history scores all 1 + N candidates. Users are grouped by history length and
    cut into chunks of at most `max_cells` (user x candidate x history slot) cells, so
    attention models stay within memory.

    Args:
        train: `[num_users, num_items]` sparse training matrix, or a `UserHistories`
            (then `max_history_length`, `clip` and `timestamps` are taken from it).
        users: `[b]` user ids.
        candidates: `[b, M]` item ids per user (e.g. test item then its 99 negatives).
        max_history_length, clip, timestamps: as in `HistorySampler`.
        max_cells: upper bound on chunk size x M x padded history length (at least one
            user per chunk).
        pad_multiple: round each chunk's history width up to a multiple of this.
        seed: seed of `clip="random"`.

    Yields:
        `(rows, inputs)`: `rows` indexes `users`; inputs `{"user": int32[c], "history":
        int32[c, L], "history_mask": bool[c, L], "items": int32[c, M]}`.
    """
    histories = (
        train
        if isinstance(train, UserHistories)
        else UserHistories(
            train, max_history_length=max_history_length, clip=clip, timestamps=timestamps
        )
    )
    users = np.asarray(users, np.int64)
    candidates = np.asarray(candidates)
    if candidates.ndim != 2 or len(candidates) != len(users):
        raise ValueError(
            f"Received `candidates` of shape {candidates.shape} for {len(users)} users. "
            "Expected [len(users), M]."
        )
    limit = histories.max_history_length or np.iinfo(np.int32).max
    lengths = np.minimum(histories.counts[users], limit)
    order = np.argsort(lengths, kind="stable")
    widths = _padded_widths(lengths[order], pad_multiple)
    num_candidates = max(candidates.shape[1], 1)
    rng = np.random.default_rng(seed)
    start = 0
    while start < len(order):
        # Sorted by length, so a chunk's width is that of its last user and the cost of
        # growing the chunk never decreases.
        costs = np.arange(1, len(order) - start + 1) * widths[start:] * num_candidates
        stop = start + max(1, int(np.searchsorted(costs, max_cells, side="right")))
        rows = order[start:stop]
        history, mask = histories.gather(users[rows], pad_multiple=pad_multiple, rng=rng)
        yield (
            rows,
            {
                "user": users[rows].astype(np.int32),
                "history": history,
                "history_mask": mask,
                "items": candidates[rows].astype(np.int32),
            },
        )
        start = stop


def _padded_widths(lengths: np.ndarray, pad_multiple: int) -> np.ndarray:
    widths = np.maximum(lengths, 1)
    return -(-widths // pad_multiple) * pad_multiple


def _is_int(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)
