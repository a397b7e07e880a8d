"""MML's dual-triplet sampler: item and user negatives, plus similar/dissimilar entities."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp

from tfrec.sampling.negative_sampler import NegativeSampler

# Stream tags after NegativeSampler's own (0 = pass permutation, 1 = item negatives).
_USER_NEGATIVE_STREAM = 2
_RELATION_STREAM = 3


class DualTripletSampler:
    """Shuffled (user, positive) batches with item *and* user negatives, as MML trains.

    MML (Algorithm 1, spec mml.md §3-4) forms two triplets per positive pair (a, c): one
    with a negative user b (r_bc = 0) and one with a negative item d (r_ad = 0), and draws
    for the anchors a and c one similar and one dissimilar entity from the similar-pair
    buffers S_U and S_I (`tfrec.data.similar_pairs`). Every batch carries all of it, so the
    model's loss is a pure function of the batch:

    - `"user"` `[B]`, `"positive"` `[B]`, `"negatives"` `[B, W]` int32: exactly the batch of a
      `NegativeSampler` over `train` with the same seed (same pass permutation and the same
      item negatives, uniform over the user's non-positives when `check_negative`).
    - `"negative_users"` `[B, W]` int32: uniform over the users who did not interact with
      the positive item (a `NegativeSampler` over `train.T`, drawn per positive item).
    - only when `similar_users` is given: `"similar_users"`, `"dissimilar_users"` `[B]`
      int32 and `"has_similar_user"` `[B]` float32, for the anchor user a;
    - only when `similar_items` is given: `"similar_items"`, `"dissimilar_items"` `[B]` int32
      and `"has_similar_item"` `[B]` float32, for the anchor item c.

    A similar entity is uniform among the anchor's buffer neighbours (one CSR slice); a
    dissimilar one is uniform over the entities that are neither the anchor nor in its
    buffer (vectorised rejection sampling). An anchor with an empty buffer row (or one similar
    to every other entity) gets `has_similar_* = 0` and placeholder ids equal to itself; the
    model gives those triplets weight 0 [INFER: spec mml.md §3, "empty S(a) contributes 0"].

    Every batch is a pure function of `(seed, epoch_index, step)`, as with
    `NegativeSampler`: user negatives come from `SeedSequence(seed, spawn_key=(epoch, 2,
    step))` and the similar/dissimilar draws from `spawn_key=(epoch, 3, step)`.

    Args:
        train: `[num_users, num_items]` scipy sparse matrix of training interactions.
        num_negatives: W, negatives of each kind per positive pair (MML Algorithm 1: 1).
        batch_size: B (MML paper: 512).
        similar_users: `[num_users, num_users]` sparse buffer S_U or None.
        similar_items: `[num_items, num_items]` sparse buffer S_I or None.
        check_negative: re-draw negatives that are training positives (default).
        drop_remainder: drop the last `N mod B` pairs of every pass.
        seed: non-negative integer seed.

    Example:

    ```python
    sampler = DualTripletSampler(
        train, batch_size=512,
        similar_users=similar_pairs(train, 0.3), similar_items=similar_pairs(train.T, 0.3),
    )
    batch = sampler.batch(0, 0)
    ```
    """

    def __init__(
        self,
        train: sp.spmatrix | sp.sparray,
        *,
        num_negatives: int = 1,
        batch_size: int = 512,
        similar_users: sp.spmatrix | sp.sparray | None = None,
        similar_items: sp.spmatrix | sp.sparray | None = None,
        check_negative: bool = True,
        drop_remainder: bool = True,
        seed: int = 0,
    ):
        common = {
            "num_negatives": num_negatives,
            "batch_size": batch_size,
            "check_negative": check_negative,
            "drop_remainder": drop_remainder,
            "seed": seed,
        }
        self._items = NegativeSampler(train, **common)
        self._users = NegativeSampler(sp.csr_matrix(train).T.tocsr(), **common)
        self.num_users = self._items.num_users
        self.num_items = self._items.num_items
        self.num_negatives = self._items.num_negatives
        self.batch_size = self._items.batch_size
        self.check_negative = self._items.check_negative
        self.drop_remainder = self._items.drop_remainder
        self.seed = self._items.seed
        self.num_pairs = self._items.num_pairs
        self.similar_users = _buffer(similar_users, self.num_users, "similar_users")
        self.similar_items = _buffer(similar_items, self.num_items, "similar_items")
        self._user_keys = _keys(self.similar_users)
        self._item_keys = _keys(self.similar_items)

    @property
    def steps_per_epoch(self) -> int:
        """Batches per pass (as `NegativeSampler.steps_per_epoch`)."""
        return self._items.steps_per_epoch

    def batch(self, epoch_index: int, step: int) -> dict[str, np.ndarray]:
        """The batch number `step` of pass `epoch_index` (keys in the class docstring)."""
        batch = self._items.batch(epoch_index, step)
        rng = np.random.default_rng(
            np.random.SeedSequence(
                self.seed, spawn_key=(int(epoch_index), _USER_NEGATIVE_STREAM, int(step))
            )
        )
        batch["negative_users"] = self._users.sample_negatives(batch["positive"], rng)
        if self.similar_users is None and self.similar_items is None:
            return batch
        rng = np.random.default_rng(
            np.random.SeedSequence(
                self.seed, spawn_key=(int(epoch_index), _RELATION_STREAM, int(step))
            )
        )
        if self.similar_users is not None:
            similar, dissimilar, has = _relations(
                self.similar_users, self._user_keys, batch["user"], rng
            )
            batch["similar_users"] = similar
            batch["dissimilar_users"] = dissimilar
            batch["has_similar_user"] = has
        if self.similar_items is not None:
            similar, dissimilar, has = _relations(
                self.similar_items, self._item_keys, batch["positive"], rng
            )
            batch["similar_items"] = similar
            batch["dissimilar_items"] = dissimilar
            batch["has_similar_item"] = has
        return batch

    def epoch(self, epoch_index: int) -> Iterator[dict[str, np.ndarray]]:
        """Yields the `steps_per_epoch` batches of pass `epoch_index`, in order."""
        self._items._epoch_order(epoch_index)  # validates eagerly
        return (self.batch(epoch_index, step) for step in range(self.steps_per_epoch))

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
        """Yields the batches of passes 0, 1, 2, ... forever."""
        for epoch_index in itertools.count():
            yield from self.epoch(epoch_index)


def _buffer(matrix, size: int, name: str) -> sp.csr_matrix | None:
    if matrix is None:
        return None
    if not (sp.issparse(matrix) and matrix.ndim == 2):
        raise ValueError(
            f"Received: `{name}` of type {type(matrix).__name__}. Expected None or a 2-D scipy "
            "sparse matrix from `tfrec.data.similar_pairs`."
        )
    if matrix.shape != (size, size):
        raise ValueError(
            f"Received: `{name}` of shape {matrix.shape}. Expected ({size}, {size}) (one row "
            "and column per entity of the training matrix)."
        )
    matrix = sp.csr_matrix(matrix, copy=True)
    matrix.setdiag(0)
    matrix.eliminate_zeros()
    matrix.sort_indices()
    return matrix


def _keys(buffer: sp.csr_matrix | None) -> np.ndarray | None:
    """Sorted int64 keys `row * size + column` of the buffer's pairs (CSR order is sorted)."""
    if buffer is None:
        return None
    rows = np.repeat(np.arange(buffer.shape[0], dtype=np.int64), np.diff(buffer.indptr))
    return rows * buffer.shape[0] + buffer.indices.astype(np.int64)


def _relations(buffer: sp.csr_matrix, keys: np.ndarray, anchors: np.ndarray, rng):
    """One similar and one dissimilar entity per anchor, and whether the anchor has any."""
    size = buffer.shape[0]
    starts = buffer.indptr[anchors]
    degrees = buffer.indptr[anchors + 1] - starts
    has = (degrees > 0) & (degrees < size - 1)
    offsets = np.floor(rng.random(len(anchors)) * np.maximum(degrees, 1)).astype(np.int64)
    picked = np.minimum(starts + offsets, max(buffer.nnz - 1, 0))
    similar = np.where(has, buffer.indices[picked], anchors) if buffer.nnz else anchors.copy()
    dissimilar = rng.integers(0, size, size=len(anchors), dtype=np.int64)
    # Re-draw only colliding entries (the anchor itself or one of its buffer neighbours).
    pending = np.flatnonzero(has)
    pending = pending[_collides(keys, size, anchors[pending], dissimilar[pending])]
    while pending.size:
        dissimilar[pending] = rng.integers(0, size, size=pending.size, dtype=np.int64)
        pending = pending[_collides(keys, size, anchors[pending], dissimilar[pending])]
    dissimilar = np.where(has, dissimilar, anchors)
    return (
        similar.astype(np.int32),
        dissimilar.astype(np.int32),
        has.astype(np.float32),
    )


def _collides(keys: np.ndarray, size: int, anchors: np.ndarray, candidates: np.ndarray):
    """Whether each candidate is its anchor or one of the anchor's buffer neighbours."""
    queries = anchors.astype(np.int64) * size + candidates
    position = np.minimum(np.searchsorted(keys, queries), max(keys.size - 1, 0))
    in_buffer = keys[position] == queries if keys.size else np.zeros(queries.shape, bool)
    return (anchors == candidates) | in_buffer
