"""The 1 + N protocol (C): positions, tie rules, HR and NDCG by hand and by a loop."""

import math

import keras
import numpy as np
import pytest
import scipy.sparse as sp

from tests.evaluation.helpers import make_interactions
from tests.evaluation.helpers import reference_sampled
from tfrec.data.interactions import Interactions
from tfrec.evaluation import evaluate_sampled


def leave_one_out(test_items, negatives, num_items=10):
    num_users = len(test_items)
    pairs = [(u, i) for u, i in enumerate(test_items) if i is not None]
    return make_interactions([], pairs, num_users, num_items, test_negatives=negatives)


ITEM_SCORES = np.array([5.0, 4.0, 4.0, 1.0, 0.0, 7.0, 4.0, 2.0, 3.0, 6.0], np.float32)


def score_fn(users, items):
    return ITEM_SCORES[items]


# User 0: test item 1 (score 4); negatives 5 (7), 9 (6), 2 (4, a tie), 3 (1).
# User 1: test item 5 (score 7, the best) -> position 0 under every rule.
# User 2: no test item (not evaluated).
BY_HAND = leave_one_out([1, 5, None], [[5, 9, 2, 3], [0, 1, 2, 3], [-1, -1, -1, -1]])


@pytest.mark.parametrize(
    "tie_rule, position",
    [("pessimistic", 3), ("optimistic", 2)],
)
def test_positions_and_metrics_by_hand(tie_rule, position):
    result = evaluate_sampled(score_fn, BY_HAND, ks=(1, 3, 10), tie_rule=tie_rule)
    np.testing.assert_array_equal(result.users, [0, 1])
    inside3 = position < 3
    assert result.metrics == pytest.approx(
        {
            "hr@1": 1 / 2,
            "ndcg@1": 1 / 2,
            "hr@3": (inside3 + 1) / 2,
            "ndcg@3": ((1 / math.log2(position + 2) if inside3 else 0.0) + 1) / 2,
            "hr@10": 1.0,
            "ndcg@10": (1 / math.log2(position + 2) + 1) / 2,
        }
    )


def test_random_ties_take_a_uniform_place_among_the_tied_and_are_seeded():
    # Test item 6 (score 4) ties with negatives 1 and 2: position uniform on {0, 1, 2}.
    data = leave_one_out([6] * 3000, [[1, 2, 3, 4]] * 3000)
    first = evaluate_sampled(score_fn, data, ks=(1, 2), tie_rule="random", seed=1)
    again = evaluate_sampled(score_fn, data, ks=(1, 2), tie_rule="random", seed=1)
    other = evaluate_sampled(score_fn, data, ks=(1, 2), tie_rule="random", seed=2)
    assert first.metrics == again.metrics
    assert first.metrics != other.metrics
    assert first.metrics["hr@1"] == pytest.approx(1 / 3, abs=0.03)
    assert first.metrics["hr@2"] == pytest.approx(2 / 3, abs=0.03)


@pytest.mark.parametrize("tie_rule", ["pessimistic", "optimistic"])
@pytest.mark.parametrize("k", [1, 5, 10])
def test_matches_the_loop_reference_on_random_data_with_ties(tie_rule, k):
    rng = np.random.default_rng(k)
    num_users, num_items = 50, 40
    test_items = [int(i) if u % 7 else None for u, i in enumerate(rng.integers(0, 40, 50))]
    negatives = rng.integers(0, num_items, (num_users, 12))
    negatives[rng.random(negatives.shape) < 0.2] = -1  # padding
    negatives[:, 0] = rng.integers(0, num_items, num_users)  # at least one per user
    data = leave_one_out(test_items, negatives, num_items)
    table = rng.integers(0, 3, (num_users, num_items)).astype(np.float32)  # many ties
    result = evaluate_sampled(
        lambda users, items: table[users[:, None], items],
        data,
        ks=(k,),
        tie_rule=tie_rule,
        user_batch_size=9,
    )
    expected = reference_sampled(lambda u, i: table[u, i], data, k, tie_rule)
    assert result.metrics == pytest.approx(expected, abs=1e-12)


def test_padding_is_ignored_and_backend_tensors_are_accepted():
    data = leave_one_out([0], [[5, -1, -1]])  # only item 5 (7 > 5) is ahead

    def tensor_scores(users, items):
        return keras.ops.convert_to_tensor(ITEM_SCORES[items])

    result = evaluate_sampled(tensor_scores, data, ks=(1, 2))
    assert result.metrics == pytest.approx(
        {"hr@1": 0.0, "ndcg@1": 0.0, "hr@2": 1.0, "ndcg@2": 1 / math.log2(3)}
    )
    assert "1 + 3" not in result.protocol and "3 sampled negatives" in result.protocol


def test_missing_negatives_error_says_how_to_create_them():
    data = leave_one_out([0], [[1]])
    data.test_negatives = None
    with pytest.raises(ValueError, match="sample_test_negatives"):
        evaluate_sampled(score_fn, data)
    all_padding = leave_one_out([0, 1], [[1, 2], [-1, -1]])
    with pytest.raises(ValueError, match="'u1' with a test item but no sampled negatives"):
        evaluate_sampled(score_fn, all_padding)


def test_several_test_items_are_an_error():
    data = Interactions(
        train=sp.csr_matrix((1, 4), dtype=np.float32),
        test=sp.csr_matrix(np.array([[1, 1, 0, 0]], np.float32)),
        user_keys=np.array(["a"], dtype=object),
        item_keys=np.array(list("wxyz"), dtype=object),
        test_negatives=np.array([[2, 3]], np.int32),
    )
    with pytest.raises(ValueError, match="exactly one"):
        evaluate_sampled(score_fn, data)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"tie_rule": "coin"}, "tie_rule"), ({"ks": (0,)}, "ks"), ({"user_batch_size": 0}, "user")],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        evaluate_sampled(score_fn, leave_one_out([0], [[1]]), **kwargs)


def test_wrong_score_shape_is_an_error():
    with pytest.raises(ValueError, match=r"Expected \(1, 2\)"):
        evaluate_sampled(lambda users, items: items[:, :1] * 1.0, leave_one_out([0], [[1]]))
