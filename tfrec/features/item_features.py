"""Item feature matrices aligned with a dataset's item ids, ready for the feature models.

MAML's fusion network reads one row per item: the text vector, then the image vector,
concatenated (spec maml.md §2.1, `x_j = n([T_j; I_j])`). `item_feature_matrix` builds that
matrix from a feature store (or from tables in memory) in the dataset's item-id order and
refuses to guess: an item without features is an error that names it, unless the caller asks
for zeros (the IRIS paper's rule for a missing modality).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from collections.abc import Sequence

import numpy as np

from tfrec.data.interactions import FeatureTable
from tfrec.features.feature_store import FeatureStoreError
from tfrec.features.feature_store import read_features

# The paper's order: text first, then image (spec maml.md §2.1); other modalities follow.
MODALITY_ORDER = ("text", "image")
MISSING = ("error", "zeros")


def item_feature_matrix(
    source: str | os.PathLike | Mapping[str, FeatureTable],
    item_keys: Sequence[str],
    *,
    modalities: Sequence[str] | None = None,
    missing: str = "error",
) -> tuple[np.ndarray, dict[str, int]]:
    """`[len(item_keys), sum of dims]` float32 features, modalities side by side.

    Args:
        source: a feature store file (see `write_features`) or modality -> FeatureTable.
        item_keys: the raw item keys in item-id order (`interactions.item_keys`).
        modalities: which modalities, in this order (default: every modality of the
            source, text then image then the rest by name).
        missing: `"error"` (an item without features is a `FeatureStoreError` naming it)
            or `"zeros"` (its rows of that modality are zero).

    Returns:
        `(matrix, dims)`: the matrix and modality -> number of columns, in column order.
    """
    if missing not in MISSING:
        raise ValueError(f"Received: `missing={missing!r}`. Expected one of {MISSING}.")
    keys = [str(key) for key in item_keys]
    if isinstance(source, Mapping):
        tables = dict(source)
        origin = "the feature tables"
        unknown = [m for m in (modalities or []) if m not in tables]
        if unknown:
            raise FeatureStoreError(f"No modality {unknown}; the tables have {sorted(tables)}.")
    else:
        tables = read_features(
            source,
            modalities=modalities,
            required_keys=keys if missing == "error" else None,
        )
        origin = str(source)
    order = list(modalities) if modalities else _default_order(tables)
    if not order:
        raise FeatureStoreError(f"{origin}: no modality to read.")
    blocks, dims = [], {}
    for modality in order:
        values, found = tables[modality].aligned(keys)
        if missing == "error" and not found.all():
            absent = [key for key, ok in zip(keys, found, strict=True) if not ok]
            raise FeatureStoreError(
                f"{origin}: modality {modality!r} has no features for {len(absent)} of "
                f"{len(keys)} items, e.g. {absent[:5]}."
            )
        blocks.append(values.astype(np.float32))
        dims[modality] = values.shape[1]
    return np.concatenate(blocks, axis=1), dims


def _default_order(tables: Mapping[str, FeatureTable]) -> list[str]:
    first = [m for m in MODALITY_ORDER if m in tables]
    return first + sorted(m for m in tables if m not in MODALITY_ORDER)


def text_features_from_side_info(
    texts: Mapping[str, str],
    item_keys: Sequence[str],
    *,
    dim: int = 100,
    epochs: int = 40,
    seed: int = 0,
):
    """Doc2Vec (PV-DM) vectors of the items' own text (e.g. `interactions.item_side.text`).

    Every item in `item_keys` needs a non-empty text; the error names those that lack one.

    Returns:
        `(FeatureTable, gensim model)` as `doc2vec_features`.
    """
    from tfrec.features.text_features import doc2vec_features

    keys = [str(key) for key in item_keys]
    absent = [key for key in keys if not str(texts.get(key, "")).strip()]
    if absent:
        raise ValueError(
            f"{len(absent)} of {len(keys)} items have no text, e.g. {absent[:5]}. Give "
            "feature vectors for them with a feature store (`tfrec features ...`)."
        )
    return doc2vec_features({key: texts[key] for key in keys}, dim=dim, epochs=epochs, seed=seed)
