"""Loader for `user item item ...` split files (liufancs/a2_gcn `Data/<dataset>/`).

The A2-GCN / LightGCN family of repositories ships one line per user: the user id followed
by the ids of the user's items, space-separated, in `train.txt` and `test.txt` (CRLF line
ends in a2_gcn). a2_gcn adds `tag.txt`, one `item tag` pair per line.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from tfrec.data.interactions import InteractionLog
from tfrec.data.interactions import Interactions
from tfrec.data.interactions import ItemSideInfo
from tfrec.data.interactions import LoadReport
from tfrec.data.loaders import _common
from tfrec.data.loaders import _parsing

TAG_COLUMNS = (("item", _parsing.ID), ("tag", _parsing.ID))


def load_user_item_lines(
    train_path: str | os.PathLike,
    test_path: str | os.PathLike,
    tag_path: str | os.PathLike | None = None,
    *,
    name: str = "user-item-lines",
) -> Interactions:
    """Loads a `user item item ...` train/test split, keeping the integer ids as indices.

    Keys are the id strings; `num_users`/`num_items` are the largest id + 1 over both
    files (ids that never occur stay as empty rows/columns and are noted). A line with a
    user and no items is allowed (the user has no interactions in that split).

    Args:
        train_path, test_path: the split files.
        tag_path: optional `item tag` pairs; `item_side.tags[item] = ["tag:<id>", ...]` in
            file order (a repeated pair is counted in `report.dropped` and kept once).
        name: dataset name for messages.

    Raises:
        DataFormatError: an empty file or a token that is not a non-negative integer (file,
            line and field named).

    Example:
    >>> data = load_user_item_lines("Data/Cloth/train.txt", "Data/Cloth/test.txt",
    ...                             "Data/Cloth/tag.txt", name="cloth")
    >>> data.num_users, data.num_items
    (39387, 23033)
    """
    report = LoadReport()
    parsed = {
        "train": _parsing.read_id_lines(train_path, what="id"),
        "test": _parsing.read_id_lines(test_path, what="id"),
    }
    users = np.concatenate([p.heads for p in parsed.values()])
    items = np.concatenate([p.values for p in parsed.values()])
    user_keys = _common.id_vocabulary(users, report, "user")
    item_keys = _common.id_vocabulary(items, report, "item")
    splits = {
        split: pd.DataFrame(
            {"user": user_keys[lines.repeated_heads()], "item": item_keys[lines.values]}
        )
        for split, lines in parsed.items()
    }
    side = load_item_tags(tag_path, report) if tag_path is not None else None
    interactions = Interactions.from_frames(
        splits,
        user_keys=user_keys,
        item_keys=item_keys,
        item_side=side,
        name=name,
        report=report,
    )
    return _common.note_split_overlap(interactions)


def load_user_item_lines_log(
    *paths: str | os.PathLike,
    tag_path: str | os.PathLike | None = None,
    name: str = "user-item-lines",
) -> InteractionLog:
    """Reads one or more `user item item ...` files as one unsplit log (for a re-split).

    The events keep file order (files in the order given); there are no timestamps, so
    `leave_one_out` holds out a random event per user (seeded), as IRIS does. A (user, item)
    pair found in several files is kept once and counted in `report.dropped`.

    Example:
    >>> log = load_user_item_lines_log("train.txt", "test.txt", tag_path="tag.txt")
    >>> data = leave_one_out(log, holdout="random", seed=0)
    """
    report = LoadReport()
    parsed = [_parsing.read_id_lines(path, what="id") for path in paths]
    frame = pd.DataFrame(
        {
            "user": np.concatenate([p.repeated_heads() for p in parsed]).astype(str),
            "item": np.concatenate([p.values for p in parsed]).astype(str),
        }
    )
    repeated = frame.duplicated().to_numpy()
    if repeated.any():
        report.dropped["(user, item) pairs repeated across or within the files"] = int(
            repeated.sum()
        )
        frame = frame[~repeated].reset_index(drop=True)
    side = load_item_tags(tag_path, report) if tag_path is not None else ItemSideInfo()
    return InteractionLog(frame, item_side=side, name=name, report=report)


def load_item_tags(path: str | os.PathLike, report: LoadReport | None = None) -> ItemSideInfo:
    """Reads `item tag` pairs into `ItemSideInfo.tags` (`"tag:<id>"`, file order)."""
    frame = _parsing.read_table(path, TAG_COLUMNS, sep=_parsing.WHITESPACE).frame
    duplicated = frame.duplicated().to_numpy()
    if duplicated.any() and report is not None:
        report.dropped["repeated (item, tag) pairs in the tag file"] = int(duplicated.sum())
    frame = frame[~duplicated]
    items = [str(item) for item in frame["item"].tolist()]
    labels = [f"tag:{tag}" for tag in frame["tag"].tolist()]
    return ItemSideInfo(tags=_common.group_lists(items, labels))
