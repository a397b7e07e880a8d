"""The 1 + N protocol: positions, tie rules, HR and NDCG by hand."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from tfrec.data.interactions import Interactions
from tfrec.evaluation import evaluate_sampled


def leave_one_out(test_items, negatives, num_items=10):
    num_users = len(test_items)
    test = sp.csr_matrix(
        (np.ones(num_users, np.float32), (np.arange(num_users), test_items)),
        shape=(num_users, num_items),
    )
    return Interactions(
        train=sp.csr_matrix((num_users, num_items), dtype=np.float32),
        test=test,
        user_keys=np.array([str(u) for u in range(num_users)], dtype=object),
        item_keys=np.array([str(i) for i in range(num_items)], dtype=object),
        test_negatives=np.array(negatives, np.int32),
    )


ITEM_SCORES = np.array([5.0, 4.0, 4.0, 1.0, 0.0, 7.0, 4.0, 2.0, 3.0, 6.0])


def score_fn(users, items):
    return ITEM_SCORES[items]


def test_positions_and_metrics_by_hand():
    # User 0: test item 1 (score 4); negatives 5 (7), 9 (6), 2 (4, tie), 3 (1) -> 2 ahead + 1 tie.
    # User 1: test item 5 (score 7, best) -> position 0.
    data = leave_one_out([1, 5], [[5, 9, 2, 3], [0, 1, 2, 3]])
    pessimistic = evaluate_sampled(score_fn, data, ks=(1, 3), tie_rule="pessimistic")
    optimistic = evaluate_sampled(score_fn, data, ks=(1, 3), tie_rule="optimistic")
    # Pessimistic: positions 3 and 0. Optimistic: 2 and 0.
    assert pessimistic.metrics["hr@3"] == pytest.approx(0.5)
    assert pessimistic.metrics["ndcg@3"] == pytest.approx(0.5)
    assert optimistic.metrics["hr@3"] == pytest.approx(1.0)
    assert optimistic.metrics["ndcg@3"] == pytest.approx((1 / math.log2(4) + 1) / 2)
    assert optimistic.metrics["hr@1"] == pytest.approx(0.5)


def test_random_ties_lie_between_and_are_seeded():
    data = leave_one_out([6] * 50, [[1, 2, 3, 4]] * 50)  # item 6 ties with 1 and 2
    random_a = evaluate_sampled(score_fn, data, ks=(1,), tie_rule="random", seed=1)
    random_b = evaluate_sampled(score_fn, data, ks=(1,), tie_rule="random", seed=1)
    assert random_a.metrics == random_b.metrics
    assert 0.0 < random_a.metrics["hr@1"] < 1.0  # expected 1/4 with 2 coin flips


def test_padding_negatives_are_ignored():
    data = leave_one_out([0], [[5, -1, -1]])
    assert evaluate_sampled(score_fn, data, ks=(1, 2)).metrics["hr@2"] == 1.0


def test_missing_negatives_error_says_how_to_create_them():
    data = leave_one_out([0], [[1]])
    data.test_negatives = None
    with pytest.raises(ValueError, match="sample_test_negatives"):
        evaluate_sampled(score_fn, data)


def test_bad_tie_rule():
    with pytest.raises(ValueError, match="tie_rule"):
        evaluate_sampled(score_fn, leave_one_out([0], [[1]]), tie_rule="coin")
