"""The data types every loader produces and every model consumes.

Data flows file -> `InteractionLog` (raw keys, one row per event) -> splitter ->
`Interactions` (integer ids, sparse user x item matrices per split). Loaders of files that
are already split (MAML CSV, NCF `.rating`, a2_gcn `train.txt`/`test.txt`) build
`Interactions` directly with `Interactions.from_frames`.

Nothing here drops data silently: `Interactions.from_frames` counts duplicate pairs, users
without training items and test items never seen in training into a `LoadReport`, which
loaders print and the CLI shows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

USER = "user"
ITEM = "item"
RATING = "rating"
TIMESTAMP = "timestamp"


@dataclasses.dataclass
class FeatureTable:
    """Dense per-item vectors of one modality, keyed by raw item key.

    Attributes:
        keys: `[n]` raw item keys (str).
        values: `[n, dims]` float array; row r belongs to `keys[r]`.
    """

    keys: np.ndarray
    values: np.ndarray

    def __post_init__(self):
        if self.values.ndim != 2 or len(self.keys) != len(self.values):
            raise ValueError(
                f"Received {len(self.keys)} keys and values of shape {self.values.shape}. "
                "Expected values of shape (len(keys), dims)."
            )

    def aligned(self, item_keys: Sequence[str], fill: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Rows in the order of `item_keys`: (`[len(item_keys), dims]` values, found mask)."""
        index = pd.Index(self.keys).get_indexer(list(item_keys))
        found = index >= 0
        out = np.full((len(index), self.values.shape[1]), fill, dtype=self.values.dtype)
        out[found] = self.values[index[found]]
        return out, found


@dataclasses.dataclass
class ItemSideInfo:
    """Side information about items, keyed by raw item key (so it survives re-indexing).

    Attributes:
        text: raw item key -> free text (title, plot, category, brand...).
        categories: raw item key -> category labels, the primary label first.
        tags: raw item key -> tags or attributes (a2_gcn tags, S3-Rec attributes).
        metadata: extra per-item columns (title, genres, poster URL...), indexed by raw key.
        features: modality name -> dense vectors (e.g. "image" for the synthetic generator).
    """

    text: dict[str, str] = dataclasses.field(default_factory=dict)
    categories: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    tags: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    metadata: pd.DataFrame | None = None
    features: dict[str, FeatureTable] = dataclasses.field(default_factory=dict)

    def merged(self, other: ItemSideInfo) -> ItemSideInfo:
        """Returns side info with `other`'s entries added (other wins on conflicts)."""
        if self.metadata is None:
            metadata = other.metadata
        elif other.metadata is None:
            metadata = self.metadata
        else:
            metadata = other.metadata.combine_first(self.metadata)
        return ItemSideInfo(
            text={**self.text, **other.text},
            categories={**self.categories, **other.categories},
            tags={**self.tags, **other.tags},
            metadata=metadata,
            features={**self.features, **other.features},
        )


@dataclasses.dataclass
class LoadReport:
    """What a loader found that a user should know about. Nothing is dropped silently."""

    duplicate_pairs: dict[str, int] = dataclasses.field(default_factory=dict)
    users_without_train: int = 0
    cold_test_items: int = 0
    cold_test_interactions: int = 0
    dropped: dict[str, int] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)

    def lines(self) -> list[str]:
        out = []
        for split, count in self.duplicate_pairs.items():
            if count:
                out.append(f"{count} duplicate (user, item) pairs in {split} (kept once)")
        if self.users_without_train:
            out.append(f"{self.users_without_train} users have test items but no training items")
        if self.cold_test_items:
            out.append(
                f"{self.cold_test_items} test items ({self.cold_test_interactions} interactions)"
                " never appear in training"
            )
        for reason, count in self.dropped.items():
            if count:
                out.append(f"{count} rows dropped: {reason}")
        out.extend(self.notes)
        return out

    def __str__(self) -> str:
        lines = self.lines()
        return "\n".join(lines) if lines else "no data issues found"


@dataclasses.dataclass
class InteractionLog:
    """Unsplit interaction events with raw keys.

    Attributes:
        frame: one row per event with string columns `user` and `item`, and optional
            `rating` (float) and `timestamp` (int64; for sequence files the position in the
            user's sequence, so "latest" is well defined).
        item_side: side information about the items.
        name: a short name for messages.
        report: issues found while loading.
    """

    frame: pd.DataFrame
    item_side: ItemSideInfo = dataclasses.field(default_factory=ItemSideInfo)
    name: str = "log"
    report: LoadReport = dataclasses.field(default_factory=LoadReport)

    @property
    def has_timestamps(self) -> bool:
        return TIMESTAMP in self.frame.columns

    @property
    def has_ratings(self) -> bool:
        return RATING in self.frame.columns


