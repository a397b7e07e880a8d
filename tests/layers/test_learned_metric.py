"""LearnedMetric: hand-computed Mahalanobis distances, PSD by construction, round trips."""

import math

import numpy as np
import pytest
from keras import ops

from tests.testing import assert_config_round_trip
from tests.testing import gradients
from tfrec.layers.learned_metric import LearnedMetric


def numpy_of(x):
    return np.asarray(ops.convert_to_numpy(x), np.float64)


def built(parameterization, factor=None, transform="softplus", dim=2):
    layer = LearnedMetric(dim, parameterization, transform)
    layer.build()
    if factor is not None:
        layer.factor.assign(np.asarray(factor, np.float32))
    return layer


def test_full_metric_is_l_l_transpose():
    # L = [[1, 0], [1, 2]] -> W = L L^T = [[1, 1], [1, 5]].
    layer = built("full", [[1.0, 0.0], [1.0, 2.0]])
    np.testing.assert_allclose(numpy_of(layer.matrix()), [[1.0, 1.0], [1.0, 5.0]])
    x = np.array([[1.0, 1.0], [3.0, -1.0]], np.float32)
    y = np.array([[0.0, 0.0], [1.0, 0.0]], np.float32)
    # (1,1) W (1,1) = 1 + 1 + 1 + 5 = 8; (2,-1) W (2,-1) = 4 - 4 + 5 = 5.
    np.testing.assert_allclose(numpy_of(layer(x, y)), [8.0, 5.0], rtol=1e-6)


@pytest.mark.parametrize(
    "transform, factor, expected_weights",
    [
        ("softplus", [0.0, math.log(math.e**2 - 1.0)], [math.log(2.0), 2.0]),
        ("square", [2.0, -3.0], [4.0, 9.0]),
    ],
)
def test_diagonal_metric(transform, factor, expected_weights):
    layer = built("diagonal", factor, transform)
    np.testing.assert_allclose(numpy_of(layer.matrix()), np.diag(expected_weights), rtol=1e-5)
    x = np.array([[1.0, 3.0]], np.float32)
    expected = expected_weights[0] * 1.0 + expected_weights[1] * 9.0
    assert numpy_of(layer(x, np.zeros_like(x)))[0] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("parameterization", ["full", "diagonal"])
@pytest.mark.parametrize("transform", ["softplus", "square"])
def test_metric_starts_at_identity(parameterization, transform):
    layer = built(parameterization, transform=transform, dim=3)
    np.testing.assert_allclose(numpy_of(layer.matrix()), np.eye(3), atol=1e-6)


def test_euclidean_has_no_weights():
    layer = built("euclidean")
    assert layer.weights == []
    assert numpy_of(layer(np.array([[3.0, 4.0]]), np.array([[0.0, 0.0]])))[0] == 25.0


@pytest.mark.parametrize("parameterization", ["full", "diagonal", "euclidean"])
def test_pairwise_and_broadcast_forms_match_quadratic_form(parameterization):
    rng = np.random.default_rng(0)
    layer = built(parameterization, dim=4)
    if layer.factor is not None:
        layer.factor.assign(rng.normal(size=layer.factor.shape).astype(np.float32))
    w = numpy_of(layer.matrix())
    assert np.linalg.eigvalsh(w).min() >= -1e-6  # PSD for any factor
    a = rng.normal(size=(3, 4)).astype(np.float32)
    b = rng.normal(size=(5, 4)).astype(np.float32)
    difference = a[:, None, :].astype(np.float64) - b[None]
    expected = np.einsum("nmk,kl,nml->nm", difference, w, difference)
    np.testing.assert_allclose(numpy_of(layer.pairwise(a, b)), expected, rtol=1e-4, atol=1e-4)
    broadcast = layer(a[:, None, :], np.broadcast_to(b, (3, 5, 4)))
    np.testing.assert_allclose(numpy_of(broadcast), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("transform", ["softplus", "square"])
def test_gradients_are_finite_at_zero(transform):
    layer = built("diagonal", [0.0, 1.0], transform)
    (grad,) = gradients(lambda x: layer(x, ops.zeros_like(x)), np.zeros((2, 2)))
    assert np.isfinite(grad).all()


def test_infers_dim_and_round_trips():
    layer = LearnedMetric(parameterization="diagonal", diagonal_transform="square")
    a = np.ones((2, 3), np.float32)
    layer(a, np.zeros_like(a))
    assert layer.embedding_dim == 3 and tuple(layer.factor.shape) == (3,)
    clone = assert_config_round_trip(layer, (a, np.zeros_like(a)))
    assert clone.diagonal_transform == "square"


def test_bad_arguments():
    with pytest.raises(ValueError, match="parameterization='cholesky'"):
        LearnedMetric(2, "cholesky")
    with pytest.raises(ValueError, match="diagonal_transform='exp'"):
        LearnedMetric(2, "diagonal", "exp")
    with pytest.raises(ValueError, match="embedding_dim=0"):
        LearnedMetric(0)
