"""MML's similar-pair buffers: entity pairs whose interaction lists have Jaccard > theta."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

DEFAULT_BLOCK_ROWS = 4096
# Upper bound on the co-occurrence entries of one block of X X^T (about 40 bytes each while
# the block is filtered): blocks shrink below `block_rows` where rows touch popular columns.
DEFAULT_BLOCK_ENTRIES = 20_000_000


def similar_pairs(
    matrix: sp.spmatrix | sp.sparray,
    theta: float,
    *,
    block_rows: int = DEFAULT_BLOCK_ROWS,
    block_entries: int = DEFAULT_BLOCK_ENTRIES,
    max_per_row: int | None = None,
    seed: int = 0,
) -> sp.csr_matrix:
    """Pairs of rows of `matrix` whose non-zero column sets have Jaccard similarity > theta.

    MML (paper Eq. 10, spec mml.md §3) puts (a, b) in the buffer S when
    `|list(a) ∩ list(b)| / |list(a) ∪ list(b)| > theta`, with list(user) = the items it rated
    and list(item) = the users who rated it. Pass the training matrix for S_U and its
    transpose for S_I:

    ```python
    similar_users = similar_pairs(interactions.train, 0.3)
    similar_items = similar_pairs(interactions.train.T, 0.3)
    ```

    Only pairs with at least one common column can exceed `theta >= 0`, so the pairs are
    read off the sparse co-occurrence counts `X X^T` (X the binarised matrix), computed
    `block_rows` rows at a time: `|A ∪ B| = |A| + |B| - |A ∩ B|`. Memory is bounded by one
    block of `X X^T` plus the kept pairs; no dense n x n array is ever formed. A block ends
    early when the upper bound of its co-occurrence entries (for each row, the summed
    column counts of its columns) would pass `block_entries`, so rows that touch very
    popular columns come in smaller blocks (a single row is never split).

    The kept pairs themselves can outgrow memory on very sparse data: at the size of the
    MML paper's Table 9 (6.4M users, 14.8M interactions) about 4M users have a single
    training item, and every two of them with the same item have Jaccard 1, which alone is
    4.9 billion user pairs on the synthetic data of that size. `max_per_row` [INFER, not in
    the paper] keeps at most that many similar entities per row, a uniform random choice
    among those above `theta` (by a seeded hash of the pair, so independent of the block
    sizes): the relation sampler draws uniformly from a row, and drawing from a uniform
    subset of it keeps that distribution on average. The result is then no longer
    symmetric.

    Args:
        matrix: `[n, c]` scipy sparse matrix; every stored non-zero marks one (row, column)
            interaction (values are ignored; explicit zeros are dropped).
        theta: the threshold, in `[0, 1)`; pairs need Jaccard strictly above it.
        block_rows: at most this many rows of `X X^T` materialised at once.
        block_entries: bound on the co-occurrence entries of one block (see above).
        max_per_row: None (default: every pair above `theta`, the paper) or the most
            similar entities kept per row, chosen uniformly at random.
        seed: seed of that choice.

    Returns:
        `[n, n]` `scipy.sparse.csr_matrix` of float32 Jaccard values: entry (a, b) is stored
        iff a != b and Jaccard(a, b) > theta. Symmetric, no diagonal, sorted indices. Row a's
        column indices are the similar entities of a (uniform choice among them is a CSR
        slice).
    """
    if not (sp.issparse(matrix) and matrix.ndim == 2):
        raise ValueError(
            f"Received: `matrix` of type {type(matrix).__name__}. Expected a 2-D scipy sparse "
            "matrix (e.g. `Interactions.train` for users or its transpose for items)."
        )
    if isinstance(theta, bool) or not isinstance(theta, int | float | np.floating | np.integer):
        raise ValueError(f"Received: `theta={theta!r}`. Expected a number in [0, 1).")
    if not 0.0 <= float(theta) < 1.0:
        raise ValueError(
            f"Received: `theta={theta!r}`. Expected a number in [0, 1) (with theta < 0 every "
            "pair would qualify and the buffer would be dense)."
        )
    if isinstance(block_rows, bool) or not isinstance(block_rows, int | np.integer):
        raise ValueError(f"Received: `block_rows={block_rows!r}`. Expected an integer >= 1.")
    if block_rows < 1:
        raise ValueError(f"Received: `block_rows={block_rows!r}`. Expected an integer >= 1.")
    limits = {"block_entries": block_entries}
    if max_per_row is not None:
        limits["max_per_row"] = max_per_row
    for name, value in limits.items():
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"Received: `{name}={value!r}`. Expected an integer >= 1.")
    theta = float(theta)

    binary = sp.csr_matrix(matrix, copy=True)
    binary.sum_duplicates()
    binary.eliminate_zeros()
    binary.data = np.ones_like(binary.data, dtype=np.int32)
    num_rows = binary.shape[0]
    degrees = np.diff(binary.indptr).astype(np.int64)
    transposed = binary.T.tocsr()

    # Row a of X X^T has at most sum_{j in a} |column j| entries.
    bounds = binary @ np.diff(transposed.indptr).astype(np.int64)
    rows_out, columns_out, values_out = [], [], []
    for start, stop in _blocks(bounds, int(block_rows), int(block_entries)):
        common = (binary[start:stop] @ transposed).tocoo()
        rows = common.row.astype(np.int64) + start
        columns = common.col.astype(np.int64)
        intersection = common.data.astype(np.int64)
        union = degrees[rows] + degrees[columns] - intersection
        # Integer comparison (intersection > theta * union) would round theta; float64
        # division is exact enough for counts below 2**53 and keeps the pair set symmetric.
        jaccard = intersection / union
        keep = (jaccard > theta) & (rows != columns)
        rows, columns, jaccard = rows[keep], columns[keep], jaccard[keep]
        if max_per_row is not None:
            chosen = _random_per_row(rows, columns, int(max_per_row), num_rows, seed)
            rows, columns, jaccard = rows[chosen], columns[chosen], jaccard[chosen]
        rows_out.append(rows)
        columns_out.append(columns)
        values_out.append(jaccard.astype(np.float32))

    rows = np.concatenate(rows_out) if rows_out else np.zeros(0, np.int64)
    columns = np.concatenate(columns_out) if columns_out else np.zeros(0, np.int64)
    values = np.concatenate(values_out) if values_out else np.zeros(0, np.float32)
    pairs = sp.csr_matrix((values, (rows, columns)), shape=(num_rows, num_rows), dtype=np.float32)
    pairs.sort_indices()
    return pairs


def _blocks(bounds: np.ndarray, block_rows: int, block_entries: int):
    """`(start, stop)` row ranges of at most `block_rows` rows whose summed `bounds` stay
    within `block_entries` (a row over the budget alone is one block)."""
    start, num_rows = 0, len(bounds)
    cumulative = np.concatenate([[0], np.cumsum(bounds, dtype=np.int64)])
    while start < num_rows:
        # The last stop with cumulative[stop] - cumulative[start] <= block_entries.
        stop = int(np.searchsorted(cumulative, cumulative[start] + block_entries, "right")) - 1
        stop = min(max(stop, start + 1), start + block_rows, num_rows)
        yield start, stop
        start = stop


def _random_per_row(rows, columns, limit: int, num_rows: int, seed: int) -> np.ndarray:
    """Indices of at most `limit` pairs per row: the pairs of smallest seeded hash of
    `(row, column)` (splitmix64), i.e. a uniform random subset that does not depend on how
    the pairs were batched."""
    if len(rows) == 0:
        return np.zeros(0, np.int64)
    keys = _splitmix64(
        rows.astype(np.uint64) * np.uint64(num_rows) + columns.astype(np.uint64), seed
    )
    order = np.lexsort((keys, rows))
    sorted_rows = rows[order]
    first = np.searchsorted(sorted_rows, sorted_rows, side="left")
    rank = np.arange(len(order)) - first
    return np.sort(order[rank < limit])


def _splitmix64(values: np.ndarray, seed: int) -> np.ndarray:
    """The splitmix64 finaliser of `values + seed * golden ratio` (uint64, wrapping)."""
    with np.errstate(over="ignore"):
        z = values + np.uint64(seed + 1) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))
