"""FISM (NAIS-code variant): hand-computed scores, log loss, 1 + N scorer, round trip, fit."""

import keras
import numpy as np
import pytest
import scipy.sparse as sp
from keras import ops

from tests.testing import assert_keras_file_round_trip
from tfrec.models.fism import FISM
from tfrec.sampling.history_batches import HistorySampler
from tfrec.sampling.history_dataset import HistoryDataset

NUM_ITEMS = 6
PAD = NUM_ITEMS


def to_numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def hand_model(alpha=0.0, **kwargs):
    model = FISM(NUM_ITEMS, 2, alpha=alpha, **kwargs)
    p = np.zeros((NUM_ITEMS, 2), np.float32)
    p[1], p[2], p[3] = [1.0, 0.0], [0.0, 2.0], [-1.0, 1.0]
    q = np.zeros((NUM_ITEMS, 2), np.float32)
    q[4], q[5] = [3.0, 1.0], [1.0, -2.0]
    b = np.zeros(NUM_ITEMS, np.float32)
    b[4], b[5] = 0.5, -0.25
    model.history_embeddings.assign(p)
    model.target_embeddings.assign(q)
    model.item_bias.assign(b)
    return model


BATCH = {
    "user": np.array([0, 1, 2, 3], np.int32),
    "history": np.array([[1, 2, PAD], [2, PAD, PAD], [PAD, PAD, PAD], [1, 2, 3]], np.int32),
    "history_mask": np.array([[1, 1, 0], [1, 0, 0], [0, 0, 0], [1, 1, 1]], bool),
    "item": np.array([4, 4, 5, 5], np.int32),
}


def test_hand_computed_scores():
    model = hand_model()
    # Row 0: (p1 + p2) . q4 + b4 = [1, 2] . [3, 1] + 0.5 = 5.5.
    # Row 1 (history of length 1): p2 . q4 + b4 = 2 + 0.5 = 2.5.
    # Row 2 (fully masked): b5 = -0.25.
    # Row 3: (p1 + p2 + p3) . q5 + b5 = [0, 3] . [1, -2] - 0.25 = -6.25.
    np.testing.assert_allclose(to_numpy(model(BATCH)), [5.5, 2.5, -0.25, -6.25], rtol=1e-6)


def test_alpha_normalisation():
    model = hand_model(alpha=0.5)
    # n_u^-0.5: 5 / sqrt(2) + 0.5; 2 / 1 + 0.5; empty history -> coefficient 1; -6 / sqrt(3).
    expected = [5 / np.sqrt(2) + 0.5, 2.5, -0.25, -6 / np.sqrt(3) - 0.25]
    np.testing.assert_allclose(to_numpy(model(BATCH)), expected, rtol=1e-6)


def test_padding_ignored_even_if_the_pad_id_differs():
    model = hand_model()
    batch = dict(BATCH, history=np.where(BATCH["history_mask"], BATCH["history"], 3))
    np.testing.assert_allclose(to_numpy(model(batch)), to_numpy(model(BATCH)), rtol=1e-6)


def test_candidates_share_the_history():
    model = hand_model()
    items = np.array([[4, 5], [5, 4], [4, 5], [5, 4]], np.int32)
    scores = to_numpy(model.score_candidates(BATCH["history"], BATCH["history_mask"], items))
    for m in range(2):
        single = to_numpy(model(dict(BATCH, item=items[:, m])))
        np.testing.assert_allclose(scores[:, m], single, rtol=1e-6)
    inputs = {k: v for k, v in BATCH.items() if k != "item"}
    np.testing.assert_allclose(to_numpy(model(dict(inputs, items=items))), scores)


def test_explain_contributions_add_up():
    model = hand_model(alpha=0.5)
    result = model.explain(BATCH["history"], BATCH["history_mask"], BATCH["item"])
    np.testing.assert_array_equal(result["weights"], BATCH["history_mask"].astype(np.float32))
    # Row 0: p1 . q4 = 3, p2 . q4 = 2, scaled by 2^-0.5.
    np.testing.assert_allclose(result["contributions"][0], [3 / np.sqrt(2), 2 / np.sqrt(2), 0])
    np.testing.assert_allclose(
        result["contributions"].sum(-1) + result["bias"], to_numpy(model(BATCH)), rtol=1e-6
    )


