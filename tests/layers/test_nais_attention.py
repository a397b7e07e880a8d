"""NAISAttention (NAIS Eqs. 13-15, prod and concat forms) against hand-computed values."""

import keras
import numpy as np
import pytest
from keras import ops

from tfrec.layers.nais_attention import NAISAttention


def to_numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def built_attention(form, activation="relu", beta=0.5):
    layer = NAISAttention(2, attention_size=2, form=form, activation=activation, beta=beta)
    layer.build()
    if form == "prod":
        layer.kernel.assign(np.eye(2, dtype=np.float32))
    else:
        # Rows 0-1 act on p, rows 2-3 on q.
        layer.kernel.assign(np.array([[1, 0], [0, 1], [0, 0], [1, -1]], np.float32))
    layer.bias.assign(np.zeros(2, np.float32))
    return layer


class TestNAISAttention:
    history = np.array([[[1.0, 0.0], [0.0, 2.0], [5.0, 5.0]]], np.float32)  # p_1, p_2, pad
    target = np.array([[3.0, 1.0]], np.float32)  # q_j
    mask = np.array([[1.0, 1.0, 0.0]], np.float32)

    def test_prod_hand_computed(self):
        layer = built_attention("prod")
        # x = p * q: [3, 0] and [0, 2]; W = I, b = 0, h = 1: a = 3 and 2.
        np.testing.assert_allclose(
            to_numpy(layer.scores(self.history, self.target))[0, :2], [3.0, 2.0]
        )
        total = np.exp(3.0) + np.exp(2.0)
        expected = [np.exp(3.0) / total**0.5, np.exp(2.0) / total**0.5, 0.0]
        np.testing.assert_allclose(
            to_numpy(layer(self.history, self.target, self.mask))[0], expected, rtol=1e-6
        )

    def test_concat_hand_computed(self):
        layer = built_attention("concat", beta=1.0)
        # W [p; q] = [p0 + q1, p1 - q1]: p_1 -> relu([2, -1]) = [2, 0]; p_2 -> [1, 1].
        np.testing.assert_allclose(
            to_numpy(layer.scores(self.history, self.target))[0, :2], [2.0, 2.0]
        )
        np.testing.assert_allclose(
            to_numpy(layer(self.history, self.target, self.mask))[0], [0.5, 0.5, 0.0], rtol=1e-6
        )

    @pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
    def test_activations(self, activation):
        layer = built_attention("prod", activation=activation)
        function = {"sigmoid": lambda x: 1 / (1 + np.exp(-x)), "tanh": np.tanh}[activation]
        expected = [function(3.0) + function(0.0), function(0.0) + function(2.0)]
        np.testing.assert_allclose(
            to_numpy(layer.scores(self.history, self.target))[0, :2], expected, rtol=1e-6
        )

    def test_targets_broadcast_against_history(self):
        layer = NAISAttention(4, attention_size=3, form="concat")
        rng = np.random.default_rng(0)
        history = rng.normal(size=(2, 1, 5, 4)).astype(np.float32)
        targets = rng.normal(size=(2, 3, 4)).astype(np.float32)
        mask = np.ones((2, 1, 5), np.float32)
        weights = to_numpy(layer(history, targets, mask))
        assert weights.shape == (2, 3, 5)
        for m in range(3):
            single = to_numpy(layer(history[:, 0], targets[:, m], mask[:, 0]))
            np.testing.assert_allclose(weights[:, m], single, rtol=1e-5)

    def test_initialisation_of_the_code(self):
        keras.utils.set_random_seed(0)
        layer = NAISAttention(16, attention_size=16, form="concat")
        layer.build()
        kernel = to_numpy(layer.kernel)
        assert kernel.shape == (32, 16)
        # Truncated normal with stddev sqrt(2 / (16 + 32)), cut at 2 stddev.
        assert np.abs(kernel).max() <= 2 * np.sqrt(2 / 48) + 1e-6
        np.testing.assert_array_equal(to_numpy(layer.projection), np.ones(16))

    def test_config_round_trip_and_validation(self):
        layer = NAISAttention(2, attention_size=3, form="concat", activation="tanh", beta=0.8)
        clone = NAISAttention.from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()
        with pytest.raises(ValueError, match="form='dot'"):
            NAISAttention(2, form="dot")
        with pytest.raises(ValueError, match="activation='gelu'"):
            NAISAttention(2, activation="gelu")
