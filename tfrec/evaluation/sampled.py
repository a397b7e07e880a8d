"""Leave-one-out with sampled candidates: the test item ranked among N stored negatives.

Protocol C of spec/evaluation.md (NCF, He et al., WWW 2017; NAIS, He et al., TKDE 2018;
IRIS): for every user with a test item, score the test item and the user's N negatives
from `interactions.test_negatives` (sampled once and stored with the split, so runs are
comparable; -1 entries are padding and ignored). The 0-based position of the test item is
the number of negatives ranked above it, ties counted by `tie_rule`:

- `"pessimistic"` (default; the NAIS code): every tied negative is ahead (score >= test).
- `"optimistic"`: no tied negative is ahead (score > test).
- `"random"`: the test item takes a uniformly random place among the t tied negatives
  (position = #greater + uniform{0..t}, seeded), as sorting after a random shuffle does.

HR@K = 1[position < K]; NDCG@K = 1 / log2(position + 2) if position < K else 0 (IDCG = 1).
Mean over users with a test item.

keras-rs (0.4.0): with one relevant item per list `keras_rs.metrics.NDCG(k)` and
`RecallAtK(k)` (= HR@K) over the `[users, 1 + N]` score matrix, padding masked, agree with
this evaluator when no score ties the test item (tests/evaluation/test_keras_rs_agreement.py
uses them as the reference). They are not used here because their tie handling is always
random (`sort_by_scores` shuffles whenever a mask is given, and `update_state` always gives
one, so `shuffle_ties=False` has no effect); the NAIS rule cannot be expressed with them.
"""

from __future__ import annotations

import numpy as np

from tfrec.data.interactions import Interactions
from tfrec.evaluation.full_ranking import _check_ks
from tfrec.evaluation.ranking_result import RankingResult
from tfrec.evaluation.top_k import as_numpy_scores

TIE_RULES = ("pessimistic", "optimistic", "random")


def evaluate_sampled(
    score_fn,
    interactions: Interactions,
    *,
    ks=(10,),
    tie_rule: str = "pessimistic",
    seed: int = 0,
    user_batch_size: int = 4096,
) -> RankingResult:
    """HR@K and NDCG@K of the test item among the stored sampled negatives (protocol C).

    Args:
        score_fn: `(user_ids [b] int32, item_ids [b, 1 + N] int32) -> scores [b, 1 + N]`
            (numpy or backend tensors), e.g. `model.score_items`. Column 0 is the test item.
        interactions: the split; needs `test_negatives` and exactly one test item per user
            that has any.
        ks: cut-offs.
        tie_rule: `"pessimistic"`, `"optimistic"` or `"random"` (module docstring).
        seed: seed of the random tie rule.
        user_batch_size: users per scoring call.

    Returns:
        A `RankingResult` with keys `hr@K` and `ndcg@K` (fractions).

    Example:
    >>> data = tfrec.data.splits.sample_test_negatives(data, num_negatives=99)
    >>> evaluate_sampled(model.score_items, data, ks=(10,)).metrics["hr@10"]
    """
    ks = _check_ks(ks)
    if tie_rule not in TIE_RULES:
        raise ValueError(f"Received: `tie_rule={tie_rule!r}`. Expected one of {TIE_RULES}.")
    if user_batch_size < 1:
        raise ValueError(f"Received: `user_batch_size={user_batch_size}`. Expected >= 1.")
    if interactions.test_negatives is None:
        raise ValueError(
            "Received interactions without stored test negatives. Expected "
            "`interactions.test_negatives`; create them once with "
            "`tfrec.data.splits.sample_test_negatives(interactions, num_negatives=99)`."
        )
    test = interactions.test.tocsr()
    counts = np.diff(test.indptr)
    users = np.flatnonzero(counts > 0).astype(np.int32)
    if (counts[users] > 1).any():
        user = int(users[np.argmax(counts[users] > 1)])
        raise ValueError(
            f"Received user {interactions.user_keys[user]!r} with {counts[user]} test items. "
            "Expected exactly one (leave-one-out); use `evaluate_full_ranking` for "
            "multi-item test sets."
        )
    negatives = np.asarray(interactions.test_negatives)[users]
    missing = (negatives < 0).all(axis=1) if negatives.shape[1] else np.ones(len(users), bool)
    if missing.any():
        user = int(users[np.argmax(missing)])
        raise ValueError(
            f"Received user {interactions.user_keys[user]!r} with a test item but no sampled "
            "negatives. Expected negatives for every test user; create them with "
            "`tfrec.data.splits.sample_test_negatives(interactions, num_negatives=99)`."
        )
    positives = test.indices[test.indptr[users]]
    rng = np.random.default_rng(seed)
    positions = np.zeros(len(users), np.int64)
    for start in range(0, len(users), user_batch_size):
        block = slice(start, start + user_batch_size)
        candidates = np.concatenate([positives[block, None], negatives[block]], axis=1)
        valid = candidates[:, 1:] >= 0
        scores = as_numpy_scores(
            score_fn(users[block], np.where(candidates >= 0, candidates, 0).astype(np.int32)),
            candidates.shape,
        )
        target, others = scores[:, :1], scores[:, 1:]
        greater = ((others > target) & valid).sum(axis=1)
        tied = ((others == target) & valid).sum(axis=1)
        if tie_rule == "pessimistic":
            positions[block] = greater + tied
        elif tie_rule == "optimistic":
            positions[block] = greater
        else:
            positions[block] = greater + rng.integers(0, tied + 1)
    per_user = {}
    for k in ks:
        inside = positions < k
        per_user[f"hr@{k}"] = inside.astype(np.float64)
        per_user[f"ndcg@{k}"] = np.where(inside, 1.0 / np.log2(positions + 2.0), 0.0)
    metrics = {
        name: float(values.mean()) if len(users) else 0.0 for name, values in per_user.items()
    }
    return RankingResult(
        metrics=metrics,
        per_user=per_user,
        users=users,
        protocol=(
            f"leave-one-out, test item + {negatives.shape[1]} sampled negatives ({tie_rule} ties)"
        ),
    )
