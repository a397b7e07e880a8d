"""Loaders for the feature files the MAML authors released (spec maml.md §1).

The authors' `Dataset.load_textual_image_features` (liufancs/MAML) reads three files from
the dataset folder:

* `doc2vecFile`: a gensim Doc2Vec model; `model.docvecs[asin]` is the text vector of an
  item, so its document tags are the ASINs (`load_doc2vec_model_features`).
* `image_feature.npy`: a Python dict ASIN -> 4096-d Caffe fc7 vector saved with `np.save`,
  i.e. a pickle inside an `.npy` file; the authors read it with `np.load(...).item()`
  (`load_image_feature_npy`).
* `asin_sample.json`: iterated with `for asin in json.load(...)`, i.e. only its ASINs (a
  JSON object's keys, or a JSON list's entries) are used (`load_asin_sample`).

Both the `.npy` dict and a gensim model are pickles: unpickling runs code named in the file,
so load them only from a source you trust. `load_image_feature_npy` refuses pickled files
unless `allow_pickle=True`; gensim models can only be loaded by unpickling (gensim's own
format), so `load_doc2vec_model_features` is as safe as the file it is given.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tfrec.data.interactions import FeatureTable


def load_doc2vec_model_features(
    path: str | os.PathLike, keys: Sequence[str] | None = None
) -> FeatureTable:
    """The document vectors of a saved gensim Doc2Vec model, keyed by their tags.

    Args:
        path: the model file (e.g. the authors' `doc2vecFile`, or `FEATURES.doc2vec` written
            by `tfrec features text`). gensim may keep large arrays in `<path>.*.npy` files
            beside it. The file is a pickle: load only models you trust.
        keys: the item keys to return, in this order (e.g. `load_asin_sample(...)`); any
            key without a vector is an error naming it. Default: every tag, in the model's
            order (`model.dv.index_to_key`). Integer tags become strings (`3` -> `"3"`).

    Returns:
        `FeatureTable` of `[n, vector_size]` float32 document vectors.
    """
    from gensim.models.doc2vec import Doc2Vec

    source = _existing(path)
    try:
        model = Doc2Vec.load(str(source))
    except Exception as error:  # Unpickling errors vary with what the file holds.
        raise ValueError(
            f"{source}: not a gensim Doc2Vec model ({type(error).__name__}: {error})."
        ) from None
    tags = [str(tag) for tag in model.dv.index_to_key]
    vectors = np.asarray(model.dv.vectors, dtype=np.float32)
    if len(tags) != len(vectors):
        raise ValueError(
            f"{source}: the model has {len(tags)} document tags but {len(vectors)} vectors."
        )
    table = FeatureTable(np.asarray(tags, dtype=object), vectors)
    _check_finite(table, source)
    return table if keys is None else _select(table, keys, source)


def load_image_feature_npy(
    path: str | os.PathLike,
    *,
    allow_pickle: bool = False,
    keys: Sequence[str] | None = None,
) -> FeatureTable:
    """Image features from an `.npy` file: a pickled dict key -> vector, or a 2-D array.

    The authors' `image_feature.npy` is a dict ASIN -> vector saved with `np.save`, which
    `np.save` stores as a pickle. Unpickling can execute arbitrary code, so such a file is
    only read with `allow_pickle=True` (CLI: `--allow-pickle`), and only from a source you
    trust. The file may come from Python 2 (`encoding="latin1"` is used, as NumPy advises).
    Vectors of shape `[dims]` or `[1, dims]` (a Caffe blob) are accepted.

    A plain numeric `[n, dims]` array (e.g. MELON's `image_feat.npy`) is read without
    pickle; its row keys must then be given with `keys`.

    Args:
        path: the `.npy` file.
        allow_pickle: allow reading a pickled (object) file.
        keys: for a dict file, the keys to return in this order (missing ones are an error
            naming them; default: every key in the dict's order). For a 2-D array, the key
            of each row (required).

    Returns:
        `FeatureTable` of `[n, dims]` float32 vectors.

    Raises:
        ValueError: the file is pickled and `allow_pickle` is False; vectors differ in
            length, are not numeric or not finite (naming the key); keys are missing.
    """
    source = _existing(path)
    try:
        with open(source, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                _, _, dtype = np.lib.format.read_array_header_1_0(handle)
            else:  # Versions 2.0 and 3.0 share the header layout.
                _, _, dtype = np.lib.format.read_array_header_2_0(handle)
    except ValueError as error:
        raise ValueError(f"{source}: not an .npy file ({error}).") from None
    if dtype.hasobject and not allow_pickle:
        raise ValueError(
            f"{source}: this .npy file holds pickled Python objects (np.save of a dict, as "
            "the MAML authors' image_feature.npy). Unpickling can execute arbitrary code, so "
            "it is refused by default. If you trust the file, pass `allow_pickle=True` "
            "(CLI: --allow-pickle)."
        )
    loaded = np.load(source, allow_pickle=allow_pickle, encoding="latin1")
    if loaded.dtype.hasobject and loaded.ndim == 0:
        content = loaded.item()
        if not isinstance(content, dict):
            raise ValueError(
                f"{source}: expected a pickled dict key -> vector, found a "
                f"{type(content).__name__}."
            )
        table = _table_from_dict(content, source)
        return table if keys is None else _select(table, keys, source)
    if loaded.ndim != 2 or not np.issubdtype(loaded.dtype, np.number):
        raise ValueError(
            f"{source}: expected a pickled dict key -> vector or a numeric [n, dims] array, "
            f"found an array of shape {loaded.shape} and dtype {loaded.dtype}."
        )
    if keys is None or len(keys) != len(loaded):
        received = "no keys" if keys is None else f"{len(keys)} keys"
        raise ValueError(
            f"{source}: a plain [{len(loaded)}, {loaded.shape[1]}] array has no item keys; "
            f"received {received}. Pass `keys` with one key per row."
        )
    table = FeatureTable(
        np.asarray([str(key) for key in keys], dtype=object), loaded.astype(np.float32)
    )
    _check_unique(table.keys.tolist(), source)
    _check_finite(table, source)
    return table


def load_asin_sample(path: str | os.PathLike) -> list[str]:
    """The item keys of an `asin_sample.json`, in file order.

    Accepted: a JSON list of ASINs (`["B001", "B002"]`), or a JSON object keyed by ASIN
    (`{"B001": 0, ...}` or ASIN -> anything). MAML's loader only iterates the file
    (`for asin in asin_dict`), so only the keys are used and the object's values are
    ignored; read the JSON directly if you need them. Integer entries become strings.

    Raises:
        ValueError: the JSON is neither a list nor an object, an entry is not a string or
            integer, or an ASIN appears twice (naming it).
    """
    source = _existing(path)
    try:
        with open(source, encoding="utf-8") as handle:
            content = json.load(handle)
    except json.JSONDecodeError as error:
        raise ValueError(f"{source}: not valid JSON ({error}).") from None
    if isinstance(content, dict):
        entries = list(content)
    elif isinstance(content, list):
        entries = content
    else:
        raise ValueError(
            f"{source}: expected a JSON list of ASINs or an object keyed by ASIN, found a "
            f"JSON {type(content).__name__}."
        )
    asins = []
    for position, entry in enumerate(entries):
        if isinstance(entry, bool) or not isinstance(entry, str | int):
            raise ValueError(f"{source}: entry {position} is {entry!r}; expected an ASIN string.")
        asins.append(str(entry))
    if not asins:
        raise ValueError(f"{source}: no ASINs.")
    _check_unique(asins, source)
    return asins


def _existing(path) -> Path:
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"{source}: no such file.")
    return source


def _table_from_dict(content: dict, source: Path) -> FeatureTable:
    if not content:
        raise ValueError(f"{source}: the feature dict is empty.")
    keys, rows = [], []
    dims = None
    for raw_key, raw_vector in content.items():
        key = raw_key.decode("latin1") if isinstance(raw_key, bytes) else str(raw_key)
        try:
            vector = np.asarray(raw_vector, dtype=np.float32)
        except (TypeError, ValueError):
            raise ValueError(
                f"{source}: the value of {key!r} is not a numeric vector "
                f"({type(raw_vector).__name__})."
            ) from None
        if vector.ndim == 2 and vector.shape[0] == 1:
            vector = vector[0]
        if vector.ndim != 1:
            raise ValueError(
                f"{source}: the vector of {key!r} has shape {vector.shape}; expected [dims]."
            )
        if dims is None:
            dims, first = len(vector), key
        elif len(vector) != dims:
            raise ValueError(
                f"{source}: the vector of {key!r} has {len(vector)} values but that of "
                f"{first!r} has {dims}; all vectors must have the same length."
            )
        keys.append(key)
        rows.append(vector)
    table = FeatureTable(np.asarray(keys, dtype=object), np.stack(rows))
    _check_unique(keys, source)
    _check_finite(table, source)
    return table


def _check_finite(table: FeatureTable, source: Path) -> None:
    finite = np.isfinite(table.values).all(axis=1)
    if not finite.all():
        bad = table.keys[~finite][:5].tolist()
        raise ValueError(
            f"{source}: NaN or infinite values for {int((~finite).sum())} items, e.g. {bad}."
        )


def _check_unique(keys: list[str], source: Path) -> None:
    seen = set()
    for key in keys:
        if key in seen:
            raise ValueError(f"{source}: the key {key!r} appears twice.")
        seen.add(key)


def _select(table: FeatureTable, keys: Sequence[str], source: Path) -> FeatureTable:
    wanted = [str(key) for key in keys]
    _check_unique(wanted, f"the requested keys for {source}")
    values, found = table.aligned(wanted)
    if not found.all():
        missing = [key for key, ok in zip(wanted, found, strict=True) if not ok]
        raise ValueError(
            f"{source}: no vector for {len(missing)} of {len(wanted)} requested keys, e.g. "
            f"{missing[:5]}."
        )
    return FeatureTable(np.asarray(wanted, dtype=object), values)
