"""MAML against a numpy transcription of the authors' code (spec maml.md §2-3)."""

import keras
import numpy as np
import pytest
from keras import ops

from tests.testing import assert_keras_file_round_trip
from tests.testing import random_batch
from tfrec.models import MAML

NUM_USERS, NUM_ITEMS, DIM, HIDDEN = 9, 12, 8, 16


def numpy_of(variable):
    return np.asarray(ops.convert_to_numpy(variable), dtype=np.float64)


def normalize(x):
    return x / np.sqrt(np.maximum((x**2).sum(-1, keepdims=True), 1e-12))


def reference_fusion(model, features):
    """§2.1: n -> ReLU -> n -> ReLU -> n -> ReLU -> linear -> scale -> clip."""
    f = model.fusion
    dense = [f.layer_1, f.layer_2, f.layer_3, f.output_layer]
    kernels = [(numpy_of(d.kernel), numpy_of(d.bias)) for d in dense]
    h = np.maximum(normalize(features) @ kernels[0][0] + kernels[0][1], 0)
    h = np.maximum(normalize(h) @ kernels[1][0] + kernels[1][1], 0)
    h = np.maximum(normalize(h) @ kernels[2][0] + kernels[2][1], 0)
    z = h @ kernels[3][0] + kernels[3][1]
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    return z / np.maximum(norms, 1.0)


def reference_scores(model, users, items):
    """§2.2-2.3 with the explicit concatenation c = n([p; q; F])."""
    p = numpy_of(model.user_embedding.embeddings)[users][:, None, :]
    q = numpy_of(model.item_embedding.embeddings)[items]
    projection = numpy_of(model.item_projection)[items]
    c = normalize(np.concatenate([np.broadcast_to(p, q.shape), q, projection], axis=-1))
    b1, beta1 = numpy_of(model.attention.hidden.kernel), numpy_of(model.attention.hidden.bias)
    b2 = numpy_of(model.attention.output_layer.kernel)
    beta2 = numpy_of(model.attention.output_layer.bias)
    e = np.tanh(c @ b1 + beta1)
    a_hat = np.maximum(normalize(e) @ b2 + beta2, 0)
    a = np.exp(a_hat) / np.exp(a_hat).sum(-1, keepdims=True) * DIM
    return -(a**2 * (p - q) ** 2).sum(-1), a


def make_model(seed=0, **options):
    keras.utils.set_random_seed(seed)
    features = np.random.default_rng(seed).normal(size=(NUM_ITEMS, 20)).astype(np.float32)
    model = MAML(NUM_USERS, NUM_ITEMS, features, embedding_dim=DIM, hidden_dim=HIDDEN, **options)
    return model, features


@pytest.mark.parametrize("seed", [0, 1])
def test_projection_and_item_init_follow_the_code(seed):
    model, features = make_model(seed)
    expected = reference_fusion(model, features.astype(np.float64))
    np.testing.assert_allclose(numpy_of(model.item_projection), expected, rtol=1e-4, atol=1e-5)
    # V <- F before training (spec §6); every F row is inside the unit ball.
    np.testing.assert_allclose(
        numpy_of(model.item_embedding.embeddings), expected, rtol=1e-4, atol=1e-5
    )
    assert np.linalg.norm(expected, axis=1).max() <= 1.0 + 1e-6


