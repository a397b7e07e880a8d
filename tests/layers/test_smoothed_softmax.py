"""SmoothedSoftmax (NAIS Eq. 15) against hand-computed values."""

import numpy as np
import pytest
from keras import ops

from tests.testing import assert_config_round_trip
from tests.testing import gradients
from tfrec.layers.smoothed_softmax import SmoothedSoftmax


def to_numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


class TestSmoothedSoftmax:
    def test_hand_computed(self):
        scores = np.log(np.array([[1.0, 3.0, 5.0]], np.float32))
        mask = np.array([[True, True, False]])
        # beta = 0.5: exp(a) / sqrt(1 + 3) = [0.5, 1.5]; the masked 5 takes no part.
        np.testing.assert_allclose(
            to_numpy(SmoothedSoftmax(0.5)(scores, mask)), [[0.5, 1.5, 0.0]], rtol=1e-6
        )
        # beta = 1 is the softmax, beta = 0 is exp(a).
        np.testing.assert_allclose(
            to_numpy(SmoothedSoftmax(1.0)(scores, mask)), [[0.25, 0.75, 0.0]], rtol=1e-6
        )
        np.testing.assert_allclose(
            to_numpy(SmoothedSoftmax(0.0)(scores, mask)), [[1.0, 3.0, 0.0]], rtol=1e-6
        )

    def test_single_entry_and_fully_masked_rows(self):
        scores = np.array([[2.0, 7.0], [4.0, -1.0]], np.float32)
        mask = np.array([[1.0, 0.0], [0.0, 0.0]], np.float32)
        # One entry: exp(a) / exp(a)^beta = exp((1 - beta) a) = exp(0.4 * 2); empty row: 0.
        expected = [[np.exp(0.8), 0.0], [0.0, 0.0]]
        np.testing.assert_allclose(
            to_numpy(SmoothedSoftmax(0.6)(scores, mask)), expected, rtol=1e-6
        )

    def test_no_mask_and_broadcast_mask(self):
        scores = np.array([[[0.0, 1.0], [2.0, 3.0]]], np.float32)  # [1, 2, 2]
        mask = np.array([[[True, False]]])  # [1, 1, 2], broadcast over the middle axis
        weights = to_numpy(SmoothedSoftmax(0.5)(scores, mask))
        np.testing.assert_allclose(weights[..., 0], [[1.0, np.exp(1.0)]], rtol=1e-6)
        np.testing.assert_allclose(weights[..., 1], 0.0)
        full = to_numpy(SmoothedSoftmax(1.0)(scores))
        np.testing.assert_allclose(full.sum(-1), 1.0, rtol=1e-6)

    def test_large_scores_do_not_overflow(self):
        scores = np.array([[1000.0, 1000.0, -1000.0]], np.float32)
        weights = to_numpy(SmoothedSoftmax(1.0)(scores))
        np.testing.assert_allclose(weights, [[0.5, 0.5, 0.0]], atol=1e-7)

    def test_gradients_finite_with_masked_rows(self):
        mask = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]], np.float32)

        def function(scores):
            return SmoothedSoftmax(0.5)(scores, mask) * np.array([1.0, 2.0, 3.0], np.float32)

        (grad,) = gradients(function, np.array([[0.5, -0.2, 9.0], [1.0, 2.0, 3.0]]))
        assert np.isfinite(grad).all()
        np.testing.assert_allclose(grad[1], 0.0)
        np.testing.assert_allclose(grad[0, 2], 0.0)
        # d/da_0 of sum_i c_i exp(a_i) S^-1/2 with S = e^a0 + e^a1, numerically.
        a, c = np.array([0.5, -0.2]), np.array([1.0, 2.0])

        def value(x):
            return (c * np.exp(x) / np.sqrt(np.exp(x).sum())).sum()

        numeric = (value(a + [1e-4, 0]) - value(a - [1e-4, 0])) / 2e-4
        assert grad[0, 0] == pytest.approx(numeric, rel=1e-3)

    def test_config_round_trip_and_validation(self):
        clone = assert_config_round_trip(SmoothedSoftmax(0.8), (np.ones((2, 3), np.float32),))
        assert clone.beta == 0.8
        with pytest.raises(ValueError, match="beta=-0.5"):
            SmoothedSoftmax(-0.5)
