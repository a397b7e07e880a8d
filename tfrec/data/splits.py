"""Splitters: an unsplit `InteractionLog` -> `Interactions` (train / validation / test).

Every splitter is seeded and reproducible, vectorised (no Python loop over users), and
counts what it does in the result's `report`: rows dropped by `min_rating`, repeated
(user, item) events collapsed, users too small to split kept in train only.

Before splitting, repeated (user, item) events are collapsed to one (the latest when the
log has timestamps, else the first), so that no pair lands in two splits.

The id spaces do not depend on the seed: users and items are numbered in order of first
appearance in the (filtered) log.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pandas as pd

from tfrec.data.interactions import ITEM
from tfrec.data.interactions import RATING
from tfrec.data.interactions import TIMESTAMP
from tfrec.data.interactions import USER
from tfrec.data.interactions import InteractionLog
from tfrec.data.interactions import Interactions
from tfrec.data.interactions import LoadReport

# Guards the floor of fraction * count against float error (0.7 * 10 = 6.999...).
_EPSILON = 1e-9
# Users per block in `sample_test_negatives` (bounds memory to block x draws int64).
_BLOCK_USERS = 8_192
# Users with fewer than this share of items left to sample from are sampled exactly.
_MIN_SHARE = 0.25


def ratio_split(
    log: InteractionLog,
    *,
    test_fraction: float = 0.3,
    validation_fraction: float = 0.0,
    min_rating: float | None = None,
    min_events: int = 5,
    seed: int = 0,
) -> Interactions:
    """Per-user random split by fractions, with floor counts as in CollMetric's `split_data`.

    Each user's (deduplicated) events are shuffled with `seed`. A user with n >= `min_events`
    events gets the first `floor(n * (1 - test_fraction - validation_fraction))` shuffled
    events as train, the next `floor(n * validation_fraction)` as validation and the rest
    (so at least `floor(n * test_fraction)`) as test: CollMetric's `split_data(ratio=(3, 1,
    1))` is `test_fraction=0.2, validation_fraction=0.2`. CollMetric drops users with fewer
    than 5 items; here they are kept with all their events in train, and counted in the
    report.

    Args:
        log: the events.
        test_fraction, validation_fraction: fractions of each user's events; their sum
            must be < 1.
        min_rating: if given, events with `rating < min_rating` are dropped (not positive
            interactions, as in MML's "ratings < 3 are negative") and counted.
        min_events: users with fewer events stay train-only.
        seed: seed of the shuffle.

    Returns:
        `Interactions` with `validation` when `validation_fraction > 0`.

    Example:
    >>> data = ratio_split(log, test_fraction=0.2, validation_fraction=0.2, seed=1)
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"Received: `test_fraction={test_fraction}`. Expected 0 < value < 1.")
    if validation_fraction < 0.0 or test_fraction + validation_fraction >= 1.0:
        raise ValueError(
            f"Received: `validation_fraction={validation_fraction}` with "
            f"`test_fraction={test_fraction}`. Expected validation_fraction >= 0 and a sum < 1."
        )
    if min_events < 1:
        raise ValueError(f"Received: `min_events={min_events}`. Expected an integer >= 1.")
    frame, report = _prepare(log, min_rating)
    users = frame[USER].to_numpy()
    codes, _ = pd.factorize(users)
    rng = np.random.default_rng(seed)
    order, position, counts = _shuffled_positions(codes, rng)
    train_fraction = 1.0 - test_fraction - validation_fraction
    n = counts[codes[order]]
    num_train = np.floor(n * train_fraction + _EPSILON).astype(np.int64)
    num_validation = np.floor(n * validation_fraction + _EPSILON).astype(np.int64)
    small = n < min_events
    num_train[small] = n[small]
    num_validation[small] = 0
    labels = np.full(len(frame), "test", dtype=object)
    sorted_labels = np.where(
        position < num_train,
        "train",
        np.where(position < num_train + num_validation, "validation", "test"),
    )
    labels[order] = sorted_labels
    num_small = int(np.sum(counts < min_events))
    if num_small:
        report.notes.append(
            f"{num_small} users with fewer than {min_events} events kept in train only"
        )
    split_names = ("train", "validation", "test") if validation_fraction > 0 else None
    return _to_interactions(log, frame, labels, report, split_names)


def leave_one_out(
    log: InteractionLog,
    *,
    validation: bool = False,
    min_rating: float | None = None,
    holdout: str = "latest",
    seed: int = 0,
) -> Interactions:
    """Holds out each user's latest event for test (and the one before for validation).

    With timestamps, "latest" is the largest timestamp; ties go to the event that comes
    later in the log (a stable rule that needs no seed). Without timestamps, or with
    `holdout="random"`, a random event is held out (seeded), as IRIS does. Users with a
    single event stay train-only; with `validation=True`, users with two events get a test
    event but no validation event. Both are counted in the report.

    Args:
        log: the events; for sequence files `timestamp` is the position in the sequence.
        validation: also hold out the second latest event as validation.
        min_rating: if given, events with `rating < min_rating` are dropped and counted.
        holdout: "latest" (ACF, NCF, S3-Rec) or "random" (IRIS).
        seed: used for random hold-outs only.

    Example:
    >>> data = leave_one_out(load_s3rec("Beauty.txt"), validation=True)
    """
    if holdout not in ("latest", "random"):
        raise ValueError(f"Received: `holdout={holdout!r}`. Expected 'latest' or 'random'.")
    frame, report = _prepare(log, min_rating)
    codes, _ = pd.factorize(frame[USER].to_numpy())
    if holdout == "latest" and TIMESTAMP not in frame.columns:
        report.notes.append("the log has no timestamps: random events held out (seeded)")
    if holdout == "latest" and TIMESTAMP in frame.columns:
        # Sort key: user, then timestamp, then row (later rows win ties); latest is last.
        keys = (np.arange(len(frame)), frame[TIMESTAMP].to_numpy(), codes)
        order = np.lexsort(keys)
    else:
        rng = np.random.default_rng(seed)
        order, _, _ = _shuffled_positions(codes, rng)
    counts = np.bincount(codes)
    ends = np.cumsum(counts)
    from_end = np.empty(len(frame), dtype=np.int64)
    from_end[order] = ends[codes[order]] - 1 - np.arange(len(frame))
    n = counts[codes]
    labels = np.full(len(frame), "train", dtype=object)
    labels[(from_end == 0) & (n >= 2)] = "test"
    if validation:
        labels[(from_end == 1) & (n >= 3)] = "validation"
    single = int(np.sum(counts == 1))
    if single:
        report.notes.append(f"{single} users with a single event kept in train only")
    if validation:
        two = int(np.sum(counts == 2))
        if two:
            report.notes.append(f"{two} users with two events have no validation event")
    split_names = ("train", "validation", "test") if validation else None
    return _to_interactions(log, frame, labels, report, split_names)


# Named splits of an unsplit log (`split_log`, `tfrec ... --split`, `load_dataset(split=)`).
NAMED_SPLITS = {
    "leave-one-out": "each user's latest event -> test (random when there are no timestamps)",
    "leave-one-out-random": "one random event per user -> test and one more -> validation "
    "(IRIS protocol, seeded), 99 test negatives sampled uniformly (seed 0)",
    "ratio": "per-user random train/test by `test_fraction` (seeded)",
}


def split_log(
    log: InteractionLog, split: str, *, test_fraction: float = 0.3, seed: int = 0
) -> Interactions:
    """Splits `log` by one of `NAMED_SPLITS` (the names the CLI's `--split` takes).

    `"leave-one-out-random"` is the IRIS paper's protocol (spec evaluation.md §C): random
    test and validation events per user, then 99 fixed test negatives
    (`sample_test_negatives(seed=0)`, the registry's convention).
    """
    if split == "leave-one-out":
        return leave_one_out(log)
    if split == "leave-one-out-random":
        data = leave_one_out(log, validation=True, holdout="random", seed=seed)
        return sample_test_negatives(data, 99, seed=0)
    if split == "ratio":
        return ratio_split(log, test_fraction=test_fraction, seed=seed)
    raise ValueError(f"Received: `split={split!r}`. Expected one of {sorted(NAMED_SPLITS)}.")


def validation_view(
    interactions: Interactions, num_negatives: int = 99, *, seed: int = 1
) -> Interactions:
    """The split with its validation events as the test set, for 1 + N model selection.

    The view's `test` is `interactions.validation` and its `validation` the real test
    events, so the `num_negatives` validation negatives (seeded, `seed` 1 so they differ
    from the test negatives' seed 0) exclude the user's test item too. Training data are
    shared, not copied.

    Raises:
        ValueError: the split has no validation events.
    """
    if interactions.validation is None or interactions.validation.nnz == 0:
        raise ValueError(
            f"Received dataset {interactions.name!r} without validation events. Expected a "
            "split with one validation event per user, e.g. `leave_one_out(log, "
            'validation=True)` or `split="leave-one-out-random"`.'
        )
    view = dataclasses.replace(
        interactions,
        test=interactions.validation,
        validation=interactions.test,
        test_negatives=None,
        name=f"{interactions.name} (validation)",
    )
    return sample_test_negatives(view, num_negatives, seed=seed)