@pytest.mark.parametrize("seed", [0, 1])
def test_scores_match_the_reference_and_attention_sums_to_f(seed):
    model, _ = make_model(seed, init_items_from_features=False)
    batch = random_batch(NUM_USERS, NUM_ITEMS, 6, 3, seed=seed)
    items = np.concatenate([batch["positive"][:, None], batch["negatives"]], axis=1)
    expected, attention = reference_scores(model, batch["user"], items)
    np.testing.assert_allclose(ops.convert_to_numpy(model(batch)), expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(attention.sum(-1), DIM, rtol=1e-6)


def test_plain_softmax_ablation_sums_to_one():
    model, _ = make_model(attention_normalization="softmax")
    users = ops.convert_to_tensor(np.zeros((2, 1, DIM), np.float32) + 0.1)
    weights = model.attention(users, users, users)
    np.testing.assert_allclose(ops.convert_to_numpy(ops.sum(weights, -1)), 1.0, rtol=1e-5)


def test_loss_matches_the_code():
    model, _ = make_model(2)
    batch = random_batch(NUM_USERS, NUM_ITEMS, 8, 3, seed=2)
    items = np.concatenate([batch["positive"][:, None], batch["negatives"]], axis=1)
    scores, _ = reference_scores(model, batch["user"], items)
    d = -scores
    impostors = (d[:, :1] - d[:, 1:] + 1.6) > 0
    metric = (
        np.maximum(d[:, 0] - d[:, 1:].min(1) + 1.6, 0) * np.log(impostors.mean(1) * NUM_ITEMS + 1)
    ).sum()
    v, u = numpy_of(model.item_embedding.embeddings), numpy_of(model.user_embedding.embeddings)
    feature = 5.0 * ((v - numpy_of(model.item_projection)) ** 2).sum()
    rows = np.concatenate([v, u]) - np.concatenate([v, u]).mean(0)
    covariance = rows.T @ rows / len(rows)
    expected = metric + feature + 5.0 * (covariance.sum() - np.trace(covariance))
    actual = float(ops.convert_to_numpy(model.compute_loss(x=batch, y_pred=model(batch))))
    assert actual == pytest.approx(expected, rel=1e-4)


def test_full_catalogue_scores_equal_candidate_scores():
    model, _ = make_model(3)
    users = np.arange(NUM_USERS, dtype=np.int32)
    every_item = np.tile(np.arange(NUM_ITEMS, dtype=np.int32), (NUM_USERS, 1))
    np.testing.assert_allclose(
        model.score_users_numpy(users),
        ops.convert_to_numpy(model.score_candidates(users, every_item)),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize("paper_mode", [False, True])
def test_code_mode_trains_only_the_tables(paper_mode):
    model, _ = make_model(4, train_attention_and_fusion=paper_mode)
    frozen_before = [numpy_of(w) for w in model.attention.weights + model.fusion.weights]
    tables_before = numpy_of(model.user_embedding.embeddings)
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    batch = random_batch(NUM_USERS, NUM_ITEMS, 16, 3, seed=4)
    model.fit(x=batch, batch_size=16, epochs=3, verbose=0)
    frozen_after = [numpy_of(w) for w in model.attention.weights + model.fusion.weights]
    changed = [not np.allclose(a, b) for a, b in zip(frozen_before, frozen_after, strict=True)]
    assert any(changed) == paper_mode
    assert not np.allclose(tables_before, numpy_of(model.user_embedding.embeddings))
    assert np.linalg.norm(numpy_of(model.item_embedding.embeddings), axis=1).max() <= 1 + 1e-5


def test_bad_features_and_options():
    with pytest.raises(ValueError, match=r"Expected \(5, d_in\)"):
        MAML(3, 5, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="feature_loss_form"):
        MAML(3, 5, np.zeros((5, 2)), feature_loss_form="cubic")


def test_keras_file_round_trip_keeps_features_and_projection(tmp_path):
    model, _ = make_model(5)
    batch = random_batch(NUM_USERS, NUM_ITEMS, 4, 2)
    loaded = assert_keras_file_round_trip(model, batch, tmp_path)
    np.testing.assert_array_equal(numpy_of(loaded.item_projection), numpy_of(model.item_projection))
    assert loaded.train_attention_and_fusion is False and loaded.feature_dim == 20


@pytest.mark.parametrize("num_items", [16, 37])
def test_block_scoring_covers_every_item_once(num_items, monkeypatch):
    """Several item blocks, the last one padded: the same scores as one candidate call."""
    import tfrec.models.maml as maml_module

    monkeypatch.setattr(maml_module, "SCORE_CHUNK_ITEMS", 16)
    keras.utils.set_random_seed(5)
    features = np.random.default_rng(5).normal(size=(num_items, 20)).astype(np.float32)
    model = MAML(NUM_USERS, num_items, features, embedding_dim=DIM, hidden_dim=HIDDEN)
    users = np.arange(NUM_USERS, dtype=np.int32)
    every_item = np.tile(np.arange(num_items, dtype=np.int32), (NUM_USERS, 1))
    expected, _ = reference_scores(model, users, every_item)
    np.testing.assert_allclose(model.score_users_numpy(users), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        ops.convert_to_numpy(model.score_users(users)), expected, rtol=1e-5, atol=1e-6
    )


def test_attention_weights_match_the_reference():
    model, _ = make_model(6)
    users = np.array([0, 3, 8], dtype=np.int32)
    items = np.array([[0, 1], [5, 11], [7, 7]], dtype=np.int32)
    _, expected = reference_scores(model, users, items)
    np.testing.assert_allclose(
        ops.convert_to_numpy(model.attention_weights(users, items)), expected, rtol=1e-5
    )
