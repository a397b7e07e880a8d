"""Offline item modalities from side information: movie plots and metadata, item tags.

The IRIS paper uses two content modalities per item (spec iris.md §5.1): a visual and a
textual vector, a zero vector where an item lacks one. Posters are not in the shared data,
so for ml-1m-sample the two modalities built here are:

- `"text"`: the OMDb plot (MeLU's `movies_extrainfos.dat`) -> Doc2Vec PV-DM vectors
  (`tfrec.features.text_features.doc2vec_features`, trained on the dataset's plots).
- `"metadata"`: genres (ML-1M and OMDb), director(s), writer(s), actors and the rating
  class (OMDb `rated`: G, PG, R...) -> one TF-IDF block per field over the field's tokens
  (a weighted multi-hot), each block L2-normalised and scaled by 1/sqrt(#fields) so every
  field weighs the same, side by side, then reduced with a seeded `TruncatedSVD` and
  L2-normalised per row.

For item-tag datasets (amazon-cloth, amazon-toys: a2_gcn `tag.txt`) `tag_features` builds a
`"tags"` modality the same way from `item_side.tags`.

Every table has one row per item of the dataset, keyed by its raw item key. Items without
the source (no plot, no metadata, no tags) get a zero row; they are counted in the record
returned with each table (`items_zero_filled`, the first keys in `zero_filled_examples`),
which `write_movie_features` / `write_tag_features` store as provenance and print.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tfrec.data.interactions import FeatureTable
from tfrec.data.interactions import Interactions
from tfrec.features.feature_store import read_features
from tfrec.features.feature_store import write_features

METADATA_FIELDS = ("genre", "director", "writer", "actor", "rated")
_EXAMPLES = 20
_PARENTHESES = re.compile(r"\([^)]*\)")


def token_features(
    tokens: Mapping[str, Mapping[str, Sequence[str]]],
    item_keys: Sequence[str],
    *,
    dim: int | None = 128,
    min_count: int = 2,
    seed: int = 0,
) -> tuple[FeatureTable, dict[str, Any]]:
    """Per-field TF-IDF over item tokens, fields weighted equally, optionally SVD-reduced.

    Args:
        tokens: item key -> field name -> tokens (e.g. `{"1": {"genre": ["comedy"]}}`).
        item_keys: the rows of the table, in order (`interactions.item_keys`).
        dim: output width after `TruncatedSVD` (None: the raw TF-IDF columns; capped at
            the vocabulary size - 1).
        min_count: tokens on fewer items than this are dropped (they relate no two items).
        seed: the SVD seed.

    Returns:
        `(FeatureTable, record)`: rows for every item key (zero for items without any kept
        token) and a record with the counts, vocabulary sizes and parameters.
    """
    import scipy.sparse as sp
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    if min_count < 1 or (dim is not None and dim < 1):
        raise ValueError(
            f"Received: `dim={dim}`, `min_count={min_count}`. Expected dim None or >= 1 and "
            "min_count >= 1."
        )
    keys = [str(key) for key in item_keys]
    fields = sorted({field for entry in tokens.values() for field in entry})
    blocks, vocabulary = [], {}
    for field in fields:
        documents = [list(tokens.get(key, {}).get(field, ())) for key in keys]
        vectorizer = TfidfVectorizer(
            analyzer=_identity, min_df=min_count, lowercase=False, norm="l2"
        )
        try:
            block = vectorizer.fit_transform(documents)
        except ValueError:  # No token of this field reaches min_count.
            vocabulary[field] = 0
            continue
        vocabulary[field] = len(vectorizer.vocabulary_)
        blocks.append(block)
    if not blocks:
        raise ValueError(
            f"Received tokens of {len(tokens)} items of which no token appears on "
            f"{min_count} or more items. Expected shared tokens (lower `min_count`)."
        )
    matrix = sp.hstack(blocks, format="csr") / np.sqrt(len(blocks))
    present = np.asarray(matrix.getnnz(axis=1) > 0)
    columns = matrix.shape[1]
    if dim is not None and dim < columns:
        svd = TruncatedSVD(n_components=dim, random_state=seed)
        values = svd.fit_transform(matrix)
        explained = float(svd.explained_variance_ratio_.sum())
    else:
        values = matrix.toarray()
        explained = 1.0
    values = normalize(values) * present[:, None]
    record = _coverage(keys, present)
    record.update(
        {
            "parameters": {"dim": values.shape[1], "min_count": min_count, "seed": seed},
            "vocabulary": vocabulary,
            "tfidf_columns": int(columns),
            "svd_explained_variance": explained,
        }
    )
    table = FeatureTable(np.asarray(keys, dtype=object), values.astype(np.float32))
    return table, record


def movie_metadata_tokens(interactions: Interactions) -> dict[str, dict[str, list[str]]]:
    """item key -> {"genre", "director", "writer", "actor", "rated"} -> tokens.

    From `interactions.item_side.metadata` (ML-1M `genres`, OMDb `genre`, `director`,
    `writer`, `actors`, `rated`). Names are comma-separated with their role in parentheses
    ("Pete Docter (original story by)") dropped; genres are lower-cased and merged from both
    sources; missing values (OMDb "N/A") give no token.
    """
    metadata = interactions.item_side.metadata
    if metadata is None:
        raise ValueError(
            f"Received dataset {interactions.name!r} without item metadata. Expected "
            "`item_side.metadata` with movie columns (e.g. ml-1m-sample)."
        )
    wanted = ("genres", "genre", "director", "writer", "actors", "rated")
    if not any(column in metadata.columns for column in wanted):
        raise ValueError(
            f"Received metadata columns {list(metadata.columns)} for {interactions.name!r}. "
            f"Expected some of {list(wanted)}."
        )
    frame = metadata.reindex(columns=list(wanted))
    frame = frame[frame.index.isin([str(key) for key in interactions.item_keys])]
    tokens = {}
    for key, row in zip(frame.index, frame.itertuples(index=False), strict=True):
        genres = _names(row.genres, "|") + _names(row.genre, ",")
        entry = {
            "genre": sorted({genre.lower() for genre in genres}),
            "director": _names(row.director, ","),
            "writer": _names(row.writer, ","),
            "actor": _names(row.actors, ","),
            "rated": _names(row.rated, ","),
        }
        tokens[str(key)] = {field: values for field, values in entry.items() if values}
    return tokens


def movie_metadata_features(
    interactions: Interactions, *, dim: int | None = 128, min_count: int = 2, seed: int = 0
) -> tuple[FeatureTable, dict[str, Any]]:
    """The `"metadata"` modality of a MovieLens dataset (module docstring).

    Returns:
        `(FeatureTable, record)` with a row per item; see `token_features`.
    """
    table, record = token_features(
        movie_metadata_tokens(interactions),
        interactions.item_keys,
        dim=dim,
        min_count=min_count,
        seed=seed,
    )
    record["extractor"] = (
        "per-field TF-IDF (genre, director, writer, actor, rated) + TruncatedSVD, "
        "tfrec.features.movie_features"
    )
    record["source"] = f"{interactions.name}: item_side.metadata (ML-1M movies.dat, OMDb)"
    return table, record


def movie_text_features(
    interactions: Interactions, *, dim: int = 100, epochs: int = 40, seed: int = 0
) -> tuple[FeatureTable, dict[str, Any]]:
    """The `"text"` modality: Doc2Vec PV-DM vectors of the items' plots, zero without one.

    Doc2Vec is trained on the plots of the dataset's items only (single worker, seeded;
    gensim is reproducible across processes only with a fixed `PYTHONHASHSEED`).

    Returns:
        `(FeatureTable, record)`: a row per item and the coverage record.
    """
    from tfrec.features.text_features import doc2vec_features

    keys = [str(key) for key in interactions.item_keys]
    texts = interactions.item_side.text
    present = np.array([bool(str(texts.get(key, "")).strip()) for key in keys])
    if not present.any():
        raise ValueError(
            f"Received dataset {interactions.name!r} whose items have no text. Expected "
            "`item_side.text` (e.g. OMDb plots)."
        )
    with_text = {key: texts[key] for key, ok in zip(keys, present, strict=True) if ok}
    trained, _ = doc2vec_features(with_text, dim=dim, epochs=epochs, seed=seed)
    values, _ = trained.aligned(keys)
    record = _coverage(keys, present)
    record.update(
        {
            "extractor": "gensim Doc2Vec PV-DM (tfrec.features.text_features.doc2vec_features)",
            "source": f"{interactions.name}: item_side.text (OMDb plots)",
            "parameters": {"dim": dim, "epochs": epochs, "seed": seed, "window": 5},
        }
    )
    return FeatureTable(np.asarray(keys, dtype=object), values.astype(np.float32)), record


def tag_features(
    interactions: Interactions, *, dim: int | None = 128, min_count: int = 2, seed: int = 0
) -> tuple[FeatureTable, dict[str, Any]]:
    """The `"tags"` modality: TF-IDF over `item_side.tags` (+ TruncatedSVD), zero without.

    Returns:
        `(FeatureTable, record)` with a row per item; see `token_features`.
    """
    tags = interactions.item_side.tags
    if not tags:
        raise ValueError(
            f"Received dataset {interactions.name!r} without item tags. Expected "
            "`item_side.tags` (e.g. amazon-cloth's tag.txt)."
        )
    tokens = {str(key): {"tag": list(values)} for key, values in tags.items() if values}
    table, record = token_features(
        tokens, interactions.item_keys, dim=dim, min_count=min_count, seed=seed
    )
    record["extractor"] = "TF-IDF over item tags + TruncatedSVD, tfrec.features.movie_features"
    record["source"] = f"{interactions.name}: item_side.tags"
    return table, record


def write_movie_features(
    interactions: Interactions,
    path: str | os.PathLike,
    *,
    text_dim: int = 100,
    text_epochs: int = 40,
    metadata_dim: int | None = 128,
    seed: int = 0,
    verbose: bool = True,
) -> dict[str, dict[str, Any]]:
    """Builds `"text"` and `"metadata"` and writes them to the feature store `path`.

    Returns:
        modality -> its record (also stored as the modality's provenance); with `verbose`
        one coverage line per modality is printed.
    """
    text, text_record = movie_text_features(
        interactions, dim=text_dim, epochs=text_epochs, seed=seed
    )
    metadata, metadata_record = movie_metadata_features(interactions, dim=metadata_dim, seed=seed)
    tables = {"text": text, "metadata": metadata}
    records = {"text": text_record, "metadata": metadata_record}
    return _write(path, tables, records, verbose)


def write_tag_features(
    interactions: Interactions,
    path: str | os.PathLike,
    *,
    dim: int | None = 128,
    min_count: int = 2,
    seed: int = 0,
    verbose: bool = True,
) -> dict[str, dict[str, Any]]:
    """Builds `"tags"` and writes it to the feature store `path` (see `write_movie_features`)."""
    table, record = tag_features(interactions, dim=dim, min_count=min_count, seed=seed)
    return _write(path, {"tags": table}, {"tags": record}, verbose)


def _write(path, tables, records, verbose) -> dict[str, dict[str, Any]]:
    write_features(Path(path), tables, provenance=records)
    if verbose:
        for modality, record in records.items():
            line = (
                f"{modality}: {record['items']:,} items x {tables[modality].values.shape[1]}, "
                f"{record['items_with_features']:,} with features, "
                f"{record['items_zero_filled']:,} zero-filled"
            )
            if record["zero_filled_examples"]:
                line += f" (e.g. {record['zero_filled_examples'][:5]})"
            print(line)
    return records


def _coverage(keys: list[str], present: np.ndarray) -> dict[str, Any]:
    missing = [key for key, ok in zip(keys, present, strict=True) if not ok]
    return {
        "items": len(keys),
        "items_with_features": int(np.sum(present)),
        "items_zero_filled": len(missing),
        "zero_filled_examples": missing[:_EXAMPLES],
    }


def _names(value, separator: str) -> list[str]:
    if not isinstance(value, str):
        return []
    names = (_PARENTHESES.sub("", part).strip() for part in value.split(separator))
    return [name for name in dict.fromkeys(names) if name and name != "N/A"]


def _identity(tokens):
    return tokens


def iris_item_features(
    interactions: Interactions,
    store: str | os.PathLike,
    *,
    modalities: Sequence[str] | None = None,
    verbose: bool = True,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """IRIS's `{"image": [n, d_v], "text": [n, d_t]}` inputs from a feature store.

    When `store` does not exist it is built from the dataset's side information (and
    written atomically): movies with metadata and plots get `"metadata"` and `"text"`
    (`write_movie_features`), datasets with tags get `"tags"` (`write_tag_features`).

    Args:
        interactions: the dataset (its `item_keys` order the rows).
        store: the feature store to read (or build).
        modalities: `[VISUAL]` or `[VISUAL, TEXT]` store modalities for the two towers
            (default: `metadata, text` for movies, `tags` otherwise, else `image, text`).
        verbose: print what was built.

    Returns:
        The arrays (items without features, and a missing text modality, are zeros: the
        IRIS paper's rule) and a description per tower: modality, dims, missing items.

    Raises:
        ValueError: no store and no side information to build one from, or a modality
            the store lacks.
    """
    store = Path(store)
    if not store.exists():
        if interactions.item_side.metadata is not None and interactions.item_side.text:
            write_movie_features(interactions, store, verbose=verbose)
        elif interactions.item_side.tags:
            write_tag_features(interactions, store, verbose=verbose)
        else:
            raise ValueError(
                f"{store} does not exist and {interactions.name} has no metadata, text or "
                "tags to build IRIS features from: give a feature store (`tfrec features`)."
            )
    tables = read_features(store)
    if modalities is None:
        defaults = (["metadata", "text"], ["tags"], ["image", "text"], ["image"])
        modalities = next((m for m in defaults if set(m) <= set(tables)), sorted(tables)[:2])
    modalities = list(modalities)
    if not 1 <= len(modalities) <= 2:
        raise ValueError(
            f"Received modalities {modalities}. Expected VISUAL or VISUAL,TEXT (the store "
            f"{store} has {sorted(tables)})."
        )
    unknown = [name for name in modalities if name not in tables]
    if unknown:
        raise ValueError(f"{store}: no modality {unknown}; the store has {sorted(tables)}.")
    features, described = {}, {}
    for slot, name in zip(("image", "text"), modalities, strict=False):
        values, found = tables[name].aligned(interactions.item_keys)
        features[slot] = values  # Items without features: zero rows (IRIS paper §3).
        described[slot] = {
            "modality": name,
            "dims": values.shape[1],
            "missing": int((~found).sum()),
        }
    if "text" not in features:  # A missing modality is zeros (IRIS paper §3).
        features["text"] = np.zeros((interactions.num_items, 1), np.float32)
        described["text"] = {"modality": None, "dims": 1, "missing": interactions.num_items}
    return features, described
