"""FeatureCML: CML distances plus MAML's feature projector and feature pull."""

import keras
import numpy as np
import pytest
from keras import ops

from tests.testing import assert_keras_file_round_trip
from tests.testing import random_batch
from tfrec.models import FeatureCML

NUM_USERS, NUM_ITEMS, DIM = 7, 10, 8


def make_model(seed=0, **options):
    keras.utils.set_random_seed(seed)
    features = np.random.default_rng(seed).normal(size=(NUM_ITEMS, 12)).astype(np.float32)
    return FeatureCML(NUM_USERS, NUM_ITEMS, features, embedding_dim=DIM, hidden_dim=16, **options)


def tables(model):
    users = np.asarray(ops.convert_to_numpy(model.user_embedding.embeddings), np.float64)
    items = np.asarray(ops.convert_to_numpy(model.item_embedding.embeddings), np.float64)
    projection = np.asarray(ops.convert_to_numpy(model.item_projection), np.float64)
    return users, items, projection


def test_scores_are_plain_squared_distances():
    model = make_model()
    users, items, _ = tables(model)
    expected = -((users[:, None, :] - items[None, :, :]) ** 2).sum(-1)
    ids = np.arange(NUM_USERS, dtype=np.int32)
    np.testing.assert_allclose(model.score_users_numpy(ids), expected, rtol=1e-5, atol=1e-6)
    every_item = np.tile(np.arange(NUM_ITEMS, dtype=np.int32), (NUM_USERS, 1))
    np.testing.assert_allclose(
        ops.convert_to_numpy(model.score_candidates(ids, every_item)), expected, rtol=1e-5
    )
    with pytest.raises(ValueError, match="no attention"):
        model.attention_weights(ids[:1], every_item[:1])


def test_items_start_at_the_projection_and_the_loss_adds_the_feature_pull():
    model = make_model(1, covariance_weight=0.0)
    _, items, projection = tables(model)
    np.testing.assert_allclose(items, projection, atol=1e-6)
    shift = np.full(items.shape, 0.01, np.float32)
    model.item_embedding.embeddings.assign((items + shift).astype(np.float32))
    batch = random_batch(NUM_USERS, NUM_ITEMS, batch_size=4, num_negatives=3, seed=2)

    def loss():
        return float(ops.convert_to_numpy(model.compute_loss(x=batch, y_pred=model(batch))))

    total = loss()
    model.feature_weight = 0.0  # The metric term alone.
    metric = loss()
    # feature_weight (5, code) * sum_j |q_j - F_j|^2 over all items.
    assert total - metric == pytest.approx(5.0 * (0.01**2) * NUM_ITEMS * DIM, rel=1e-3)


def test_config_round_trip(tmp_path):
    model = make_model(2)
    assert model.get_config()["use_attention"] is False
    assert model.attention is None
    batch = random_batch(NUM_USERS, NUM_ITEMS, batch_size=4, num_negatives=3, seed=3)
    assert_keras_file_round_trip(model, batch, tmp_path)
