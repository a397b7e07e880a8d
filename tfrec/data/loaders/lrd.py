"""Loaders for the ysh-1998/LRD data folders (e.g. `data/Office`).

The LRD repository ships Amazon-2014 5-core data in the ReChorus layout (its MIT license is
Copyright 2020 Chenyang Wang, the ReChorus author):

* `train.csv`, `dev.csv`, `test.csv`: tab-separated `user_id item_id time` with a header;
  dev and test add `neg_items`, a `[i1, i2, ...]` list of 99 sampled negatives. The split is
  leave-one-out by time (dev = second latest, test = latest interaction of each user).
* `item_meta.csv`: `item_id i_category i_brand r_complement r_substitute` (ints; `i_brand`
  0 = no brand, i_category 0 is a real category).
* `<Dataset>.item2index`: `ASIN<TAB>item_id` (no header), mapping the integer ids to ASINs.
* `<Dataset>.text`: `id<TAB>text` with a header, id = ASIN, text = title + category + brand.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tfrec.data.errors import DataFormatError
from tfrec.data.interactions import InteractionLog
from tfrec.data.interactions import Interactions
from tfrec.data.interactions import ItemSideInfo
from tfrec.data.interactions import LoadReport
from tfrec.data.loaders import _common
from tfrec.data.loaders import _parsing

ID, STR = _parsing.ID, _parsing.STR
TRAIN_COLUMNS = (("user_id", ID), ("item_id", ID), ("time", _parsing.INT))
EVAL_COLUMNS = (*TRAIN_COLUMNS, ("neg_items", STR))
META_COLUMNS = (
    ("item_id", ID),
    ("i_category", ID),
    ("i_brand", ID),
    ("r_complement", STR),
    ("r_substitute", STR),
)
INDEX_COLUMNS = (("asin", STR), ("item_id", ID))


def load_lrd(directory: str | os.PathLike, *, name: str = "lrd") -> Interactions:
    """`load_lrd_split(directory)` with `load_lrd_item_side(directory)` attached."""
    interactions = load_lrd_split(directory, name=name)
    interactions.item_side = load_lrd_item_side(directory)
    return interactions


def load_lrd_split(directory: str | os.PathLike, *, name: str = "lrd") -> Interactions:
    """Loads LRD's leave-one-out split: train, validation (dev.csv) and test with negatives.

    User keys are the LRD user ids as strings, users in id order. Item keys are ASINs when
    `<Dataset>.item2index` is present (so side information keyed by ASIN, e.g. MAML's or
    `Office.text`, joins), otherwise the LRD item ids as strings; items are in id order and
    every item of `item2index` is in the vocabulary. `test_negatives` holds test.csv's
    `neg_items`; dev.csv's negatives cannot be stored in `Interactions` and are only noted.
    Train `time` becomes `train_timestamps`.

    Args:
        directory: the folder with `train.csv`, `dev.csv` (optional), `test.csv`.
        name: dataset name for messages.

    Raises:
        DataFormatError: a malformed line (file, line and field named), or an item id
            missing from `item2index`.
    """
    directory = Path(directory)
    report = LoadReport()
    tables = {
        "train": _parsing.read_table(
            directory / "train.csv", TRAIN_COLUMNS, sep="\t", header=_names(TRAIN_COLUMNS)
        )
    }
    files = {"train": directory / "train.csv"}
    for split, filename in (("validation", "dev.csv"), ("test", "test.csv")):
        path = directory / filename
        if split == "test" or path.exists():
            files[split] = path
            tables[split] = _parsing.read_table(
                path, EVAL_COLUMNS, sep="\t", header=_names(EVAL_COLUMNS)
            )
    negatives = {
        split: _parse_id_lists(files[split], tables[split], "neg_items")
        for split in ("validation", "test")
        if split in tables
    }

    index = _item_index(directory)
    if index is not None:
        known_ids, item_keys = index
    else:
        known_ids = np.unique(
            np.concatenate(
                [t.frame["item_id"].to_numpy() for t in tables.values()]
                + [values for values, _ in negatives.values()]
            )
        )
        item_keys = np.array([str(k) for k in known_ids], dtype=object)
    for split, table in tables.items():
        _check_known(files[split], table, table.frame["item_id"].to_numpy(), known_ids, 2)
    for split, (values, counts) in negatives.items():
        _check_known(files[split], tables[split], values, known_ids, 4, counts)

    user_ids = np.unique(np.concatenate([t.frame["user_id"].to_numpy() for t in tables.values()]))
    user_keys = np.array([str(k) for k in user_ids], dtype=object)
    frames = {}
    for split, table in tables.items():
        frame = pd.DataFrame(
            {
                "user": _common.id_strings(table.frame["user_id"]),
                "item": item_keys[_common.index_of(known_ids, table.frame["item_id"].to_numpy())],
            }
        )
        if split == "train":
            frame["timestamp"] = table.frame["time"].to_numpy()
        frames[split] = frame
    interactions = Interactions.from_frames(
        frames, user_keys=user_keys, item_keys=item_keys, name=name, report=report
    )
    values, counts = negatives["test"]
    rows = _common.index_of(user_ids, tables["test"].frame["user_id"].to_numpy())
    interactions = _common.with_negatives(
        interactions, rows, counts, _common.index_of(known_ids, values)
    )
    _note_negatives(interactions)
    if "validation" in negatives:
        report.notes.append(
            f"dev.csv's neg_items ({int(negatives['validation'][1].max())} per user) are not "
            "kept: Interactions stores sampled negatives for the test split only"
        )
    return _common.note_split_overlap(interactions)


def load_lrd_log(directory: str | os.PathLike, *, name: str = "lrd") -> InteractionLog:
    """Reads train.csv, dev.csv and test.csv as one time-stamped log (for a re-split).

    Every event keeps its `time`, so `leave_one_out(log)` holds out each user's latest
    interaction (LRD's own test split, with dev merged back into train). Items are keyed as in
    `load_lrd_split` (ASINs when `<Dataset>.item2index` is present) and carry
    `load_lrd_item_side(directory)`.

    Example:
    >>> data = leave_one_out(load_lrd_log("data/Office"))  # the ACF protocol

    Raises:
        DataFormatError: a malformed line (file, line and field named), or an item id
            missing from `item2index`.
    """
    directory = Path(directory)
    index = _item_index(directory)
    frames = []
    for filename, columns in (
        ("train.csv", TRAIN_COLUMNS),
        ("dev.csv", EVAL_COLUMNS),
        ("test.csv", EVAL_COLUMNS),
    ):
        path = directory / filename
        if filename == "dev.csv" and not path.exists():
            continue
        table = _parsing.read_table(path, columns, sep="\t", header=_names(columns))
        ids = table.frame["item_id"].to_numpy()
        if index is not None:
            known, asins = index
            _check_known(path, table, ids, known, 2)
            items = asins[_common.index_of(known, ids)]
        else:
            items = np.array([str(k) for k in ids], dtype=object)
        frames.append(
            pd.DataFrame(
                {
                    "user": _common.id_strings(table.frame["user_id"]),
                    "item": items.astype(str),
                    "timestamp": table.frame["time"].to_numpy(np.int64),
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    return InteractionLog(frame, item_side=load_lrd_item_side(directory), name=name)


def load_lrd_item_side(directory: str | os.PathLike) -> ItemSideInfo:
    """Reads LRD item side information: text, one category per item, and brand metadata.

    `text` comes from `<Dataset>.text` (keyed by ASIN). `categories[key] =
    [f"category:{i_category}"]` from `item_meta.csv`; `metadata` (indexed by key) has
    `lrd_index`, `category` and `brand` (`f"brand:{i_brand}"`, missing where `i_brand` is 0:
    those items have no brand in their text). Keys are ASINs when `<Dataset>.item2index`
    exists, otherwise the LRD item ids as strings. Any of the three files may be absent.

    Example:
    >>> side = load_lrd_item_side("data/Office")
    >>> side.categories["B00000JBLU"], side.metadata.loc["B00000JBLU", "brand"]
    (['category:1'], 'brand:1')
    """
    directory = Path(directory)
    side = ItemSideInfo()
    text_path = _find_one(directory, "*.text")
    if text_path is not None:
        side.text = _read_text_file(text_path)
    meta_path = directory / "item_meta.csv"
    if not meta_path.exists():
        return side
    meta = _parsing.read_table(meta_path, META_COLUMNS, sep="\t", header=_names(META_COLUMNS))
    _check_unique(meta_path, meta, "item_id")
    ids = meta.frame["item_id"].to_numpy()
    index = _item_index(directory)
    if index is not None:
        known, asins = index
        _check_known(meta_path, meta, ids, known, 1)
        keys = asins[_common.index_of(known, ids)]
    else:
        keys = np.array([str(k) for k in ids], dtype=object)
    category = np.array([f"category:{c}" for c in meta.frame["i_category"]], dtype=object)
    brand = np.array([f"brand:{b}" if b else None for b in meta.frame["i_brand"]], dtype=object)
    side.categories = {key: [label] for key, label in zip(keys, category, strict=True)}
    side.metadata = pd.DataFrame(
        {"lrd_index": ids, "category": category, "brand": brand}, index=pd.Index(keys)
    )
    return side


# --------------------------------------------------------------------------- helpers
def _names(columns) -> tuple[str, ...]:
    return tuple(name for name, _ in columns)


def _item_index(directory: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """`(item ids, ASINs)` of `<Dataset>.item2index`, in id order (None without the file);
    a repeated id raises naming its line."""
    path = _find_one(directory, "*.item2index")
    if path is None:
        return None
    table = _parsing.read_table(path, INDEX_COLUMNS, sep="\t")
    _check_unique(path, table, "item_id")
    index = table.frame.sort_values("item_id")
    return index["item_id"].to_numpy(), index["asin"].to_numpy(dtype=object)


def _find_one(directory: Path, pattern: str) -> Path | None:
    found = sorted(directory.glob(pattern))
    if len(found) > 1:
        raise ValueError(
            f"Received a directory with {len(found)} `{pattern}` files "
            f"({', '.join(p.name for p in found)}). Expected at most one."
        )
    return found[0] if found else None


def _read_text_file(path: Path) -> dict[str, str]:
    """`id<TAB>text` lines after an `id<TAB>text` header (text may hold more tabs)."""
    text, _ = _parsing.read_text(path)
    _parsing.check_not_empty(path, text)
    _parsing.check_header(path, text, ("id", "text"), "\t")
    out = {}
    for number, line in enumerate(_parsing.split_lines(text)[1:], start=2):
        if not line:
            continue
        key, tab, value = line.partition("\t")
        if not tab or not key:
            raise DataFormatError(
                path, "expected `id<TAB>text` (2 tab-separated fields)", line=number, content=line
            )
        out[key] = value
    return out


def _parse_id_lists(path, table, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Parses a column of `[1, 2, 3]` lists: (all values, count per row)."""
    strings = table.frame[column].astype(str)
    stripped = strings.str.strip()
    well_formed = stripped.str.startswith("[") & stripped.str.endswith("]")
    if well_formed.all():
        inner = stripped.str.slice(1, -1)
        empty = (inner.str.strip() == "").to_numpy()
        counts = np.where(empty, 0, inner.str.count(",").to_numpy() + 1).astype(np.int64)
        values = _parsing.parse_ints(",".join(inner[~empty]), ",", int(counts.sum()))
        if values is not None and not (values < 0).any():
            return values, counts
    lines = table.line_numbers()
    texts = _parsing.split_lines(table.text)
    position = list(table.frame.columns).index(column) + 1
    for row, value in enumerate(strings):
        value = value.strip()
        problem = None
        if not (value.startswith("[") and value.endswith("]")):
            problem = f"{column} must be a list like [1, 2, 3], got {value[:40]!r}"
        else:
            tokens = [t.strip() for t in value[1:-1].split(",")]
            for token in tokens if tokens != [""] else []:
                if found := _parsing.value_problem(token, ID):
                    problem = f"{column} entries {found}"
                    break
        if problem:
            line = int(lines[row])
            raise DataFormatError(
                path, problem, line=line, column=position, content=texts[line - 1]
            )
    raise DataFormatError(path, f"the {column} column could not be parsed")


def _check_unique(path, table, column: str) -> None:
    duplicated = table.frame[column].duplicated().to_numpy()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated)[0])
        line = int(table.line_numbers()[row])
        raise DataFormatError(
            path,
            f"{column} {table.frame[column].iloc[row]} occurs on an earlier line too",
            line=line,
            column=list(table.frame.columns).index(column) + 1,
            content=_parsing.split_lines(table.text)[line - 1],
        )


