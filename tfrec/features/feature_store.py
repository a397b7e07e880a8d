"""HDF5 feature store: one dataset per modality (items x dims), keyed by raw item id.

Layout of a store file (h5py):

    /<modality>/keys     [n]        UTF-8 raw item keys (ASINs, movie ids...)
    /<modality>/values   [n, dims]  float32 or float16
    /<modality>.attrs["provenance"] JSON: extractor, parameters, source files, created

Writes are atomic (a temporary file in the same directory, then `os.replace`), so a reader
never sees a half-written store. Reading validates every modality and names the offending
items: NaN or infinite values, duplicate keys, and, when the caller passes the item keys it
needs, items without features.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np

from tfrec.data.interactions import FeatureTable
from tfrec.utils.atomic import atomic_path

DTYPES = ("float32", "float16")


class FeatureStoreError(ValueError):
    """A feature store is unusable; the message names the file, modality and items."""


def write_features(
    path: str | os.PathLike,
    tables: Mapping[str, FeatureTable],
    *,
    provenance: Mapping[str, Mapping] | None = None,
    dtype: str = "float32",
) -> Path:
    """Writes `tables` (modality -> FeatureTable) to `path`, atomically.

    Args:
        path: the `.h5` file to write (replaced if it exists).
        tables: the modalities, e.g. `{"text": FeatureTable(keys, values)}`.
        provenance: per modality, how the features were made (extractor, parameters,
            source files); stored as JSON with a creation time.
        dtype: `"float32"` or `"float16"` (halves the file; the models compute in float32).
    """
    if dtype not in DTYPES:
        raise ValueError(f"Received: `dtype={dtype!r}`. Expected one of {DTYPES}.")
    if not tables:
        raise ValueError("Received no feature tables to write.")
    provenance = provenance or {}
    target = Path(path)
    for modality, table in tables.items():
        _validate(table, modality, target)
    with atomic_path(target) as temporary, h5py.File(temporary, "w") as handle:
        for modality, table in tables.items():
            group = handle.create_group(modality)
            group.create_dataset(
                "keys",
                data=np.asarray([str(k) for k in table.keys], dtype=object),
                dtype=h5py.string_dtype("utf-8"),
            )
            group.create_dataset("values", data=np.asarray(table.values, dtype=dtype))
            record = {
                **dict(provenance.get(modality, {})),
                "created": provenance.get(modality, {}).get("created")
                or datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            }
            group.attrs["provenance"] = json.dumps(record, default=str)
    return target


def read_features(
    path: str | os.PathLike,
    *,
    modalities: Sequence[str] | None = None,
    required_keys: Sequence[str] | None = None,
) -> dict[str, FeatureTable]:
    """Reads and validates modalities from a store written by `write_features`.

    Args:
        path: the `.h5` file.
        modalities: which modalities to read (default: all).
        required_keys: item keys that must have features in every modality read (e.g.
            `interactions.item_keys`); missing ones are an error that names them.

    Returns:
        modality -> FeatureTable (values as float32).
    """
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"{source}: no such feature store.")
    try:
        handle = h5py.File(source, "r")
    except OSError as error:
        raise FeatureStoreError(f"{source}: not an HDF5 feature store ({error}).") from None
    with handle:
        available = sorted(handle.keys())
        wanted = list(modalities) if modalities else available
        unknown = [m for m in wanted if m not in available]
        if unknown:
            raise FeatureStoreError(f"{source}: no modality {unknown}; the store has {available}.")
        tables = {}
        for modality in wanted:
            group = handle[modality]
            if "keys" not in group or "values" not in group:
                raise FeatureStoreError(f"{source}: modality {modality!r} lacks keys or values.")
            keys = np.asarray(group["keys"].asstr()[()], dtype=object)
            values = np.asarray(group["values"][()], dtype=np.float32)
            if values.ndim != 2 or len(values) != len(keys):
                raise FeatureStoreError(
                    f"{source}: modality {modality!r} has {len(keys)} keys but values of "
                    f"shape {values.shape}; expected ({len(keys)}, dims)."
                )
            table = FeatureTable(keys, values)
            _validate(table, modality, source)
            if required_keys is not None:
                _check_coverage(table, required_keys, modality, source)
            tables[modality] = table
    return tables


def read_provenance(path: str | os.PathLike) -> dict[str, dict]:
    """modality -> the provenance record written with it."""
    with h5py.File(path, "r") as handle:
        return {
            name: json.loads(group.attrs.get("provenance", "{}")) for name, group in handle.items()
        }


def _validate(table: FeatureTable, modality: str, path: Path) -> None:
    finite = np.isfinite(table.values).all(axis=1)
    if not finite.all():
        bad = [str(k) for k in np.asarray(table.keys)[~finite][:5]]
        raise FeatureStoreError(
            f"{path}: modality {modality!r} has NaN or infinite values for "
            f"{int((~finite).sum())} items, e.g. {bad}."
        )
    keys, counts = np.unique(np.asarray([str(k) for k in table.keys]), return_counts=True)
    if (counts > 1).any():
        raise FeatureStoreError(
            f"{path}: modality {modality!r} has duplicate item keys, e.g. "
            f"{keys[counts > 1][:5].tolist()}."
        )


def _check_coverage(table: FeatureTable, required: Sequence[str], modality: str, path: Path):
    _, found = table.aligned(list(required))
    if not found.all():
        missing = [str(k) for k in np.asarray(list(required), dtype=object)[~found][:5]]
        raise FeatureStoreError(
            f"{path}: modality {modality!r} has no features for {int((~found).sum())} of "
            f"{len(found)} items, e.g. {missing}."
        )
