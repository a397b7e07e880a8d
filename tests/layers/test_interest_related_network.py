"""InterestRelatedNetwork (IRIS Eqs. 4 and 6) against hand-computed values."""

import numpy as np
import pytest
from keras import ops

from tests.testing import assert_config_round_trip
from tfrec.layers.interest_related_network import InterestRelatedNetwork


def to_numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


HISTORY_VISUAL = np.array([[[1.0, 0.0], [0.0, 2.0], [5.0, 5.0]]], np.float32)  # last: pad
TARGET_VISUAL = np.array([[3.0, -4.0]], np.float32)
HISTORY_TEXTUAL = np.array([[[0.0, 1.0], [2.0, 0.0], [5.0, 5.0]]], np.float32)
TARGET_TEXTUAL = np.array([[1.0, 1.0]], np.float32)
MASK = np.array([[1.0, 1.0, 0.0]], np.float32)


def built(use_text, activation="relu", beta=1.0):
    layer = InterestRelatedNetwork(2, 2, use_text=use_text, activation=activation, beta=beta)
    layer.build()
    for kernel in layer.kernels():
        kernel.assign(np.eye(2, dtype=np.float32))
    layer.bias.assign(np.array([0.0, 1.0], np.float32))
    layer.projection.assign(np.array([1.0, 2.0], np.float32))
    return layer


def test_image_form_hand_computed():
    layer = built(use_text=False, beta=0.5)
    # W1 v_i + W2 v_j + b: [1 + 3, 0 - 4 + 1] -> relu [4, 0] -> a = 4;
    # [0 + 3, 2 - 4 + 1] -> relu [3, 0] -> a = 3.
    scores = to_numpy(layer.scores(HISTORY_VISUAL, TARGET_VISUAL))
    np.testing.assert_allclose(scores[0, :2], [4.0, 3.0])
    root = np.sqrt(np.exp(4.0) + np.exp(3.0))
    expected = [np.exp(4.0) / root, np.exp(3.0) / root, 0.0]
    weights = to_numpy(layer(HISTORY_VISUAL, TARGET_VISUAL, MASK))
    np.testing.assert_allclose(weights[0], expected, rtol=1e-6)


def test_text_form_hand_computed():
    layer = built(use_text=True, activation="tanh")
    # + W3 t_i + W4 t_j: item 1 [4 + 0 + 1, -3 + 1 + 1] = [5, -1]; item 2 [3 + 2 + 1,
    # -1 + 0 + 1] = [6, 0]; a = tanh(x0) + 2 tanh(x1).
    scores = to_numpy(layer.scores(HISTORY_VISUAL, TARGET_VISUAL, HISTORY_TEXTUAL, TARGET_TEXTUAL))
    expected = [np.tanh(5.0) + 2 * np.tanh(-1.0), np.tanh(6.0)]
    np.testing.assert_allclose(scores[0, :2], expected, rtol=1e-6)
    with pytest.raises(ValueError, match="use_text=True"):
        layer.scores(HISTORY_VISUAL, TARGET_VISUAL)


def test_config_round_trip_and_validation():
    layer = InterestRelatedNetwork(3, 4, use_text=False, beta=0.8, projection_initializer="ones")
    layer.build()
    np.testing.assert_array_equal(to_numpy(layer.projection), np.ones(4))
    assert len(layer.kernels()) == 2
    assert_config_round_trip(layer)
    with pytest.raises(ValueError, match="activation='gelu'"):
        InterestRelatedNetwork(2, activation="gelu")
    with pytest.raises(ValueError, match="projection_initializer='zeros'"):
        InterestRelatedNetwork(2, projection_initializer="zeros")
