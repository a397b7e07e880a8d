"""The callback writes plain-float metrics into the fit History; the t-test matches scipy."""

import keras
import numpy as np
import pytest
import scipy.stats
from keras import ops

from tests.evaluation.helpers import random_interactions
from tfrec.data.splits import sample_test_negatives
from tfrec.evaluation import RankingEvaluationCallback
from tfrec.evaluation import RankingResult
from tfrec.evaluation import evaluate_full_ranking
from tfrec.evaluation import evaluate_sampled
from tfrec.evaluation import paired_t_test


class TinyDotModel(keras.Model):
    """The least a model needs for the callback: `score_users` and `score_items`."""

    def __init__(self, num_users, num_items, dim=4, **kwargs):
        super().__init__(**kwargs)
        self.users = keras.layers.Embedding(num_users, dim, embeddings_initializer="normal")
        self.items = keras.layers.Embedding(num_items, dim, embeddings_initializer="normal")

    def call(self, inputs):
        return ops.sum(self.users(inputs["user"]) * self.items(inputs["item"]), axis=-1)

    def score_users(self, user_ids):
        return ops.matmul(self.users(user_ids), ops.transpose(self.items.embeddings))

    def score_items(self, user_ids, item_ids):
        return ops.sum(self.users(user_ids)[:, None, :] * self.items(item_ids), axis=-1)


def fit_tiny(data, callbacks, epochs=3):
    keras.utils.set_random_seed(0)
    model = TinyDotModel(data.num_users, data.num_items)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    pairs = data.train_pairs()
    x = {"user": pairs[:, 0], "item": pairs[:, 1]}
    history = model.fit(
        x,
        np.ones(len(pairs), np.float32),
        batch_size=64,
        epochs=epochs,
        callbacks=callbacks,
        verbose=0,
    )
    return model, history


def model_scores(model):
    return lambda users: ops.convert_to_numpy(model.score_users(ops.convert_to_tensor(users)))


def test_full_protocol_every_two_epochs_and_at_the_last_one():
    data = random_interactions(0)
    callback = RankingEvaluationCallback(data, ks=(5,), every_n_epochs=2, verbose=0)
    model, history = fit_tiny(data, [callback], epochs=3)
    # Evaluated after epoch 2 and, as it is the last, epoch 3 (0-based 1 and 2).
    assert [epoch for epoch, _ in callback.history] == [1, 2]
    assert len(history.history["ndcg@5"]) == 2
    assert len(history.history["loss"]) == 3
    assert all(type(v) is float for v in history.history["ndcg@5"])
    final = callback.history[-1][1]
    assert set(final) == {"precision@5", "recall@5", "ndcg@5", "hr@5"}
    expected = evaluate_full_ranking(model_scores(model), data, ks=(5,)).metrics
    assert final == pytest.approx(expected)
    assert history.history["hr@5"][-1] == pytest.approx(expected["hr@5"])


def test_sampled_protocol_with_a_prefix():
    data = sample_test_negatives(_one_test_item_each(random_interactions(1)), 10, seed=0)
    callback = RankingEvaluationCallback(
        data, protocol="sampled", ks=(3,), prefix="val_", verbose=0
    )
    model, history = fit_tiny(data, [callback], epochs=2)
    assert sorted(callback.history[-1][1]) == ["val_hr@3", "val_ndcg@3"]
    assert len(history.history["val_hr@3"]) == 2
    scores = lambda u, i: ops.convert_to_numpy(model.score_items(u, i))  # noqa: E731
    expected = evaluate_sampled(scores, data, ks=(3,)).metrics
    assert history.history["val_ndcg@3"][-1] == pytest.approx(expected["ndcg@3"])


