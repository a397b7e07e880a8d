"""BPR-MF: loss against -ln sigma(x_ui - x_uj) + L2 in numpy; scoring; round trips."""

import keras
import numpy as np
import pytest
from keras import ops

from tests.testing import assert_keras_file_round_trip
from tests.testing import random_batch
from tfrec.models import BPR


@pytest.mark.parametrize("num_negatives", [1, 3])
@pytest.mark.parametrize("item_bias", [False, True])
def test_loss_matches_numpy_reference(num_negatives, item_bias):
    keras.utils.set_random_seed(3)
    model = BPR(10, 12, 5, l2=0.01, item_bias=item_bias, initializer_stddev=0.5)
    model.build()
    if item_bias:
        model.bias.embeddings.assign(np.linspace(-1, 1, 12).reshape(12, 1).astype(np.float32))
    batch = random_batch(10, 12, 7, num_negatives)
    p = ops.convert_to_numpy(model.user_embedding.embeddings).astype(np.float64)
    q = ops.convert_to_numpy(model.item_embedding.embeddings).astype(np.float64)
    b = np.linspace(-1, 1, 12) if item_bias else np.zeros(12)
    u = p[batch["user"]]
    x_pos = (u * q[batch["positive"]]).sum(-1) + b[batch["positive"]]
    x_neg = (u[:, None] * q[batch["negatives"]]).sum(-1) + b[batch["negatives"]]
    bpr = np.log1p(np.exp(-(x_pos[:, None] - x_neg))).sum()
    reg = 0.01 * (
        (u**2).sum() + (q[batch["positive"]] ** 2).sum() + (q[batch["negatives"]] ** 2).sum()
    )
    loss = float(ops.convert_to_numpy(model.compute_loss(x=batch, y_pred=model(batch))))
    assert loss == pytest.approx(bpr + reg, rel=1e-4)


def test_score_users_is_dot_product():
    model = BPR(4, 6, 3, item_bias=True, initializer_stddev=1.0)
    model.build()
    p = ops.convert_to_numpy(model.user_embedding.embeddings)
    q = ops.convert_to_numpy(model.item_embedding.embeddings)
    np.testing.assert_allclose(
        model.score_users_numpy(np.arange(4, dtype=np.int32)), p @ q.T, rtol=1e-5, atol=1e-6
    )


def test_training_separates_positive_from_negative():
    keras.utils.set_random_seed(0)
    model = BPR(20, 20, 8, l2=0.0, initializer_stddev=0.1)
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    batch = random_batch(20, 20, 64, 1)
    model.fit(x=batch, batch_size=64, epochs=50, verbose=0)
    scores = ops.convert_to_numpy(model(batch))
    assert (scores[:, 0] > scores[:, 1]).mean() > 0.9


def test_keras_file_round_trip(tmp_path):
    model = BPR(5, 6, 3, l2=0.5, item_bias=True)
    batch = random_batch(5, 6, 2, 1)
    model(batch)
    loaded = assert_keras_file_round_trip(model, batch, tmp_path)
    assert loaded.l2 == 0.5 and loaded.item_bias
