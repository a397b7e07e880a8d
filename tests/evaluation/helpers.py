"""Tiny `Interactions` builders and loop-based reference evaluators (spec/evaluation.md).

The references are written straight from the protocol text, one user at a time, with no
vectorisation, so the fast evaluators can be checked against them.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from tfrec.data.interactions import Interactions


def make_interactions(train_pairs, test_pairs, num_users, num_items, test_negatives=None):
    """`Interactions` from (user, item) pairs; users u0.., items i0..."""

    def matrix(pairs):
        pairs = list(pairs)
        rows = [u for u, _ in pairs]
        cols = [i for _, i in pairs]
        out = sp.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, cols)), shape=(num_users, num_items)
        )
        out.sum_duplicates()
        out.data[:] = 1.0
        out.sort_indices()
        return out

    return Interactions(
        train=matrix(train_pairs),
        test=matrix(test_pairs),
        user_keys=np.array([f"u{i}" for i in range(num_users)], dtype=object),
        item_keys=np.array([f"i{i}" for i in range(num_items)], dtype=object),
        test_negatives=None if test_negatives is None else np.asarray(test_negatives, np.int32),
    )


def random_interactions(seed, num_users=40, num_items=30, train_size=300, test_size=80):
    """Random split: multi-item test sets, users without test items, never-trained items."""
    rng = np.random.default_rng(seed)
    train = set(
        zip(
            rng.integers(0, num_users, train_size).tolist(),
            rng.integers(0, num_items - 3, train_size).tolist(),  # the last 3 never trained
            strict=True,
        )
    )
    test = set(
        zip(
            rng.integers(0, num_users - 5, test_size).tolist(),  # the last 5 have no test
            rng.integers(0, num_items, test_size).tolist(),
            strict=True,
        )
    )
    return make_interactions(sorted(train), sorted(test - train), num_users, num_items)


def reference_full_ranking(scores, interactions, k):
    """Protocol A as the MAML evaluator walks it: rank by score (ties -> lower id, as
    `tf.nn.top_k`), walk down skipping training items, stop after K; then P/R/NDCG/HR."""
    scores = np.asarray(scores, np.float32)
    out = {"precision": [], "recall": [], "ndcg": [], "hr": []}
    for user in range(interactions.num_users):
        test = set(interactions.test[user].indices.tolist())
        if not test:
            continue  # users without test items are not evaluated
        train = set(interactions.train[user].indices.tolist())
        ranked = sorted(range(interactions.num_items), key=lambda j: (-scores[user, j], j))
        top = []
        for item in ranked:
            if item in train:
                continue
            top.append(item)
            if len(top) == k:
                break
        hits = [rank for rank, item in enumerate(top) if item in test]
        dcg = sum(1 / math.log2(rank + 2) for rank in hits)
        idcg = sum(1 / math.log2(t + 2) for t in range(min(len(test), k)))
        out["precision"].append(len(hits) / k)
        out["recall"].append(len(hits) / len(test))
        out["ndcg"].append(dcg / idcg)
        out["hr"].append(float(len(hits) > 0))
    return {f"{name}@{k}": float(np.mean(values)) for name, values in out.items()}


def reference_sampled(scores_of, interactions, k, tie_rule):
    """Protocol C, one user at a time: position = #negatives ahead of the test item."""
    hr, ndcg = [], []
    for user in range(interactions.num_users):
        test = interactions.test[user].indices.tolist()
        if not test:
            continue
        negatives = [j for j in interactions.test_negatives[user].tolist() if j >= 0]
        target = scores_of(user, test[0])
        position = 0
        for item in negatives:
            score = scores_of(user, item)
            if score > target or (score == target and tie_rule == "pessimistic"):
                position += 1
        hr.append(1.0 if position < k else 0.0)
        ndcg.append(1 / math.log2(position + 2) if position < k else 0.0)
    return {f"hr@{k}": float(np.mean(hr)), f"ndcg@{k}": float(np.mean(ndcg))}
