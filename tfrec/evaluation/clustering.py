"""Embedding quality as in MML: NMI of spherical k-means clusters against item labels."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from sklearn.cluster import kmeans_plusplus
from sklearn.metrics import normalized_mutual_info_score

ALGORITHMS = ("spherical", "euclidean_on_normalised")


def nmi_spherical_kmeans(
    item_embeddings,
    labels,
    k: int,
    seeds: Iterable[int] = range(10),
    *,
    algorithm: str = "spherical",
    max_iter: int = 100,
) -> tuple[float, float, np.ndarray]:
    """NMI between item category labels and k clusters of the unit-normalised embeddings.

    MML (paper §4.2, spec mml.md §7) clusters item vectors with spherical k-means for
    K = 10 and 20 and reports NMI(L, C) = I(L; C) / ((H(L) + H(C)) / 2), i.e. sklearn's
    `normalized_mutual_info_score` with its default arithmetic normalisation. The paper
    gives no restart count; each seed here is one k-means run and the result is the mean and
    population standard deviation over seeds [INFER: 10 seeds].

    Algorithms:
    - `"spherical"` (default): true spherical k-means (cosine). Rows are unit-normalised;
      centres start from k-means++ (sklearn `kmeans_plusplus`, seeded) on the unit rows; each
      Lloyd step assigns a row to the centre of largest cosine and re-sets each centre to the
      normalised sum of its rows; an emptied cluster takes the row least similar to its
      current centre. Stops when assignments no longer change, or after `max_iter` steps.
    - `"euclidean_on_normalised"`: sklearn `KMeans(n_init=1)` on the unit rows (centres are
      not re-normalised; the usual approximation of spherical k-means).

    Items whose label is -1 (unknown, `Interactions.item_labels()`) are left out before
    clustering. Zero rows stay zero after normalisation.

    Args:
        item_embeddings: `[num_items, d]` array.
        labels: `[num_items]` integer labels, -1 = unknown.
        k: the number of clusters (MML: 10 and 20), at most the number of labelled items.
        seeds: the k-means seeds, one run each.
        algorithm: `"spherical"` or `"euclidean_on_normalised"`.
        max_iter: Lloyd iterations per run.

    Returns:
        `(mean, std, per_seed)`: floats and a `[len(seeds)]` float64 array.
    """
    embeddings = np.asarray(item_embeddings, dtype=np.float64)
    labels = np.asarray(labels)
    if embeddings.ndim != 2:
        raise ValueError(
            f"Received: `item_embeddings` of shape {embeddings.shape}. Expected [num_items, d]."
        )
    if labels.shape != (embeddings.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"Received: `labels` of shape {labels.shape} and dtype {labels.dtype}. Expected "
            f"[{embeddings.shape[0]}] integer labels (-1 = unknown)."
        )
    if algorithm not in ALGORITHMS:
        raise ValueError(f"Received: `algorithm={algorithm!r}`. Expected one of {ALGORITHMS}.")
    known = labels >= 0
    embeddings, labels = embeddings[known], labels[known]
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= len(labels):
        raise ValueError(
            f"Received: `k={k!r}`. Expected an integer in [1, {len(labels)}] (the number of "
            "items with a known label)."
        )
    seeds = [int(seed) for seed in seeds]
    if not seeds:
        raise ValueError("Received: empty `seeds`. Expected at least one k-means seed.")
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    unit = embeddings / np.maximum(norms, 1e-12)
    scores = []
    for seed in seeds:
        if algorithm == "spherical":
            assignment = _spherical_kmeans(unit, int(k), seed, max_iter)
        else:
            from sklearn.cluster import KMeans

            assignment = KMeans(int(k), n_init=1, max_iter=max_iter, random_state=seed).fit_predict(
                unit
            )
        scores.append(normalized_mutual_info_score(labels, assignment))
    per_seed = np.asarray(scores, dtype=np.float64)
    return float(per_seed.mean()), float(per_seed.std()), per_seed


def _spherical_kmeans(unit: np.ndarray, k: int, seed: int, max_iter: int) -> np.ndarray:
    centres, _ = kmeans_plusplus(unit, k, random_state=seed)
    centres = _normalise(centres)
    assignment = None
    for _ in range(max_iter):
        similarity = unit @ centres.T
        new_assignment = similarity.argmax(axis=1)
        if assignment is not None and np.array_equal(new_assignment, assignment):
            break
        assignment = new_assignment
        sums = np.zeros_like(centres)
        np.add.at(sums, assignment, unit)
        counts = np.bincount(assignment, minlength=k)
        fit = similarity[np.arange(len(unit)), assignment]
        for cluster in np.flatnonzero(counts == 0):
            # Re-seed an empty cluster with the row that fits its own centre worst.
            worst = int(fit.argmin())
            sums[cluster] = unit[worst]
            fit[worst] = np.inf
        centres = _normalise(sums)
    return assignment


def _normalise(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
