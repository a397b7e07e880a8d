"""Loader for the librahu HIN datasets (librahu/HIN-Datasets-for-Recommendation-and-Network-
Embedding): Yelp, Movielens (ML-100K), Amazon, Douban, ...

Shi et al., "Heterogeneous Information Network Embedding for Recommendation" (HERec), TKDE
2018, released these relation files: `user_business.dat` / `user_movie.dat` /
`user_item.dat` with tab-separated `user item rating [timestamp]`, and item relations such as
`business_category.dat` (`item category 1`), `movie_genre.dat` (`item genre`) or
`item_category.dat`. Yelp_2's `business_user.txt` is space-separated `item user count`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from tfrec.data.interactions import InteractionLog
from tfrec.data.interactions import ItemSideInfo
from tfrec.data.interactions import LoadReport
from tfrec.data.loaders import _common
from tfrec.data.loaders import _parsing

ID = _parsing.ID


def load_hin(
    user_item_path: str | os.PathLike,
    *,
    item_category_path: str | os.PathLike | None = None,
    name: str = "hin",
    min_rating: float | None = None,
    item_first: bool = False,
) -> InteractionLog:
    """Loads a HIN user-item relation file as an `InteractionLog`.

    Lines are `user item [rating [timestamp]]`, tab- or space-separated (the separator and
    the field count are taken from the first line; every line must match). The rating goes
    to the `rating` column (float), a fourth field to `timestamp`. Keys are the file's id
    strings. Repeated (user, item) rows are kept and counted in
    `report.duplicate_pairs["log"]`.

    Args:
        user_item_path: the relation file.
        item_category_path: optional `item category [weight]` file; the categories of each
            item, in file order (the first is the primary label), named
            `"<relation>:<id>"` after the file name (`business_category.dat` ->
            `"category:334"`, `movie_genre.dat` -> `"genre:3"`).
        name: dataset name for messages.
        min_rating: if given, rows with `rating < min_rating` are dropped and counted in
            `report.dropped`.
        item_first: the file is `item user ...` (Yelp_2's `business_user.txt`).

    Raises:
        DataFormatError: empty file, wrong field count, a non-integer id or a non-numeric
            rating (file, line and field named).

    Example:
    >>> log = load_hin("Yelp/user_business.dat",
    ...                item_category_path="Yelp/business_category.dat", name="yelp")
    >>> len(log.frame)
    198397
    """
    report = LoadReport()
    first, second = ("item", "user") if item_first else ("user", "item")
    columns = [(first, ID), (second, ID), ("rating", _parsing.FLOAT), ("timestamp", _parsing.INT)]
    text, _ = _parsing.read_text(user_item_path)
    sep, width = _layout(user_item_path, text)
    expected = width if 2 <= width <= 4 else 3  # else: line 1 is reported as malformed
    frame = _parsing.read_table(user_item_path, columns[:expected], sep=sep, text=text).frame
    log = pd.DataFrame(
        {"user": _common.id_strings(frame["user"]), "item": _common.id_strings(frame["item"])}
    )
    if "rating" in frame.columns:
        log["rating"] = frame["rating"].to_numpy(np.float64)
    if "timestamp" in frame.columns:
        log["timestamp"] = frame["timestamp"].to_numpy(np.int64)
    if min_rating is not None:
        if "rating" not in log.columns:
            raise ValueError(
                f"Received: `min_rating={min_rating}` for a file without ratings "
                f"({os.fspath(user_item_path)}). Expected `min_rating=None`."
            )
        keep = log["rating"].to_numpy() >= min_rating
        report.dropped[f"rating < {min_rating:g}"] = int((~keep).sum())
        log = log[keep].reset_index(drop=True)
    _common.count_duplicates(log, report)
    side = ItemSideInfo()
    if item_category_path is not None:
        side.categories = load_hin_item_categories(item_category_path)
    return InteractionLog(frame=log, item_side=side, name=name, report=report)


def load_hin_item_categories(path: str | os.PathLike) -> dict[str, list[str]]:
    """Reads an `item category [weight]` file: item -> labels in file order (repeats once).

    Labels are `"<relation>:<id>"`, the relation being the file name's part after the first
    underscore (`movie_genre.dat` -> `genre`; `category` when the name has none).
    """
    text, _ = _parsing.read_text(path)
    sep, width = _layout(path, text)
    columns = [("item", ID), ("category", ID), ("weight", _parsing.FLOAT)]
    columns = columns[: width if width in (2, 3) else 2]
    frame = _parsing.read_table(path, columns, sep=sep, text=text).frame
    frame = frame.drop_duplicates(["item", "category"])
    stem = Path(path).stem
    relation = stem.split("_", 1)[1] if "_" in stem else "category"
    items = [str(item) for item in frame["item"].tolist()]
    labels = [f"{relation}:{c}" for c in frame["category"].tolist()]
    return _common.group_lists(items, labels)


def _layout(path, text: str) -> tuple[str, int]:
    """(separator, field count) of the first non-blank line: tab if it has one, else spaces."""
    _parsing.check_not_empty(path, text)
    first = _parsing.first_line(text)
    if "\t" in first:
        return "\t", first.count("\t") + 1
    return _parsing.WHITESPACE, len(first.split())
