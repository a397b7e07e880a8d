"""Layers, regularizer and constraint against hand-computed numpy values."""

import keras
import numpy as np
import pytest
from keras import ops

from tests.testing import assert_config_round_trip
from tests.testing import gradients
from tfrec.layers import CovarianceRegularizer
from tfrec.layers import MetricDistance
from tfrec.layers import UnitBallConstraint
from tfrec.layers import WarpWeight


def to_numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


class TestMetricDistance:
    def test_hand_computed(self):
        a = np.array([[0.0, 1.0], [1.0, 1.0]], np.float32)
        b = np.array([[3.0, 5.0], [1.0, -1.0]], np.float32)
        # (0-3)^2 + (1-5)^2 = 25; (1-1)^2 + (1+1)^2 = 4.
        np.testing.assert_allclose(to_numpy(MetricDistance()(a, b)), [25.0, 4.0])

    def test_dimension_weights(self):
        a = np.array([[0.0, 1.0]], np.float32)
        b = np.array([[3.0, 5.0]], np.float32)
        weights = np.array([[2.0, 0.5]], np.float32)
        # 2 * 9 + 0.5 * 16 = 26.
        np.testing.assert_allclose(to_numpy(MetricDistance()(a, b, weights)), [26.0])

    def test_broadcast_user_against_negatives(self):
        rng = np.random.default_rng(0)
        users = rng.normal(size=(3, 4)).astype(np.float32)
        items = rng.normal(size=(3, 5, 4)).astype(np.float32)
        expected = ((users[:, None, :] - items) ** 2).sum(-1)
        actual = to_numpy(MetricDistance()(users[:, None, :], items))
        np.testing.assert_allclose(actual, expected, rtol=1e-5)

    def test_pairwise_matches_elementwise(self):
        rng = np.random.default_rng(1)
        users = rng.normal(size=(6, 8)).astype(np.float32)
        items = rng.normal(size=(9, 8)).astype(np.float32)
        expected = ((users[:, None, :] - items[None, :, :]) ** 2).sum(-1)
        np.testing.assert_allclose(
            to_numpy(MetricDistance().pairwise(users, items)), expected, rtol=1e-4, atol=1e-5
        )

    def test_pairwise_never_negative(self):
        x = np.full((2, 3), 0.57735026, np.float32)
        assert (to_numpy(MetricDistance().pairwise(x, x)) >= 0).all()


class TestWarpWeight:
    def test_hand_computed(self):
        # J = 100 items, margin 0.5, W = 4 negatives.
        positive = np.array([1.0, 0.1], np.float32)
        negatives = np.array([[0.4, 1.2, 2.0, 1.6], [3.0, 3.0, 3.0, 3.0]], np.float32)
        # Row 0: violators are d+ - d- + m > 0: 1.1>0, 0.3>0, -0.5, -0.1 -> 2 of 4.
        # rank = 100 * 2/4 = 50 -> ln(51). Row 1: none -> ln(1) = 0.
        weights = to_numpy(WarpWeight(100, 0.5)(positive, negatives))
        np.testing.assert_allclose(weights, [np.log(51.0), 0.0], rtol=1e-6)

    def test_violation_is_margin_based_not_closer(self):
        # The negative is farther than the positive, but inside the margin: it counts.
        weights = to_numpy(WarpWeight(10, 1.0)(np.array([1.0]), np.array([[1.5]])))
        np.testing.assert_allclose(weights, [np.log(11.0)], rtol=1e-6)

    def test_floor_mode(self):
        positive = np.array([1.0], np.float32)
        negatives = np.array([[0.0, 5.0, 5.0]], np.float32)
        # rank = 10 * 1/3 = 3.33 -> floor 3 -> ln 4.
        weights = to_numpy(WarpWeight(10, 0.1, mode="warp_floor")(positive, negatives))
        np.testing.assert_allclose(weights, [np.log(4.0)], rtol=1e-6)

    def test_none_mode_is_one(self):
        weights = WarpWeight(10, 0.1, mode="none")(np.array([1.0, 2.0]), np.zeros((2, 3)))
        np.testing.assert_allclose(to_numpy(weights), [1.0, 1.0])

    def test_no_gradient(self):
        layer = WarpWeight(10, 1.0)
        grads = gradients(layer, np.array([1.0]), np.array([[0.5, 0.2]]))
        assert all(float(np.abs(g).sum()) == 0.0 for g in grads)

    def test_bad_mode(self):
        with pytest.raises(ValueError, match="mode='bogus'"):
            WarpWeight(10, 1.0, mode="bogus")

    def test_config_round_trip(self):
        assert_config_round_trip(
            WarpWeight(7, 0.3, "warp_floor"), (np.array([1.0]), np.array([[0.5, 2.0]]))
        )


