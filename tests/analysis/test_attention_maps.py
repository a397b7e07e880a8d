"""Attention maps, t-SNE layouts and their scores on a tiny MAML (MAML paper Fig. 3-4)."""

import keras
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
import scipy.sparse as sp
from keras import ops

from tfrec.analysis import AttentionMap
from tfrec.analysis import attention_tsne
from tfrec.analysis import attention_weight_bounds
from tfrec.analysis import item_attention_map
from tfrec.analysis import layout_agreement
from tfrec.analysis import neighbour_overlap
from tfrec.analysis import pair_attention
from tfrec.analysis import plot_attention_map
from tfrec.analysis import plot_tsne_pair
from tfrec.analysis import user_attention_map
from tfrec.data.interactions import Interactions
from tfrec.data.interactions import ItemSideInfo
from tfrec.models import MAML

matplotlib.use("Agg")  # No display in tests; pyplot picks its backend at the first figure.

NUM_USERS, NUM_ITEMS, DIM = 6, 9, 8
TRAIN_ROWS = [[0, 2, 5], [1], [0, 1, 2, 3, 4, 5, 6, 7, 8], [8], [0, 8], [3, 4]]


def make_model(normalization="scaled_softmax"):
    keras.utils.set_random_seed(0)
    features = np.random.default_rng(0).normal(size=(NUM_ITEMS, 12)).astype(np.float32)
    return MAML(
        NUM_USERS,
        NUM_ITEMS,
        features,
        embedding_dim=DIM,
        hidden_dim=16,
        attention_normalization=normalization,
    )


def make_interactions():
    rows = [u for u, items in enumerate(TRAIN_ROWS) for _ in items]
    cols = [i for items in TRAIN_ROWS for i in items]
    train = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), (NUM_USERS, NUM_ITEMS))
    item_keys = np.array([f"i{i}" for i in range(NUM_ITEMS)], dtype=object)
    categories = {f"i{i}": [f"c{i % 3}"] for i in range(NUM_ITEMS - 1)}  # i8: unknown.
    return Interactions(
        train=train,
        test=sp.csr_matrix((NUM_USERS, NUM_ITEMS), dtype=np.float32),
        user_keys=np.array([f"u{u}" for u in range(NUM_USERS)], dtype=object),
        item_keys=item_keys,
        item_side=ItemSideInfo(categories=categories),
        name="tiny",
    )


@pytest.fixture(scope="module")
def model():
    return make_model()


def model_attention(model, users, items):
    return ops.convert_to_numpy(model.attention_weights(np.asarray(users), np.asarray(items)))


