"""Loader for the MAML train/test CSV files (liufancs/MAML `Data/<dataset>/{train,test}.csv`).

Liu et al., "User Diverse Preference Modeling by Multimodal Attentive Metric Learning",
ACM MM 2019. The released files (Office, MenClothing; DMRL's ToysGames) have the header
`itemID,userID,reviewerID,asin`: integer ids the authors' code uses directly as embedding
rows, plus the Amazon reviewer id and product ASIN.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from tfrec.data.errors import DataFormatError
from tfrec.data.interactions import Interactions
from tfrec.data.interactions import LoadReport
from tfrec.data.loaders import _common
from tfrec.data.loaders import _parsing

COLUMNS = (
    ("itemID", _parsing.ID),
    ("userID", _parsing.ID),
    ("reviewerID", _parsing.STR),
    ("asin", _parsing.STR),
)
HEADER = tuple(name for name, _ in COLUMNS)


def load_maml_csv(
    train_path: str | os.PathLike,
    test_path: str | os.PathLike,
    *,
    name: str = "maml-csv",
) -> Interactions:
    """Loads a MAML train/test split, keeping the files' integer ids as indices.

    As in the authors' `Dataset.py`, item index == `itemID` and user index == `userID`;
    `num_items = max(itemID) + 1` and `num_users = max(userID) + 1` over train AND test (the
    released code sizes by train only and breaks on test-only items, see spec/maml.md).
    Item keys are the ASINs and user keys the reviewer ids, so side information keyed by
    ASIN (e.g. `load_lrd_item_side`) joins directly. An id with no row in either file gets
    the placeholder key `"item:<id>"` / `"user:<id>"`, noted in the report.

    Args:
        train_path, test_path: the CSV files (header `itemID,userID,reviewerID,asin`).
        name: dataset name for messages.

    Returns:
        `Interactions` with train and test; duplicates, users without training items and
        test-only items are counted in `report`.

    Raises:
        DataFormatError: empty file, wrong header, wrong field count, an id that is not a
            non-negative integer, or an id that maps to two keys (or a key to two ids),
            naming the file and line.

    Example:
    >>> data = load_maml_csv("Data/Office/train.csv", "Data/Office/test.csv")
    >>> data.num_users, data.num_items
    (4874, 2406)
    """
    paths = {"train": train_path, "test": test_path}
    tables = {
        split: _parsing.read_table(path, COLUMNS, sep=",", header=HEADER)
        for split, path in paths.items()
    }
    report = LoadReport()
    item_keys = _vocabulary(tables, paths, "itemID", "asin", "item", report)
    user_keys = _vocabulary(tables, paths, "userID", "reviewerID", "user", report)
    splits = {
        split: pd.DataFrame(
            {
                "user": user_keys[table.frame["userID"].to_numpy()],
                "item": item_keys[table.frame["itemID"].to_numpy()],
            }
        )
        for split, table in tables.items()
    }
    interactions = Interactions.from_frames(
        splits, user_keys=user_keys, item_keys=item_keys, name=name, report=report
    )
    return _common.note_split_overlap(interactions)


def _vocabulary(tables, paths, id_column: str, key_column: str, what: str, report) -> np.ndarray:
    """Keys by id (`[max id + 1]`); raises if an id has two keys or a key two ids."""
    order = list(tables)
    ids = np.concatenate([tables[s].frame[id_column].to_numpy() for s in order])
    keys = np.concatenate([tables[s].frame[key_column].to_numpy(dtype=object) for s in order])
    sizes = [len(tables[s].frame) for s in order]
    frame = pd.DataFrame({"id": ids, "key": keys})
    names = {"id": id_column, "key": key_column}
    for left, right in (("id", "key"), ("key", "id")):
        first = frame.groupby(left, sort=False)[right].transform("first").to_numpy()
        clash = np.flatnonzero(frame[right].to_numpy() != first)
        if len(clash):
            row = int(clash[0])
            earlier = int(np.flatnonzero(frame[left].to_numpy() == frame[left].iloc[row])[0])
            split, line = _locate(tables, order, sizes, row)
            earlier_split, earlier_line = _locate(tables, order, sizes, earlier)
            where = f"line {earlier_line} of {os.path.basename(os.fspath(paths[earlier_split]))}"
            value, key, first_key = (
                _show(frame[c].iloc[r]) for c, r in ((left, row), (right, row), (right, earlier))
            )
            problem = (
                f"{names[left]} {value} has {names[right]} {key} here but {first_key} on "
                f"{where}; each {names[left]} must map to one {names[right]}"
            )
            content = _parsing.split_lines(tables[split].text)[line - 1]
            column = HEADER.index(names[right]) + 1
            raise DataFormatError(paths[split], problem, line=line, column=column, content=content)
    num = int(ids.max()) + 1
    vocabulary = np.array([f"{what}:{k}" for k in range(num)], dtype=object)
    unique_ids, first_rows = np.unique(ids, return_index=True)
    vocabulary[unique_ids] = keys[first_rows]
    missing = num - len(unique_ids)
    if missing:
        report.notes.append(
            f"{missing} {what} ids in 0..{num - 1} occur in no file; they keep their index "
            f"with placeholder keys like {what}:{int(np.setdiff1d(np.arange(num), ids)[0])}"
        )
    return vocabulary


def _locate(tables, order, sizes, row: int) -> tuple[str, int]:
    """(split, 1-based file line) of row `row` of the train-then-test concatenation."""
    ends = np.cumsum(sizes)
    index = int(np.searchsorted(ends, row, side="right"))
    split = order[index]
    return split, int(tables[split].line_numbers()[row - (ends[index] - sizes[index])])


def _show(value) -> str:
    return repr(value) if isinstance(value, str) else str(int(value))
