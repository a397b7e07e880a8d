"""SML: the SML code's loss against a hand computation, margin clipping, training."""

import keras
import numpy as np
import pytest
from keras import ops

from tfrec.data.synthetic import make_synthetic
from tfrec.models.sml import SML
from tfrec.training import get_preset
from tfrec.training.experiment import run_experiment


def test_loss_is_the_sml_code_formula():
    keras.utils.set_random_seed(0)
    model = SML(3, 4, 2, item_weight=0.5, margin_weight=2.0, initial_margin=0.3)
    users = np.array([[0.1, 0.2], [0.5, -0.4], [0.0, 0.3]], np.float32)
    items = np.array([[0.2, 0.2], [-0.3, 0.1], [0.4, -0.5], [0.0, 0.0]], np.float32)
    model.user_embedding.embeddings.assign(users)
    model.item_embedding.embeddings.assign(items)
    model.user_margins.assign(np.array([0.3, 0.8, 0.1], np.float32))
    model.item_margins.assign(np.array([0.2, 0.6, 0.9, 0.4], np.float32))
    batch = {
        "user": np.array([0, 1]),
        "positive": np.array([1, 2]),
        "negatives": np.array([[3], [0]]),
    }
    scores = model(batch)
    loss = float(ops.convert_to_numpy(model.compute_loss(x=batch, y_pred=scores)))

    def d(a, b):
        return float(((a - b) ** 2).sum())

    expected_user = max(0, d(users[0], items[1]) - d(users[0], items[3]) + 0.3) + max(
        0, d(users[1], items[2]) - d(users[1], items[0]) + 0.8
    )
    expected_item = max(0, d(users[0], items[1]) - d(items[1], items[3]) + 0.6) + max(
        0, d(users[1], items[2]) - d(items[2], items[0]) + 0.9
    )
    margins = np.mean([0.3, 0.8]) + np.mean([0.6, 0.9])
    assert loss == pytest.approx(expected_user + 0.5 * expected_item - 2.0 * margins, rel=1e-5)
    np.testing.assert_allclose(
        ops.convert_to_numpy(scores), [[-d(users[0], items[1]), -d(users[0], items[3])],
                                       [-d(users[1], items[2]), -d(users[1], items[0])]],
        rtol=1e-5,
    )  # fmt: skip


def test_training_keeps_margins_in_range_and_reports_nmi(tmp_path):
    data = make_synthetic(num_users=80, num_items=60, interactions_per_user=8, num_clusters=4)
    preset = get_preset("sml").replace(epochs=2, batch_size=64, embedding_dim=8)
    result = run_experiment(data, preset, seed=0, output_dir=tmp_path, verbose=0)
    margins = ops.convert_to_numpy(result.model.user_margins)
    assert margins.min() >= 0.0 and margins.max() <= 1.0
    norms = np.linalg.norm(ops.convert_to_numpy(result.model.item_embedding.embeddings), axis=1)
    assert norms.max() <= 1.0 + 1e-5
    assert 0.0 <= result.metrics["nmi@10"] <= 1.0
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(
        loaded.score_users_numpy(np.arange(5)),
        result.model.score_users_numpy(np.arange(5)),
        rtol=1e-6,
    )
