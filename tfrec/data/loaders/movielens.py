"""Loaders for MovieLens `::`-separated files and the MeLU/OMDb movie descriptions.

* ML-1M `ratings.dat` (and LibRecommender's 10% sample of it): `user::item::rating::timestamp`.
* ML-1M `movies.dat`: `id::title::genres`, genres `|`-separated. GroupLens' original file is
  latin-1; the copy in hoyeoplee/MeLU is UTF-8. Both are read (UTF-8 first).
* hoyeoplee/MeLU `movies_extrainfos.dat` (Lee et al., "MeLU: Meta-Learned User Preference
  Estimator for Cold-Start Recommendation", KDD 2019): OMDb fields per ML-1M movie id, UTF-8
  with CRLF line ends: id, title, year, rated, released, genre, director, writer, actors,
  plot, poster URL. OMDb writes "N/A" for a missing value.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from tfrec.data.errors import DataFormatError
from tfrec.data.interactions import InteractionLog
from tfrec.data.interactions import ItemSideInfo
from tfrec.data.interactions import LoadReport
from tfrec.data.loaders import _common
from tfrec.data.loaders import _parsing

SEP = "::"
RATING_COLUMNS = (
    ("user", _parsing.ID),
    ("item", _parsing.ID),
    ("rating", _parsing.FLOAT),
    ("timestamp", _parsing.INT),
)
MOVIE_FIELDS = ("id", "title", "genres")
EXTRA_FIELDS = (
    "id",
    "title",
    "year",
    "rated",
    "released",
    "genre",
    "director",
    "writer",
    "actors",
    "plot",
    "poster_url",
)
ENCODINGS = ("utf-8", "latin-1")
MISSING = "N/A"


def load_movielens_ratings(
    path: str | os.PathLike, *, name: str = "movielens", min_rating: float | None = None
) -> InteractionLog:
    """Loads a `user::item::rating::timestamp` file as an `InteractionLog`.

    Keys are the id strings; `rating` is float, `timestamp` int64 (Unix seconds). Repeated
    (user, item) rows are kept and counted in `report.duplicate_pairs["log"]`.

    Args:
        path: `ratings.dat` or LibRecommender's `sample_movielens_rating.dat`.
        name: dataset name for messages.
        min_rating: if given, rows with `rating < min_rating` are dropped (and counted in
            `report.dropped`).

    Raises:
        DataFormatError: empty file, wrong field count, a non-integer id or timestamp, a
            non-numeric rating (file, line and field named).

    Example:
    >>> log = load_movielens_ratings("sample_movielens_rating.dat")
    >>> len(log.frame)
    100000
    """
    report = LoadReport()
    text, _ = _parsing.read_text(path, ENCODINGS)
    frame = _parsing.read_table(path, RATING_COLUMNS, sep=SEP, text=text).frame
    log = pd.DataFrame(
        {
            "user": _common.id_strings(frame["user"]),
            "item": _common.id_strings(frame["item"]),
            "rating": frame["rating"].to_numpy(np.float64),
            "timestamp": frame["timestamp"].to_numpy(np.int64),
        }
    )
    if min_rating is not None:
        keep = log["rating"].to_numpy() >= min_rating
        report.dropped[f"rating < {min_rating:g}"] = int((~keep).sum())
        log = log[keep].reset_index(drop=True)
    _common.count_duplicates(log, report)
    return InteractionLog(frame=log, name=name, report=report)


def load_movielens_items(
    movies_path: str | os.PathLike | None = None,
    extras_path: str | os.PathLike | None = None,
    *,
    categories_from: str | None = None,
) -> ItemSideInfo:
    """Reads ML-1M `movies.dat` and/or MeLU's `movies_extrainfos.dat` into `ItemSideInfo`.

    Keys are the ML-1M movie ids as strings. `text` is the OMDb plot (movies whose plot is
    "N/A" get no text). `categories` are the movie's genres in file order (the first is the
    primary label): ML-1M's `|`-separated genres from `movies.dat`, or OMDb's
    comma-separated `genre` from the extras file. `metadata` (indexed by key) has `title`,
    `genres` (ML-1M, `|`-joined) and from the extras `year` (Int64), `rated`, `released`,
    `genre`, `director`, `writer`, `actors`, `poster_url`; OMDb's "N/A" becomes missing.
    When both files are given, the extras' title (without the year) wins.

    Args:
        movies_path: ML-1M `movies.dat` (UTF-8 or latin-1).
        extras_path: MeLU `movies_extrainfos.dat`.
        categories_from: "movies" or "extras"; by default `movies.dat` when given.

    Raises:
        DataFormatError: an empty file, a line without the expected fields, a non-integer
            id, an id on two lines.
        ValueError: no file given, or an unknown `categories_from`.
    """
    if movies_path is None and extras_path is None:
        raise ValueError(
            "Received: `movies_path=None, extras_path=None`. Expected at least one file."
        )
    if categories_from is None:
        categories_from = "movies" if movies_path is not None else "extras"
    sources = {"movies": movies_path, "extras": extras_path}
    if categories_from not in sources or sources[categories_from] is None:
        raise ValueError(
            f"Received: `categories_from={categories_from!r}`. Expected 'movies' (with "
            "`movies_path`) or 'extras' (with `extras_path`)."
        )
    side = ItemSideInfo()
    frames = []
    if movies_path is not None:
        movies = _read_fields(movies_path, MOVIE_FIELDS)
        genres = movies["genres"].str.split("|")
        movies = movies.set_index("id")[["title", "genres"]]
        frames.append(movies)
        if categories_from == "movies":
            side.categories = _label_lists(movies.index, genres)
    if extras_path is not None:
        extras = _read_fields(extras_path, EXTRA_FIELDS)
        extras = extras.mask(extras == MISSING).set_index("id")
        has_plot = extras["plot"].notna().to_numpy()
        side.text = dict(zip(extras.index[has_plot], extras["plot"][has_plot], strict=True))
        if categories_from == "extras":
            genres = (
                extras["genre"]
                .str.split(",")
                .map(lambda names: [n.strip() for n in names] if isinstance(names, list) else [])
            )
            side.categories = _label_lists(extras.index, genres)
        extras["year"] = pd.to_numeric(extras["year"], errors="coerce").astype("Int64")
        frames.insert(0, extras.drop(columns=["plot"]))
    metadata = frames[0]
    for frame in frames[1:]:
        metadata = metadata.combine_first(frame)
    side.metadata = metadata
    return side


def _read_fields(path, fields) -> pd.DataFrame:
    """Splits `::` lines into the named string fields; validates the count and the id."""
    text, _ = _parsing.read_text(path, ENCODINGS)
    _parsing.check_not_empty(path, text)
    lines = _parsing.split_lines(text)
    numbers = [k for k, line in enumerate(lines) if line]
    rows = [lines[k].split(SEP) for k in numbers]
    for row, parts in zip(numbers, rows, strict=True):
        problem, column = None, None
        if len(parts) != len(fields):
            problem = (
                f"expected {len(fields)} '::'-separated fields ({'::'.join(fields)}), "
                f"got {len(parts)}"
            )
        elif found := _parsing.value_problem(parts[0], _parsing.ID):
            problem, column = f"id {found}", 1
        if problem:
            raise DataFormatError(path, problem, line=row + 1, column=column, content=lines[row])
    frame = pd.DataFrame(rows, columns=list(fields), dtype=object)
    frame["id"] = [str(int(value)) for value in frame["id"]]
    duplicated = frame["id"].duplicated().to_numpy()
    if duplicated.any():
        row = numbers[int(np.flatnonzero(duplicated)[0])]
        raise DataFormatError(
            path,
            "this id occurs on an earlier line too",
            line=row + 1,
            column=1,
            content=lines[row],
        )
    return frame


def _label_lists(keys, lists) -> dict[str, list[str]]:
    return {key: list(labels) for key, labels in zip(keys, lists, strict=True) if labels}


def load_movielens(
    ratings_path: str | os.PathLike,
    movies_path: str | os.PathLike | None = None,
    extras_path: str | os.PathLike | None = None,
    *,
    name: str = "movielens",
    min_rating: float | None = None,
) -> InteractionLog:
    """`load_movielens_ratings` with `load_movielens_items` attached when files are given."""
    log = load_movielens_ratings(ratings_path, name=name, min_rating=min_rating)
    if movies_path is not None or extras_path is not None:
        log.item_side = load_movielens_items(movies_path, extras_path)
    return log
