"""Loader for the NCF data files (hexiangnan/neural_collaborative_filtering `Data/`).

He et al., "Neural Collaborative Filtering", WWW 2017; the same files serve NAIS (He et al.,
TKDE 2018). Three tab-separated files per dataset:

* `<name>.train.rating`: `user<TAB>item<TAB>rating<TAB>timestamp` (0-based integer ids).
* `<name>.test.rating`: the same, one held-out (latest) interaction per user.
* `<name>.test.negative`: `(user,item)<TAB>neg1<TAB>neg2...`, the 99 fixed sampled negatives
  of each test pair, one line per line of `test.rating`.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd

from tfrec.data.errors import DataFormatError
from tfrec.data.interactions import Interactions
from tfrec.data.interactions import LoadReport
from tfrec.data.loaders import _common
from tfrec.data.loaders import _parsing

ID = _parsing.ID
RATING_COLUMNS = (
    ("user", ID),
    ("item", ID),
    ("rating", _parsing.FLOAT),
    ("timestamp", _parsing.INT),
)
_PAIR = re.compile(r"\(\s*(\d+)\s*,\s*(\d+)\s*\)")


def load_ncf(
    train_rating: str | os.PathLike,
    test_rating: str | os.PathLike,
    test_negative: str | os.PathLike | None = None,
    *,
    name: str = "ncf",
) -> Interactions:
    """Loads an NCF split, keeping the integer ids as indices (keys are the id strings).

    Like the authors' `Dataset.py`, training rows with `rating <= 0` are not interactions
    (they are counted in `report.dropped`). Unlike it, the matrices are sized by the largest
    id over all three files (NCF sizes by the training file only), so no test or negative
    item falls outside the matrix. Rating files may omit the timestamp column (3 fields);
    when present, training timestamps become `train_timestamps`.

    Args:
        train_rating, test_rating: the `.rating` files.
        test_negative: the optional `.test.negative` file; its lists become
            `test_negatives` (rows of users without a negative line are -1).
        name: dataset name for messages.

    Raises:
        DataFormatError: wrong field count, a non-integer id, a negative line whose
            `(user,item)` is not a test pair, or a user with two negative lines.

    Example:
    >>> data = load_ncf("Data/ml-1m.train.rating", "Data/ml-1m.test.rating",
    ...                 "Data/ml-1m.test.negative", name="ml-1m")
    """
    report = LoadReport()
    tables = {
        "train": _read_rating(train_rating),
        "test": _read_rating(test_rating),
    }
    train = tables["train"].frame
    positive = train["rating"].to_numpy() > 0
    if not positive.all():
        report.dropped["rating <= 0 in train (NCF's Dataset.py skips them)"] = int(
            (~positive).sum()
        )
    frames = {split: table.frame for split, table in tables.items()}
    frames["train"] = train[positive]
    negatives = None
    if test_negative is not None:
        negatives = _read_negatives(test_negative, tables["test"].frame)
    users = np.concatenate(
        [f["user"].to_numpy() for f in frames.values()]
        + [negatives[0] if negatives else np.zeros(0, np.int64)]
    )
    items = np.concatenate(
        [f["item"].to_numpy() for f in frames.values()]
        + [negatives[2] if negatives else np.zeros(0, np.int64)]
    )
    user_keys = _common.id_vocabulary(users, report, "user")
    item_keys = _common.id_vocabulary(items, report, "item")
    splits = {}
    for split, frame in frames.items():
        splits[split] = pd.DataFrame(
            {
                "user": user_keys[frame["user"].to_numpy()],
                "item": item_keys[frame["item"].to_numpy()],
            }
        )
        if split == "train" and "timestamp" in frame.columns:
            splits[split]["timestamp"] = frame["timestamp"].to_numpy()
    interactions = Interactions.from_frames(
        splits, user_keys=user_keys, item_keys=item_keys, name=name, report=report
    )
    if negatives:
        interactions = _common.with_negatives(interactions, *negatives)
    return _common.note_split_overlap(interactions)


def _read_rating(path) -> _parsing.Table:
    """Reads a `.rating` file with 4 fields (or 3, without timestamps, on every line)."""
    text, _ = _parsing.read_text(path)
    _parsing.check_not_empty(path, text)
    first = _parsing.first_line(text)
    columns = RATING_COLUMNS if first.count("\t") != 2 else RATING_COLUMNS[:3]
    return _parsing.read_table(path, columns, sep="\t", text=text)


def _read_negatives(path, test: pd.DataFrame):
    """Parses `.test.negative`: (user rows, counts, negative items) for `with_negatives`."""
    text, _ = _parsing.read_text(path)
    _parsing.check_not_empty(path, text)
    lines = _parsing.split_lines(text)
    numbers = [k for k, line in enumerate(lines) if line]
    heads = []
    counts = np.zeros(len(numbers), dtype=np.int64)
    bodies = []
    for row, k in enumerate(numbers):
        head, _, body = lines[k].partition("\t")
        match = _PAIR.fullmatch(head.strip())
        if match is None:
            raise DataFormatError(
                path,
                f"the first field must be a (user,item) pair like (0,25), got {head[:40]!r}",
                line=k + 1,
                column=1,
                content=lines[k],
            )
        heads.append((int(match.group(1)), int(match.group(2))))
        body = body.strip("\t ")
        counts[row] = body.count("\t") + 1 if body else 0
        if body:
            bodies.append(body)
    values = _parsing.parse_ints("\t".join(bodies), "\t", int(counts.sum()))
    if values is None or (values < 0).any():
        for k in numbers:
            for column, token in enumerate(lines[k].split("\t")[1:], start=2):
                problem = _parsing.value_problem(token.strip(), ID)
                if problem:
                    raise DataFormatError(
                        path,
                        f"negative item {problem}",
                        line=k + 1,
                        column=column,
                        content=lines[k],
                    )
        raise DataFormatError(path, "the negative item lists could not be parsed")
    pairs = np.array(heads, dtype=np.int64).reshape(-1, 2)
    test_pairs = set(zip(test["user"].tolist(), test["item"].tolist(), strict=True))
    seen = {}
    for row, (user, item) in enumerate(pairs.tolist()):
        problem = None
        if (user, item) not in test_pairs:
            problem = f"({user},{item}) is not a pair of the test file"
        elif user in seen:
            problem = f"user {user} already has negatives on line {seen[user]}"
        if problem:
            k = numbers[row]
            raise DataFormatError(path, problem, line=k + 1, column=1, content=lines[k])
        seen[user] = numbers[row] + 1
    return pairs[:, 0], counts, values
