"""The callback writes metrics into the fit History; the paired t-test matches scipy."""

import numpy as np
import pytest
import scipy.stats

from tests.testing import random_batch
from tfrec.data.synthetic import make_synthetic
from tfrec.evaluation import RankingEvaluationCallback
from tfrec.evaluation import evaluate_full_ranking
from tfrec.evaluation import paired_t_test
from tfrec.evaluation.ranking_result import RankingResult
from tfrec.models import CML


def test_callback_puts_metrics_into_history():
    data = make_synthetic(num_users=60, num_items=40, interactions_per_user=8, num_clusters=3)
    model = CML(data.num_users, data.num_items, 8)
    model.compile(optimizer="adagrad")
    callback = RankingEvaluationCallback(data, ks=(5,), every_n_epochs=2, verbose=0)
    batch = random_batch(data.num_users, data.num_items, 32, 2)
    history = model.fit(x=batch, batch_size=32, epochs=3, callbacks=[callback], verbose=0)
    # Evaluated after epoch 2 and, being the last, epoch 3.
    assert [epoch for epoch, _ in callback.history] == [1, 2]
    assert len(history.history["ndcg@5"]) == 2
    expected = evaluate_full_ranking(model.score_users_numpy, data, ks=(5,)).metrics
    assert callback.history[-1][1]["ndcg@5"] == pytest.approx(expected["ndcg@5"])


def test_paired_t_test_matches_scipy_on_common_users():
    rng = np.random.default_rng(0)
    a_values, b_values = rng.random(50), rng.random(50) * 0.9
    a = RankingResult({"ndcg@10": a_values.mean()}, {"ndcg@10": a_values}, np.arange(50), "a")
    # b evaluated users 10..59: only 40 users are common.
    b_users = np.arange(10, 60)
    b = RankingResult(
        {"ndcg@10": 0.0}, {"ndcg@10": np.concatenate([b_values[10:], rng.random(10)])}, b_users, "b"
    )
    test = paired_t_test(a, b, "ndcg@10")
    expected = scipy.stats.ttest_rel(a_values[10:], b_values[10:])
    assert test.num_users == 40
    assert test.p_value == pytest.approx(expected.pvalue)
    assert test.mean_difference == pytest.approx(np.mean(a_values[10:] - b_values[10:]))