class StopAfterSecondEpoch(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            self.model.stop_training = True


@pytest.mark.parametrize("evaluate_at_end, expected_epochs", [(True, [1]), (False, [])])
def test_early_stop_is_evaluated_at_train_end(evaluate_at_end, expected_epochs):
    data = random_interactions(2)
    callback = RankingEvaluationCallback(
        data, every_n_epochs=10, evaluate_at_end=evaluate_at_end, verbose=0
    )
    fit_tiny(data, [callback, StopAfterSecondEpoch()], epochs=50)
    assert [epoch for epoch, _ in callback.history] == expected_epochs


def test_custom_score_fn_and_verbose_output(capsys):
    data = random_interactions(3)
    constant = np.tile(np.arange(data.num_items, dtype=np.float32), (data.num_users, 1))
    callback = RankingEvaluationCallback(
        data, ks=(10,), score_fn=lambda users: constant[users], verbose=1
    )
    fit_tiny(data, [callback], epochs=1)
    expected = evaluate_full_ranking(lambda users: constant[users], data).metrics
    assert callback.history == [(0, pytest.approx(expected))]
    assert "epoch 1: precision@10" in capsys.readouterr().out


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"protocol": "loo"}, "protocol"),
        ({"every_n_epochs": 0}, "every_n_epochs"),
        ({"protocol": "sampled", "split": "validation"}, "split"),
    ],
)
def test_callback_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RankingEvaluationCallback(random_interactions(0), **kwargs)


def test_a_model_without_score_users_is_a_clear_error():
    data = random_interactions(0)
    model = keras.Sequential([keras.layers.Dense(1)])
    callback = RankingEvaluationCallback(data)
    callback.set_model(model)
    with pytest.raises(ValueError, match="score_users"):
        callback.evaluate()


def test_paired_t_test_matches_scipy_on_common_users():
    rng = np.random.default_rng(0)
    a_values, b_values = rng.random(50), rng.random(50) * 0.9
    a = RankingResult({"ndcg@10": a_values.mean()}, {"ndcg@10": a_values}, np.arange(50), "a")
    # b evaluated users 10..59 (in another order): only users 10..49 are common.
    b_users = np.arange(59, 9, -1)
    b_by_user = np.concatenate([b_values[10:], rng.random(10)])  # users 10..59
    b = RankingResult({"ndcg@10": 0.0}, {"ndcg@10": b_by_user[::-1]}, b_users, "b")
    test = paired_t_test(a, b, "ndcg@10")
    expected = scipy.stats.ttest_rel(a_values[10:], b_values[10:])
    assert test.num_users == 40
    assert test.statistic == pytest.approx(expected.statistic)
    assert test.p_value == pytest.approx(expected.pvalue)
    assert test.mean_difference == pytest.approx(np.mean(a_values[10:] - b_values[10:]))


def test_paired_t_test_on_two_evaluations():
    data = random_interactions(4)
    rng = np.random.default_rng(4)
    good = data.test.toarray() + rng.normal(0, 0.3, (data.num_users, data.num_items))
    noise = rng.normal(size=(data.num_users, data.num_items))
    a = evaluate_full_ranking(lambda users: good[users], data)
    b = evaluate_full_ranking(lambda users: noise[users], data)
    test = paired_t_test(a, b, "ndcg@10")
    expected = scipy.stats.ttest_rel(a.per_user["ndcg@10"], b.per_user["ndcg@10"])
    assert test.p_value == pytest.approx(expected.pvalue) and test.p_value < 0.05
    assert test.mean_difference == pytest.approx(a.metrics["ndcg@10"] - b.metrics["ndcg@10"])
    without = evaluate_full_ranking(lambda users: noise[users], data, return_per_user=False)
    with pytest.raises(ValueError, match="return_per_user=False"):
        paired_t_test(a, without, "ndcg@10")
    with pytest.raises(ValueError, match="metric='hr@5'"):
        paired_t_test(a, b, "hr@5")


def _one_test_item_each(data):
    """Keeps each user's lowest test item (a leave-one-out split for the sampled protocol)."""
    test = data.test.tolil()
    for row in test.rows:
        del row[1:]
    for row in test.data:
        del row[1:]
    data.test = test.tocsr()
    return data
