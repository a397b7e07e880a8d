"""Full-ranking evaluation: every item is a candidate, the user's known items excluded.

Protocol A of spec/evaluation.md (MAML's evaluator): for every user with at least one test
item, rank all items by score, skip the user's training items, take the top K, and with H
hits at 0-based positions r:

- Precision@K = H / K
- Recall@K = H / |T_u|  (the full test size, not min(|T_u|, K))
- HR@K = 1[H > 0]
- NDCG@K = sum_hits 1 / log2(r + 2) / IDCG, IDCG = sum_{t < min(|T_u|, K)} 1 / log2(t + 2)

averaged over the evaluated users (macro). Protocol D (ACF: leave-one-out, full ranking,
K = 100) is the same computation with one test item per user and `ks=(100,)`.

These definitions equal keras-rs's `RecallAtK` and `NDCG` (binary gains, 1/log2(rank + 1)
discount, IDCG truncated at K) with `shuffle_ties=False` and the training items masked;
tests/evaluation checks the numbers against keras-rs. The evaluator is nonetheless written
in numpy: it needs top-k ids for serving, HR (keras-rs has none), blocks of users against
the whole catalogue in bounded memory, and it must not depend on a backend.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from tfrec.data.interactions import Interactions
from tfrec.evaluation.ranking_result import RankingResult
from tfrec.evaluation.top_k import mask_rows
from tfrec.evaluation.top_k import top_k_indices


def _as_numpy_scores(scores, expected_shape) -> np.ndarray:
    if not isinstance(scores, np.ndarray):
        import keras

        scores = keras.ops.convert_to_numpy(scores)
    scores = np.array(scores, dtype=np.float32, copy=True)
    if scores.shape != expected_shape:
        raise ValueError(
            f"The score function returned shape {scores.shape}; expected {expected_shape} "
            "(users in the block x all items)."
        )
    if np.isnan(scores).any():
        raise ValueError("The score function returned NaN scores.")
    return scores


def _exclusion(interactions: Interactions, exclude) -> sp.csr_matrix | None:
    matrices = []
    for split in exclude:
        matrix = getattr(interactions, split, None)
        if matrix is None:
            raise ValueError(f"Cannot exclude split {split!r}: the interactions have none.")
        matrices.append(matrix)
    if not matrices:
        return None
    total = matrices[0]
    for matrix in matrices[1:]:
        total = total + matrix
    return total.tocsr()


def _row_membership(truth: sp.csr_matrix, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
    """`[b, k]` bool: is `items[r, j]` a stored entry of row `rows[r]` of `truth`."""
    block = truth[rows]
    block.sort_indices()
    keys = np.repeat(np.arange(len(rows), dtype=np.int64), np.diff(block.indptr))
    keys = keys * truth.shape[1] + block.indices
    queries = np.arange(len(rows), dtype=np.int64)[:, None] * truth.shape[1] + items
    position = np.minimum(np.searchsorted(keys, queries), max(len(keys) - 1, 0))
    return (keys[position] == queries) if len(keys) else np.zeros(queries.shape, bool)


def top_k_items(score_fn, user_ids, k: int, exclude: sp.csr_matrix | None = None):
    """`(items [b, k], scores [b, k])`: the k best items per user, `exclude` rows masked.

    Where fewer than k items remain after masking, the missing places hold item -1.
    """
    user_ids = np.asarray(user_ids, dtype=np.int32)
    raw = score_fn(user_ids)
    scores = _as_numpy_scores(raw, (len(user_ids), np.shape(raw)[-1]))
    if exclude is not None:
        mask_rows(scores, exclude[user_ids])
    items = top_k_indices(scores, k)
    top_scores = np.take_along_axis(scores, items, axis=1)
    return np.where(np.isneginf(top_scores), -1, items), top_scores


def evaluate_full_ranking(
    score_fn,
    interactions: Interactions,
    *,
    ks=(10,),
    split: str = "test",
    exclude=("train",),
    user_batch_size: int = 1024,
    users=None,
) -> RankingResult:
    """Precision, Recall, NDCG and HR @K with full ranking (protocol A; D with ks=(100,)).

    Args:
        score_fn: `user_ids [b] (int32) -> scores [b, num_items]` (numpy or a backend
            tensor), higher is better, e.g. `model.score_users_numpy`.
        interactions: the data.
        ks: cut-offs.
        split: the split holding the relevant items ("test" or "validation").
        exclude: splits whose items are removed from each user's ranking.
        user_batch_size: users scored per block; memory is O(block x num_items).
        users: the users to evaluate (default: every user with an item in `split`).

    Returns:
        A `RankingResult` with keys `precision@K`, `recall@K`, `ndcg@K`, `hr@K`.
    """
    ks = tuple(int(k) for k in ks)
    if not ks or min(ks) < 1:
        raise ValueError(f"Received: `ks={ks}`. Expected positive cut-offs.")
    truth = getattr(interactions, split, None)
    if truth is None:
        raise ValueError(f"The interactions have no {split!r} split.")
    truth = truth.tocsr()
    exclusion = _exclusion(interactions, exclude)
    test_counts = np.diff(truth.indptr)
    if users is None:
        users = np.flatnonzero(test_counts > 0)
    users = np.asarray(users, dtype=np.int32)
    if len(users) and test_counts[users].min() == 0:
        raise ValueError(f"Some requested users have no {split} items.")

    max_k = max(ks)
    num_items = interactions.num_items
    discounts = 1.0 / np.log2(np.arange(max_k) + 2.0)
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])
    per_user = {f"{name}@{k}": np.zeros(len(users)) for k in ks for name in _NAMES}
    for start in range(0, len(users), user_batch_size):
        block = users[start : start + user_batch_size]
        scores = _as_numpy_scores(score_fn(block), (len(block), num_items))
        if exclusion is not None:
            mask_rows(scores, exclusion[block])
        top = top_k_indices(scores, max_k)
        hits = _row_membership(truth, block, top)
        # A masked item never counts, even when fewer than K candidates remain.
        hits &= ~np.isneginf(np.take_along_axis(scores, top, axis=1))
        sizes = test_counts[block]
        rows = slice(start, start + len(block))
        for k in ks:
            hit_count = hits[:, :k].sum(axis=1)
            dcg = (hits[:, :k] * discounts[: hits[:, :k].shape[1]]).sum(axis=1)
            per_user[f"precision@{k}"][rows] = hit_count / k
            per_user[f"recall@{k}"][rows] = hit_count / sizes
            per_user[f"ndcg@{k}"][rows] = dcg / ideal[np.minimum(sizes, k)]
            per_user[f"hr@{k}"][rows] = hit_count > 0
    metrics = {
        name: float(values.mean()) if len(values) else 0.0 for name, values in per_user.items()
    }
    excluded = ", ".join(exclude) if exclude else "nothing"
    return RankingResult(
        metrics=metrics,
        per_user=per_user,
        users=users,
        protocol=f"full ranking of {num_items:,} items on {split} ({excluded} excluded)",
    )


_NAMES = ("ndcg", "recall", "hr", "precision")