def _check_known(path, table, ids, known, column: int, counts=None) -> None:
    """Raises naming the first line whose id (in field `column`) is not in `known`."""
    found = _common.index_of(known, ids) >= 0
    if found.all():
        return
    bad = int(np.flatnonzero(~found)[0])
    row = bad if counts is None else int(np.searchsorted(np.cumsum(counts), bad, side="right"))
    line = int(table.line_numbers()[row])
    raise DataFormatError(
        path,
        f"item id {int(ids[bad])} is not in the item index (item2index)",
        line=line,
        column=column,
        content=_parsing.split_lines(table.text)[line - 1],
    )


def _note_negatives(interactions: Interactions) -> None:
    """Notes sampled test negatives that are actually positives of their user."""
    positives = interactions.train + interactions.test
    if interactions.validation is not None:
        positives = positives + interactions.validation
    negatives = interactions.test_negatives
    users = np.repeat(np.arange(len(negatives)), negatives.shape[1])
    items = negatives.ravel()
    valid = items >= 0
    hits = np.asarray(sp.csr_matrix(positives)[users[valid], items[valid]]).ravel() > 0
    if hits.any():
        interactions.report.notes.append(
            f"{int(hits.sum())} sampled test negatives are positives of their user "
            "(kept as in the files)"
        )