@dataclasses.dataclass(eq=False)
class Interactions:
    """A train/test (and optional validation) split as sparse user x item matrices.

    Row u of every matrix is the user whose raw key is `user_keys[u]`; column i is the item
    `item_keys[i]`. All matrices are binary (1.0 for an observed pair), CSR, with sorted
    indices. Every split shares the same id space.

    Attributes:
        train, test: `[num_users, num_items]` float32 CSR matrices.
        user_keys, item_keys: raw keys (str) by index.
        validation: optional `[num_users, num_items]` CSR matrix.
        test_negatives: optional `[num_users, N]` int32 sampled negatives per user for the
            1 + N protocol, -1 for users without a test item.
        train_timestamps: optional CSR matrix aligned with `train` holding event times.
        item_side: side information keyed by raw item key.
        name: dataset name.
        report: what the loader found.
    """

    train: sp.csr_matrix
    test: sp.csr_matrix
    user_keys: np.ndarray
    item_keys: np.ndarray
    validation: sp.csr_matrix | None = None
    test_negatives: np.ndarray | None = None
    train_timestamps: sp.csr_matrix | None = None
    item_side: ItemSideInfo = dataclasses.field(default_factory=ItemSideInfo)
    name: str = "interactions"
    report: LoadReport = dataclasses.field(default_factory=LoadReport)

    def __post_init__(self):
        shape = (len(self.user_keys), len(self.item_keys))
        for split in ("train", "test", "validation", "train_timestamps"):
            matrix = getattr(self, split)
            if matrix is not None and matrix.shape != shape:
                raise ValueError(
                    f"Received `{split}` of shape {matrix.shape}. Expected {shape} "
                    "(len(user_keys), len(item_keys))."
                )
        if self.test_negatives is not None and len(self.test_negatives) != shape[0]:
            raise ValueError(
                f"Received `test_negatives` with {len(self.test_negatives)} rows. "
                f"Expected one row per user ({shape[0]})."
            )

    # ----------------------------------------------------------------- properties
    @property
    def num_users(self) -> int:
        return len(self.user_keys)

    @property
    def num_items(self) -> int:
        return len(self.item_keys)

    def train_pairs(self) -> np.ndarray:
        """All training (user, item) pairs as an int32 `[N, 2]` array, user-major order."""
        coo = self.train.tocoo()
        return np.stack([coo.row, coo.col], axis=1).astype(np.int32)

    def test_users(self) -> np.ndarray:
        """Users with at least one test item (the users every protocol evaluates)."""
        return np.flatnonzero(np.diff(self.test.indptr) > 0).astype(np.int32)

    def item_index(self) -> dict[str, int]:
        return {key: index for index, key in enumerate(self.item_keys)}

    def user_index(self) -> dict[str, int]:
        return {key: index for index, key in enumerate(self.user_keys)}

    def item_texts(self, missing: str = "") -> list[str]:
        """Item text aligned with item ids (`missing` where an item has none)."""
        return [self.item_side.text.get(key, missing) for key in self.item_keys]

    def item_labels(self) -> tuple[np.ndarray, np.ndarray]:
        """Primary category label per item: (`[num_items]` int32 codes, -1 unknown; names)."""
        primary = [
            labels[0] if (labels := self.item_side.categories.get(key)) else None
            for key in self.item_keys
        ]
        names = np.array(sorted({label for label in primary if label is not None}), dtype=object)
        lookup = {name: code for code, name in enumerate(names)}
        codes = np.array([lookup.get(label, -1) for label in primary], dtype=np.int32)
        return codes, names

    def stats(self) -> dict[str, float]:
        total = self.train.nnz + self.test.nnz
        if self.validation is not None:
            total += self.validation.nnz
        return {
            "users": self.num_users,
            "items": self.num_items,
            "train": int(self.train.nnz),
            "validation": int(self.validation.nnz) if self.validation is not None else 0,
            "test": int(self.test.nnz),
            "interactions": int(total),
            "test_users": int(len(self.test_users())),
            "density": total / max(1, self.num_users * self.num_items),
        }

    def summary(self) -> str:
        s = self.stats()
        text = (
            f"{self.name}: {s['users']:,} users, {s['items']:,} items, "
            f"{s['interactions']:,} interactions (train {s['train']:,}, "
            f"validation {s['validation']:,}, test {s['test']:,}); "
            f"{s['test_users']:,} users with test items"
        )
        issues = self.report.lines()
        if issues:
            text += "\n  " + "\n  ".join(issues)
        return text

    # ----------------------------------------------------------------- building
    @classmethod
    def from_frames(
        cls,
        splits: Mapping[str, pd.DataFrame],
        *,
        user_keys: Sequence[str] | None = None,
        item_keys: Sequence[str] | None = None,
        test_negatives: Mapping[str, Sequence[str]] | None = None,
        item_side: ItemSideInfo | None = None,
        name: str = "interactions",
        report: LoadReport | None = None,
    ) -> Interactions:
        """Builds an `Interactions` from per-split frames with raw `user`/`item` keys.

        Args:
            splits: `{"train": df, "test": df, ["validation": df]}`; each frame has `user`
                and `item` columns (anything that converts to str) and, for train, an
                optional `timestamp` column.
            user_keys, item_keys: fixed vocabularies in id order (e.g. when the file's ids
                are already 0..n-1 and must be kept). Default: keys in order of first
                appearance over train, then validation, then test.
            test_negatives: raw user key -> raw item keys sampled as test negatives.
            item_side: side info keyed by raw item key; also used to extend the item
                vocabulary when `item_keys` is None (never-interacted items stay addressable).
            name: dataset name.
            report: an existing report to extend.

        Duplicated pairs are kept once and counted; users whose only interactions are in
        test, and test items never seen in training, are counted in the report.
        """
        if "train" not in splits or "test" not in splits:
            raise ValueError(f"Received splits {sorted(splits)}. Expected at least train and test.")
        report = report or LoadReport()
        order = [s for s in ("train", "validation", "test") if s in splits]
        frames = {}
        for split in order:
            frame = splits[split]
            missing = {USER, ITEM} - set(frame.columns)
            if missing:
                raise ValueError(f"The {split} frame lacks columns {sorted(missing)}.")
            frame = frame.assign(user=frame[USER].astype(str), item=frame[ITEM].astype(str))
            frames[split] = frame

        user_vocab = _vocabulary(user_keys, [frames[s][USER] for s in order])
        item_vocab = _vocabulary(item_keys, [frames[s][ITEM] for s in order])
        if user_keys is not None:
            _check_known(user_vocab, frames, USER)
        if item_keys is not None:
            _check_known(item_vocab, frames, ITEM)
        num_users, num_items = len(user_vocab), len(item_vocab)

        matrices = {}
        timestamps = None
        for split in order:
            frame = frames[split]
            rows = user_vocab.get_indexer(frame[USER])
            cols = item_vocab.get_indexer(frame[ITEM])
            keys = rows.astype(np.int64) * num_items + cols
            _, first = np.unique(keys, return_index=True)
            report.duplicate_pairs[split] = int(len(keys) - len(first))
            first.sort()
            rows, cols = rows[first], cols[first]
            matrix = sp.csr_matrix(
                (np.ones(len(rows), np.float32), (rows, cols)), shape=(num_users, num_items)
            )
            matrix.sort_indices()
            matrices[split] = matrix
            if split == "train" and TIMESTAMP in frame.columns:
                times = frame[TIMESTAMP].to_numpy(np.int64)[first]
                timestamps = sp.csr_matrix(
                    (times.astype(np.float64), (rows, cols)), shape=(num_users, num_items)
                )
                timestamps.sort_indices()

        train, test = matrices["train"], matrices["test"]
        train_counts = np.diff(train.indptr)
        test_counts = np.diff(test.indptr)
        report.users_without_train = int(np.sum((train_counts == 0) & (test_counts > 0)))
        seen = np.asarray(train.sum(axis=0)).ravel() > 0
        if "validation" in matrices:
            seen |= np.asarray(matrices["validation"].sum(axis=0)).ravel() > 0
        test_item_counts = np.asarray(test.sum(axis=0)).ravel()
        cold = (test_item_counts > 0) & ~seen
        report.cold_test_items = int(cold.sum())
        report.cold_test_interactions = int(test_item_counts[cold].sum())

        negatives = None
        if test_negatives is not None:
            width = max((len(v) for v in test_negatives.values()), default=0)
            negatives = np.full((num_users, width), -1, np.int32)
            for user, items in test_negatives.items():
                row = user_vocab.get_indexer([str(user)])[0]
                if row < 0:
                    raise ValueError(f"Test negatives given for unknown user {user!r}.")
                ids = item_vocab.get_indexer([str(i) for i in items])
                if (ids < 0).any():
                    unknown = [i for i, j in zip(items, ids, strict=True) if j < 0][:5]
                    raise ValueError(
                        f"Test negatives of user {user!r} name unknown items {unknown}."
                    )
                negatives[row, : len(ids)] = ids

        return cls(
            train=train,
            test=test,
            validation=matrices.get("validation"),
            user_keys=user_vocab.to_numpy(dtype=object),
            item_keys=item_vocab.to_numpy(dtype=object),
            test_negatives=negatives,
            train_timestamps=timestamps,
            item_side=item_side or ItemSideInfo(),
            name=name,
            report=report,
        )


def _vocabulary(fixed: Sequence[str] | None, columns: list[pd.Series]) -> pd.Index:
    if fixed is not None:
        vocab = pd.Index([str(k) for k in fixed])
        if vocab.has_duplicates:
            raise ValueError("The given key vocabulary has duplicate keys.")
        return vocab
    return pd.Index(pd.unique(pd.concat(columns, ignore_index=True)))


def _check_known(vocab: pd.Index, frames: dict[str, pd.DataFrame], column: str) -> None:
    for split, frame in frames.items():
        unknown = frame[column][vocab.get_indexer(frame[column]) < 0]
        if len(unknown):
            raise ValueError(
                f"{len(unknown)} {column} keys in {split} are not in the given vocabulary, "
                f"e.g. {unknown.iloc[:5].tolist()}."
            )
