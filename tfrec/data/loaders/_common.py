"""Helpers the loaders share: id vocabularies, report notes and negative arrays."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from tfrec.data.interactions import Interactions
from tfrec.data.interactions import LoadReport


def id_vocabulary(ids: np.ndarray, report: LoadReport, what: str) -> np.ndarray:
    """Keys `"0" .. "n-1"` for files whose integer ids are kept as indices (n = max id + 1).

    Ids in `0..n-1` that occur nowhere stay addressable (an empty row or column, as in the
    authors' code, which sizes matrices by the largest id); their number goes to the report.
    """
    num = int(ids.max()) + 1 if len(ids) else 0
    note_unused_ids(report, ids, num, what)
    return np.array([str(k) for k in range(num)], dtype=object)


def id_strings(ids) -> np.ndarray:
    """Integer ids as an object array of their decimal strings (much faster than astype)."""
    ids = np.asarray(ids)
    unique, inverse = np.unique(ids, return_inverse=True)
    return np.array([str(k) for k in unique.tolist()], dtype=object)[inverse.reshape(-1)]


def index_of(known: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Position of each of `ids` (non-negative ints) in `known` (unique ints), -1 if absent."""
    size = int(max(known.max(initial=-1), ids.max(initial=-1))) + 1
    lookup = np.full(size, -1, dtype=np.int64)
    lookup[known] = np.arange(len(known))
    return lookup[ids]


def note_unused_ids(report: LoadReport, ids: np.ndarray, num: int, what: str) -> None:
    used = np.zeros(num, dtype=bool)
    used[ids] = True
    unused = int(num - used.sum())
    if unused:
        example = int(np.flatnonzero(~used)[0])
        report.notes.append(
            f"{unused} {what} ids in 0..{num - 1} occur in no file (e.g. {example}); they are "
            "kept as empty rows/columns so that the file's ids stay the indices"
        )


def note_split_overlap(interactions: Interactions) -> Interactions:
    """Adds a report note for (user, item) pairs that occur in two splits (leakage)."""
    splits = {"train": interactions.train, "test": interactions.test}
    if interactions.validation is not None:
        splits["validation"] = interactions.validation
    names = list(splits)
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            shared = splits[names[a]].multiply(splits[names[b]]).nnz
            if shared:
                interactions.report.notes.append(
                    f"{shared} (user, item) pairs are in both {names[a]} and {names[b]}"
                )
    return interactions


def with_negatives(
    interactions: Interactions, rows: np.ndarray, counts: np.ndarray, items: np.ndarray
) -> Interactions:
    """Returns `interactions` with `test_negatives` built from per-user negative lists.

    Args:
        rows: `[k]` user indices, one per list.
        counts: `[k]` length of each list.
        items: `[sum(counts)]` item indices, list after list.
    """
    width = int(counts.max()) if len(counts) else 0
    negatives = np.full((interactions.num_users, width), -1, dtype=np.int32)
    starts = np.cumsum(counts) - counts
    columns = np.arange(len(items)) - np.repeat(starts, counts)
    negatives[np.repeat(rows, counts), columns] = items
    return dataclasses.replace(interactions, test_negatives=negatives)


def group_lists(keys, values) -> dict[str, list[str]]:
    """`{key: [value, ...]}` with values in input order (faster than a pandas groupby)."""
    out: dict[str, list[str]] = {}
    for key, value in zip(keys, values, strict=True):
        out.setdefault(key, []).append(value)
    return out


def count_duplicates(frame: pd.DataFrame, report: LoadReport, split: str = "log") -> None:
    """Counts repeated (user, item) rows of an unsplit log (they are kept; splitters dedupe)."""
    report.duplicate_pairs[split] = int(frame.duplicated(["user", "item"]).sum())
