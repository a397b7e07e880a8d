"""Full ranking (protocols A and D) against hand-computed values and a loop reference."""

import math

import keras
import numpy as np
import pytest

from tests.evaluation.helpers import make_interactions
from tests.evaluation.helpers import random_interactions
from tests.evaluation.helpers import reference_full_ranking
from tfrec.evaluation import evaluate_full_ranking
from tfrec.evaluation import evaluate_leave_one_out_full


def fixed_scores(scores):
    scores = np.asarray(scores, np.float32)
    return lambda users: scores[users]


# One user, five items: item 0 trained, test items {1, 3}; items 3 and 4 tie at 0.5.
# Ranking without item 0, ties to the lower id: 2 (0.7), 3 (0.5), 4 (0.5), 1 (0.2).
ONE_USER = make_interactions([(0, 0)], [(0, 1), (0, 3)], 1, 5)
ONE_USER_SCORES = [[0.9, 0.2, 0.7, 0.5, 0.5]]
IDCG_2 = 1 + 1 / math.log2(3)


@pytest.mark.parametrize(
    "k, expected",
    [
        # top-2 = [2, 3]: one hit at position 1.
        (2, {"precision": 1 / 2, "recall": 1 / 2, "hr": 1.0, "ndcg": (1 / math.log2(3)) / IDCG_2}),
        # top-3 = [2, 3, 4]: still one hit.
        (3, {"precision": 1 / 3, "recall": 1 / 2, "hr": 1.0, "ndcg": (1 / math.log2(3)) / IDCG_2}),
        # K = 10 > 4 candidates: [2, 3, 4, 1], hits at 1 and 3; precision still over K.
        (
            10,
            {
                "precision": 2 / 10,
                "recall": 1.0,
                "hr": 1.0,
                "ndcg": (1 / math.log2(3) + 1 / math.log2(5)) / IDCG_2,
            },
        ),
        # top-1 = [2]: no hit.
        (1, {"precision": 0.0, "recall": 0.0, "hr": 0.0, "ndcg": 0.0}),
    ],
)
def test_one_user_five_items_by_hand(k, expected):
    result = evaluate_full_ranking(fixed_scores(ONE_USER_SCORES), ONE_USER, ks=(k,))
    assert result.metrics == pytest.approx({f"{name}@{k}": v for name, v in expected.items()})
    assert result.metrics == pytest.approx(reference_full_ranking(ONE_USER_SCORES, ONE_USER, k))


def test_several_cutoffs_in_one_pass_and_per_user_values():
    result = evaluate_full_ranking(fixed_scores(ONE_USER_SCORES), ONE_USER, ks=(1, 2, 10))
    assert list(result.metrics) == [
        f"{name}@{k}" for k in (1, 2, 10) for name in ("precision", "recall", "ndcg", "hr")
    ]
    np.testing.assert_array_equal(result.users, [0])
    np.testing.assert_allclose(result.per_user["recall@10"], [1.0])
    assert all(type(value) is float for value in result.metrics.values())


def test_users_without_test_items_are_skipped_and_the_mean_is_per_user():
    # User 0: test {1} ranked first (all 1.0); user 1: no test item; user 2: test {2, 3},
    # item 3 never trained by anyone, ranked [3, 1, 2] -> hit at 0 for K = 1.
    data = make_interactions([(0, 0), (1, 1), (2, 0)], [(0, 1), (2, 2), (2, 3)], 3, 4)
    scores = [[9.0, 8.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0], [9.0, 2.0, 1.0, 3.0]]
    result = evaluate_full_ranking(fixed_scores(scores), data, ks=(1,))
    np.testing.assert_array_equal(result.users, [0, 2])
    assert result.metrics == pytest.approx(
        {"precision@1": 1.0, "recall@1": (1 + 1 / 2) / 2, "ndcg@1": 1.0, "hr@1": 1.0}
    )


def test_a_test_item_that_is_also_trained_counts_in_the_denominator_but_never_hits():
    # Train {0}, test {0, 1}: MAML never ranks item 0 but keeps it in |T_u| = 2.
    data = make_interactions([(0, 0)], [(0, 0), (0, 1)], 1, 3)
    result = evaluate_full_ranking(fixed_scores([[5.0, 4.0, 3.0]]), data, ks=(1, 3))
    assert result.metrics["recall@1"] == pytest.approx(1 / 2)
    assert result.metrics["ndcg@1"] == pytest.approx(1.0)  # IDCG over min(2, 1) = 1 place
    assert result.metrics["precision@3"] == pytest.approx(1 / 3)  # only [1, 2] remain
    assert result.metrics["ndcg@3"] == pytest.approx(1 / IDCG_2)


def test_model_minus_inf_scores_stay_candidates_when_few_items_remain():
    # Items 0, 1 trained; the model scores test item 3 as -inf. MAML's walk-down still
    # ranks it (after item 2), and an excluded item never takes its place.
    data = make_interactions([(0, 0), (0, 1)], [(0, 3)], 1, 4)
    result = evaluate_full_ranking(fixed_scores([[5.0, 4.0, 1.0, -np.inf]]), data, ks=(5,))
    assert result.metrics["hr@5"] == 1.0
    assert result.metrics["ndcg@5"] == pytest.approx(1 / math.log2(3))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("k", [1, 3, 10, 40])
