"""KnowledgeSharingUnit (IRIS Eqs. 7-8): hand-computed one and two stacked units, switches."""

import numpy as np
import pytest
from keras import ops

from tests.testing import assert_config_round_trip
from tfrec.layers.knowledge_sharing_unit import KnowledgeSharingUnit

VISUAL = np.array([[1.0, 2.0]], np.float32)
TEXTUAL = np.array([[3.0, -1.0]], np.float32)
IDENTITY = np.eye(2, dtype=np.float32)
SWAP = np.array([[0.0, 1.0], [1.0, 0.0]], np.float32)


def to_numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def set_layer(unit, layer, visual_kernel, textual_kernel, shared_kernel, visual_bias, textual_bias):
    unit.visual_kernels[layer].assign(np.asarray(visual_kernel, np.float32))
    unit.textual_kernels[layer].assign(np.asarray(textual_kernel, np.float32))
    if shared_kernel is not None:
        unit.shared_kernels[layer].assign(np.asarray(shared_kernel, np.float32))
    unit.visual_biases[layer].assign(np.asarray(visual_bias, np.float32))
    unit.textual_biases[layer].assign(np.asarray(textual_bias, np.float32))


def set_first(unit, sharing=True):
    shared = [[1.0, 1.0], [0.0, -1.0]] if sharing else None
    set_layer(unit, 0, IDENTITY, SWAP, shared, [0.5, 0.0], [-0.5, -1.0])


def set_second(unit, layer):
    set_layer(unit, layer, [[1.0, -1.0], [0.0, 1.0]], IDENTITY, SWAP, [0, 0], [0, 0])


def built(units=2, **kwargs):
    unit = KnowledgeSharingUnit(units, **kwargs)
    unit.build((None, 2), (None, 2))
    return unit


def test_one_unit_hand_computed():
    unit = built()
    set_first(unit)
    visual, textual = unit(VISUAL, TEXTUAL)
    # v W_i2i = [1, 2]; t W_share = [3 * 1 + 0, 3 * 1 + (-1)(-1)] = [3, 4]; + b_v [0.5, 0]
    # -> relu([4.5, 6]).  t W_t2t = [-1, 3]; v W_share = [1, 1 - 2] = [1, -1]; + b_t
    # [-0.5, -1] -> relu([-0.5, 1]) = [0, 1].
    np.testing.assert_allclose(to_numpy(visual), [[4.5, 6.0]], rtol=1e-6)
    np.testing.assert_allclose(to_numpy(textual), [[0.0, 1.0]], rtol=1e-6)


def test_two_stacked_units_hand_computed_and_equal_to_two_instances():
    unit = built(num_layers=2)
    set_first(unit)
    set_second(unit, 1)
    visual, textual = unit(VISUAL, TEXTUAL)
    # Layer 1 on v = [4.5, 6], t = [0, 1]: v W_i2i = [4.5, -4.5 + 6] = [4.5, 1.5],
    # t W_share (swap) = [1, 0] -> [5.5, 1.5]; t W_t2t = [0, 1], v W_share = [6, 4.5]
    # -> [6, 5.5].
    np.testing.assert_allclose(to_numpy(visual), [[5.5, 1.5]], rtol=1e-6)
    np.testing.assert_allclose(to_numpy(textual), [[6.0, 5.5]], rtol=1e-6)
    first, second = built(), built()
    set_first(first)
    set_second(second, 0)
    stacked = second(*first(VISUAL, TEXTUAL))
    np.testing.assert_allclose(to_numpy(stacked[0]), [[5.5, 1.5]], rtol=1e-6)
    np.testing.assert_allclose(to_numpy(stacked[1]), [[6.0, 5.5]], rtol=1e-6)