def test_user_map_rows_are_the_model_attention(model):
    items = [0, 3, 8, 3]
    attention_map = user_attention_map(model, 2, items)
    assert attention_map.values.shape == (4, DIM)
    np.testing.assert_array_equal(attention_map.row_ids, items)
    expected = model_attention(model, [2], [items])[0]
    np.testing.assert_allclose(attention_map.values, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(attention_map.values[1], attention_map.values[3], rtol=1e-6)
    assert attention_map.row_kind == "item" and attention_map.row_keys is None


def test_item_map_rows_are_the_model_attention(model):
    users = [5, 0, 2]
    attention_map = item_attention_map(model, 4, users, batch_size=2)  # Two model calls.
    expected = model_attention(model, users, [[4]] * 3)[:, 0]
    np.testing.assert_allclose(attention_map.values, expected, rtol=1e-5, atol=1e-6)
    assert attention_map.row_kind == "user"


def test_default_rows_are_the_training_items_and_users(model):
    data = make_interactions()
    user_map = user_attention_map(model, 0, interactions=data)
    np.testing.assert_array_equal(user_map.row_ids, [0, 2, 5])
    np.testing.assert_array_equal(user_map.row_keys, ["i0", "i2", "i5"])
    assert user_map.title == "user 0 (u0): attention over 3 items"
    item_map = item_attention_map(model, 8, interactions=data)
    np.testing.assert_array_equal(item_map.row_ids, [2, 3, 4])
    np.testing.assert_array_equal(item_map.row_keys, ["u2", "u3", "u4"])
    np.testing.assert_allclose(item_map.values[0], user_map_row(model, 2, 8), rtol=1e-5)


def user_map_row(model, user, item):
    return user_attention_map(model, user, [item]).values[0]


@pytest.mark.parametrize("normalization, total", [("scaled_softmax", DIM), ("softmax", 1.0)])
def test_rows_sum_to_the_softmax_scale(normalization, total):
    values = user_attention_map(make_model(normalization), 1, np.arange(NUM_ITEMS)).values
    np.testing.assert_allclose(values.sum(axis=1), np.full(NUM_ITEMS, total), rtol=1e-5)
    assert (values > 0).all()


def test_unknown_ids_and_missing_rows_are_errors(model):
    with pytest.raises(ValueError, match=r"unknown user ids \[6\].*\[0, 6\)"):
        user_attention_map(model, 6, [0])
    with pytest.raises(ValueError, match=r"unknown item ids \[9, -1\]"):
        user_attention_map(model, 0, [9, 2, -1])
    with pytest.raises(ValueError, match="unknown item ids"):
        item_attention_map(model, 9, [0])
    with pytest.raises(TypeError, match="Expected integer ids"):
        user_attention_map(model, 0, [0.5])
    with pytest.raises(ValueError, match="neither `item_ids` nor `interactions`"):
        user_attention_map(model, 0)
    data = make_interactions()
    data.train = sp.csr_matrix((NUM_USERS, NUM_ITEMS), dtype=np.float32)
    with pytest.raises(ValueError, match="User 0 has no training items in 'tiny'"):
        user_attention_map(model, 0, interactions=data)
    with pytest.raises(TypeError, match="Expected a model with per \(user, item\) attention"):
        user_attention_map(keras.Sequential(), 0, [0])


def test_attention_map_checks_its_shapes():
    with pytest.raises(ValueError, match=r"Expected values of shape \(len\(row_ids\), f\)"):
        AttentionMap(np.zeros((3, 4)), np.arange(2))


def test_tsne_shapes_and_determinism(model):
    items = np.arange(NUM_ITEMS)
    embedding_2d, attention_2d = attention_tsne(model, 2, items, seed=3)
    assert embedding_2d.shape == attention_2d.shape == (NUM_ITEMS, 2)
    assert np.isfinite(embedding_2d).all() and np.isfinite(attention_2d).all()
    again = attention_tsne(model, 2, items, seed=3)
    np.testing.assert_array_equal(again[0], embedding_2d)
    np.testing.assert_array_equal(again[1], attention_2d)
    small = attention_tsne(model, 2, [0, 1, 2], perplexity=50.0)  # Clipped to 2.
    assert small[0].shape == (3, 2)


def test_tsne_needs_three_items(model):
    with pytest.raises(ValueError, match="Received 2 item ids. Expected at least 3"):
        attention_tsne(model, 0, [0, 1])


def test_layout_agreement_by_hand():
    points = np.array([[0.0], [1.0], [10.0], [11.0], [5.0]])
    labels = np.array([0, 0, 1, 1, -1])  # The unknown point is left out.
    scores = layout_agreement(points, labels, k=1)
    # Silhouette: a = 1 for every point, b = 10.5 (outer points) or 9.5 (inner points).
    expected = np.mean([1 - 1 / 10.5, 1 - 1 / 9.5, 1 - 1 / 9.5, 1 - 1 / 10.5])
    np.testing.assert_allclose(scores["silhouette"], expected, rtol=1e-12)
    assert scores["knn_agreement"] == 1.0
    np.testing.assert_allclose(scores["knn_chance"], (2 * 1 + 2 * 1) / (4 * 3))
    assert scores["num_points"] == 4
    # k = 2: each point's second neighbour has the other label.
    assert layout_agreement(points, labels, k=2)["knn_agreement"] == 0.5
    one_label = layout_agreement(points[:2], labels[:2])
    assert np.isnan(one_label["silhouette"]) and one_label["knn_agreement"] == 1.0


def test_neighbour_overlap_by_hand():
    line = np.array([[0.0], [1.0], [10.0], [11.0]])
    swapped = np.array([[0.0], [10.0], [1.0], [11.0]])  # Points 1 and 2 trade places.
    assert neighbour_overlap(line, line * 3 + 1, k=1) == 1.0
    assert neighbour_overlap(line, swapped, k=1) == 0.0
    # k = 3 (everything else) is always shared; k is clipped to n - 1.
    assert neighbour_overlap(line, swapped, k=10) == 1.0
    with pytest.raises(ValueError, match="same n >= 2"):
        neighbour_overlap(line, swapped[:3])


def test_plot_attention_map_returns_a_figure(model):
    attention_map = user_attention_map(model, 2, np.arange(NUM_ITEMS))
    figure = plot_attention_map(attention_map)
    assert isinstance(figure, matplotlib.figure.Figure)
    assert len(figure.axes) == 2  # Heatmap and colorbar.
    assert figure.axes[0].get_title() == attention_map.title
    image = figure.axes[0].get_images()[0].get_array()
    np.testing.assert_array_equal(np.asarray(image), attention_map.values)
    existing, axes = plt.subplots(1, 2)
    assert plot_attention_map(attention_map, ax=axes[1]) is existing
    assert len(existing.axes) == 3
    plt.close("all")


def test_plot_tsne_pair_colours_by_label(model):
    data = make_interactions()
    items = np.arange(NUM_ITEMS)
    codes, names = data.item_labels()
    layouts = attention_tsne(model, 2, items)
    figure = plot_tsne_pair(*layouts, labels=codes[items], label_names=names, max_labels=2)
    assert len(figure.axes) == 2
    legend = [text.get_text() for text in figure.axes[1].get_legend().get_texts()]
    assert legend == ["c0", "other", "unknown"]  # c0: 3 items, c1 + c2 -> other, i8.
    assert len(plot_tsne_pair(*layouts).axes) == 2  # No labels: one colour.
    with pytest.raises(ValueError, match="Expected two arrays of the same shape"):
        plot_tsne_pair(layouts[0], layouts[1][:3])
    plt.close("all")


def test_weight_bounds_by_hand():
    model = make_model()
    kernel = np.zeros((5 * DIM, DIM), np.float32)
    kernel[0, 0] = np.log(3.0)  # a_hat_0 in [0, ln 3], every other a_hat_k = 0.
    model.attention.output_layer.kernel.assign(kernel)
    lower, upper = attention_weight_bounds(model)
    # upper_0 = 8 * 3 / (3 + 7), lower_0 = 8 / 8; others: 8 / (1 + 7) and 8 / (3 + 7).
    np.testing.assert_allclose(upper, [2.4] + [1.0] * (DIM - 1), rtol=1e-6)
    np.testing.assert_allclose(lower, [1.0] + [0.8] * (DIM - 1), rtol=1e-6)


@pytest.mark.parametrize("normalization", ["scaled_softmax", "softmax"])
def test_every_pair_lies_within_the_weight_bounds(normalization):
    model = make_model(normalization)
    rng = np.random.default_rng(1)
    # Any p and q (here far outside the unit ball) stay within the bounds.
    model.user_embedding.embeddings.assign(rng.normal(size=(NUM_USERS, DIM)) * 5)
    lower, upper = attention_weight_bounds(model)
    users = np.repeat(np.arange(NUM_USERS), NUM_ITEMS)
    values = pair_attention(model, users, np.tile(np.arange(NUM_ITEMS), NUM_USERS))
    assert (values >= lower - 1e-6).all() and (values <= upper + 1e-6).all()
    assert (lower > 0).all() and (upper < (DIM if normalization == "scaled_softmax" else 1)).all()
