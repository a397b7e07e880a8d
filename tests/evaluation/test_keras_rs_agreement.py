"""Where keras-rs 0.4.0 ranking metrics agree with the protocols, and where they do not.

The disagreements are pinned here so the explanation in `tfrec.evaluation.full_ranking`'s
docstring fails loudly if a keras-rs release changes them.
"""

import keras_rs
import numpy as np
import pytest

from tests.evaluation.helpers import make_interactions
from tests.evaluation.helpers import random_interactions
from tfrec.evaluation import evaluate_full_ranking
from tfrec.evaluation import evaluate_sampled


def keras_rs_value(metric, labels, scores, mask=None):
    y_true = labels if mask is None else {"labels": labels, "mask": mask}
    metric.update_state(y_true, np.asarray(scores, np.float32))
    return float(metric.result())


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("k", [1, 5, 10])
def test_full_ranking_recall_ndcg_precision_agree_without_ties(seed, k):
    data = random_interactions(seed, num_users=40, num_items=60)
    scores = np.random.default_rng(seed).normal(size=(data.num_users, data.num_items))
    ours = evaluate_full_ranking(lambda users: scores[users], data, ks=(k,)).metrics
    users = data.test_users()  # keras-rs would count users without test items as 0
    labels = data.test[users].toarray()
    mask = data.train[users].toarray() == 0
    for name, cls in (
        ("recall", keras_rs.metrics.RecallAtK),
        ("ndcg", keras_rs.metrics.NDCG),
        ("precision", keras_rs.metrics.PrecisionAtK),  # K <= candidates here
    ):
        value = keras_rs_value(cls(k=k, shuffle_ties=False), labels, scores[users], mask)
        assert ours[f"{name}@{k}"] == pytest.approx(value, rel=1e-5), name


@pytest.mark.parametrize("k", [1, 3, 10])
def test_sampled_hr_and_ndcg_agree_without_ties(k):
    rng = np.random.default_rng(k)
    num_users, num_items = 30, 50
    negatives = rng.integers(1, num_items, (num_users, 20))
    negatives[rng.random(negatives.shape) < 0.3] = -1
    negatives[:, 0] = 1
    data = make_interactions(
        [], [(u, 0) for u in range(num_users)], num_users, num_items, negatives
    )
    table = rng.normal(size=(num_users, num_items)).astype(np.float32)
    ours = evaluate_sampled(lambda u, i: table[u[:, None], i], data, ks=(k,)).metrics
    candidates = np.concatenate([np.zeros((num_users, 1), int), negatives], axis=1)
    scores = table[np.arange(num_users)[:, None], np.maximum(candidates, 0)]
    labels = (np.arange(candidates.shape[1]) == 0)[None].repeat(num_users, 0).astype(np.float32)
    mask = candidates >= 0
    hr = keras_rs_value(keras_rs.metrics.RecallAtK(k=k), labels, scores, mask)
    ndcg = keras_rs_value(keras_rs.metrics.NDCG(k=k), labels, scores, mask)
    assert ours[f"hr@{k}"] == pytest.approx(hr, rel=1e-5)
    assert ours[f"ndcg@{k}"] == pytest.approx(ndcg, rel=1e-5)


def test_keras_rs_precision_divides_by_the_remaining_candidates_not_k():
    labels = np.array([[1, 0, 0, 0]], np.float32)
    mask = np.array([[True, True, False, False]])
    metric = keras_rs.metrics.PrecisionAtK(k=10, shuffle_ties=False)
    assert keras_rs_value(metric, labels, [[3.0, 2.0, 1.0, 0.0]], mask) == pytest.approx(1 / 2)
    data = make_interactions([(0, 2), (0, 3)], [(0, 0)], 1, 4)
    ours = evaluate_full_ranking(lambda users: np.array([[3.0, 2.0, 1.0, 0.0]]), data)
    assert ours.metrics["precision@10"] == pytest.approx(1 / 10)  # MAML: H / K


def test_keras_rs_breaks_ties_at_random_even_with_shuffle_ties_false():
    labels = np.array([[0, 1, 0, 0]], np.float32)
    values = {
        keras_rs_value(
            keras_rs.metrics.RecallAtK(k=1, shuffle_ties=False, seed=seed), labels, [[1.0] * 4]
        )
        for seed in range(20)
    }
    assert values == {0.0, 1.0}  # tf.nn.top_k would always pick item 0 -> 0.0


def test_keras_rs_recall_drops_masked_test_items_from_the_denominator():
    labels = np.array([[1, 1, 0, 0]], np.float32)
    mask = np.array([[False, True, True, True]])  # item 0: also a training item
    metric = keras_rs.metrics.RecallAtK(k=2, shuffle_ties=False)
    assert keras_rs_value(metric, labels, [[3.0, 2.0, 1.0, 0.0]], mask) == pytest.approx(1.0)
    data = make_interactions([(0, 0)], [(0, 0), (0, 1)], 1, 4)
    ours = evaluate_full_ranking(lambda users: np.array([[3.0, 2.0, 1.0, 0.0]]), data, ks=(2,))
    assert ours.metrics["recall@2"] == pytest.approx(1 / 2)  # MAML: H / |T_u|


def test_keras_rs_averages_lists_without_relevant_items_as_zero():
    labels = np.array([[1, 0, 0], [0, 0, 0]], np.float32)
    metric = keras_rs.metrics.NDCG(k=2, shuffle_ties=False)
    assert keras_rs_value(metric, labels, [[3.0, 2.0, 1.0]] * 2) == pytest.approx(1 / 2)
