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
    read off sparse co-occurrence counts `X X^T` (X the binarised matrix, `|A ∪ B| = |A| +
    |B| - |A ∩ B|`), with two reductions of the work (`_Groups`, `_pattern_pairs`): rows
    with identical column sets are merged into one "pattern" (Jaccard 1 with each other,
    the same Jaccard with any third row), and a pattern of size d is only multiplied with
    patterns of size in (theta * d, d / theta), the sizes that can reach Jaccard > theta.
    The product runs `block_rows` pattern rows at a time, and a block ends early when the
    upper bound of its co-occurrence entries would pass `block_entries`, so memory is
    bounded by one block plus the kept pairs; no dense n x n array is ever formed.

    The kept pairs themselves can outgrow memory on very sparse data: at the size of the
    MML paper's Table 9 (6.4M users, 14.8M interactions) about 4M users have a single
    training item, and every two of them with the same item have Jaccard 1, which alone is
    4.9 billion user pairs on the synthetic data of that size. `max_per_row` [INFER, not in
    the paper] keeps at most that many similar entities per row, a uniform random choice
    among those above `theta`: a row with at most `4 * max_per_row` candidates keeps those
    of smallest seeded hash of the pair, a row with more draws seeded positions among its
    candidates without listing them (see `_Groups.expand`). The cap applies to the
    patterns first: each pattern keeps at most `max_per_row` similar patterns (smallest
    seeded hash), since the pattern pairs alone outgrow memory too (at Table 9 size two
    two-item users sharing an item have Jaccard 1/3 > 0.3, so the two-item users of a
    popular item all pair with each other); a row's entities are then drawn uniformly from
    its own pattern and those kept patterns (uniform over the rows when no pattern has
    more than `max_per_row` similar patterns). The relation sampler draws
    uniformly from a row, and drawing from a uniform subset of it keeps that distribution
    on average. The choice depends on the seed only (not on the block sizes), and the
    result is then no longer symmetric.

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
    binary.sort_indices()
    binary.data = np.ones_like(binary.data, dtype=np.int32)
    groups = _Groups(binary)
    neighbours = _sparse_pairs(
        _pattern_pairs(
            groups.patterns, theta, int(block_rows), int(block_entries), max_per_row, seed
        ),
        groups.patterns.shape[0],
        np.float64,
    )
    return _sparse_pairs(groups.expand(neighbours, max_per_row, seed), binary.shape[0], np.float32)


def _sparse_pairs(chunks, size: int, dtype) -> sp.csr_matrix:
    """`[size, size]` CSR of `dtype` (sorted indices) of `(rows, columns, values)` chunks."""
    rows, columns, values = [], [], []
    for chunk_rows, chunk_columns, chunk_values in chunks:
        rows.append(chunk_rows)
        columns.append(chunk_columns)
        values.append(chunk_values)
    if not rows:
        rows = columns = [np.zeros(0, np.int64)]
        values = [np.zeros(0)]
    pairs = sp.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))),
        shape=(size, size),
        dtype=dtype,
    )
    pairs.sort_indices()
    return pairs


# Rows drawn per chunk of `_Groups.expand` are bounded by this many candidate positions.
_CHUNK_POSITIONS = 20_000_000


