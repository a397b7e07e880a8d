"""Users' training item lists in history order, as padded and clipped id matrices."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

CLIPS = ("latest", "random", "first")


def padded_size(n: int, multiple: int, sizes_per_octave: int = 0) -> int:
    """`n` (at least 1) rounded up to a multiple of `multiple`, and with
    `sizes_per_octave` = s > 0 further up to the next size of the ladder
    `multiple * m * 2**e` with `s <= m < 2s` (e >= 0), so a dimension that varies by a
    factor of 2 takes at most s + 1 padded sizes, each at most 1/s larger than needed.

    The ladder bounds the distinct shapes of variable-size batches, hence the XLA
    compilations of a JAX train step (TensorFlow traces once with unknown dimensions);
    sizes up to `multiple * s` stay plain multiples.

    Example:
        >>> [padded_size(n, 8, 4) for n in (1, 30, 33, 40, 41, 65, 300)]
        [8, 32, 40, 40, 48, 80, 320]
    """
    units = -(-max(int(n), 1) // multiple)
    if sizes_per_octave <= 0 or units <= sizes_per_octave:
        return units * multiple
    octave = 1 << ((units // sizes_per_octave).bit_length() - 1)  # 2**e <= units / s
    return -(-units // octave) * octave * multiple


class UserHistories:
    """Users' training item lists in history order, and padded, clipped batches of them.

    A user's list holds their training items ordered by `timestamps` when given (ties by
    item id), else by item id (the CSR order). `gather` turns a batch of users into a
    `[B, L]` id matrix padded with `num_items` plus a mask, optionally leaving one item of
    each list out (the target of a NAIS/FISM training row) and clipping long lists to
    `max_history_length` items: the latest (`clip="latest"`, default), the first
    (`"first"`, the NAIS code's truncation of its file-ordered list to 299 items) or a
    uniform random subset kept in list order (`"random"`). The item is left out before
    clipping.

    Args:
        train: `[num_users, num_items]` scipy sparse training matrix.
        max_history_length: clip length (None: no clip).
        clip: `"latest"`, `"random"` or `"first"`.
        timestamps: optional sparse matrix aligned with `train` (e.g.
            `Interactions.train_timestamps`) giving the history order.

    Example:

    ```python
    histories = UserHistories(data.train, timestamps=data.train_timestamps)
    history, mask = histories.gather(np.array([0, 5]))  # int32 [2, L], bool [2, L]
    ```
    """

    def __init__(self, train, *, max_history_length=None, clip="latest", timestamps=None):
        if not (sp.issparse(train) and train.ndim == 2):
            raise ValueError(
                f"Received: `train` of type {type(train).__name__}. Expected a 2-D scipy "
                "sparse matrix of training interactions (e.g. `Interactions.train`)."
            )
        if clip not in CLIPS:
            raise ValueError(f"Received: `clip={clip!r}`. Expected one of {CLIPS}.")
        if max_history_length is not None and (
            not _is_int(max_history_length) or max_history_length < 1
        ):
            raise ValueError(
                f"Received: `max_history_length={max_history_length!r}`. Expected None or an "
                "integer >= 1."
            )
        matrix = sp.csr_matrix(train, copy=True)
        matrix.sum_duplicates()
        matrix.eliminate_zeros()
        matrix.sort_indices()
        self.num_users, self.num_items = (int(n) for n in matrix.shape)
        self.max_history_length = None if max_history_length is None else int(max_history_length)
        self.clip = clip
        self.indptr = matrix.indptr.astype(np.int64)
        self.counts = np.diff(self.indptr)
        self.num_pairs = int(matrix.nnz)
        self.pair_users = np.repeat(np.arange(self.num_users, dtype=np.int32), self.counts)
        items = matrix.indices.astype(np.int32)
        if timestamps is not None:
            times = _aligned_times(matrix, timestamps)
            # Sort by (user, time, item): the history order within each user's slice.
            order = np.lexsort((items, times, self.pair_users))
            items = items[order]
        self.items = items
        self.pair_positions = (np.arange(self.num_pairs) - self.indptr[self.pair_users]).astype(
            np.int32
        )

    def gather(
        self,
        users: np.ndarray,
        excluded: np.ndarray | None = None,
        *,
        pad_multiple: int = 8,
        sizes_per_octave: int = 0,
        rng: np.random.Generator | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Padded, clipped histories of `users`.

        Args:
            users: `[B]` user ids.
            excluded: `[B]` position (in the user's list) of an item to leave out, -1 for
                none. Default: none.
            pad_multiple: round the width up to a multiple of this (at least 1 column).
            sizes_per_octave: and up the geometric ladder of `padded_size` (0: no ladder).
            rng: the generator of `clip="random"` (default: seeded with 0).

        Returns:
            `(history int32[B, L], mask bool[B, L])`, padding id `num_items`.
        """
        users = np.asarray(users, np.int64)
        if excluded is None:
            excluded = np.full(len(users), -1, np.int64)
        excluded = np.asarray(excluded, np.int64)
        available = self.counts[users] - (excluded >= 0)
        limit = self.max_history_length or np.iinfo(np.int32).max
        lengths = np.minimum(available, limit)
        width = padded_size(int(lengths.max(initial=0)), pad_multiple, sizes_per_octave)
        slots = np.broadcast_to(np.arange(width, dtype=np.int64), (len(users), width))
        mask = slots < lengths[:, None]
        # Index j in the list without the target; shifted for clipping.
        index = slots.copy()
        clipped = available > lengths
        if clipped.any():
            if self.clip == "latest":
                index = index + (available - lengths)[:, None]
            elif self.clip == "random":
                rng = rng if rng is not None else np.random.default_rng(0)
                rows = np.flatnonzero(clipped)
                span = int(available[rows].max())
                keys = rng.random((len(rows), span))
                keys[np.arange(span)[None, :] >= available[rows][:, None]] = np.inf
                chosen = np.sort(np.argsort(keys, axis=1)[:, :limit], axis=1)
                index[rows[:, None], np.arange(limit)[None, :]] = chosen
        # Skip the excluded position: j -> j + 1 from it on.
        full = index + ((excluded[:, None] >= 0) & (index >= excluded[:, None]))
        source = self.indptr[users][:, None] + full
        history = np.where(mask, self.items[np.where(mask, source, 0)], self.num_items)
        return history.astype(np.int32), mask


def _aligned_times(matrix: sp.csr_matrix, timestamps) -> np.ndarray:
    """Timestamps of `matrix`'s stored pairs in CSR order (0 where `timestamps` has none)."""
    times = sp.csr_matrix(timestamps)
    if times.shape != matrix.shape:
        raise ValueError(
            f"Received `timestamps` of shape {times.shape}. Expected the training matrix's "
            f"shape {matrix.shape}."
        )
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    return np.asarray(times[rows, matrix.indices]).ravel().astype(np.float64)


def _is_int(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)