def sample_test_negatives(
    interactions: Interactions, num_negatives: int = 99, *, seed: int = 0
) -> Interactions:
    """Samples fixed test negatives for the 1 + N protocol (NCF/NAIS `*.test.negative`).

    For every user with a test item, `num_negatives` distinct items drawn uniformly from the
    items the user has in no split (train, validation or test). Rows of users without a
    test item are -1. Sampling is vectorised: each block of users draws candidates with
    replacement, rejects positives and repeats, and keeps the first `num_negatives` survivors
    of each row (which is uniform sampling without replacement); rows that come up short
    draw again.

    Returns:
        A copy of `interactions` with `test_negatives` of shape `[num_users, num_negatives]`.

    Raises:
        ValueError: `num_negatives < 1`, or a test user has fewer than `num_negatives`
            items left to sample from.
    """
    if num_negatives < 1:
        raise ValueError(f"Received: `num_negatives={num_negatives}`. Expected an integer >= 1.")
    positives = interactions.train + interactions.test
    if interactions.validation is not None:
        positives = positives + interactions.validation
    positives = positives.tocsr()
    positives.sort_indices()
    num_items = interactions.num_items
    users = interactions.test_users()
    available = num_items - np.diff(positives.indptr)[users]
    short = available < num_negatives
    if short.any():
        user = users[np.flatnonzero(short)[0]]
        raise ValueError(
            f"Received: `num_negatives={num_negatives}`. Expected at most the number of items "
            f"each test user never interacted with; {int(short.sum())} users have fewer, e.g. "
            f"user {interactions.user_keys[user]!r} with {int(available[short][0])}."
        )
    # Row-major keys user * num_items + item of every positive, sorted (CSR, sorted indices).
    row_ids = np.repeat(np.arange(positives.shape[0], dtype=np.int64), np.diff(positives.indptr))
    positive_keys = row_ids * num_items + positives.indices
    rng = np.random.default_rng(seed)
    negatives = np.full((interactions.num_users, num_negatives), -1, dtype=np.int32)
    for start in range(0, len(users), _BLOCK_USERS):
        block = users[start : start + _BLOCK_USERS]
        block_available = available[start : start + _BLOCK_USERS]
        negatives[block] = _sample_rows(
            block, block_available, positives, positive_keys, num_negatives, rng
        )
    result = dataclasses.replace(
        interactions, test_negatives=negatives, report=copy.deepcopy(interactions.report)
    )
    result.report.notes.append(
        f"{num_negatives} test negatives per test user sampled uniformly (seed {seed})"
    )
    return result


