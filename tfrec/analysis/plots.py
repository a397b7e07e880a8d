"""Matplotlib figures of MAML's attention: Fig. 3 heatmaps and Fig. 4 t-SNE pairs.

Every function returns the `matplotlib.figure.Figure` it drew on (and never calls
`plt.show`), so notebooks display it and scripts save it with `figure.savefig`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tfrec.analysis.attention_maps import AttentionMap

OTHER_COLOR = "dimgray"
UNKNOWN_COLOR = "lightgray"


def plot_attention_map(attention_map: AttentionMap, ax=None, *, cmap: str = "Blues"):
    """Heatmap of an `AttentionMap`: dimensions on x, rows (items or users) on y.

    A deeper colour is a larger weight, as in the paper's Fig. 3; a colorbar gives the scale
    (weights sum to f per row with MAML's scaled softmax).

    Args:
        attention_map: from `user_attention_map` or `item_attention_map`.
        ax: axes to draw on (default: a new figure).
        cmap: matplotlib colour map.

    Returns:
        The Figure (the heatmap's axes and a colorbar axes).
    """
    import matplotlib.pyplot as plt

    values = attention_map.values
    if ax is None:
        height = min(8.0, 2.0 + 0.08 * len(values))
        _, ax = plt.subplots(figsize=(7.0, height))
    figure = ax.figure
    image = ax.imshow(values, aspect="auto", interpolation="nearest", cmap=cmap)
    figure.colorbar(image, ax=ax, label="attention weight")
    rows = f"{attention_map.row_kind}s"
    ax.set(xlabel="dimension of the attention vector", ylabel=rows, title=attention_map.title)
    if len(values) <= 20:
        labels = attention_map.row_keys
        ax.set_yticks(np.arange(len(values)))
        ax.set_yticklabels(attention_map.row_ids if labels is None else labels, fontsize=7)
    return figure


def plot_tsne_pair(
    embedding_2d: np.ndarray,
    attention_2d: np.ndarray,
    labels: np.ndarray | None = None,
    label_names: Sequence[str] | None = None,
    *,
    max_labels: int = 8,
    titles: tuple[str, str] = ("item embeddings q_i", "attention vectors a(u, i)"),
):
    """Two t-SNE layouts of the same items side by side, coloured by label (MAML Fig. 4).

    Up to `max_labels` labels get their own colour; with more, the `max_labels - 1` most
    frequent do and the rest share "other" (dark grey). Negative labels are "unknown" (light
    grey). A point has the same colour in both panels.

    Args:
        embedding_2d, attention_2d: `[n, 2]` layouts from `attention_tsne`.
        labels: `[n]` int labels (e.g. the items' categories), -1 unknown; None: one colour.
        label_names: name of each label code (`interactions.item_labels()[1]`).
        max_labels: most legend entries.
        titles: the two panel titles.

    Returns:
        The Figure (two axes).
    """
    import matplotlib.pyplot as plt

    embedding_2d = np.asarray(embedding_2d)
    attention_2d = np.asarray(attention_2d)
    if embedding_2d.shape != attention_2d.shape or embedding_2d.ndim != 2:
        raise ValueError(
            f"Received layouts of shapes {embedding_2d.shape} and {attention_2d.shape}. "
            "Expected two arrays of the same shape (n, 2)."
        )
    n = len(embedding_2d)
    labels = np.zeros(n, np.int64) if labels is None else np.asarray(labels)
    if len(labels) != n:
        raise ValueError(f"Received {len(labels)} labels for {n} points. Expected {n}.")
    groups = _colour_groups(labels, label_names, max_labels)
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    palette = [plt.get_cmap("tab10")(index) for index in range(10) if index != 7]  # No grey.
    fixed = {"other": OTHER_COLOR, "unknown": UNKNOWN_COLOR}
    for ax, points, title in zip(axes, (embedding_2d, attention_2d), titles, strict=True):
        for index, (name, chosen) in enumerate(groups):
            colour = fixed.get(name, palette[index % len(palette)])
            ax.scatter(*points[chosen].T, s=18, color=colour, label=name)
        ax.set(title=title, xticks=[], yticks=[])
    if len(groups) > 1:
        axes[1].legend(fontsize=7, markerscale=1.2, loc="center left", bbox_to_anchor=(1, 0.5))
    figure.tight_layout()
    return figure


def _colour_groups(labels, label_names, max_labels):
    """[(legend name, boolean mask)]: the most frequent labels, then "other" and "unknown"."""
    known = labels >= 0
    codes, counts = np.unique(labels[known], return_counts=True)
    order = codes[np.argsort(-counts, kind="stable")]
    if len(order) > max_labels:
        order = order[: max(max_labels - 1, 1)]
    groups = []
    for code in order:
        name = str(label_names[code]) if label_names is not None else str(code)
        groups.append((name, labels == code))
    other = known & ~np.isin(labels, order)
    if other.any():
        groups.append(("other", other))
    if (~known).any():
        groups.append(("unknown", ~known))
    return groups
