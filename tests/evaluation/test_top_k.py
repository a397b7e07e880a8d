"""Exact top-k: the order of sorting by (-score, id), the order `tf.nn.top_k` produces."""

import keras
import numpy as np
import pytest
import scipy.sparse as sp

from tfrec.evaluation import top_k_items
from tfrec.evaluation.top_k import top_k_indices
from tfrec.evaluation.top_k import top_k_unmasked


def sorted_reference(scores, k):
    return np.stack([np.lexsort((np.arange(len(row)), -row))[:k] for row in scores])


def test_ties_prefer_the_lower_index_by_hand():
    scores = np.array([[1.0, 3.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0, 2.0]], np.float32)
    np.testing.assert_array_equal(top_k_indices(scores, 2), [[1, 2], [0, 1]])
    np.testing.assert_array_equal(top_k_indices(scores, 4), [[1, 2, 3, 0], [0, 1, 2, 3]])
    np.testing.assert_array_equal(top_k_indices(scores, 9).shape, (2, 5))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [1, 7, 50])
def test_matches_a_full_sort_and_the_backend_top_k_on_heavy_ties(seed, k):
    rng = np.random.default_rng(seed)
    scores = rng.integers(-2, 3, (64, 50)).astype(np.float32)
    scores[rng.random(scores.shape) < 0.1] = -np.inf
    ours = top_k_indices(scores.copy(), k)
    np.testing.assert_array_equal(ours, sorted_reference(scores, k))
    _, backend = keras.ops.top_k(keras.ops.convert_to_tensor(scores), k=k, sorted=True)
    np.testing.assert_array_equal(ours, keras.ops.convert_to_numpy(backend))


def test_unmasked_skips_excluded_items_and_pads_short_rows():
    scores = np.array([[3.0, -np.inf, 1.0, 2.0], [4.0, 3.0, 2.0, 1.0]], np.float32)
    exclude = sp.csr_matrix(np.array([[1, 0, 1, 1], [0, 0, 0, 0]], np.float32))
    # Row 0: only item 1 is left (a model -inf, still a candidate); row 1: nothing excluded.
    np.testing.assert_array_equal(top_k_unmasked(scores, 3, exclude), [[1, -1, -1], [0, 1, 2]])


def test_top_k_items_for_serving():
    exclude = sp.csr_matrix(np.array([[1, 1, 0], [0, 0, 0]], np.float32))
    table = np.array([[3.0, 2.0, 1.0], [1.0, 2.0, 2.0]], np.float32)
    items, scores = top_k_items(lambda users: table[users], [0, 1], 2, exclude)
    np.testing.assert_array_equal(items, [[2, -1], [1, 2]])
    np.testing.assert_array_equal(scores, [[1.0, -np.inf], [2.0, 2.0]])
    items, _ = top_k_items(lambda users: keras.ops.convert_to_tensor(table[users]), [1], 5)
    np.testing.assert_array_equal(items, [[1, 2, 0, -1, -1]])
    with pytest.raises(ValueError, match="k=0"):
        top_k_items(lambda users: table[users], [0], 0)
