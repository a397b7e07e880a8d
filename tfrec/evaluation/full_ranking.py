"""Full-ranking evaluation: every item is a candidate, the user's known items excluded.

Protocol A of spec/evaluation.md (the MAML evaluator, Liu et al., "User Diverse Preference
Modeling by Multimodal Attentive Metric Learning", ACM MM 2019): for every user u with at
least one test item (T_u), rank all items by score with the training items (R_u) removed,
ties to the lower item id as `tf.nn.top_k` orders them, take the top K, and with H hits at
0-based positions r:

- Precision@K = H / K  (K even when fewer than K candidates remain)
- Recall@K = H / |T_u|  (the full test size, not min(|T_u|, K))
- HR@K = 1[H > 0]
- NDCG@K = sum_hits 1 / log2(r + 2) / IDCG, IDCG = sum_{t < min(|T_u|, K)} 1 / log2(t + 2)

averaged over the evaluated users (macro, unweighted). Protocol D (ACF: leave-one-out,
full ranking, K = 100) is the same computation with one test item per user:
`evaluate_leave_one_out_full`.

Why not keras-rs (0.4.0) `keras_rs.metrics` (checked in its source and numerically, see
tests/evaluation/test_keras_rs_agreement.py):

- `RecallAtK` divides by the number of relevant items that are not masked, so it equals
  H / |T_u| only when no test item is also a training item (MAML keeps such an item in
  |T_u| and never ranks it). Its denominator is |T_u|, not min(|T_u|, K), as in MAML.
- `NDCG` (binary labels: gain 2^y - 1 = 1, discount 1 / log2(rank + 1) with 1-based
  ranks, IDCG over the ideal top-k = min(|T_u|, K) places) equals MAML's NDCG@K.
- `PrecisionAtK` divides by min(K, number of unmasked items), MAML by K: they differ when
  fewer than K candidates remain.
- No HR@K.
- Ties are broken at random even with `shuffle_ties=False`: `update_state` always passes
  a mask to `sort_by_scores`, which then shuffles (`get_shuffled_indices(...,
  shuffle_ties=True)`), so tied scores do not follow the lower-id order of `tf.nn.top_k`
  and results on tied scores vary with the seed.
- A list without relevant items counts as 0 with weight 1 (`get_list_weights`) instead of
  being skipped: users without test items must be removed before the update.
- Masked items get score min(row) - 1e-7, which equals min(row) in float32 for
  |scores| >~ 1; they still lose the tie because masked entries are shuffled last.
- Speed: it needs dense `[users, num_items]` labels and masks; one `update_state` over all
  4,512 x 2,406 MAML Office users takes ~2.2 s (`NDCG`) and ~1.1 s (`RecallAtK`) on the
  TensorFlow backend and ~5.3 s / ~2.7 s on JAX (2 CPU cores), against ~0.1 s for this
  whole evaluation, all four metrics (`python benchmarks/evaluation_speed.py --keras-rs`).

So the evaluator is numpy (top-k ids for serving, HR, blocks of users in bounded memory,
no backend dependence), and keras-rs serves as an independent reference in the tests on
tie-free scores without train/test overlap, where the definitions agree.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from tfrec.data.interactions import Interactions
from tfrec.evaluation.ranking_result import RankingResult
from tfrec.evaluation.top_k import as_numpy_scores
from tfrec.evaluation.top_k import top_k_unmasked

METRIC_NAMES = ("precision", "recall", "ndcg", "hr")


def evaluate_full_ranking(
    score_fn,
    interactions: Interactions,
    *,
    ks=(10,),
    split: str = "test",
    exclude=("train",),
    user_batch_size: int = 1024,
    users=None,
    return_per_user: bool = True,
) -> RankingResult:
    """Precision, Recall, NDCG and HR @K with full ranking (protocol A of evaluation.md).

    Args:
        score_fn: `user_ids [b] (int32) -> scores [b, num_items]`, numpy or a backend
            tensor, higher is better (e.g. `model.score_users`). Scores are compared in
            float32, as the MAML evaluator does.
        interactions: the data.
        ks: cut-offs.
        split: the split holding the relevant items ("test" or "validation").
        exclude: splits whose items are removed from each user's ranking.
        user_batch_size: users scored per call; memory is O(user_batch_size x num_items).
        users: the users to evaluate (default: every user with an item in `split`).
        return_per_user: keep every user's values in `result.per_user` (needed by
            `paired_t_test`); False leaves it empty.

    Returns:
        A `RankingResult` with `metrics` keys `precision@K`, `recall@K`, `ndcg@K` and
        `hr@K` (fractions, not %).

    Example:
    >>> result = evaluate_full_ranking(model.score_users, data, ks=(10, 20))
    >>> result.metrics["ndcg@10"]
    """
    ks = _check_ks(ks)
    if user_batch_size < 1:
        raise ValueError(f"Received: `user_batch_size={user_batch_size}`. Expected >= 1.")
    truth = getattr(interactions, split, None)
    if truth is None:
        raise ValueError(
            f"Received: `split={split!r}`. Expected a split the interactions have "
            "('test', or 'validation' when there is one)."
        )
    truth = truth.tocsr()
    exclusion = _exclusion(interactions, exclude)
    truth_counts = np.diff(truth.indptr)
    if users is None:
        users = np.flatnonzero(truth_counts > 0)
    users = np.asarray(users, dtype=np.int32)
    if len(users) and truth_counts[users].min() == 0:
        bad = users[truth_counts[users] == 0][:5].tolist()
        raise ValueError(
            f"Received `users` without {split} items, e.g. {bad}. Expected users with at "
            "least one relevant item (protocol A skips the others)."
        )

    max_k = max(ks)
    discounts = 1.0 / np.log2(np.arange(max_k) + 2.0)
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])
    per_user = {f"{name}@{k}": np.zeros(len(users)) for k in ks for name in METRIC_NAMES}
    for start in range(0, len(users), user_batch_size):
        block = users[start : start + user_batch_size]
        scores = as_numpy_scores(score_fn(block), (len(block), interactions.num_items))
        rows = exclusion[block] if exclusion is not None else None
        top = top_k_unmasked(scores, max_k, rows)
        hits = _row_membership(truth, block, top) & (top >= 0)
        sizes = truth_counts[block]
        span = slice(start, start + len(block))
        for k in ks:
            hits_k = hits[:, :k]
            hit_count = hits_k.sum(axis=1)
            dcg = hits_k @ discounts[: hits_k.shape[1]]
            per_user[f"precision@{k}"][span] = hit_count / k
            per_user[f"recall@{k}"][span] = hit_count / sizes
            per_user[f"ndcg@{k}"][span] = dcg / ideal[np.minimum(sizes, k)]
            per_user[f"hr@{k}"][span] = hit_count > 0
    metrics = {
        name: float(values.mean()) if len(users) else 0.0 for name, values in per_user.items()
    }
    excluded = ", ".join(exclude) if exclude else "nothing"
    return RankingResult(
        metrics=metrics,
        per_user=per_user if return_per_user else {},
        users=users,
        protocol=(
            f"full ranking of {interactions.num_items:,} items on {split} ({excluded} excluded)"
        ),
    )


def evaluate_leave_one_out_full(
    score_fn, interactions: Interactions, *, ks=(100,), **kwargs
) -> RankingResult:
    """Protocol D of evaluation.md (ACF, Chen et al., SIGIR 2017): one test item, full ranking.

    HR@K = 1[test item in the top K] and NDCG@K = 1 / log2(position + 2) are the `hr@K`
    and `ndcg@K` of `evaluate_full_ranking` when every user has one test item (then also
    recall@K = hr@K). K = 100 by default, as in the paper; other keyword arguments go to
    `evaluate_full_ranking`.
    """
    split = kwargs.get("split", "test")
    truth = getattr(interactions, split, None)
    if truth is not None and (np.diff(truth.tocsr().indptr) > 1).any():
        raise ValueError(
            f"Received interactions with several {split} items for some users. Expected one "
            "held-out item per user (leave-one-out); use `evaluate_full_ranking` otherwise."
        )
    return evaluate_full_ranking(score_fn, interactions, ks=ks, **kwargs)


def _check_ks(ks) -> tuple[int, ...]:
    ks = tuple(int(k) for k in ks)
    if not ks or min(ks) < 1:
        raise ValueError(f"Received: `ks={ks}`. Expected one or more integers >= 1.")
    return ks


def _exclusion(interactions: Interactions, exclude) -> sp.csr_matrix | None:
    if isinstance(exclude, str):
        exclude = (exclude,)
    total = None
    for split in exclude:
        matrix = getattr(interactions, split, None)
        if not isinstance(matrix, sp.spmatrix | sp.sparray):
            raise ValueError(
                f"Received: `exclude` naming {split!r}. Expected splits the interactions "
                "have ('train', 'validation', 'test')."
            )
        total = matrix if total is None else total + matrix
    return None if total is None else sp.csr_matrix(total)


def _row_membership(truth: sp.csr_matrix, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
    """`[b, k]` bool: is `items[r, j]` a stored entry of row `rows[r]` of `truth`."""
    block = truth[rows]
    block.sort_indices()
    keys = np.repeat(np.arange(len(rows), dtype=np.int64), np.diff(block.indptr))
    keys = keys * truth.shape[1] + block.indices
    if not len(keys):
        return np.zeros(items.shape, bool)
    queries = np.arange(len(rows), dtype=np.int64)[:, None] * truth.shape[1] + items
    position = np.minimum(np.searchsorted(keys, queries), len(keys) - 1)
    return keys[position] == queries