def test_without_sharing_the_towers_are_independent():
    unit = built(sharing=False)
    assert unit.shared_kernels == []
    set_first(unit, sharing=False)
    visual, textual = unit(VISUAL, TEXTUAL)
    # relu([1, 2] + [0.5, 0]) and relu([-1, 3] + [-0.5, -1]).
    np.testing.assert_allclose(to_numpy(visual), [[1.5, 2.0]], rtol=1e-6)
    np.testing.assert_allclose(to_numpy(textual), [[0.0, 2.0]], rtol=1e-6)
    # The textual input no longer reaches the visual output.
    other, _ = unit(VISUAL, np.zeros_like(TEXTUAL))
    np.testing.assert_allclose(to_numpy(other), to_numpy(visual))
    # Without sharing the two widths may differ.
    wide = KnowledgeSharingUnit(3, sharing=False)
    outputs = wide(np.ones((4, 5), np.float32), np.ones((4, 2), np.float32))
    assert [tuple(o.shape) for o in outputs] == [(4, 3), (4, 3)]


def numpy_unit(unit, visual, textual, activation):
    function = {"tanh": np.tanh, "linear": lambda x: x}[activation]
    for layer in range(unit.num_layers):
        shared = to_numpy(unit.shared_kernels[0 if unit.share_across_layers else layer])
        v_next = visual @ to_numpy(unit.visual_kernels[layer]) + textual @ shared
        t_next = textual @ to_numpy(unit.textual_kernels[layer]) + visual @ shared
        v_next = v_next + to_numpy(unit.visual_biases[layer])
        t_next = t_next + to_numpy(unit.textual_biases[layer])
        visual, textual = function(v_next), function(t_next)
    return visual, textual


@pytest.mark.parametrize("activation", ["tanh", "linear"])
@pytest.mark.parametrize("share_across_layers", [False, True])
def test_random_weights_match_numpy(activation, share_across_layers):
    rng = np.random.default_rng(0)
    unit = KnowledgeSharingUnit(
        3, num_layers=3, activation=activation, share_across_layers=share_across_layers
    )
    unit.build((None, 3), (None, 3))
    assert len(unit.shared_kernels) == (1 if share_across_layers else 3)
    for weight in unit.weights:
        weight.assign(rng.normal(size=weight.shape).astype(np.float32))
    visual = rng.normal(size=(2, 4, 3)).astype(np.float32)
    textual = rng.normal(size=(2, 4, 3)).astype(np.float32)
    expected = numpy_unit(unit, visual, textual, activation)
    actual = unit(visual, textual)
    for got, want in zip(actual, expected, strict=True):
        np.testing.assert_allclose(to_numpy(got), want, rtol=1e-5, atol=1e-5)


def test_layer_widths_and_kernels():
    # The paper's placement: 768-d visual hidden layer and 768-d text into e; here 5 -> 3.
    unit = KnowledgeSharingUnit(3, num_layers=2, use_bias=False)
    unit.build((None, 5), (None, 5))
    shapes = [tuple(k.shape) for k in unit.kernels()]
    assert shapes == [(5, 3), (3, 3), (5, 3), (3, 3), (5, 3), (3, 3)]
    assert unit.visual_biases == [] and len(unit.weights) == 6


def test_config_round_trip_and_validation():
    unit = KnowledgeSharingUnit(2, num_layers=2, activation="sigmoid", share_across_layers=True)
    unit.build((None, 2), (None, 2))
    assert_config_round_trip(unit)
    with pytest.raises(ValueError, match="activation='gelu'"):
        KnowledgeSharingUnit(2, activation="gelu")
    with pytest.raises(ValueError, match="num_layers=0"):
        KnowledgeSharingUnit(2, num_layers=0)
    with pytest.raises(ValueError, match="visual width 4 and textual width 3"):
        KnowledgeSharingUnit(2).build((None, 4), (None, 3))
    with pytest.raises(ValueError, match="share_across_layers=False"):
        KnowledgeSharingUnit(2, num_layers=2, share_across_layers=True).build((None, 3), (None, 3))
