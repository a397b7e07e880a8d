"""similar_pairs: Jaccard > theta pairs equal a brute-force numpy computation."""

import numpy as np
import pytest
import scipy.sparse as sp

from tfrec.data.similar_pairs import _blocks
from tfrec.data.similar_pairs import similar_pairs


def brute_force(dense, theta):
    binary = (dense != 0).astype(np.int64)
    intersection = binary @ binary.T
    sizes = binary.sum(1)
    union = sizes[:, None] + sizes[None, :] - intersection
    with np.errstate(invalid="ignore", divide="ignore"):
        jaccard = np.where(union > 0, intersection / union, 0.0)
    np.fill_diagonal(jaccard, 0.0)
    return np.where(jaccard > theta, jaccard, 0.0)


@pytest.mark.parametrize("theta", [0.0, 0.2, 0.3, 0.5])
@pytest.mark.parametrize(("block_rows", "block_entries"), [(1, 10**6), (7, 10**6), (1000, 30)])
def test_matches_brute_force(theta, block_rows, block_entries):
    rng = np.random.default_rng(3)
    dense = (rng.random((40, 15)) < 0.2) * rng.integers(1, 6, (40, 15))
    dense[5] = 0  # an entity without interactions
    dense[6] = dense[7]  # two identical lists: Jaccard 1
    matrix = sp.csr_matrix(dense.astype(np.float32))
    pairs = similar_pairs(matrix, theta, block_rows=block_rows, block_entries=block_entries)
    assert pairs.shape == (40, 40) and pairs.has_sorted_indices
    np.testing.assert_allclose(pairs.toarray(), brute_force(dense, theta), rtol=1e-6)
    assert (pairs != pairs.T).nnz == 0 and pairs.diagonal().sum() == 0
    assert pairs[6, 7] == 1.0


def repeated_rows_matrix():
    """Rows of sizes 1 to 12, many repeated (single-item rows above all), and empty rows."""
    rng = np.random.default_rng(5)
    base = np.zeros((30, 25), np.float32)
    for row, size in enumerate(rng.integers(1, 13, 30)):
        base[row, rng.choice(25, size, replace=False)] = 1.0
    base[:8] = 0.0
    base[np.arange(8), rng.choice(25, 8)] = 1.0  # single-item rows
    dense = base[rng.choice(30, 90)]  # every pattern about three times, shuffled
    dense[[3, 40]] = 0.0
    return dense


@pytest.mark.parametrize("theta", [0.0, 0.3, 0.6])
def test_repeated_and_empty_rows_match_brute_force(theta):
    dense = repeated_rows_matrix()
    pairs = similar_pairs(sp.csr_matrix(dense), theta, block_rows=5)
    np.testing.assert_allclose(pairs.toarray(), brute_force(dense, theta), rtol=1e-6)
    assert pairs[3].nnz == 0 and pairs[:, 40].nnz == 0  # empty rows pair with nothing


def test_hash_collisions_are_split_exactly(monkeypatch):
    # Every column hashes to the same value: all rows of one size collide; the exact
    # check must still group only identical rows.
    import tfrec.data.similar_pairs as module

    monkeypatch.setattr(module, "_column_hashes", lambda columns, salt: np.zeros_like(
        columns, np.uint64))  # fmt: skip
    dense = repeated_rows_matrix()
    for theta in (0.0, 0.3):
        pairs = similar_pairs(sp.csr_matrix(dense), theta)
        np.testing.assert_allclose(pairs.toarray(), brute_force(dense, theta), rtol=1e-6)


def test_hand_computed_example_and_transposed_items():
    # users: 0 -> {0, 1}, 1 -> {0, 1, 2}, 2 -> {3}; J(0, 1) = 2 / 3.
    matrix = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 0, 0, 1]], np.float32))
    users = similar_pairs(matrix, 0.5)
    assert users.nnz == 2 and users[0, 1] == pytest.approx(2 / 3)
    assert similar_pairs(matrix, 2 / 3).nnz == 0  # strictly above theta
    # items: 0 and 1 both rated by users {0, 1} -> 1; item 2 by {1}: J(0, 2) = 1 / 2.
    items = similar_pairs(matrix.T, 0.4)
    expected = np.zeros((4, 4))
    expected[0, 1] = expected[1, 0] = 1.0
    expected[0, 2] = expected[2, 0] = expected[1, 2] = expected[2, 1] = 0.5
    np.testing.assert_allclose(items.toarray(), expected)


def test_explicit_zeros_and_values_are_ignored():
    matrix = sp.csr_matrix((np.array([5.0, 0.0, 2.0]), ([0, 0, 1], [0, 1, 0])), shape=(2, 2))
    np.testing.assert_array_equal(similar_pairs(matrix, 0.9).toarray(), [[0, 1], [1, 0]])


