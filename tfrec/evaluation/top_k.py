"""Exact top-k of score blocks, ties broken toward the lower item id (like `tf.nn.top_k`)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def mask_rows(scores: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
    """Sets `scores[r, j] = -inf` for every stored (r, j) of `rows` (in place)."""
    counts = np.diff(rows.indptr)
    if counts.sum():
        scores[np.repeat(np.arange(rows.shape[0]), counts), rows.indices] = -np.inf
    return scores


def top_k_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """`[b, k]` indices of the k largest scores per row, best first.

    Exact and deterministic: ties are ordered by the lower index, as `tf.nn.top_k` (and so
    the MAML evaluator) does, including ties that straddle the k-th place. Runs in
    O(b * n) with `np.argpartition` plus a sort of k items per row.
    """
    num_rows, num_items = scores.shape
    k = min(k, num_items)
    if k == 0:
        return np.zeros((num_rows, 0), np.int64)
    candidates = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    threshold = np.take_along_axis(scores, candidates, axis=1).min(axis=1, keepdims=True)
    above = scores > threshold
    tied = scores == threshold
    # Fill the places left after the strictly larger scores with the lowest-index ties.
    needed = k - above.sum(axis=1, keepdims=True)
    chosen = above | (tied & (np.cumsum(tied, axis=1) <= needed))
    indices = np.nonzero(chosen)[1].reshape(num_rows, k)  # ascending index within a row
    order = np.argsort(-np.take_along_axis(scores, indices, axis=1), axis=1, kind="stable")
    return np.take_along_axis(indices, order, axis=1)
