"""Leave-one-out with sampled candidates: the test item ranked among N stored negatives.

Protocol C of spec/evaluation.md (NCF, NAIS, IRIS): for every user with a test item, score
the test item and the user's N negatives from `interactions.test_negatives` (sampled once
and stored with the split, so runs are comparable). The 0-based position of the test item
is the number of negatives scored above it, with ties counted by `tie_rule`:

- `"pessimistic"` (default; the NAIS code): ties count against the test item (>=).
- `"optimistic"`: ties count for it (>).
- `"random"`: each tied negative is ahead with probability 1/2 (seeded).

HR@K = 1[position < K]; NDCG@K = 1 / log2(position + 2) if position < K else 0.
"""

from __future__ import annotations

import numpy as np

from tfrec.data.interactions import Interactions
from tfrec.evaluation.ranking_result import RankingResult

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
    """HR@K and NDCG@K of the test item among the stored sampled negatives.

    Args:
        score_fn: `(user_ids [b], item_ids [b, 1 + N]) -> scores [b, 1 + N]`, e.g.
            `model.score_items` (numpy or backend tensors).
        interactions: the split; needs `test_negatives` and exactly one test item per
            evaluated user.
        ks: cut-offs.
        tie_rule: see the module docstring.
        seed: seed of the random tie rule.
        user_batch_size: users per scoring call.
    """
    if tie_rule not in TIE_RULES:
        raise ValueError(f"Received: `tie_rule={tie_rule!r}`. Expected one of {TIE_RULES}.")
    if interactions.test_negatives is None:
        raise ValueError(
            "The interactions have no stored test negatives. Create them with "
            "`tfrec.data.splits.sample_test_negatives(interactions, num_negatives=99)`."
        )
    test = interactions.test.tocsr()
    counts = np.diff(test.indptr)
    users = np.flatnonzero(counts > 0).astype(np.int32)
    if (counts[users] > 1).any():
        user = int(users[np.argmax(counts[users] > 1)])
        raise ValueError(
            f"User {interactions.user_keys[user]!r} has {counts[user]} test items; the sampled "
            "protocol expects exactly one (leave-one-out)."
        )
    negatives = interactions.test_negatives[users]
    if (negatives < 0).all(axis=1).any():
        user = int(users[np.argmax((negatives < 0).all(axis=1))])
        raise ValueError(
            f"User {interactions.user_keys[user]!r} has a test item but no sampled negatives."
        )
    positives = test.indices[test.indptr[users]]
    rng = np.random.default_rng(seed)
    positions = np.zeros(len(users), np.int64)
    for start in range(0, len(users), user_batch_size):
        block = slice(start, start + user_batch_size)
        candidates = np.concatenate([positives[block, None], negatives[block]], axis=1)
        valid = candidates >= 0
        scores = score_fn(users[block], np.where(valid, candidates, 0).astype(np.int32))
        if not isinstance(scores, np.ndarray):
            import keras

            scores = keras.ops.convert_to_numpy(scores)
        scores = np.asarray(scores, dtype=np.float64)
        target, others = scores[:, :1], scores[:, 1:]
        others_valid = valid[:, 1:]
        ahead = (others > target) & others_valid
        tied = (others == target) & others_valid
        if tie_rule == "pessimistic":
            ahead |= tied
        elif tie_rule == "random":
            ahead |= tied & (rng.random(tied.shape) < 0.5)
        positions[block] = ahead.sum(axis=1)
    per_user = {}
    for k in ks:
        inside = positions < k
        per_user[f"hr@{k}"] = inside.astype(np.float64)
        per_user[f"ndcg@{k}"] = np.where(inside, 1.0 / np.log2(positions + 2.0), 0.0)
    metrics = {name: float(values.mean()) for name, values in per_user.items()}
    width = negatives.shape[1]
    return RankingResult(
        metrics=metrics,
        per_user=per_user,
        users=users,
        protocol=f"leave-one-out, 1 + {width} sampled candidates ({tie_rule} ties)",
    )
