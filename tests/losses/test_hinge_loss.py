"""Hinge loss against hand-computed values, and the edge cases of ranking losses."""

import numpy as np
import pytest
from keras import ops

from tests.testing import assert_config_round_trip
from tests.testing import gradients
from tfrec.losses import HingeLoss

# Scores are negated squared distances: positive in column 0.
SCORES = np.array([[-1.0, -0.4, -3.0], [-0.2, -2.0, -2.5]], np.float32)
LABELS = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]], np.float32)


def value(loss, scores=SCORES, weights=None):
    return float(ops.convert_to_numpy(loss(LABELS[: len(scores)], scores, sample_weight=weights)))


def test_closest_negative_hand_computed():
    # Row 0: d+ = 1.0, closest negative d = 0.4 -> [0.5 + 1.0 - 0.4]_+ = 1.1.
    # Row 1: d+ = 0.2, closest d = 2.0 -> [0.5 + 0.2 - 2.0]_+ = 0.
    assert value(HingeLoss(0.5)) == pytest.approx(1.1)


def test_all_sum_hand_computed():
    # Row 0: [0.5 + 1 - 0.4]_+ + [0.5 + 1 - 3]_+ = 1.1; row 1: both 0.
    assert value(HingeLoss(0.5, "all_sum")) == pytest.approx(1.1)
    # Margin 2: row 0: 2.6 + 0 = 2.6... ([2 + 1 - 3] = 0); row 1: [2 + .2 - 2] + [2 + .2 - 2.5]
    assert value(HingeLoss(2.0, "all_sum")) == pytest.approx(2.6 + 0.2)


def test_sample_weight_and_sum_reduction():
    weights = np.array([2.0, 5.0], np.float32)
    assert value(HingeLoss(0.5), weights=weights) == pytest.approx(2.2)
    unreduced = HingeLoss(0.5, reduction=None)(LABELS, SCORES, sample_weight=weights)
    assert float(ops.sum(unreduced)) == pytest.approx(value(HingeLoss(0.5), weights=weights))


def test_all_zero_weights_give_zero():
    assert value(HingeLoss(0.5), weights=np.zeros(2, np.float32)) == 0.0


def test_ties_count_as_margin_violation():
    tied = np.array([[-1.0, -1.0, -1.0]], np.float32)
    assert value(HingeLoss(0.5), tied) == pytest.approx(0.5)


def test_extreme_inputs_are_finite():
    extreme = np.array([[-1e30, 1e30, -1e30]], np.float32)
    assert np.isfinite(value(HingeLoss(0.5), extreme))


def test_no_nan_gradients():
    scores = np.array([[-1.0, -1.0, -1.0], [0.0, 0.0, 0.0]], np.float32)
    (gradient,) = gradients(lambda s: HingeLoss(0.5)(LABELS, s), scores)
    assert np.isfinite(gradient).all()
    # d/ds_pos = -1 and d/ds_closest = +1 for active hinges (ties pick one negative).
    assert gradient[:, 0].tolist() == [-1.0, -1.0]
    assert gradient[:, 1:].sum(axis=1).tolist() == [1.0, 1.0]


def test_bad_negative_option():
    with pytest.raises(ValueError, match="negative='farthest'"):
        HingeLoss(1.0, "farthest")


def test_config_round_trip():
    clone = assert_config_round_trip(HingeLoss(0.7, "all_sum"), (LABELS, SCORES))
    assert clone.margin == 0.7 and clone.reduction == "sum"
