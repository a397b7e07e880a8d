"""HDF5 component store: a variable-size set of feature vectors per item (ACF's x_lm).

ACF (Chen et al., SIGIR 2017; spec acf.md §1) attends over the *components* of an item:
the 7 x 7 = 49 regions of an image's last convolutional map (2,048-d each for a ResNet),
the frames of a video, or the tokens of a text. Layout of a store file (h5py):

    /components/keys     [n]              UTF-8 raw item keys
    /components/counts   [n]              int32, valid components per item (0..C)
    /components/values   [n, C, dims]     float16 or float32; rows past `counts` are 0
    /components.attrs["provenance"]       JSON: extractor, parameters, sources, created

`values` is chunked one item per chunk, so a training step reads only the items of its
batch (`ComponentStore.gather`) and a catalogue far larger than memory can be used; or
`ComponentStore.load()` reads the whole array once (15,000 x 49 x 2,048 float16 = 3.0 GB,
which fits the 24 GB machines; the faster choice when it fits).

Writes are atomic (temporary file in the same directory, then rename) and streamed:
`ComponentStoreWriter` takes blocks of items, so extracting features of a large catalogue
never holds them all in memory. Every block is validated (finite values, counts within
range) and errors name the item.
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

from tfrec.features.feature_store import DTYPES
from tfrec.features.feature_store import FeatureStoreError
from tfrec.utils.atomic import atomic_path

GROUP = "components"


class ComponentStoreWriter:
    """Streams items into a new component store; the file appears only on success.

    Args:
        path: the `.h5` file to write (replaced when the writer closes without error).
        num_items: number of items that will be written.
        max_components: C, the component slots per item.
        dim: the feature size of one component.
        dtype: `"float16"` (default: half the disk and memory) or `"float32"`.
        provenance: how the features were made (stored as JSON with a creation time).

    Example:

    ```python
    with ComponentStoreWriter("regions.h5", len(keys), 49, 2048) as writer:
        for start in range(0, len(keys), 256):
            writer.write(keys[start:start + 256], block_values, block_counts)
    ```
    """

    def __init__(
        self,
        path: str | os.PathLike,
        num_items: int,
        max_components: int,
        dim: int,
        *,
        dtype: str = "float16",
        provenance: Mapping | None = None,
    ):
        if dtype not in DTYPES:
            raise ValueError(f"Received: `dtype={dtype!r}`. Expected one of {DTYPES}.")
        for name, value in (
            ("num_items", num_items),
            ("max_components", max_components),
            ("dim", dim),
        ):
            if int(value) < 1:
                raise ValueError(f"Received: `{name}={value}`. Expected an integer >= 1.")
        self.path = Path(path)
        self.shape = (int(num_items), int(max_components), int(dim))
        self.dtype = dtype
        self.provenance = dict(provenance or {})
        self.written = 0
        self._seen: set[str] = set()
        self._context = None
        self._handle = None

    def __enter__(self) -> ComponentStoreWriter:
        self._context = atomic_path(self.path)
        temporary = self._context.__enter__()
        self._handle = h5py.File(temporary, "w")
        group = self._handle.create_group(GROUP)
        n, c, d = self.shape
        self._keys = group.create_dataset("keys", (n,), dtype=h5py.string_dtype("utf-8"))
        self._counts = group.create_dataset("counts", (n,), dtype="int32")
        self._values = group.create_dataset(
            "values", (n, c, d), dtype=self.dtype, chunks=(1, c, d), fillvalue=0
        )
        return self

    def write(self, keys: Sequence[str], values: np.ndarray, counts: Sequence[int]) -> None:
        """Appends a block of items: `values [b, c <= C, dim]` and their valid `counts`."""
        keys = [str(key) for key in keys]
        values = np.asarray(values)
        counts = np.asarray(counts, np.int64)
        n, c, d = self.shape
        if values.ndim != 3 or values.shape[0] != len(keys) or values.shape[2] != d:
            raise FeatureStoreError(
                f"{self.path}: received a block of values of shape {values.shape} for "
                f"{len(keys)} keys. Expected [{len(keys)}, <= {c}, {d}]."
            )
        if values.shape[1] > c or counts.shape != (len(keys),):
            raise FeatureStoreError(
                f"{self.path}: received {values.shape[1]} component slots and counts of shape "
                f"{counts.shape}. Expected at most {c} slots and one count per key."
            )
        if self.written + len(keys) > n:
            raise FeatureStoreError(
                f"{self.path}: {self.written + len(keys)} items written. Expected {n} "
                "(`num_items` of the writer)."
            )
        bad = np.flatnonzero((counts < 0) | (counts > values.shape[1]))
        if len(bad):
            raise FeatureStoreError(
                f"{self.path}: item {keys[bad[0]]!r} has count {counts[bad[0]]}. Expected "
                f"0..{values.shape[1]} (the component slots given)."
            )
        slots = np.arange(values.shape[1])[None, :] < counts[:, None]
        finite = np.isfinite(values).all(axis=2) | ~slots
        if not finite.all():
            row = int(np.flatnonzero(~finite.all(axis=1))[0])
            raise FeatureStoreError(
                f"{self.path}: item {keys[row]!r} has NaN or infinite component values."
            )
        for key in keys:
            if key in self._seen:
                raise FeatureStoreError(f"{self.path}: item {key!r} is written twice.")
            self._seen.add(key)
        block = np.zeros((len(keys), c, d), self.dtype)
        block[:, : values.shape[1]] = np.where(slots[:, :, None], values, 0)
        start, stop = self.written, self.written + len(keys)
        self._keys[start:stop] = keys
        self._counts[start:stop] = counts
        self._values[start:stop] = block
        self.written = stop

    def __exit__(self, kind, value, traceback) -> bool:
        error = None
        if kind is None and self.written != self.shape[0]:
            error = FeatureStoreError(
                f"{self.path}: {self.written} items written. Expected {self.shape[0]}."
            )
        try:
            if kind is None and error is None:
                record = {
                    **self.provenance,
                    "created": self.provenance.get("created")
                    or datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                }
                self._handle[GROUP].attrs["provenance"] = json.dumps(record, default=str)
        finally:
            self._handle.close()
        if kind is None and error is None:
            self._context.__exit__(None, None, None)  # Renames the file into place.
            return False
        failure = error or value
        # Removes the temporary file; the original exception (if any) propagates.
        self._context.__exit__(type(failure), failure, traceback)
        if error is not None:
            raise error
        return False


def write_components(
    path: str | os.PathLike,
    components: Mapping[str, np.ndarray],
    *,
    max_components: int | None = None,
    dtype: str = "float16",
    provenance: Mapping | None = None,
) -> Path:
    """Writes `{item key: [c_i, dim] array}` as a component store (C = the largest c_i).

    Items with more than `max_components` components keep their first `max_components`
    (the cut is recorded in the provenance).
    """
    if not components:
        raise ValueError("Received no items to write.")
    dims = {np.shape(value)[-1] for value in components.values()}
    if len(dims) != 1 or any(np.ndim(value) != 2 for value in components.values()):
        raise FeatureStoreError(
            f"{path}: received component arrays of shapes "
            f"{sorted({np.shape(v) for v in components.values()})[:3]}. Expected [c, dim] "
            "arrays of one dim."
        )
    longest = max(len(value) for value in components.values())
    slots = max(1, min(longest, max_components or longest))
    record = dict(provenance or {})
    cut = sum(len(value) > slots for value in components.values())
    if cut:
        record["items_cut_to_max_components"] = cut
    keys = list(components)
    with ComponentStoreWriter(
        path, len(keys), slots, dims.pop(), dtype=dtype, provenance=record
    ) as writer:
        for start in range(0, len(keys), 1024):
            block = keys[start : start + 1024]
            values = np.zeros((len(block), slots, writer.shape[2]), np.float32)
            counts = np.zeros(len(block), np.int64)
            for row, key in enumerate(block):
                value = np.asarray(components[key], np.float32)[:slots]
                values[row, : len(value)] = value
                counts[row] = len(value)
            writer.write(block, values, counts)
    return Path(path)


class ComponentStore:
    """Read access to a component store, by item id of a dataset.

    Args:
        path: the store file.
        item_keys: the dataset's raw item keys in item-id order; rows are looked up by
            these, and items absent from the store have no components (count 0, which the
            attention masks; the model then uses no content for them).

    Attributes:
        counts: `int32 [num_items]` valid components per item id.
        max_components, dim: C and the feature size.
        missing: item keys of the dataset without a row in the store.
    """

    def __init__(self, path: str | os.PathLike, item_keys: Sequence[str]):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"Component store {self.path} does not exist.")
        with h5py.File(self.path, "r") as handle:
            if GROUP not in handle:
                raise FeatureStoreError(
                    f"{self.path}: no '{GROUP}' group (found {sorted(handle)}); is it a "
                    "component store (`write_components`)?"
                )
            group = handle[GROUP]
            keys = [k.decode() if isinstance(k, bytes) else str(k) for k in group["keys"][:]]
            counts = group["counts"][:].astype(np.int32)
            _, self.max_components, self.dim = group["values"].shape
            self.dtype = group["values"].dtype
            self.provenance = json.loads(group.attrs.get("provenance", "{}"))
        row_of = {key: row for row, key in enumerate(keys)}
        if len(row_of) != len(keys):
            raise FeatureStoreError(f"{self.path}: duplicate item keys.")
        self.rows = np.array([row_of.get(str(key), -1) for key in item_keys], np.int64)
        self.missing = [str(key) for key, row in zip(item_keys, self.rows, strict=True) if row < 0]
        self.counts = np.where(self.rows >= 0, counts[np.maximum(self.rows, 0)], 0).astype(np.int32)
        self.num_items = len(self.rows)
        self._values = None

    @property
    def loaded(self) -> bool:
        return self._values is not None

    def load(self) -> ComponentStore:
        """Reads every item's components into memory once (in the store's dtype)."""
        if self._values is None:
            values = np.zeros((self.num_items + 1, self.max_components, self.dim), self.dtype)
            present = np.flatnonzero(self.rows >= 0)
            with h5py.File(self.path, "r") as handle:
                stored = handle[GROUP]["values"]
                order = np.argsort(self.rows[present])
                for start in range(0, len(order), 1024):
                    block = present[order[start : start + 1024]]
                    values[block] = stored[self.rows[block]]
            self._values = values  # Row num_items: zeros for the padding id.
        return self

    def gather(self, item_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`(values [n, C, dim], mask bool [n, C])` of `item_ids` (id `num_items`: padding)."""
        item_ids = np.asarray(item_ids, np.int64)
        if item_ids.size and (item_ids.min() < 0 or item_ids.max() > self.num_items):
            raise ValueError(
                f"Received item ids in [{item_ids.min()}, {item_ids.max()}]. Expected ids in "
                f"[0, {self.num_items}] ({self.num_items}: padding)."
            )
        counts = np.append(self.counts, 0)[item_ids]
        mask = np.arange(self.max_components)[None, :] < counts[:, None]
        if self._values is not None:
            return self._values[item_ids], mask
        values = np.zeros((len(item_ids), self.max_components, self.dim), self.dtype)
        rows = np.append(self.rows, -1)[item_ids]
        present = np.flatnonzero(rows >= 0)
        if len(present):
            unique, inverse = np.unique(rows[present], return_inverse=True)
            with h5py.File(self.path, "r") as handle:
                values[present] = handle[GROUP]["values"][unique][inverse]
        return values, mask
