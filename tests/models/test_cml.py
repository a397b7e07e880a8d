"""CML: the loss equals the authors' formula written in numpy; scoring; round trips."""

import keras
import numpy as np
import pytest
from keras import ops

from tests.testing import assert_config_round_trip
from tests.testing import assert_keras_file_round_trip
from tests.testing import random_batch
from tfrec.models import CML


def numpy_cml_loss(
    users, items, batch, num_items, margin, covariance_weight, closest=True, batch_rows=False
):
    """CollMetric's embedding loss + covariance loss, line by line (spec cml.md §3)."""
    u = users[batch["user"]]
    pos = ((u - items[batch["positive"]]) ** 2).sum(-1)
    neg = ((u[:, None, :] - items[batch["negatives"]]) ** 2).sum(-1)
    impostors = (pos[:, None] - neg + margin) > 0
    rank = impostors.mean(1) * num_items
    if closest:
        per_pair = np.maximum(pos - neg.min(1) + margin, 0)
    else:
        per_pair = np.maximum(pos[:, None] - neg + margin, 0).sum(1)
    loss = (per_pair * np.log(rank + 1)).sum()
    rows = np.concatenate([items, users])
    if batch_rows:  # covariance_rows="batch": the batch's positive items and users
        rows = np.concatenate([items[batch["positive"]], u])
    centered = rows - rows.mean(0)
    covariance = centered.T @ centered / len(rows)
    return loss + covariance_weight * (covariance.sum() - np.trace(covariance))


def weights_of(model):
    return (
        ops.convert_to_numpy(model.user_embedding.embeddings).astype(np.float64),
        ops.convert_to_numpy(model.item_embedding.embeddings).astype(np.float64),
    )


@pytest.mark.parametrize("hinge_negative", ["closest", "all_sum"])
@pytest.mark.parametrize("seed", [0, 1])
def test_loss_matches_numpy_reference(hinge_negative, seed):
    keras.utils.set_random_seed(seed)
    model = CML(13, 11, 6, margin=0.9, covariance_weight=0.7, hinge_negative=hinge_negative)
    batch = random_batch(13, 11, 8, 4, seed=seed)
    scores = model(batch)
    loss = float(ops.convert_to_numpy(model.compute_loss(x=batch, y_pred=scores)))
    users, items = weights_of(model)
    expected = numpy_cml_loss(
        users, items, batch, 11, 0.9, 0.7, closest=hinge_negative == "closest"
    )
    assert loss == pytest.approx(expected, rel=1e-4)


def test_covariance_over_the_batch_rows():
    keras.utils.set_random_seed(2)
    model = CML(13, 11, 6, margin=0.9, covariance_weight=0.7, covariance_rows="batch")
    batch = random_batch(13, 11, 8, 4, seed=2)
    loss = float(ops.convert_to_numpy(model.compute_loss(x=batch, y_pred=model(batch))))
    users, items = weights_of(model)
    expected = numpy_cml_loss(users, items, batch, 11, 0.9, 0.7, batch_rows=True)
    assert loss == pytest.approx(expected, rel=1e-4)
    assert loss != pytest.approx(numpy_cml_loss(users, items, batch, 11, 0.9, 0.7), rel=1e-3)
    with pytest.raises(ValueError, match="covariance_rows='some'"):
        CML(3, 3, covariance_rows="some")


def test_scores_are_negated_squared_distances():
    model = CML(5, 7, 3)
    batch = random_batch(5, 7, 4, 2)
    users, items = weights_of(model)
    scores = ops.convert_to_numpy(model(batch))
    u = users[batch["user"]]
    assert scores[:, 0] == pytest.approx(-((u - items[batch["positive"]]) ** 2).sum(-1), rel=1e-5)
    full = model.score_users_numpy(np.arange(5, dtype=np.int32))
    expected = -((users[:, None, :] - items[None]) ** 2).sum(-1)
    np.testing.assert_allclose(full, expected, rtol=1e-4, atol=1e-5)


def test_initialisation_is_normal_with_stddev_one_over_sqrt_d():
    keras.utils.set_random_seed(0)
    model = CML(4000, 10, 64)
    users, _ = weights_of(model)
    assert users.std() == pytest.approx(1 / 8, rel=0.02)
    assert abs(users.mean()) < 0.002


def test_training_reduces_loss_and_keeps_rows_in_ball():
    keras.utils.set_random_seed(0)
    model = CML(30, 20, 8, clip_norm=0.5)
    model.compile(optimizer=keras.optimizers.Adagrad(0.1))
    batch = random_batch(30, 20, 64, 4)
    before = float(ops.convert_to_numpy(model.compute_loss(x=batch, y_pred=model(batch))))
    model.fit(x=batch, batch_size=64, epochs=20, verbose=0, shuffle=False)
    after = float(ops.convert_to_numpy(model.compute_loss(x=batch, y_pred=model(batch))))
    assert after < before
    users, items = weights_of(model)
    assert np.linalg.norm(users, axis=1).max() <= 0.5 + 1e-5
    assert np.linalg.norm(items, axis=1).max() <= 0.5 + 1e-5


def test_without_covariance_and_rank_weight_loss_is_plain_hinge_sum():
    model = CML(6, 9, 4, margin=0.5, covariance_weight=0.0, rank_weight="none")
    batch = random_batch(6, 9, 5, 3)
    scores = ops.convert_to_numpy(model(batch))
    expected = np.maximum(0.5 - scores[:, 0] + scores[:, 1:].max(1), 0).sum()
    actual = float(ops.convert_to_numpy(model.compute_loss(x=batch, y_pred=scores)))
    assert actual == pytest.approx(expected, rel=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_items=0"):
        CML(3, 0)
    with pytest.raises(ValueError, match="rank_weight|mode"):
        CML(3, 3, rank_weight="log")


def test_config_and_keras_file_round_trip(tmp_path):
    model = CML(9, 8, 4, margin=1.1, rank_weight="warp_floor", covariance_form="squared_offdiag")
    batch = random_batch(9, 8, 3, 2)
    model(batch)
    clone = assert_config_round_trip(model)
    assert clone.margin == 1.1 and clone.covariance_form == "squared_offdiag"
    assert_keras_file_round_trip(model, batch, tmp_path)
