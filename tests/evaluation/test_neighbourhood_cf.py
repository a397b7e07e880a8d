"""UBCF / IBCF over metric neighbours (MML Table 7), against hand-computed values."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import scipy.sparse as sp

from tfrec.data.interactions import Interactions
from tfrec.evaluation.neighbourhood_cf import NeighbourhoodCF
from tfrec.evaluation.neighbourhood_cf import metric_space
from tfrec.evaluation.neighbourhood_cf import neighbour_weights
from tfrec.evaluation.neighbourhood_cf import two_stage_evaluation
from tfrec.models.cml import CML
from tfrec.models.mml import MML

# Points on a line: 0, 1, 3, 10. Nearest other point: 0 -> 1 (d^2 1), 1 -> 0 (1; 3 is at 4),
# 3 -> 1 (4), 10 -> 3 (49). Two nearest: 0 -> {1, 3}, 1 -> {0, 3}, 3 -> {1, 0} (4, 9),
# 10 -> {3, 1} (49, 81).
LINE = np.array([[0.0], [1.0], [3.0], [10.0]], np.float32)


def test_one_neighbour_inverse_distance_weights():
    weights = neighbour_weights(LINE, 1).toarray()
    expected = np.zeros((4, 4), np.float32)
    expected[0, 1] = expected[1, 0] = 1 / 2
    expected[2, 1] = 1 / 5
    expected[3, 2] = 1 / 50
    np.testing.assert_allclose(weights, expected, rtol=1e-6)


def test_two_uniform_neighbours():
    weights = neighbour_weights(LINE, 2, weighting="uniform").toarray()
    expected = np.zeros((4, 4), np.float32)
    for row, columns in {0: (1, 2), 1: (0, 2), 2: (1, 0), 3: (2, 1)}.items():
        expected[row, list(columns)] = 1.0
    np.testing.assert_array_equal(weights, expected)


def test_duplicate_vectors_never_count_a_row_as_its_own_neighbour():
    weights = neighbour_weights(np.array([[0.0], [0.0], [5.0]], np.float32), 1).toarray()
    assert np.all(np.diag(weights) == 0)
    assert weights[0, 1] == 1.0 and weights[1, 0] == 1.0  # distance 0: weight 1
    assert (weights > 0).sum(axis=1).tolist() == [1, 1, 1]


def test_more_neighbours_than_rows_keeps_all_others():
    weights = neighbour_weights(LINE, 10, weighting="uniform").toarray()
    np.testing.assert_array_equal(weights, 1.0 - np.eye(4))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((LINE, 0), "neighbours"),
        ((LINE, 1, "cosine"), "weighting"),
        ((LINE[:1], 1), "n >= 2"),
    ],
)
def test_bad_arguments_are_named(arguments, message):
    with pytest.raises(ValueError, match=message):
        neighbour_weights(*arguments)


TRAIN = sp.csr_matrix(
    np.array(
        [
            [1, 0, 0, 1, 0],
            [0, 1, 0, 0, 0],
            [1, 1, 0, 0, 1],
            [0, 0, 1, 0, 0],
        ],
        np.float32,
    )
)


def test_ubcf_scores_are_weighted_sums_of_neighbour_rows():
    weights = neighbour_weights(LINE, 1)
    scores = NeighbourhoodCF(weights, TRAIN, "user").score_users([0, 2, 3])
    dense = TRAIN.toarray()
    np.testing.assert_allclose(scores[0], 0.5 * dense[1])
    np.testing.assert_allclose(scores[1], 0.2 * dense[1])
    np.testing.assert_allclose(scores[2], 0.02 * dense[2], rtol=1e-6)


def test_ibcf_scores_sum_the_weights_of_the_users_items():
    items = np.array([[0.0], [1.0], [3.0], [10.0], [0.5]], np.float32)
    weights = neighbour_weights(items, 1)  # 0 -> 4, 1 -> 4, 2 -> 1, 3 -> 2, 4 -> 0 (tie: 1)
    dense_weights = weights.toarray()
    scores = NeighbourhoodCF(weights, TRAIN, "item").score_users([0, 1, 2, 3])
    # s(u, i) = sum_j R[u, j] w(i, j), by hand for user 2 (items 0, 1, 4):
    # item 0: w(0, 4) = 1 / 1.25; item 1: w(1, 4) = 1 / 1.25; item 2: w(2, 1) = 1 / 5;
    # item 3: 0; item 4: w(4, 0) or w(4, 1), both 1 / 1.25.
    np.testing.assert_allclose(scores[2], [0.8, 0.8, 0.2, 0.0, 0.8], rtol=1e-6)
    np.testing.assert_allclose(scores, TRAIN.toarray() @ dense_weights.T, rtol=1e-6)


def test_shape_mismatch_is_named():
    with pytest.raises(ValueError, match=r"item weights of shape \(4, 4\)"):
        NeighbourhoodCF(neighbour_weights(LINE, 1), TRAIN, "item")


def test_mml_neighbours_use_the_entity_metrics():
    model = MML(num_users=4, num_items=5, embedding_dim=3, metric="diagonal")
    model.score_users(np.arange(4, dtype=np.int32))  # builds the weights
    model.user_metric.factor.assign(np.array([1.0, 2.0, 3.0], np.float32))
    users, items = metric_space(model)
    raw = keras.ops.convert_to_numpy(model.user_embedding.embeddings)
    expected = keras.ops.convert_to_numpy(model.user_metric.project(raw))
    np.testing.assert_allclose(users, expected, rtol=1e-6)
    # The item metric is untouched (softplus start: w = 1), so items are the raw rows.
    np.testing.assert_allclose(
        items, keras.ops.convert_to_numpy(model.item_embedding.embeddings), rtol=1e-6
    )
    assert not np.allclose(users, raw)


def test_two_stage_hr_and_recall_by_hand():
    # Users 0 and 1 are neighbours (close vectors), user 2 is far away.
    model = CML(num_users=3, num_items=4, embedding_dim=2)
    model.score_users(np.arange(3, dtype=np.int32))
    model.user_embedding.embeddings.assign(np.array([[0, 0], [0, 0.1], [5, 5]], np.float32))
    model.item_embedding.embeddings.assign(
        np.array([[0, 0], [0, 0.1], [5, 5], [5, 5.1]], np.float32)
    )
    train = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]], np.float32))
    test = sp.csr_matrix(np.array([[0, 1, 0, 0], [0, 0, 1, 1], [0, 0, 0, 1]], np.float32))
    data = Interactions(
        train=train,
        test=test,
        user_keys=np.array(["a", "b", "c"], dtype=object),
        item_keys=np.array(["w", "x", "y", "z"], dtype=object),
    )
    results = two_stage_evaluation(model, data, ks=(1,), neighbours=1)
    # UBCF, 1 neighbour: a <- b (item x: a's test item, hit), b <- a (item w is b's...
    # only unseen candidate with a score: w, not in b's test: miss), c <- b (x: miss).
    assert results["ubcf"].metrics["hr@1"] == pytest.approx(1 / 3)
    assert results["ubcf"].metrics["recall@1"] == pytest.approx(1 / 3)
    # IBCF, 1 neighbour: w <-> x, y <-> z. a (has w) -> x: hit; b (has x) -> w: miss;
    # c (has y) -> z: hit.
    assert results["ibcf"].metrics["hr@1"] == pytest.approx(2 / 3)
    assert results["ibcf"].metrics["recall@1"] == pytest.approx((1 + 0 + 1) / 3)