def filter_min_count(log: InteractionLog, min_user: int = 5, min_item: int = 5) -> InteractionLog:
    """Keeps the k-core: users with >= `min_user` and items with >= `min_item` events.

    Removing users can push items below their threshold and back, so the filter repeats
    until nothing changes. Counts are events (rows), as in the usual Amazon "5-core". The
    number of dropped rows, users and items is added to `report.dropped`.
    """
    if min_user < 1 or min_item < 1:
        raise ValueError(
            f"Received: `min_user={min_user}, min_item={min_item}`. Expected integers >= 1."
        )
    frame = log.frame
    user_codes, user_keys = pd.factorize(frame[USER].to_numpy())
    item_codes, item_keys = pd.factorize(frame[ITEM].to_numpy())
    keep = np.ones(len(frame), dtype=bool)
    while True:
        user_counts = np.bincount(user_codes[keep], minlength=len(user_keys))
        item_counts = np.bincount(item_codes[keep], minlength=len(item_keys))
        bad = (user_counts[user_codes] < min_user) | (item_counts[item_codes] < min_item)
        drop = keep & bad
        if not drop.any():
            break
        keep &= ~bad
    report = copy.deepcopy(log.report)
    core = f"{min_user}/{min_item}-core"
    report.dropped[f"rows outside the {core}"] = int((~keep).sum())
    report.dropped[f"users outside the {core}"] = int(
        len(user_keys) - len(np.unique(user_codes[keep]))
    )
    report.dropped[f"items outside the {core}"] = int(
        len(item_keys) - len(np.unique(item_codes[keep]))
    )
    return InteractionLog(
        frame=frame[keep].reset_index(drop=True),
        item_side=log.item_side,
        name=log.name,
        report=report,
    )