class _Groups:
    """The rows of a binary CSR matrix grouped by identical column sets ("patterns").

    Rows with the same set have Jaccard 1 with each other, and the same Jaccard with any
    third row, so the co-occurrence products run on one row per pattern: on very sparse
    data most rows share a pattern (on Table 9's synthetic data 6.4M users make 3.4M
    patterns, 4M of them single-item users, and the product's work drops from 2.5e10 to
    6e9 entries before the length filter of `_pattern_pairs`). Empty rows belong to no
    pattern (they have no similar entity).

    Patterns are numbered by increasing size (number of columns), as `_pattern_pairs`
    needs; `members` lists each pattern's rows in increasing order.
    """

    def __init__(self, binary: sp.csr_matrix):
        num_rows = binary.shape[0]
        degrees = np.diff(binary.indptr).astype(np.int64)
        row_of = np.repeat(np.arange(num_rows), degrees)
        # Two independent 64-bit hashes of each row's column set (sums of column hashes),
        # then an exact check: a row whose columns differ from its group's first row (a
        # hash collision) is given a key of its own and the grouping is redone.
        hashes = []
        for salt in (11, 12):
            summed = np.zeros(num_rows, np.uint64)
            np.add.at(summed, row_of, _column_hashes(binary.indices, salt))
            hashes.append(summed)
        alone = np.zeros(num_rows, np.int64)
        while True:
            order = np.lexsort((np.arange(num_rows), alone, hashes[1], hashes[0], degrees))
            keys = [key[order] for key in (degrees, hashes[0], hashes[1], alone)]
            starts = np.ones(num_rows, bool)
            starts[1:] = np.any([key[1:] != key[:-1] for key in keys], axis=0)
            first = np.maximum.accumulate(np.where(starts, np.arange(num_rows), 0))
            member, reference = order[~starts], order[first][~starts]
            lengths = degrees[member]
            offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
            own = binary.indices[np.repeat(binary.indptr[member], lengths) + offsets]
            other = binary.indices[np.repeat(binary.indptr[reference], lengths) + offsets]
            differs = np.zeros(len(member), bool)
            np.logical_or.at(differs, np.repeat(np.arange(len(member)), lengths), own != other)
            if not differs.any():
                break
            alone[member[differs]] = member[differs] + 1
        valid = degrees[order] > 0
        starts &= valid
        pattern_of_sorted = np.cumsum(starts) - 1  # rows sorted by (degree, hashes)
        self.pattern = np.full(num_rows, -1, np.int64)
        self.pattern[order[valid]] = pattern_of_sorted[valid]
        # Degree is the first sort key, so pattern numbers increase with the size.
        count = int(starts.sum())
        self.sizes = np.bincount(self.pattern[self.pattern >= 0], minlength=count)
        by_pattern = np.lexsort((np.arange(num_rows), self.pattern))
        by_pattern = by_pattern[self.pattern[by_pattern] >= 0]
        self.members = by_pattern  # rows, grouped by pattern, increasing within one
        self.member_start = np.concatenate([[0], np.cumsum(self.sizes)])
        self.rank = np.zeros(num_rows, np.int64)  # position of a row among its pattern's
        self.rank[by_pattern] = (
            np.arange(len(by_pattern)) - self.member_start[self.pattern[by_pattern]]
        )
        self.patterns = binary[order[starts]]
        self.num_rows = num_rows

    def expand(self, neighbours: sp.csr_matrix, max_per_row: int | None, seed: int):
        """Yields `(rows, columns, jaccard)` chunks of the row pairs: each row of pattern p
        pairs with the other rows of p (Jaccard 1) and the rows of p's `neighbours`.

        Without `max_per_row` every pair is listed. With it, a row with at most
        `4 * max_per_row` candidates keeps the `max_per_row` of smallest seeded hash of
        (row, candidate) (a uniform subset, independent of the blocking); a row with more
        draws `2 * max_per_row` seeded positions among its candidates and keeps the first
        `max_per_row` distinct ones (uniform too, without listing its candidates: a
        single-item user of a popular item has thousands). A row left short by repeated
        draws (rare) falls back to listing.
        """
        # Candidates of a row of pattern p: the other rows of p, then p's neighbours' rows.
        neighbour_sizes = self.sizes[neighbours.indices]
        through = np.concatenate([[0], np.cumsum(neighbour_sizes)])
        others = self.sizes - 1
        totals = others + (through[neighbours.indptr[1:]] - through[neighbours.indptr[:-1]])
        row_totals = np.where(self.pattern >= 0, totals[np.maximum(self.pattern, 0)], 0)
        if max_per_row is None:
            yield from self._listed(np.flatnonzero(row_totals), row_totals, neighbours, through)
            return
        limit = int(max_per_row)
        listed = np.flatnonzero((row_totals > 0) & (row_totals <= 4 * limit))
        for rows, columns, jaccard in self._listed(listed, row_totals, neighbours, through):
            keep = _random_per_row(rows, columns, limit, self.num_rows, seed)
            yield rows[keep], columns[keep], jaccard[keep]
        drawn = np.flatnonzero(row_totals > 4 * limit)
        short = []
        for chunk in np.array_split(drawn, max(1, -(-len(drawn) * 2 * limit // _CHUNK_POSITIONS))):
            if not len(chunk):
                continue
            draws = np.arange(2 * limit, dtype=np.uint64)
            keys = chunk.astype(np.uint64)[:, None] * np.uint64(2 * limit) + draws
            positions = (_splitmix64(keys.ravel(), seed) % np.repeat(
                row_totals[chunk].astype(np.uint64), 2 * limit
            )).astype(np.int64)  # fmt: skip
            rows = np.repeat(chunk, 2 * limit)
            # First occurrence of each (row, position), in draw order; keep `limit` per row.
            order = np.lexsort((np.arange(len(rows)), positions, rows))
            first = np.ones(len(order), bool)
            first[1:] = (rows[order][1:] != rows[order][:-1]) | (
                positions[order][1:] != positions[order][:-1]
            )
            distinct = np.sort(order[first])
            kept_rows = rows[distinct]
            start = np.searchsorted(kept_rows, kept_rows, side="left")
            keep = distinct[(np.arange(len(distinct)) - start) < limit]
            counts = np.bincount(np.searchsorted(chunk, rows[keep]), minlength=len(chunk))
            short.append(chunk[counts < limit])
            full = np.isin(rows[keep], chunk[counts >= limit])
            keep = keep[full]
            columns, jaccard = self._candidates(rows[keep], positions[keep], neighbours, through)
            yield rows[keep], columns, jaccard
        short = np.concatenate(short) if short else np.zeros(0, np.int64)
        for rows, columns, jaccard in self._listed(short, row_totals, neighbours, through):
            keep = _random_per_row(rows, columns, limit, self.num_rows, seed)
            yield rows[keep], columns[keep], jaccard[keep]

    def _listed(self, rows, row_totals, neighbours, through):
        """Every candidate of `rows`, in chunks of bounded size."""
        if not len(rows):
            return
        for start, stop in _blocks(row_totals[rows], len(rows), _CHUNK_POSITIONS):
            chunk = rows[start:stop]
            lengths = row_totals[chunk]
            repeated = np.repeat(chunk, lengths)
            positions = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
            columns, jaccard = self._candidates(repeated, positions, neighbours, through)
            yield repeated, columns, jaccard

    def _candidates(self, rows, positions, neighbours, through):
        """`(entity, jaccard)` of candidate `positions` (in `[0, total)`) of `rows`."""
        patterns = self.pattern[rows]
        others = self.sizes[patterns] - 1
        own = positions < others
        # Among the other rows of the pattern: skip the row itself.
        own_index = positions + (positions >= self.rank[rows])
        # Among the neighbours' rows: find the neighbour entry, then the row within it.
        target = through[neighbours.indptr[patterns]] + positions - others
        entry = np.searchsorted(through, np.where(own, 0, target), side="right") - 1
        entry = np.minimum(entry, max(len(neighbours.indices) - 1, 0))
        if len(neighbours.indices):
            neighbour = neighbours.indices[entry]
            within = target - through[entry]
            jaccard = np.where(own, 1.0, neighbours.data[entry])
        else:
            neighbour, within, jaccard = patterns, own_index, np.ones(len(rows))
        slot = np.where(
            own, self.member_start[patterns] + own_index, self.member_start[neighbour] + within
        )
        return self.members[slot], jaccard.astype(np.float32)


def _pattern_pairs(
    patterns: sp.csr_matrix,
    theta: float,
    block_rows: int,
    block_entries: int,
    max_per_row: int | None = None,
    seed: int = 0,
):
    """Yields `(rows, columns, jaccard)` chunks of the Jaccard > theta pairs between
    distinct patterns (no diagonal); with `max_per_row`, at most that many per pattern
    (smallest seeded hash).

    Patterns come sorted by size. Jaccard(A, B) <= min(|A|, |B|) / max(|A|, |B|), so a
    pattern of size d can only pair with sizes in (theta * d, d / theta) (the length filter
    of set-similarity joins): rows are taken in bands of similar size, each multiplied with
    the contiguous slice of patterns whose sizes can qualify, `block_rows` rows (and at
    most about `block_entries` co-occurrence entries) at a time. No dense P x P array is
    formed.
    """
    count = patterns.shape[0]
    sizes = np.diff(patterns.indptr).astype(np.int64)
    band_start = 0
    while band_start < count:
        low = sizes[band_start]
        # Sizes within 25% of the band's smallest share one column slice.
        band_stop = int(np.searchsorted(sizes, max(low, int(low * 1.25)), side="right"))
        high = sizes[band_stop - 1]
        # Candidates: sizes > theta * low and < high / theta (a superset by rounding).
        first = int(np.searchsorted(sizes, int(np.floor(theta * low)), side="left"))
        last = count if theta == 0 else int(np.searchsorted(sizes, high / theta, side="right"))
        candidates = patterns[first:last].T.tocsr()
        bounds = patterns[band_start:band_stop] @ np.diff(candidates.indptr).astype(np.int64)
        for start, stop in _blocks(bounds, block_rows, block_entries):
            start, stop = start + band_start, stop + band_start
            common = (patterns[start:stop] @ candidates).tocoo()
            rows = common.row.astype(np.int64) + start
            columns = common.col.astype(np.int64) + first
            intersection = common.data.astype(np.int64)
            union = sizes[rows] + sizes[columns] - intersection
            # Integer comparison (intersection > theta * union) would round theta; float64
            # division is exact enough for counts below 2**53 and keeps the pairs symmetric.
            jaccard = intersection / union
            keep = (jaccard > theta) & (rows != columns)
            rows, columns, jaccard = rows[keep], columns[keep], jaccard[keep]
            if max_per_row is not None:  # a row's pairs all come from this block
                chosen = _random_per_row(rows, columns, int(max_per_row), count, seed)
                rows, columns, jaccard = rows[chosen], columns[chosen], jaccard[chosen]
            yield rows, columns, jaccard
        band_start = band_stop


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


def _column_hashes(columns: np.ndarray, salt: int) -> np.ndarray:
    """A 64-bit hash of each column id (summed per row to hash a row's column set)."""
    return _splitmix64(columns.astype(np.uint64), salt)


def _splitmix64(values: np.ndarray, seed: int) -> np.ndarray:
    """The splitmix64 finaliser of `values + seed * golden ratio` (uint64, wrapping)."""
    with np.errstate(over="ignore"):
        z = values + np.uint64(seed + 1) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))
