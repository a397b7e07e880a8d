"""MAML's attention vectors for inspection: the heatmaps of Fig. 3 and the t-SNE of Fig. 4.

MAML (Liu et al., ACM MM'19, §4.4) shows a(u, i) in two ways:

- Fig. 3: heatmaps of attention vectors, rows x f dimensions: (a) one user and the items
  they bought, (b) one item and the users who bought it (`user_attention_map`,
  `item_attention_map`).
- Fig. 4: t-SNE of one user's items, once by the item embeddings q_i and once by the
  attention vectors a(u, i) (`attention_tsne`). The paper reads the two pictures by eye;
  `layout_agreement` and `neighbour_overlap` put numbers on them: how well each layout groups
  items of one category, and how much the two layouts share neighbours.

The model is only called (its `attention_weights` and item table); everything else is numpy
and scikit-learn, so these functions work on every Keras backend.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from keras import ops

from tfrec.data.interactions import Interactions

# Pairs per `attention_weights` call: 4096 x 5f floats of hidden activations (5 MB at f = 64).
PAIR_BATCH_SIZE = 4096
MIN_TSNE_ITEMS = 3
# One user's items are few: exact t-SNE (O(n^2)) is faster there than Barnes-Hut, whose
# thread start-up dominates for small n (0.7 s against 27 s for 72 points on 2 busy cores).
EXACT_TSNE_MAX_ITEMS = 1000


@dataclasses.dataclass
class AttentionMap:
    """Attention vectors of one user over items, or of one item over users.

    Attributes:
        values: `[n, f]` attention vectors, row r for `row_ids[r]`.
        row_ids: `[n]` int ids of the rows (items for a user map, users for an item map).
        title: what the map shows (used as the plot title).
        row_keys: optional `[n]` raw keys of the rows (`interactions.item_keys[row_ids]`).
        row_kind: `"item"` or `"user"`, what the rows are (the plot's y label).
    """

    values: np.ndarray
    row_ids: np.ndarray
    title: str = ""
    row_keys: np.ndarray | None = None
    row_kind: str = "item"

    def __post_init__(self):
        if self.values.ndim != 2 or len(self.values) != len(self.row_ids):
            raise ValueError(
                f"Received `values` of shape {self.values.shape} and {len(self.row_ids)} "
                "`row_ids`. Expected values of shape (len(row_ids), f)."
            )
        if self.row_keys is not None and len(self.row_keys) != len(self.row_ids):
            raise ValueError(
                f"Received {len(self.row_keys)} `row_keys` for {len(self.row_ids)} rows. "
                "Expected one key per row."
            )


def pair_attention(
    model, user_ids: Sequence[int], item_ids: Sequence[int], *, batch_size: int = PAIR_BATCH_SIZE
) -> np.ndarray:
    """a(u_r, i_r) for aligned pairs: `[n]` users and `[n]` items -> `[n, f]` float32.

    Args:
        model: a model with `attention_weights(user_ids [B], item_ids [B, M])` (`MAML`).
        user_ids, item_ids: the pairs, as two equally long id sequences.
        batch_size: pairs per model call (memory is `batch_size x 5f` floats).
    """
    _check_model(model)
    users = _check_ids(user_ids, model.num_users, "user")
    items = _check_ids(item_ids, model.num_items, "item")
    if len(users) != len(items):
        raise ValueError(
            f"Received {len(users)} user ids and {len(items)} item ids. Expected one user per "
            "item (aligned pairs)."
        )
    if batch_size < 1:
        raise ValueError(f"Received: `batch_size={batch_size}`. Expected an integer >= 1.")
    blocks = [np.zeros((0, model.embedding_dim), np.float32)]
    for start in range(0, len(users), batch_size):
        stop = start + batch_size
        weights = model.attention_weights(users[start:stop], items[start:stop, None])
        blocks.append(np.asarray(ops.convert_to_numpy(weights), np.float32)[:, 0, :])
    return np.concatenate(blocks, axis=0)


def user_attention_map(
    model,
    user_id: int,
    item_ids: Sequence[int] | None = None,
    *,
    interactions: Interactions | None = None,
    batch_size: int = PAIR_BATCH_SIZE,
) -> AttentionMap:
    """One user's attention vectors over items (MAML Fig. 3a): `[len(items), f]`.

    Args:
        model: a `MAML` model (anything with `attention_weights`).
        user_id: the user's int id.
        item_ids: the rows; default: the user's training items in `interactions`.
        interactions: the data the model was trained on; gives the default items and the
            raw keys of the rows.
        batch_size: pairs per model call.
    """
    _check_model(model)
    user_id = int(_check_ids([user_id], model.num_users, "user")[0])
    if item_ids is None:
        if interactions is None:
            raise ValueError(
                "Received neither `item_ids` nor `interactions`. Pass the items to show, or "
                "the Interactions whose training items of the user should be shown."
            )
        item_ids = _row_of(interactions.train, user_id)
        if len(item_ids) == 0:
            raise ValueError(f"User {user_id} has no training items in {interactions.name!r}.")
    items = _check_ids(item_ids, model.num_items, "item")
    values = pair_attention(model, np.full(len(items), user_id), items, batch_size=batch_size)
    name = user_id if interactions is None else f"{user_id} ({interactions.user_keys[user_id]})"
    return AttentionMap(
        values=values,
        row_ids=items,
        title=f"user {name}: attention over {len(items)} items",
        row_keys=None if interactions is None else np.asarray(interactions.item_keys)[items],
        row_kind="item",
    )


def item_attention_map(
    model,
    item_id: int,
    user_ids: Sequence[int] | None = None,
    *,
    interactions: Interactions | None = None,
    batch_size: int = PAIR_BATCH_SIZE,
) -> AttentionMap:
    """The attention vectors of users on one item (MAML Fig. 3b): `[len(users), f]`.

    Args:
        model: a `MAML` model (anything with `attention_weights`).
        item_id: the item's int id.
        user_ids: the rows; default: the item's training users in `interactions`.
        interactions: the data the model was trained on; gives the default users and the
            raw keys of the rows.
        batch_size: pairs per model call.
    """
    _check_model(model)
    item_id = int(_check_ids([item_id], model.num_items, "item")[0])
    if user_ids is None:
        if interactions is None:
            raise ValueError(
                "Received neither `user_ids` nor `interactions`. Pass the users to show, or "
                "the Interactions whose training users of the item should be shown."
            )
        user_ids = _row_of(interactions.train.T.tocsr(), item_id)
        if len(user_ids) == 0:
            raise ValueError(f"Item {item_id} has no training users in {interactions.name!r}.")
    users = _check_ids(user_ids, model.num_users, "user")
    values = pair_attention(model, users, np.full(len(users), item_id), batch_size=batch_size)
    name = item_id if interactions is None else f"{item_id} ({interactions.item_keys[item_id]})"
    return AttentionMap(
        values=values,
        row_ids=users,
        title=f"item {name}: attention of {len(users)} users",
        row_keys=None if interactions is None else np.asarray(interactions.user_keys)[users],
        row_kind="user",
    )


def attention_tsne(
    model,
    user_id: int,
    item_ids: Sequence[int],
    *,
    seed: int = 0,
    perplexity: float = 30.0,
) -> tuple[np.ndarray, np.ndarray]:
    """t-SNE of one user's items by item embedding and by attention vector (MAML Fig. 4).

    Both layouts use the same t-SNE settings (PCA initialisation, `random_state=seed`; exact
    gradients up to 1000 items, Barnes-Hut above), so a fixed seed gives the same pictures
    every time.

    Args:
        model: a `MAML` model (anything with `attention_weights` and `item_embedding`).
        user_id: the user.
        item_ids: the user's items (at least 3; the paper uses all the user bought).
        seed: t-SNE's random state.
        perplexity: t-SNE perplexity, lowered to `len(item_ids) - 1` for short lists
            (scikit-learn needs it below the number of points).

    Returns:
        `(embedding_2d, attention_2d)`: `[n, 2]` layouts of the item vectors q_i and of the
        attention vectors a(u, i), row r for `item_ids[r]`.
    """
    from sklearn.manifold import TSNE

    _check_model(model)
    items = _check_ids(item_ids, model.num_items, "item")
    if len(items) < MIN_TSNE_ITEMS:
        raise ValueError(
            f"Received {len(items)} item ids. Expected at least {MIN_TSNE_ITEMS} for a t-SNE "
            "layout; pick a user with more items."
        )
    if perplexity <= 0:
        raise ValueError(f"Received: `perplexity={perplexity}`. Expected a number > 0.")
    attention = user_attention_map(model, user_id, items).values
    embeddings = np.asarray(ops.convert_to_numpy(model.item_embedding.embeddings), np.float32)

    def layout(points):
        tsne = TSNE(
            n_components=2,
            perplexity=min(float(perplexity), len(items) - 1.0),
            init="pca",
            method="exact" if len(items) <= EXACT_TSNE_MAX_ITEMS else "barnes_hut",
            random_state=seed,
        )
        return tsne.fit_transform(points.astype(np.float64)).astype(np.float32)

    return layout(embeddings[items]), layout(attention)


def attention_weight_bounds(model) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension bounds on a(u, i) over *all* possible users and items, at the current
    attention weights.

    The attention's output layer reads the unit vector n(e) (spec maml.md §2.2), so
    `a_hat_l = ReLU(B2_l . n(e) + b_l)` lies in `[ReLU(b_l - |B2_l|), ReLU(b_l + |B2_l|)]`
    whatever p, q and F are, and the (scaled) softmax maps these intervals to bounds on every
    weight. With the authors' code the attention network is frozen at random initialisation
    (spec §10 #1), so these bounds hold for the whole training run: no learning of p and q
    can move a weight outside them (the paper's Fig. 3 text speaks of weights adjusting
    within [0, f]).

    Args:
        model: a `MAML` model with attention (inactive dropout, as in the code).

    Returns:
        `(lower, upper)`: two `[f]` arrays with `lower_l <= a_l(u, i) <= upper_l`.
    """
    _check_model(model)
    attention = getattr(model, "attention", None)
    if attention is None or not hasattr(attention, "output_layer"):
        raise ValueError(
            f"Received a {type(model).__name__} without a MAML attention layer. Expected a "
            "`MAML` model with `use_attention=True`."
        )
    kernel = np.asarray(ops.convert_to_numpy(attention.output_layer.kernel), np.float64)
    bias = np.asarray(ops.convert_to_numpy(attention.output_layer.bias), np.float64)
    reach = np.linalg.norm(kernel, axis=0)
    low, high = np.exp(np.maximum(bias - reach, 0.0)), np.exp(np.maximum(bias + reach, 0.0))
    scale = attention.embedding_dim if attention.normalization == "scaled_softmax" else 1.0
    # a_l is largest when a_hat_l is at its top and every other a_hat_k at its bottom.
    upper = scale * high / (high + low.sum() - low)
    lower = scale * low / (low + high.sum() - high)
    return lower, upper


def layout_agreement(points: np.ndarray, labels: np.ndarray, *, k: int = 5) -> dict[str, float]:
    """How well `points` group items of one label: silhouette and kNN label agreement.

    Points whose label is negative (unknown) are left out. Works on any `[n, d]` points:
    the 2-D t-SNE layouts or the original vectors.

    Args:
        points: `[n, d]` coordinates.
        labels: `[n]` int labels (e.g. `interactions.item_labels()[0][item_ids]`), -1 unknown.
        k: neighbours per point for the kNN agreement (lowered to n - 1 for few points).

    Returns:
        `{"silhouette": ..., "knn_agreement": ..., "knn_chance": ..., "num_points": n}`:
        the silhouette score (-1..1; NaN with fewer than 2 labels or no label holding two
        points); the mean fraction of each point's k nearest neighbours that share its label;
        and that fraction's expectation when labels are shuffled (sum_c p_c (n_c - 1) /
        (n - 1)), the baseline to compare it with.
    """
    from sklearn.metrics import silhouette_score

    points = np.asarray(points, dtype=np.float64)
    labels = np.asarray(labels)
    if points.ndim != 2 or len(points) != len(labels):
        raise ValueError(
            f"Received points of shape {points.shape} and {len(labels)} labels. Expected "
            "points of shape (n, d) with one label per point."
        )
    if k < 1:
        raise ValueError(f"Received: `k={k}`. Expected an integer >= 1.")
    known = labels >= 0
    points, labels = points[known], labels[known]
    n = len(labels)
    _, counts = np.unique(labels, return_counts=True)
    result = {"num_points": float(n), "silhouette": np.nan, "knn_agreement": np.nan}
    result["knn_chance"] = float((counts * (counts - 1)).sum() / (n * (n - 1))) if n > 1 else np.nan
    if n < 2:
        return result
    if 2 <= len(counts) <= n - 1:
        result["silhouette"] = float(silhouette_score(points, labels))
    neighbours = _nearest_neighbours(points, min(k, n - 1))
    result["knn_agreement"] = float((labels[neighbours] == labels[:, None]).mean())
    return result


def neighbour_overlap(first: np.ndarray, second: np.ndarray, *, k: int = 5) -> float:
    """Mean fraction of each point's k nearest neighbours that two layouts share.

    1.0: both layouts put the same items next to each other; about k / (n - 1): unrelated.

    Args:
        first, second: `[n, d1]` and `[n, d2]` coordinates of the same n points.
        k: neighbours per point (lowered to n - 1 for few points).
    """
    first = np.asarray(first, dtype=np.float64)
    second = np.asarray(second, dtype=np.float64)
    if first.ndim != 2 or second.ndim != 2 or len(first) != len(second) or len(first) < 2:
        raise ValueError(
            f"Received layouts of shapes {first.shape} and {second.shape}. Expected two "
            "(n, d) arrays with the same n >= 2."
        )
    if k < 1:
        raise ValueError(f"Received: `k={k}`. Expected an integer >= 1.")
    k = min(k, len(first) - 1)
    a, b = _nearest_neighbours(first, k), _nearest_neighbours(second, k)
    shared = [len(np.intersect1d(row_a, row_b)) for row_a, row_b in zip(a, b, strict=True)]
    return float(np.mean(shared) / k)


def _nearest_neighbours(points: np.ndarray, k: int) -> np.ndarray:
    """`[n, k]` indices of each point's k nearest other points (ties to the lower index)."""
    squared = ((points[:, None, :] - points[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(squared, np.inf)
    return np.argsort(squared, axis=1, kind="stable")[:, :k]


def _check_model(model) -> None:
    missing = [
        name
        for name in ("attention_weights", "num_users", "num_items", "item_embedding")
        if not hasattr(model, name)
    ]
    if missing:
        raise TypeError(
            f"Received a {type(model).__name__} without {missing}. Expected a model with "
            "per (user, item) attention, such as `tfrec.models.MAML`."
        )


def _row_of(matrix, row: int) -> np.ndarray:
    return matrix.indices[matrix.indptr[row] : matrix.indptr[row + 1]].astype(np.int64)


def _check_ids(ids, size: int, kind: str) -> np.ndarray:
    """`ids` as an int64 array, every id in [0, size)."""
    array = np.asarray(ids)
    if array.ndim != 1:
        raise ValueError(f"Received {kind} ids of shape {array.shape}. Expected a 1-D list.")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"Received {kind} ids of dtype {array.dtype}. Expected integer ids.")
    array = array.astype(np.int64)
    bad = array[(array < 0) | (array >= size)]
    if bad.size:
        raise ValueError(
            f"Received unknown {kind} ids {bad[:5].tolist()}. Expected ids in [0, {size}) "
            f"(the model has {size} {kind}s)."
        )
    return array