# --------------------------------------------------------------------------- helpers
def _prepare(log: InteractionLog, min_rating: float | None) -> tuple[pd.DataFrame, LoadReport]:
    """Drops low ratings and repeated pairs (counted); returns the frame and a new report."""
    report = copy.deepcopy(log.report)
    frame = log.frame
    missing = {USER, ITEM} - set(frame.columns)
    if missing:
        raise ValueError(f"Received a log without columns {sorted(missing)}. Expected user, item.")
    if min_rating is not None:
        if RATING not in frame.columns:
            raise ValueError(
                f"Received: `min_rating={min_rating}` for the log {log.name!r}, which has no "
                "rating column. Expected min_rating=None."
            )
        keep = frame[RATING].to_numpy() >= min_rating
        report.dropped[f"rating < {min_rating:g} (not a positive interaction)"] = int((~keep).sum())
        frame = frame[keep]
    if TIMESTAMP in frame.columns:
        # Keep the latest of repeated events: stable sort by time, keep the last.
        order = np.argsort(frame[TIMESTAMP].to_numpy(), kind="stable")
        repeated = frame.iloc[order].duplicated([USER, ITEM], keep="last").to_numpy()
        drop = np.zeros(len(frame), dtype=bool)
        drop[order] = repeated
        rule = "kept the latest"
    else:
        drop = frame.duplicated([USER, ITEM], keep="first").to_numpy()
        rule = "kept the first"
    if drop.any():
        report.dropped[f"repeated (user, item) events ({rule})"] = int(drop.sum())
        frame = frame[~drop]
    if len(frame) == 0:
        raise ValueError(f"The log {log.name!r} has no events left to split.")
    return frame.reset_index(drop=True), report


def _shuffled_positions(codes: np.ndarray, rng: np.random.Generator):
    """A per-user shuffle: (order grouping users, position within the user, counts).

    `order` sorts rows by user code and, within a user, by a random key; `position[k]` is
    the 0-based rank of row `order[k]` among its user's rows.
    """
    # code + U[0, 1) sorts by user first and randomly within a user, in one argsort.
    order = np.argsort(codes + rng.random(len(codes)), kind="stable")
    counts = np.bincount(codes)
    starts = np.cumsum(counts) - counts
    position = np.arange(len(codes)) - starts[codes[order]]
    return order, position, counts


def _to_interactions(
    log: InteractionLog,
    frame: pd.DataFrame,
    labels: np.ndarray,
    report: LoadReport,
    split_names: tuple[str, ...] | None,
) -> Interactions:
    names = split_names or ("train", "test")
    columns = [c for c in (USER, ITEM, TIMESTAMP) if c in frame.columns]
    splits = {name: frame.loc[labels == name, columns] for name in names}
    return Interactions.from_frames(
        splits,
        user_keys=pd.unique(frame[USER].astype(str)),
        item_keys=pd.unique(frame[ITEM].astype(str)),
        item_side=log.item_side,
        name=log.name,
        report=report,
    )


def _sample_rows(users, available, positives, positive_keys, num_negatives, rng) -> np.ndarray:
    """`[len(users), num_negatives]` distinct non-positive items per user (uniform)."""
    num_items = positives.shape[1]
    out = np.empty((len(users), num_negatives), dtype=np.int32)
    dense = available < _MIN_SHARE * num_items
    # Users who interacted with most items: exact draws from their complement (rare).
    for row in np.flatnonzero(dense):
        user = users[row]
        seen = positives.indices[positives.indptr[user] : positives.indptr[user + 1]]
        allowed = np.setdiff1d(np.arange(num_items), seen)
        out[row] = rng.choice(allowed, num_negatives, replace=False)
    pending = np.flatnonzero(~dense)
    if not len(pending):
        return out
    # Enough draws that a row usually has num_negatives survivors at the first try.
    share = max(float(np.min(available[pending])) / num_items, _MIN_SHARE)
    draws = int(np.ceil((num_negatives + 8) / share * 1.3)) + 8
    while len(pending):
        rows = users[pending].astype(np.int64)
        items = rng.integers(0, num_items, size=(len(rows), draws), dtype=np.int64)
        keys = (rows[:, None] * num_items + items).ravel()
        found = np.searchsorted(positive_keys, keys)
        is_positive = np.zeros(len(keys), dtype=bool)
        inside = found < len(positive_keys)
        is_positive[inside] = positive_keys[found[inside]] == keys[inside]
        first = np.zeros(len(keys), dtype=bool)
        first[np.unique(keys, return_index=True)[1]] = True
        valid = (first & ~is_positive).reshape(items.shape)
        rank = np.cumsum(valid, axis=1)
        done = rank[:, -1] >= num_negatives
        chosen = valid & (rank <= num_negatives)
        finished = np.flatnonzero(done)
        out[pending[finished]] = items[finished][chosen[finished]].reshape(-1, num_negatives)
        pending = pending[~done]
        draws *= 2
    return out