def test_bad_arguments():
    matrix = sp.csr_matrix(np.eye(3))
    with pytest.raises(ValueError, match="theta=-0.1"):
        similar_pairs(matrix, -0.1)
    with pytest.raises(ValueError, match="theta=1"):
        similar_pairs(matrix, 1)
    with pytest.raises(ValueError, match="block_rows=0"):
        similar_pairs(matrix, 0.3, block_rows=0)
    with pytest.raises(ValueError, match="ndarray"):
        similar_pairs(np.eye(3), 0.3)


def test_blocks_respect_the_entry_budget_and_never_split_a_row():
    bounds = np.array([5, 5, 30, 1, 1, 0, 4])
    assert list(_blocks(bounds, 100, 10)) == [(0, 2), (2, 3), (3, 7)]
    assert list(_blocks(bounds, 2, 10)) == [(0, 2), (2, 3), (3, 5), (5, 7)]
    assert list(_blocks(np.zeros(0, np.int64), 4, 10)) == []


def clique_plus_noise():
    """30 users with the same single item (a clique of Jaccard 1) and 20 random users."""
    rng = np.random.default_rng(0)
    dense = np.zeros((50, 12), np.float32)
    dense[:30, 0] = 1.0
    dense[30:, 1:] = rng.random((20, 11)) < 0.3  # never item 0
    return sp.csr_matrix(dense), dense


def test_max_per_row_keeps_a_subset_of_each_row():
    matrix, dense = clique_plus_noise()
    full = similar_pairs(matrix, 0.3).toarray()
    capped = similar_pairs(matrix, 0.3, max_per_row=4, seed=1).toarray()
    kept = capped > 0
    assert np.all(kept.sum(axis=1) == np.minimum(4, (full > 0).sum(axis=1)))
    np.testing.assert_array_equal(capped[kept], full[kept])  # same Jaccard values
    assert kept[:30, :30].sum() == 30 * 4  # each clique member keeps 4 of its 29
    # The choice does not depend on the blocking, and changes with the seed.
    for block_rows, block_entries in ((1, 10**6), (7, 50)):
        again = similar_pairs(
            matrix,
            0.3,
            max_per_row=4,
            seed=1,
            block_rows=block_rows,
            block_entries=block_entries,
        )
        np.testing.assert_array_equal(again.toarray(), capped)
    other = similar_pairs(matrix, 0.3, max_per_row=4, seed=2).toarray()
    assert not np.array_equal(other > 0, kept)


def test_max_per_row_is_uniform_over_the_row():
    matrix, _ = clique_plus_noise()
    counts = np.zeros(30)
    for seed in range(300):
        row = similar_pairs(matrix[:30], 0.3, max_per_row=1, seed=seed)[0]
        counts[row.indices] += 1
    # User 0 has 29 similar users, each chosen with probability 1/29 per seed: ~10.3 of 300.
    assert counts[0] == 0 and counts.sum() == 300
    assert counts[1:].min() >= 2 and counts[1:].max() <= 22


@pytest.mark.parametrize("bad", [{"max_per_row": 0}, {"block_entries": 0}, {"max_per_row": 1.5}])
def test_bad_caps_are_named(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        similar_pairs(sp.csr_matrix(np.eye(3)), 0.3, **bad)


def test_max_per_row_draws_rows_with_many_candidates():
    # 300 users share item 0 (299 candidates each, above 4 * 5: drawn, not listed); 10
    # users hold {0, 1} (Jaccard 1/2 with the 300) and pair with them and each other.
    dense = np.zeros((310, 3), np.float32)
    dense[:, 0] = 1.0
    dense[300:, 1] = 1.0
    full = similar_pairs(sp.csr_matrix(dense), 0.3)
    assert full.nnz == 310 * 309
    capped = similar_pairs(sp.csr_matrix(dense), 0.3, max_per_row=5, seed=3)
    assert np.all(np.diff(capped.indptr) == 5)
    kept = capped.tocoo()
    np.testing.assert_array_equal(kept.data, np.asarray(full[kept.row, kept.col]).ravel())
    assert np.all(kept.row != kept.col)
    again = similar_pairs(sp.csr_matrix(dense), 0.3, max_per_row=5, seed=3, block_rows=2)
    assert (again != capped).nnz == 0
    # Uniform over the candidates: user 0's picks over seeds cover the 309 evenly.
    counts = np.zeros(310)
    for seed in range(200):
        row = similar_pairs(sp.csr_matrix(dense), 0.3, max_per_row=5, seed=seed)[0]
        counts[row.indices] += 1
    assert counts[0] == 0 and counts.sum() == 1000
    # 1000 picks over 309 candidates: about 3.2 each; the 10 two-item users ~32 together.
    assert 15 <= counts[300:].sum() <= 55 and counts.max() <= 14
