"""NAIS (authors' code): hand-computed attention and scores, loss, explain, round trip, fit."""

import keras
import numpy as np
import pytest
import scipy.sparse as sp
from keras import ops

from tests.testing import assert_keras_file_round_trip
from tests.testing import gradients
from tfrec.models.fism import FISM
from tfrec.models.nais import NAIS
from tfrec.sampling.history_batches import HistorySampler
from tfrec.sampling.history_dataset import HistoryDataset

NUM_ITEMS = 6
PAD = NUM_ITEMS


def to_numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def hand_model(attention="prod", beta=0.5, **kwargs):
    model = NAIS(NUM_ITEMS, 2, attention_size=2, attention=attention, beta=beta, **kwargs)
    p = np.zeros((NUM_ITEMS, 2), np.float32)
    p[1], p[2], p[3] = [1.0, 0.0], [0.0, 2.0], [-1.0, 1.0]
    q = np.zeros((NUM_ITEMS, 2), np.float32)
    q[4], q[5] = [3.0, 1.0], [1.0, -2.0]
    b = np.zeros(NUM_ITEMS, np.float32)
    b[4], b[5] = 0.5, -0.25
    model.history_embeddings.assign(p)
    model.target_embeddings.assign(q)
    model.item_bias.assign(b)
    network = model.attention_network
    if attention == "prod":
        network.kernel.assign(np.eye(2, dtype=np.float32))
    else:
        network.kernel.assign(np.array([[1, 0], [0, 1], [0, 0], [1, -1]], np.float32))
    network.bias.assign(np.zeros(2, np.float32))
    return model


BATCH = {
    "user": np.array([0, 1, 2], np.int32),
    "history": np.array([[1, 2, PAD], [2, PAD, PAD], [PAD, PAD, PAD]], np.int32),
    "history_mask": np.array([[1, 1, 0], [1, 0, 0], [0, 0, 0]], bool),
    "item": np.array([4, 4, 5], np.int32),
}


def test_prod_hand_computed():
    model = hand_model("prod", beta=0.5)
    # Row 0, target 4 (q = [3, 1]): x = p * q = [3, 0], [0, 2]; W = I, b = 0, h = 1 ->
    # a = 3, 2; weights e^3 / sqrt(e^3 + e^2), e^2 / sqrt(e^3 + e^2); p . q = 3, 2.
    root = np.sqrt(np.exp(3.0) + np.exp(2.0))
    row0 = [np.exp(3.0) / root, np.exp(2.0) / root, 0.0]
    # Row 1, history of length 1: a = 2, weight e^2 / e^(2 * 0.5) = e.
    row1 = [np.e, 0.0, 0.0]
    weights = model.attention_weights(BATCH["history"], BATCH["history_mask"], BATCH["item"])
    np.testing.assert_allclose(weights, [row0, row1, [0, 0, 0]], rtol=1e-6)
    # Row 2, fully masked: the bias alone.
    expected = [3 * row0[0] + 2 * row0[1] + 0.5, 2 * np.e + 0.5, -0.25]
    np.testing.assert_allclose(to_numpy(model(BATCH)), expected, rtol=1e-6)


def test_concat_hand_computed():
    model = hand_model("concat", beta=1.0)
    # W [p; q] = [p0 + q1, p1 - q1] with q4 = [3, 1]: p1 -> relu([2, -1]) -> a = 2,
    # p2 -> relu([1, 1]) -> a = 2: softmax (beta = 1) [0.5, 0.5]; score 0.5 * 3 + 0.5 * 2.
    weights = model.attention_weights(BATCH["history"], BATCH["history_mask"], BATCH["item"])
    np.testing.assert_allclose(weights[0], [0.5, 0.5, 0.0], rtol=1e-6)
    np.testing.assert_allclose(weights[1], [1.0, 0.0, 0.0], rtol=1e-6)
    np.testing.assert_allclose(to_numpy(model(BATCH))[:2], [3.0, 2.5], rtol=1e-6)


def numpy_nais(model, history, mask, item):
    """Plain numpy NAIS logit of one row (prod form, ReLU)."""
    p = to_numpy(model.history_embeddings)
    q = to_numpy(model.target_embeddings)[item]
    network = model.attention_network
    w, b, h = (to_numpy(v) for v in (network.kernel, network.bias, network.projection))
    items = [i for i, m in zip(history, mask, strict=True) if m]
    if not items:
        return to_numpy(model.item_bias)[item]
    a = np.array([h @ np.maximum((p[i] * q) @ w + b, 0) for i in items])
    weights = np.exp(a) / np.exp(a).sum() ** model.beta
    coefficient = len(items) ** -model.alpha
    return coefficient * (weights * (p[items] @ q)).sum() + to_numpy(model.item_bias)[item]