class TestCovarianceRegularizer:
    rows = np.array([[1.0, 2.0, 0.0], [3.0, 6.0, 1.0], [2.0, 1.0, 5.0], [0.0, 3.0, 2.0]])

    def covariance(self):
        centered = self.rows - self.rows.mean(0)
        return centered.T @ centered / len(self.rows)

    def test_two_rows_by_hand(self):
        # Rows (1, 2), (3, 6): centred (-1, -2), (1, 2); C = [[1, 2], [2, 4]] -> C01 + C10 = 4.
        value = CovarianceRegularizer(1.0)(np.array([[1.0, 2.0], [3.0, 6.0]], np.float32))
        np.testing.assert_allclose(to_numpy(value), 4.0, rtol=1e-6)

    def test_code_form_is_signed_offdiagonal_sum(self):
        c = self.covariance()
        expected = 0.5 * (c.sum() - np.trace(c))
        value = CovarianceRegularizer(0.5)(self.rows.astype(np.float32))
        np.testing.assert_allclose(to_numpy(value), expected, rtol=1e-5)
        assert expected < 0  # Signed: this data has negative covariances, the sum is < 0.

    def test_squared_form(self):
        c = self.covariance()
        expected = (c**2).sum() - (np.diag(c) ** 2).sum()
        value = CovarianceRegularizer(1.0, "squared_offdiag")(self.rows.astype(np.float32))
        np.testing.assert_allclose(to_numpy(value), expected, rtol=1e-5)

    def test_paper_literal_form(self):
        c = self.covariance()
        expected = (np.sqrt((c**2).sum()) - (np.diag(c) ** 2).sum()) / len(self.rows)
        value = CovarianceRegularizer(2.0, "paper_literal")(self.rows.astype(np.float32))
        np.testing.assert_allclose(to_numpy(value), 2.0 * expected, rtol=1e-5)

    def test_decorrelated_rows_have_zero_penalty(self):
        rows = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]], np.float32)
        for form in ("code_signed_offdiag_sum", "squared_offdiag"):
            np.testing.assert_allclose(to_numpy(CovarianceRegularizer(3.0, form)(rows)), 0.0)

    def test_config_round_trip(self):
        regularizer = CovarianceRegularizer(0.25, "squared_offdiag")
        clone = CovarianceRegularizer.from_config(regularizer.get_config())
        assert clone.weight == 0.25 and clone.form == "squared_offdiag"
        restored = keras.regularizers.deserialize(keras.regularizers.serialize(regularizer))
        assert isinstance(restored, CovarianceRegularizer) and restored.form == "squared_offdiag"

    def test_bad_form(self):
        with pytest.raises(ValueError, match="Expected one of"):
            CovarianceRegularizer(1.0, "frobenius")


class TestUnitBallConstraint:
    def test_rows_outside_are_rescaled_rows_inside_untouched(self):
        w = np.array([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]], np.float32)
        # Row 0 has norm 5 -> (0.6, 0.8); row 1 has norm 0.5 -> unchanged; zero row stays zero.
        clipped = to_numpy(UnitBallConstraint(1.0)(w))
        np.testing.assert_allclose(clipped, [[0.6, 0.8], [0.3, 0.4], [0.0, 0.0]], rtol=1e-6)

    def test_radius(self):
        clipped = to_numpy(UnitBallConstraint(1.1)(np.array([[0.0, 2.0]], np.float32)))
        np.testing.assert_allclose(clipped, [[0.0, 1.1]], rtol=1e-6)

    def test_differs_from_keras_max_norm(self):
        # MaxNorm's default axis=0 normalises columns: the reason tfrec has its own constraint.
        w = np.array([[3.0, 0.0], [4.0, 0.1]], np.float32)
        ours = to_numpy(UnitBallConstraint(1.0)(w))
        theirs = to_numpy(keras.constraints.MaxNorm(1.0)(w))
        np.testing.assert_allclose(np.linalg.norm(ours, axis=1).max(), 1.0, rtol=1e-6)
        assert not np.allclose(ours, theirs)

    def test_applied_after_each_optimizer_step(self):
        # (keras.Variable(constraint=...) ignores the argument: go through a layer's weight.)
        layer = keras.layers.Embedding(1, 2, embeddings_constraint=UnitBallConstraint(1.0))
        layer.build()
        variable = layer.embeddings
        variable.assign(np.array([[0.9, 0.0]], np.float32))
        optimizer = keras.optimizers.SGD(learning_rate=1.0)
        optimizer.apply([np.array([[-0.5, 0.0]], np.float32)], [variable])
        # 0.9 + 0.5 = 1.4 -> clipped back to 1.0.
        np.testing.assert_allclose(to_numpy(variable), [[1.0, 0.0]], rtol=1e-6)

    def test_bad_radius(self):
        with pytest.raises(ValueError, match="max_norm=0"):
            UnitBallConstraint(0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_signed_offdiagonal_sum_equals_the_covariance_matrix_form(seed):
    # The code form is computed without the d x d matrix; it must equal CollMetric's
    # matrix computation (tf.matmul of centred rows, diagonal zeroed, summed).
    rows = np.random.default_rng(seed).normal(0.3, 0.5, size=(500, 16)).astype(np.float32)
    centered = rows.astype(np.float64) - rows.mean(0)
    covariance = centered.T @ centered / len(rows)
    expected = covariance.sum() - np.trace(covariance)
    actual = to_numpy(CovarianceRegularizer(1.0)(rows))
    np.testing.assert_allclose(actual, expected, rtol=2e-4, atol=2e-5)