@pytest.mark.parametrize("epsilon", [1e-7, 0.0])
def test_loss_is_mean_log_loss_plus_full_table_l2(epsilon):
    model = hand_model(history_l2=0.01, target_l2=0.02, log_loss_epsilon=epsilon)
    labels = np.array([1.0, 0.0, 1.0, 0.0], np.float32)
    logits = np.array([5.5, 2.5, -0.25, -6.25])
    s = 1 / (1 + np.exp(-logits))
    log_loss = -(labels * np.log(s + epsilon) + (1 - labels) * np.log(1 - s + epsilon)).mean()
    # |P|^2 = 1 + 4 + 2 = 7, |Q|^2 = 10 + 5 = 15.
    expected = log_loss + 0.01 * 7 + 0.02 * 15
    loss = model.compute_loss(x=BATCH, y=labels, y_pred=model(BATCH))
    assert float(to_numpy(loss)) == pytest.approx(expected, rel=1e-5)


def test_sampled_scorer_uses_full_and_clipped_histories():
    model = hand_model()
    # User 0: items 1, 2, 3 (times 3, 1, 2 -> order 2, 3, 1); user 1: item 2.
    train = sp.csr_matrix(
        (np.ones(4, np.float32), ([0, 0, 0, 1], [1, 2, 3, 2])), shape=(2, NUM_ITEMS)
    )
    times = sp.csr_matrix(
        (np.array([3.0, 1.0, 2.0, 1.0]), ([0, 0, 0, 1], [1, 2, 3, 2])), shape=(2, NUM_ITEMS)
    )
    items = np.array([[4, 5], [5, 4]], np.int32)
    scores = model.sampled_scorer(train)(np.array([0, 1]), items)
    # User 0: sum p = [0, 3]: q4 -> 3 + 0.5, q5 -> -6 - 0.25; user 1: p2 = [0, 2].
    np.testing.assert_allclose(scores, [[3.5, -6.25], [-4.25, 2.5]], rtol=1e-6)
    # Clipped to the latest 2 by time: items 3, 1 -> sum p = [0, 1].
    clipped = model.sampled_scorer(train, max_history_length=2, timestamps=times)
    np.testing.assert_allclose(
        clipped(np.array([0, 1]), items), [[1.5, -2.25], [-4.25, 2.5]], rtol=1e-6
    )


def test_target_excluded_in_training_rows():
    model = hand_model()
    train = sp.csr_matrix((np.ones(3, np.float32), ([0, 0, 0], [1, 2, 4])), shape=(1, NUM_ITEMS))
    sampler = HistorySampler(train, num_negatives=1, batch_size=6, seed=0)
    inputs, labels = sampler.batch(0, 0)
    p = to_numpy(model.history_embeddings)
    q = to_numpy(model.target_embeddings)
    b = to_numpy(model.item_bias)
    for r in range(len(labels)):
        item = inputs["item"][r]
        history = [i for i in (1, 2, 4) if not (labels[r] == 1 and i == item)]
        expected = p[history].sum(0) @ q[item] + b[item]
        assert to_numpy(model(inputs))[r] == pytest.approx(expected, rel=1e-6)


def test_keras_file_round_trip(tmp_path):
    model = FISM(NUM_ITEMS, 3, alpha=0.3, history_l2=0.5, embeddings_trainable=False)
    loaded = assert_keras_file_round_trip(model, BATCH, tmp_path)
    assert loaded.alpha == pytest.approx(0.3) and loaded.history_l2 == 0.5
    assert not loaded.embeddings_trainable and not loaded.trainable_weights


def test_training_lowers_the_loss():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    # Two groups of users and items: users 0-9 use items 0-9, users 10-19 items 10-19.
    rows, cols = [], []
    for user in range(20):
        group = 10 * (user // 10)
        for item in rng.choice(10, 5, replace=False):
            rows.append(user)
            cols.append(group + item)
    train = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(20, 20))
    sampler = HistorySampler(train, num_negatives=4, batch_size=50, seed=0)
    model = FISM(20, 8, initializer_stddev=0.1)
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    history = model.fit(HistoryDataset(sampler), epochs=8, verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert losses[-1] < 0.7 * losses[0]
    assert np.isfinite(losses).all()


def test_validation():
    with pytest.raises(ValueError, match="num_items=0"):
        FISM(0)
    with pytest.raises(ValueError, match="history_l2=-1"):
        FISM(3, history_l2=-1)