def test_random_weights_match_numpy_with_alpha_and_candidates():
    keras.utils.set_random_seed(1)
    model = NAIS(NUM_ITEMS, 4, attention_size=3, alpha=0.5, beta=0.7, initializer_stddev=0.5)
    items = np.array([[4, 5, 0], [5, 4, 3], [1, 4, 5]], np.int32)
    scores = to_numpy(model.score_candidates(BATCH["history"], BATCH["history_mask"], items))
    for r in range(3):
        for m in range(3):
            expected = numpy_nais(model, BATCH["history"][r], BATCH["history_mask"][r], items[r, m])
            assert scores[r, m] == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_explain_contributions_add_up():
    model = hand_model("prod", beta=0.5, alpha=0.5)
    result = model.explain(BATCH["history"], BATCH["history_mask"], BATCH["item"])
    root = np.sqrt(np.exp(3.0) + np.exp(2.0))
    expected0 = np.array([3 * np.exp(3.0), 2 * np.exp(2.0), 0.0]) / root / np.sqrt(2)
    np.testing.assert_allclose(result["contributions"][0], expected0, rtol=1e-6)
    np.testing.assert_allclose(
        result["contributions"].sum(-1) + result["bias"], to_numpy(model(BATCH)), rtol=1e-6
    )
    np.testing.assert_allclose(result["logits"], to_numpy(model(BATCH)), rtol=1e-6)


def test_loss_includes_attention_l2_and_finite_gradients():
    model = hand_model("prod", beta=0.5, history_l2=0.01, target_l2=0.02, attention_l2=0.1)
    labels = np.array([1.0, 0.0, 1.0], np.float32)
    logits = to_numpy(model(BATCH)).astype(np.float64)
    s = 1 / (1 + np.exp(-logits))
    log_loss = -(labels * np.log(s + 1e-7) + (1 - labels) * np.log(1 - s + 1e-7)).mean()
    # |P|^2 = 7, |Q|^2 = 15, |W|^2 = |I|^2 = 2 (bias and h not regularised).
    expected = log_loss + 0.01 * 7 + 0.02 * 15 + 0.1 * 2
    loss = model.compute_loss(x=BATCH, y=labels, y_pred=model(BATCH))
    assert float(to_numpy(loss)) == pytest.approx(expected, rel=1e-5)

    def function(p):
        table = ops.concatenate([p, ops.zeros((1, 2))], axis=0)
        # A one-hot product, not a gather: dense gradients on every backend.
        history = ops.matmul(ops.one_hot(BATCH["history"], NUM_ITEMS + 1), table)
        q = ops.take(model.target_embeddings, BATCH["item"], axis=0)[:, None, :]
        mask = ops.cast(BATCH["history_mask"], "float32")
        return model.history_weights(history, mask, q)

    (grad,) = gradients(function, to_numpy(model.history_embeddings))
    assert np.isfinite(grad).all()


def test_load_item_weights_from_fism_and_frozen_embeddings():
    fism = FISM(NUM_ITEMS, 2, initializer_stddev=1.0)
    nais = NAIS(NUM_ITEMS, 2, embeddings_trainable=False)
    nais.load_item_weights(fism)
    for name in ("history_embeddings", "target_embeddings", "item_bias"):
        np.testing.assert_array_equal(to_numpy(getattr(nais, name)), to_numpy(getattr(fism, name)))
    assert {v.name for v in nais.trainable_weights} == {"kernel", "bias", "projection"}
    with pytest.raises(ValueError, match="Expected \\(6, 3\\)"):
        NAIS(NUM_ITEMS, 3).load_item_weights(fism)


@pytest.mark.parametrize("attention", ["prod", "concat"])
def test_keras_file_round_trip(tmp_path, attention):
    keras.utils.set_random_seed(0)
    model = NAIS(NUM_ITEMS, 3, attention_size=4, attention=attention, activation="tanh", beta=0.8)
    loaded = assert_keras_file_round_trip(model, BATCH, tmp_path)
    assert loaded.attention == attention and loaded.beta == pytest.approx(0.8)
    assert loaded.attention_network.activation == "tanh"


def test_training_lowers_the_loss():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    rows, cols = [], []
    for user in range(20):
        group = 10 * (user // 10)
        for item in rng.choice(10, 5, replace=False):
            rows.append(user)
            cols.append(group + item)
    # One user with a single item: its positive rows have an empty history.
    rows.append(20)
    cols.append(3)
    train = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(21, 20))
    sampler = HistorySampler(train, num_negatives=4, batch_size=64, seed=0)
    model = NAIS(20, 8, attention_size=8, initializer_stddev=0.1)
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    history = model.fit(HistoryDataset(sampler), epochs=8, verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert np.isfinite(losses).all()
    assert losses[-1] < 0.7 * losses[0]
    assert all(np.isfinite(to_numpy(w)).all() for w in model.weights)


def test_validation():
    with pytest.raises(ValueError, match="form='dot'"):
        NAIS(3, attention="dot")
    with pytest.raises(ValueError, match="attention_l2=-1"):
        NAIS(3, attention_l2=-1)
