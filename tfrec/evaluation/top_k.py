"""Exact top-k of score blocks, ties broken toward the lower item id (like `tf.nn.top_k`)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def as_numpy_scores(scores, expected_shape=None) -> np.ndarray:
    """A writable float32 numpy copy of `scores` (numpy or any backend tensor), checked."""
    if not isinstance(scores, np.ndarray):
        import keras

        scores = keras.ops.convert_to_numpy(scores)
    scores = np.array(scores, dtype=np.float32, copy=True)
    if expected_shape is not None and scores.shape != tuple(expected_shape):
        raise ValueError(
            f"Received scores of shape {scores.shape} from the score function. Expected "
            f"{tuple(expected_shape)} (one row per requested user, one column per item)."
        )
    if np.isnan(scores).any():
        raise ValueError(
            "Received NaN scores from the score function. Expected finite scores (or -inf); "
            "check the model's weights for divergence."
        )
    return scores


def mask_rows(scores: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
    """Sets `scores[r, j] = -inf` for every stored (r, j) of `rows` (in place)."""
    counts = np.diff(rows.indptr)
    if counts.sum():
        scores[np.repeat(np.arange(rows.shape[0]), counts), rows.indices] = -np.inf
    return scores


def top_k_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """`[b, min(k, num_items)]` indices of the largest scores per row, best first.

    Exact and deterministic: the order is that of sorting by (-score, index), i.e. ties go
    to the lower index, as `tf.nn.top_k` (and so the MAML evaluator) does, including ties
    that straddle the k-th place. One `np.argpartition` pass, one comparison pass, and a
    sort of k items per row; only rows with a tie across the k-th place take a slower path.
    """
    num_rows, num_items = scores.shape
    k = min(k, num_items)
    if k == 0:
        return np.zeros((num_rows, 0), np.int64)
    candidates = np.sort(np.argpartition(-scores, k - 1, axis=1)[:, :k], axis=1)
    candidate_scores = np.take_along_axis(scores, candidates, axis=1)
    threshold = candidate_scores.min(axis=1, keepdims=True)
    straddling = np.flatnonzero((scores >= threshold).sum(axis=1) > k)
    if len(straddling):
        candidates[straddling] = _lowest_index_ties(scores[straddling], threshold[straddling], k)
        candidate_scores[straddling] = np.take_along_axis(
            scores[straddling], candidates[straddling], axis=1
        )
    # Candidates are in ascending index order, so a stable sort keeps lower indices first.
    order = np.argsort(-candidate_scores, axis=1, kind="stable")
    return np.take_along_axis(candidates, order, axis=1)


def top_k_unmasked(scores: np.ndarray, k: int, exclude: sp.csr_matrix | None) -> np.ndarray:
    """`[b, min(k, num_items)]` best items per row that are not in `exclude`, -1 padded.

    `scores` is modified in place (the excluded entries become -inf). This is MAML's
    walk-down (spec/evaluation.md A.4): excluded items are skipped, so a row with fewer
    than k other items gets a shorter list (padded with -1), and items the model itself
    scored -inf stay ranked candidates, after every finite score, lower index first.

    Args:
        scores: `[b, num_items]` float array.
        k: the cut-off.
        exclude: `[b, num_items]` CSR matrix whose stored entries are removed, or None.
    """
    if exclude is not None:
        mask_rows(scores, exclude)
    top = top_k_indices(scores, k)
    if exclude is None or top.shape[1] == 0:
        return top
    # Only where the k-th place holds -inf can an excluded item have entered the list.
    last = scores[np.arange(len(scores)), top[:, -1]]
    for row in np.flatnonzero(np.isneginf(last)):
        keep = np.ones(scores.shape[1], bool)
        keep[exclude.indices[exclude.indptr[row] : exclude.indptr[row + 1]]] = False
        items = np.flatnonzero(keep)
        chosen = items[np.lexsort((items, -scores[row, items]))[: top.shape[1]]]
        top[row] = -1
        top[row, : len(chosen)] = chosen
    return top


def top_k_items(score_fn, user_ids, k: int, exclude: sp.csr_matrix | None = None):
    """The k best items of each user, for serving and the CLI.

    Args:
        score_fn: `user_ids [b] (int32) -> scores [b, num_items]`, numpy or a backend
            tensor (e.g. `model.score_users`).
        user_ids: `[b]` user ids.
        k: how many items per user.
        exclude: `[num_users, num_items]` CSR matrix of items never to recommend (e.g.
            `interactions.train`), or None.

    Returns:
        `(items [b, k] int64, scores [b, k] float32)`, best first, ties to the lower item
        id. Where fewer than k items remain after exclusion, the places are item -1 with
        score -inf.

    Example:
    >>> items, scores = top_k_items(model.score_users, [0, 1], 10, data.train)
    """
    if k < 1:
        raise ValueError(f"Received: `k={k}`. Expected an integer >= 1.")
    user_ids = np.asarray(user_ids, dtype=np.int32)
    raw = score_fn(user_ids)
    scores = as_numpy_scores(raw, (len(user_ids), np.shape(raw)[-1]))
    rows = exclude[user_ids] if exclude is not None else None
    top = top_k_unmasked(scores, k, rows)
    items = np.full((len(user_ids), k), -1, np.int64)
    items[:, : top.shape[1]] = top
    top_scores = np.where(
        items >= 0, np.take_along_axis(scores, np.maximum(items, 0), axis=1), -np.inf
    ).astype(np.float32)
    return items, top_scores


def _lowest_index_ties(scores: np.ndarray, threshold: np.ndarray, k: int) -> np.ndarray:
    """The k chosen indices (ascending) when ties at `threshold` exceed the k-th place."""
    above = scores > threshold
    tied = scores == threshold
    needed = k - above.sum(axis=1, keepdims=True)
    chosen = above | (tied & (np.cumsum(tied, axis=1) <= needed))
    return np.nonzero(chosen)[1].reshape(len(scores), k)
