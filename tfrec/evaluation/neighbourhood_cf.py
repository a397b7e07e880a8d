"""Two-stage use of learned embeddings: user- and item-based CF over metric neighbours.

The MML paper (Table 7, §4.4) plugs the learned embeddings into second-stage recommenders
and reports HR@50 and Recall@50; for UBCF and IBCF the neighbours are "the k nearest
neighbours under the learned metric" and nothing else is specified (spec mml.md §7). Here:

* neighbours: the `neighbours` nearest other users (UBCF) or items (IBCF) under the
  entity-entity metric of the model (MML: F^U for users, F^I for items, i.e. Euclidean
  distance after `LearnedMetric.project`; every other model: Euclidean distance between
  its embedding rows), found with scikit-learn's exact `NearestNeighbors`;
* weights [INFER]: `"inverse-distance"` (default) `1 / (1 + d)` with d the squared
  distance (the metric's own d_W), or `"uniform"` (every neighbour counts 1);
* scores: UBCF `s(u, i) = sum_{v in N(u)} w(u, v) R[v, i]`, IBCF
  `s(u, i) = sum_{j in R(u)} w(i, j) [j in N(i)]`, i.e. `S R` and `R S^T` with the sparse
  `[n, n]` neighbour-weight matrix S and the training matrix R;
* ranking: `evaluate_full_ranking` over every item, the user's known items (training and
  validation) excluded.

Example:
>>> results = two_stage_evaluation(model, data, ks=(50,))
>>> results["ubcf"].metrics["hr@50"], results["ibcf"].metrics["recall@50"]
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from tfrec.evaluation.full_ranking import evaluate_full_ranking

KINDS = ("user", "item")
WEIGHTINGS = ("inverse-distance", "uniform")
DEFAULT_NEIGHBOURS = 50  # [INFER] the paper does not give k.


def metric_space(model) -> tuple[np.ndarray, np.ndarray]:
    """`(users [num_users, k], items [num_items, k])` in which Euclidean distance is the
    model's user-user and item-item distance (MML: its F^U / F^I projections)."""
    import keras

    users = np.asarray(keras.ops.convert_to_numpy(model.user_embedding.embeddings), np.float32)
    items = np.asarray(keras.ops.convert_to_numpy(model.item_embedding.embeddings), np.float32)
    user_metric = getattr(model, "user_user_metric", None)
    item_metric = getattr(model, "item_item_metric", None)
    if user_metric is not None:
        users = np.asarray(keras.ops.convert_to_numpy(user_metric.project(users)), np.float32)
    if item_metric is not None:
        items = np.asarray(keras.ops.convert_to_numpy(item_metric.project(items)), np.float32)
    return users, items


def neighbour_weights(
    vectors: np.ndarray, neighbours: int = DEFAULT_NEIGHBOURS, weighting: str = WEIGHTINGS[0]
) -> sp.csr_matrix:
    """`[n, n]` CSR matrix: row a holds a's `neighbours` nearest other rows of `vectors`
    (Euclidean), weighted by `weighting`. Ties at the k-th place follow scikit-learn."""
    from sklearn.neighbors import NearestNeighbors

    vectors = np.asarray(vectors, np.float32)
    if vectors.ndim != 2 or len(vectors) < 2:
        raise ValueError(
            f"Received vectors of shape {vectors.shape}. Expected a [n, k] array with n >= 2."
        )
    if weighting not in WEIGHTINGS:
        raise ValueError(f"Received: `weighting={weighting!r}`. Expected one of {WEIGHTINGS}.")
    if isinstance(neighbours, bool) or int(neighbours) != neighbours or neighbours < 1:
        raise ValueError(f"Received: `neighbours={neighbours!r}`. Expected an integer >= 1.")
    count = min(int(neighbours), len(vectors) - 1)
    # One extra neighbour: each row's nearest is usually itself, dropped below (a duplicate
    # vector may come first instead, so the row is dropped by index, not by position).
    index = NearestNeighbors(n_neighbors=count + 1).fit(vectors)
    distances, found = index.kneighbors(vectors)
    rows = np.arange(len(vectors))[:, None]
    keep = found != rows
    keep[keep.sum(axis=1) > count, -1] = False  # self was not among them: drop the farthest
    squared = np.square(distances[keep])
    weights = 1.0 / (1.0 + squared) if weighting == "inverse-distance" else np.ones_like(squared)
    matrix = sp.csr_matrix(
        (weights.astype(np.float32), (np.broadcast_to(rows, found.shape)[keep], found[keep])),
        shape=(len(vectors), len(vectors)),
    )
    matrix.sort_indices()
    return matrix


class NeighbourhoodCF:
    """UBCF or IBCF over precomputed neighbour weights (see the module docstring).

    Args:
        weights: `[n, n]` neighbour weights (`neighbour_weights`) of users (`kind="user"`)
            or items (`kind="item"`).
        train: `[num_users, num_items]` training matrix (values are treated as 0/1).
        kind: `"user"` (UBCF) or `"item"` (IBCF).
    """

    def __init__(self, weights: sp.spmatrix, train: sp.spmatrix, kind: str):
        if kind not in KINDS:
            raise ValueError(f"Received: `kind={kind!r}`. Expected one of {KINDS}.")
        expected = train.shape[0] if kind == "user" else train.shape[1]
        if weights.shape != (expected, expected):
            raise ValueError(
                f"Received {kind} weights of shape {weights.shape}. Expected "
                f"({expected}, {expected}) for a training matrix of shape {train.shape}."
            )
        self.kind = kind
        self.weights = sp.csr_matrix(weights, dtype=np.float32)
        self.train = (sp.csr_matrix(train) != 0).astype(np.float32)
        # IBCF scores R S^T: transposed once here, not per batch.
        self.item_weights_t = self.weights.T.tocsr() if kind == "item" else None

    def score_users(self, user_ids) -> np.ndarray:
        """`[b, num_items]` float32 scores of `user_ids` (higher is better)."""
        user_ids = np.asarray(user_ids, np.int64)
        if self.kind == "user":
            scores = self.weights[user_ids] @ self.train
        else:
            scores = self.train[user_ids] @ self.item_weights_t
        return np.asarray(scores.toarray(), np.float32)


def two_stage_evaluation(
    model,
    interactions,
    *,
    ks=(50,),
    neighbours: int = DEFAULT_NEIGHBOURS,
    weighting: str = WEIGHTINGS[0],
    split: str = "test",
) -> dict:
    """`{"ubcf": RankingResult, "ibcf": RankingResult}`: the model's embeddings as UBCF and
    IBCF neighbourhoods, ranked over every item with the user's training (and validation,
    when ranking the test split) items excluded. Metrics include `hr@K` and `recall@K`."""
    users, items = metric_space(model)
    exclude = ("train", "validation") if split == "test" else ("train",)
    exclude = tuple(name for name in exclude if getattr(interactions, name) is not None)
    results = {}
    for name, kind, vectors in (("ubcf", "user", users), ("ibcf", "item", items)):
        recommender = NeighbourhoodCF(
            neighbour_weights(vectors, neighbours, weighting), interactions.train, kind
        )
        results[name] = evaluate_full_ranking(
            recommender.score_users, interactions, ks=ks, split=split, exclude=exclude
        )
    return results
