"""MML's similar-pair buffers: entity pairs whose interaction lists have Jaccard > theta."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

DEFAULT_BLOCK_ROWS = 4096


def similar_pairs(
    matrix: sp.spmatrix | sp.sparray,
    theta: float,
    *,
    block_rows: int = DEFAULT_BLOCK_ROWS,
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
    block of `X X^T` (its non-zeros: block rows x rows sharing a column with them) plus the
    kept pairs; no dense n x n array is ever formed.

    Args:
        matrix: `[n, c]` scipy sparse matrix; every stored non-zero marks one (row, column)
            interaction (values are ignored; explicit zeros are dropped).
        theta: the threshold, in `[0, 1)`; pairs need Jaccard strictly above it.
        block_rows: rows of `X X^T` materialised at once.

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
    theta = float(theta)

    binary = sp.csr_matrix(matrix, copy=True)
    binary.sum_duplicates()
    binary.eliminate_zeros()
    binary.data = np.ones_like(binary.data, dtype=np.int32)
    num_rows = binary.shape[0]
    degrees = np.diff(binary.indptr).astype(np.int64)
    transposed = binary.T.tocsr()

    rows_out, columns_out, values_out = [], [], []
    for start in range(0, num_rows, int(block_rows)):
        stop = min(start + int(block_rows), num_rows)
        common = (binary[start:stop] @ transposed).tocoo()
        rows = common.row.astype(np.int64) + start
        columns = common.col.astype(np.int64)
        intersection = common.data.astype(np.int64)
        union = degrees[rows] + degrees[columns] - intersection
        # Integer comparison (intersection > theta * union) would round theta; float64
        # division is exact enough for counts below 2**53 and keeps the pair set symmetric.
        jaccard = intersection / union
        keep = (jaccard > theta) & (rows != columns)
        rows_out.append(rows[keep])
        columns_out.append(columns[keep])
        values_out.append(jaccard[keep].astype(np.float32))

    rows = np.concatenate(rows_out) if rows_out else np.zeros(0, np.int64)
    columns = np.concatenate(columns_out) if columns_out else np.zeros(0, np.int64)
    values = np.concatenate(values_out) if values_out else np.zeros(0, np.float32)
    pairs = sp.csr_matrix((values, (rows, columns)), shape=(num_rows, num_rows), dtype=np.float32)
    pairs.sort_indices()
    return pairs