def test_matches_the_loop_reference_on_random_data_with_ties(seed, k):
    data = random_interactions(seed)
    rng = np.random.default_rng(100 + seed)
    # Few distinct values -> many ties, also across the k-th place; K = 40 > 30 items.
    scores = rng.integers(0, 4, (data.num_users, data.num_items)).astype(np.float32)
    result = evaluate_full_ranking(fixed_scores(scores), data, ks=(k,), user_batch_size=7)
    assert result.metrics == pytest.approx(reference_full_ranking(scores, data, k), abs=1e-12)
    assert set(result.users.tolist()) == set(np.flatnonzero(data.test.getnnz(axis=1)).tolist())


def test_block_size_and_backend_tensors_do_not_change_the_result():
    data = random_interactions(7)
    scores = np.random.default_rng(7).normal(size=(data.num_users, data.num_items))
    expected = reference_full_ranking(scores, data, 5)
    for batch in (1, 4, 1024):
        result = evaluate_full_ranking(
            lambda users: keras.ops.convert_to_tensor(scores[users].astype("float32")),
            data,
            ks=(5,),
            user_batch_size=batch,
        )
        assert result.metrics == pytest.approx(expected, abs=1e-12)


def test_explicit_users_validation_split_and_return_per_user():
    data = random_interactions(3)
    scores = np.random.default_rng(3).normal(size=(data.num_users, data.num_items))
    users = data.test_users()[:6]
    result = evaluate_full_ranking(fixed_scores(scores), data, users=users, return_per_user=False)
    assert result.per_user == {}
    sub = make_interactions(
        zip(*data.train.nonzero(), strict=True),
        [(u, i) for u, i in zip(*data.test.nonzero(), strict=True) if u in set(users.tolist())],
        data.num_users,
        data.num_items,
    )
    assert result.metrics == pytest.approx(reference_full_ranking(scores, sub, 10), abs=1e-12)
    # The validation split as the truth, train and test excluded.
    data.validation = data.test
    on_validation = evaluate_full_ranking(
        fixed_scores(scores), data, split="validation", exclude=("train", "test")
    )
    assert on_validation.metrics["recall@10"] == 0.0  # the truth itself is excluded


def test_leave_one_out_full_is_hr_and_ndcg_at_100_by_default():
    # Protocol D: one test item per user, 120 items, scores decreasing with the item id.
    num_items = 120
    data = make_interactions([(0, 0), (1, 1)], [(0, 60), (1, 2)], 2, num_items)
    scores = np.tile(-np.arange(num_items, dtype=np.float32), (2, 1))
    scores[0, 60] = -10.5  # after items 1..10 (item 0 excluded) -> position 10
    # User 1: test item 2 after item 0 (item 1 excluded) -> position 1.
    result = evaluate_leave_one_out_full(fixed_scores(scores), data)
    assert result.metrics["hr@100"] == 1.0
    assert result.metrics["ndcg@100"] == pytest.approx((1 / math.log2(12) + 1 / math.log2(3)) / 2)
    assert result.metrics["recall@100"] == result.metrics["hr@100"]
    with pytest.raises(ValueError, match="one held-out item"):
        evaluate_leave_one_out_full(fixed_scores(ONE_USER_SCORES), ONE_USER)


def test_result_table_and_percent():
    result = evaluate_full_ranking(fixed_scores(ONE_USER_SCORES), ONE_USER, ks=(10,))
    assert result.as_percent()["recall@10"] == pytest.approx(100.0)
    text = str(result)
    assert "full ranking of 5 items on test (train excluded); 1 users" in text
    assert "recall@10" in text and "100.000" in text and "20.000" in text


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"ks": (0,)}, "ks"),
        ({"ks": ()}, "ks"),
        ({"split": "validation"}, "split"),
        ({"exclude": ("bogus",)}, "exclude"),
        ({"users": [1]}, "without test items"),
        ({"user_batch_size": 0}, "user_batch_size"),
    ],
)
def test_bad_arguments(kwargs, message):
    data = make_interactions([(0, 0)], [(0, 1)], 2, 3)
    with pytest.raises(ValueError, match=message):
        evaluate_full_ranking(fixed_scores(np.zeros((2, 3))), data, **kwargs)


@pytest.mark.parametrize(
    "score_fn, message",
    [
        (lambda users: np.full((len(users), 3), np.nan), "NaN"),
        (lambda users: np.zeros((len(users), 2)), r"Expected \(1, 3\)"),
    ],
)
def test_bad_scores(score_fn, message):
    data = make_interactions([(0, 0)], [(0, 1)], 1, 3)
    with pytest.raises(ValueError, match=message):
        evaluate_full_ranking(score_fn, data)


def test_on_the_released_office_split(shared_data_dir):
    from tfrec.data.loaders.maml_csv import load_maml_csv

    office = shared_data_dir / "liufancs_MAML" / "Office"
    if not (office / "train.csv").exists():
        pytest.skip("MAML Office files are absent")
    data = load_maml_csv(office / "train.csv", office / "test.csv")
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(data.num_users, data.num_items)).astype(np.float32)
    result = evaluate_full_ranking(fixed_scores(scores), data, ks=(10,))
    assert len(result.users) == 4512  # users with a test item (spec/evaluation.md A.2)
    # Random scores: recall@10 is about 10 / 2406.
    assert 0.001 < result.metrics["recall@10"] < 0.01
    first = data.test_users()[:60]
    sample = make_interactions(
        zip(*data.train.nonzero(), strict=True),
        [(u, i) for u, i in zip(*data.test.nonzero(), strict=True) if u in set(first.tolist())],
        data.num_users,
        data.num_items,
    )
    ours = evaluate_full_ranking(fixed_scores(scores), sample, ks=(10,))
    assert ours.metrics == pytest.approx(reference_full_ranking(scores, sample, 10), abs=1e-12)
    np.testing.assert_allclose(ours.per_user["ndcg@10"], result.per_user["ndcg@10"][:60])
