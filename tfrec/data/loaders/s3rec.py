"""Loader for the S3-Rec sequence files (aHuiWang/CIKM2020-S3Rec `data/`).

Zhou et al., "S3-Rec: Self-Supervised Learning for Sequential Recommendation with Mutual
Information Maximization", CIKM 2020. `<Dataset>.txt` holds one line per user, `user item
item ...`, items in time order (1-based ids). `<Dataset>_item2attributes.json` maps each
item id to anonymised attribute ids. The authors' `data/data_process.py` builds an Amazon
item's attribute list as `[brand] + every category path without its root`, i.e.

    brand (if the item has one), path1[1], path1[2], ..., path2[1], path2[2], ...

with ids given in order of first appearance and `attribute_core = 0` (nothing filtered).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from collections.abc import Sequence
from itertools import chain

import numpy as np
import pandas as pd

from tfrec.data.errors import DataFormatError
from tfrec.data.interactions import InteractionLog
from tfrec.data.interactions import ItemSideInfo
from tfrec.data.interactions import LoadReport
from tfrec.data.loaders import _common
from tfrec.data.loaders import _parsing


def load_s3rec(
    sequence_path: str | os.PathLike,
    attributes_path: str | os.PathLike | None = None,
    *,
    name: str = "s3rec",
    category_level: int | None = 2,
) -> InteractionLog:
    """Loads S3-Rec sequences as an `InteractionLog` (`timestamp` = position in sequence).

    Each line `user i1 i2 ... in` becomes n rows with `timestamp` 0..n-1, so "latest" is
    well defined for leave-one-out splitting. Keys are the file's id strings. Repeated items
    in a sequence are kept as events and counted in `report.duplicate_pairs["log"]`.

    Args:
        sequence_path: the `<Dataset>.txt` file.
        attributes_path: optional `<Dataset>_item2attributes.json`. Gives
            `item_side.tags[item] = ["attr:<id>", ...]` (file order) and, unless
            `category_level` is None, one derived category label per item (see
            `s3rec_item_categories`).
        name: dataset name for messages.
        category_level: Amazon category level used as the item's category label (2 by
            default: one below the dataset's single top category), or None for no labels.

    Raises:
        DataFormatError: empty file, a non-integer id, a user on two lines, bad JSON or a
            JSON value that is not a list of integer attribute ids.

    Example:
    >>> log = load_s3rec("data/Beauty.txt", "data/Beauty_item2attributes.json")
    >>> len(log.frame), log.frame["user"].nunique()
    (198502, 22363)
    """
    report = LoadReport()
    lines = _parsing.read_id_lines(sequence_path, what="id", min_fields=1)
    _check_unique_users(sequence_path, lines)
    empty = int((lines.counts == 0).sum())
    if empty:
        report.dropped["users whose sequence is empty"] = empty
    frame = pd.DataFrame(
        {
            "user": _common.id_strings(lines.repeated_heads()),
            "item": _common.id_strings(lines.values),
            "timestamp": lines.positions(),
        }
    )
    _common.count_duplicates(frame, report)
    side = ItemSideInfo()
    if attributes_path is not None:
        attributes = load_s3rec_attributes(attributes_path)
        side.tags = {
            item: [f"attr:{value}" for value in values] for item, values in attributes.items()
        }
        if category_level is not None:
            side.categories = s3rec_item_categories(attributes, level=category_level)
            labelled = len(side.categories)
            report.notes.append(
                f"category level {category_level} derived from attributes for {labelled} of "
                f"{len(attributes)} items ({len(_labels(side.categories))} labels)"
            )
    return InteractionLog(frame=frame, item_side=side, name=name, report=report)


def load_s3rec_attributes(path: str | os.PathLike) -> dict[str, list[int]]:
    """Reads `<Dataset>_item2attributes.json`: `{"item": [attribute ids]}`, validated."""
    value, text = _parsing.read_json(path)
    if not isinstance(value, dict):
        raise DataFormatError(
            path,
            f"expected a JSON object mapping item ids to attribute lists, got a "
            f"{type(value).__name__}",
            line=1,
            column=1,
        )
    lists = value.values()
    if all(type(v) is list for v in lists) and set(map(type, chain.from_iterable(lists))) <= {int}:
        if all(item.isascii() and item.isdigit() for item in value):
            return value
    for item, values in value.items():
        problem = None
        if _parsing.value_problem(item, _parsing.ID):
            problem = f"item id {item!r} is not a non-negative integer"
        elif not isinstance(values, list) or not all(type(v) is int for v in values):
            problem = f"the attributes of item {item} must be a list of integers"
        if problem:
            line, column, content = _parsing.position_of(text, f'"{item}"')
            raise DataFormatError(path, problem, line=line, column=column, content=content)
    return value


def s3rec_item_categories(
    attributes: Mapping[str, Sequence[int]], level: int = 2
) -> dict[str, list[str]]:
    """Derives one category label per item from S3-Rec's anonymised attribute lists.

    S3-Rec writes `[brand] + path[1:]` for every Amazon category path (`path[0]`, the
    dataset's root such as "Sports & Outdoors", is dropped). Ids are anonymised, so two
    facts recover the structure:

    1. The brand can only be FIRST. An attribute that is first in some item's list and
       never appears at a later position in any list is taken to be a brand; an item
       whose first attribute also appears later elsewhere has no brand.
    2. After the brand come the values of the first category path, level 1 first.

    The label is the value at `level` of the first path, i.e. the `level`-th attribute
    after the brand (`level=1` is the first category value). Items whose list is too short
    get no label. Level 1 is uninformative on Sports (one value covers 18,146 of 18,357
    items); level 2 gives 32 labels for 18,114 items on Sports and 38 labels for 11,996
    items on Beauty. Limits: if an item's first path is shorter than `level`, the label
    comes from its next path; a brand that never occurs beyond position 0 but equals a
    category name shares that category's id and is read as a category.

    Args:
        attributes: item id -> attribute ids, as in the JSON file.
        level: 1-based category level below the dropped root.

    Returns:
        item id -> `["attr:<id>"]` for items that have a value at that level.
    """
    if level < 1:
        raise ValueError(f"Received: `level={level}`. Expected an integer >= 1.")
    later = {value for values in attributes.values() for value in values[1:]}
    out = {}
    for item, values in attributes.items():
        if not values:
            continue
        start = 0 if values[0] in later else 1
        position = start + level - 1
        if position < len(values):
            out[item] = [f"attr:{values[position]}"]
    return out


def _labels(categories: Mapping[str, list[str]]) -> set[str]:
    return {labels[0] for labels in categories.values()}


def _check_unique_users(path, lines: _parsing.IdLines) -> None:
    _, first = np.unique(lines.heads, return_index=True)
    if len(first) == len(lines.heads):
        return
    repeated = np.ones(len(lines.heads), dtype=bool)
    repeated[first] = False
    row = int(np.flatnonzero(repeated)[0])
    earlier = int(np.flatnonzero(lines.heads == lines.heads[row])[0])
    raise DataFormatError(
        path,
        f"user {int(lines.heads[row])} already has a sequence on line {int(lines.lines[earlier])};"
        " each user must have one line",
        line=int(lines.lines[row]),
        column=1,
    )


def load_s3rec_item_labels(
    attributes_path: str | os.PathLike, level: int = 2
) -> dict[str, list[str]]:
    """`s3rec_item_categories` of an attributes file (item id -> `["attr:<id>"]`)."""
    return s3rec_item_categories(load_s3rec_attributes(attributes_path), level=level)
