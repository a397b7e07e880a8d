"""Splitters: exact per-user counts, disjoint splits, latest chosen, seeded negatives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from tfrec.data.interactions import InteractionLog
from tfrec.data.interactions import Interactions
from tfrec.data.splits import filter_min_count
from tfrec.data.splits import leave_one_out
from tfrec.data.splits import ratio_split
from tfrec.data.splits import sample_test_negatives
from tfrec.data.splits import split_log
from tfrec.data.splits import validation_view


def _log(rows, columns=("user", "item", "timestamp")) -> InteractionLog:
    frame = pd.DataFrame(rows, columns=list(columns))
    frame["user"] = frame["user"].astype(str).astype(object)
    frame["item"] = frame["item"].astype(str).astype(object)
    return InteractionLog(frame=frame, name="toy")


def _random_log(num_users=50, num_items=40, seed=0, timestamps=True) -> InteractionLog:
    """Each user u has 1 + (u % 12) distinct items with distinct timestamps."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(num_users):
        items = rng.choice(num_items, 1 + user % 12, replace=False)
        times = rng.permutation(1000)[: len(items)]
        rows += [(f"u{user}", f"i{i}", int(t)) for i, t in zip(items, times, strict=True)]
    log = _log(rows)
    if not timestamps:
        log.frame = log.frame.drop(columns="timestamp")
    return log


def _pairs(matrix) -> set[tuple[int, int]]:
    coo = matrix.tocoo()
    return set(zip(coo.row.tolist(), coo.col.tolist(), strict=True))


def _per_user(matrix) -> np.ndarray:
    return np.diff(matrix.indptr)


# ------------------------------------------------------------------------- ratio_split
@pytest.mark.parametrize(
    ("count", "test_fraction", "validation_fraction", "expected"),
    [
        # (train, validation, test) by the floor rule: train floor(n*(1-t-v)),
        # validation floor(n*v), test the rest.
        (10, 0.3, 0.0, (7, 0, 3)),
        (7, 0.3, 0.0, (4, 0, 3)),  # floor(4.9) = 4
        (5, 0.2, 0.2, (3, 1, 1)),  # CollMetric split_data ratio (3, 1, 1)
        (9, 0.2, 0.2, (5, 1, 3)),  # floor(5.4)=5, floor(1.8)=1, rest 3
        (12, 0.2, 0.2, (7, 2, 3)),  # floor(7.2)=7, floor(2.4)=2, rest 3
        (4, 0.3, 0.0, (4, 0, 0)),  # fewer than min_events=5: train only
    ],
)
def test_ratio_split_floor_counts(count, test_fraction, validation_fraction, expected):
    log = _log([("a", f"i{k}", k) for k in range(count)] + [("b", "i0", 0)])
    data = ratio_split(log, test_fraction=test_fraction, validation_fraction=validation_fraction)
    user = data.user_index()["a"]
    validation = data.validation[user].nnz if data.validation is not None else 0
    assert (data.train[user].nnz, validation, data.test[user].nnz) == expected
    assert (data.validation is not None) == (validation_fraction > 0)


def test_ratio_split_disjoint_complete_and_counted():
    log = _random_log()
    data = ratio_split(log, test_fraction=0.2, validation_fraction=0.2, seed=3)
    splits = [_pairs(data.train), _pairs(data.validation), _pairs(data.test)]
    assert not (splits[0] & splits[1]) and not (splits[0] & splits[2])
    assert not (splits[1] & splits[2])
    assert sum(len(s) for s in splits) == len(log.frame)
    counts = np.array([1 + u % 12 for u in range(50)])
    users = [data.user_index()[f"u{u}"] for u in range(50)]
    expected_train = np.where(counts >= 5, np.floor(counts * 0.6 + 1e-9), counts)
    np.testing.assert_array_equal(_per_user(data.train)[users], expected_train)
    small = int(np.sum(counts < 5))  # 4 users each of sizes 1..4: 16
    assert f"{small} users with fewer than 5 events kept in train only" in data.report.notes


def test_ratio_split_seeded():
    log = _random_log()
    first = ratio_split(log, seed=1)
    again = ratio_split(log, seed=1)
    other = ratio_split(log, seed=2)
    assert _pairs(first.test) == _pairs(again.test)
    assert _pairs(first.test) != _pairs(other.test)
    # Same id space whatever the seed; same per-user counts.
    np.testing.assert_array_equal(first.user_keys, other.user_keys)
    np.testing.assert_array_equal(first.item_keys, other.item_keys)
    np.testing.assert_array_equal(_per_user(first.test), _per_user(other.test))


def test_ratio_split_min_rating_and_repeats_counted():
    log = _log(
        [("a", "x", 1, 5.0), ("a", "y", 2, 2.0), ("a", "x", 3, 4.0), ("b", "z", 1, 3.0)],
        columns=("user", "item", "timestamp", "rating"),
    )
    data = ratio_split(log, min_rating=3.0, min_events=1)
    assert data.report.dropped["rating < 3 (not a positive interaction)"] == 1
    assert data.report.dropped["repeated (user, item) events (kept the latest)"] == 1
    assert data.train.nnz + data.test.nnz == 2
    assert "y" not in set(data.item_keys)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"test_fraction": 0.0}, "test_fraction=0.0"),
        ({"test_fraction": 0.5, "validation_fraction": 0.5}, "validation_fraction=0.5"),
        ({"min_rating": 3.0}, "no rating column"),
        ({"min_events": 0}, "min_events=0"),
    ],
)
def test_ratio_split_rejects(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ratio_split(_random_log(), **kwargs)


# ------------------------------------------------------------------------- leave_one_out
def test_leave_one_out_takes_latest_with_ties_to_later_row():
    log = _log(
        [
            ("a", "old", 1),
            ("a", "tie-first", 5),
            ("a", "tie-second", 5),  # Later row wins the tie.
            ("a", "mid", 3),
            ("b", "only", 9),  # Single event: train only.
            ("c", "late", 8),
            ("c", "early", 2),
        ]
    )
    data = leave_one_out(log)
    index, items = data.user_index(), data.item_keys
    test = {key: set(items[data.test[index[key]].indices]) for key in "abc"}
    assert test == {"a": {"tie-second"}, "b": set(), "c": {"late"}}
    assert set(items[data.train[index["a"]].indices]) == {"old", "tie-first", "mid"}
    assert set(items[data.train[index["b"]].indices]) == {"only"}
    assert "1 users with a single event kept in train only" in data.report.notes


def test_leave_one_out_validation_is_second_latest():
    log = _log([("a", "i1", 1), ("a", "i2", 2), ("a", "i3", 3), ("b", "j1", 1), ("b", "j2", 2)])
    data = leave_one_out(log, validation=True)
    index, items = data.user_index(), data.item_keys
    a, b = index["a"], index["b"]
    assert list(items[data.test[a].indices]) == ["i3"]
    assert list(items[data.validation[a].indices]) == ["i2"]
    assert list(items[data.train[a].indices]) == ["i1"]
    assert list(items[data.test[b].indices]) == ["j2"]
    assert data.validation[b].nnz == 0  # Two events: test and train only.
    assert "1 users with two events have no validation event" in data.report.notes


def test_leave_one_out_latest_over_random_log():
    log = _random_log()
    data = leave_one_out(log)
    frame = log.frame
    latest = frame.loc[frame.groupby("user")["timestamp"].idxmax()]
    latest = latest[frame.groupby("user").size().loc[latest["user"]].to_numpy() >= 2]
    expected = {(u, i) for u, i in zip(latest["user"], latest["item"], strict=True)}
    coo = data.test.tocoo()
    actual = {(data.user_keys[r], data.item_keys[c]) for r, c in zip(coo.row, coo.col, strict=True)}
    assert actual == expected
    assert not (_pairs(data.train) & _pairs(data.test))
    assert data.train.nnz + data.test.nnz == len(frame)


@pytest.mark.parametrize(
    ("timestamps", "holdout"), [(False, "latest"), (True, "random"), (False, "random")]
)
def test_leave_one_out_random_holdout_is_seeded(timestamps, holdout):
    log = _random_log(timestamps=timestamps)
    first, again, other = (leave_one_out(log, holdout=holdout, seed=s) for s in (0, 0, 1))
    assert _pairs(first.test) == _pairs(again.test)
    assert _pairs(first.test) != _pairs(other.test)
    totals = _per_user(first.train) + _per_user(first.test)
    np.testing.assert_array_equal(_per_user(first.test), (totals >= 2).astype(int))


def test_leave_one_out_rejects_unknown_holdout():
    with pytest.raises(ValueError, match="holdout='first'"):
        leave_one_out(_random_log(), holdout="first")


# ------------------------------------------------------------------------- negatives
def _small_interactions(num_users=30, num_items=200, seed=0) -> Interactions:
    return leave_one_out(_random_log(num_users, num_items, seed))


def test_sample_test_negatives_are_never_positive_and_distinct():
    data = _small_interactions()
    result = sample_test_negatives(data, 99, seed=4)
    negatives = result.test_negatives
    assert negatives.shape == (data.num_users, 99) and negatives.dtype == np.int32
    positives = (data.train + data.test).toarray() > 0
    test_users = data.test_users()
    for user in range(data.num_users):
        row = negatives[user]
        if user in test_users:
            assert len(set(row.tolist())) == 99
            assert not positives[user, row].any()
            assert row.min() >= 0 and row.max() < data.num_items
        else:
            assert (row == -1).all()
    assert data.test_negatives is None  # The input is not modified.


def test_sample_test_negatives_seeded():
    data = _small_interactions()
    first = sample_test_negatives(data, 20, seed=1).test_negatives
    again = sample_test_negatives(data, 20, seed=1).test_negatives
    other = sample_test_negatives(data, 20, seed=2).test_negatives
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_sample_test_negatives_excludes_validation_and_takes_all_when_exact():
    # 1 user, 6 items: train {0}, validation {1}, test {2}; exactly 3 items left.
    train = sp.csr_matrix(np.array([[1, 0, 0, 0, 0, 0]], np.float32))
    validation = sp.csr_matrix(np.array([[0, 1, 0, 0, 0, 0]], np.float32))
    test = sp.csr_matrix(np.array([[0, 0, 1, 0, 0, 0]], np.float32))
    data = Interactions(
        train=train,
        test=test,
        validation=validation,
        user_keys=np.array(["u"], object),
        item_keys=np.array(list("abcdef"), object),
    )
    negatives = sample_test_negatives(data, 3, seed=0).test_negatives
    assert sorted(negatives[0].tolist()) == [3, 4, 5]
    with pytest.raises(ValueError, match="num_negatives=4"):
        sample_test_negatives(data, 4)


def test_sample_test_negatives_uniform():
    # One user with item 0 positive; 9 candidates, 3 drawn: each has probability 1/3.
    train = sp.csr_matrix((1, 10), dtype=np.float32)
    test = sp.csr_matrix(np.eye(1, 10, dtype=np.float32))
    data = Interactions(
        train=train,
        test=test,
        user_keys=np.array(["u"], object),
        item_keys=np.array([str(i) for i in range(10)], object),
    )
    counts = np.zeros(10)
    for seed in range(600):
        counts[sample_test_negatives(data, 3, seed=seed).test_negatives[0]] += 1
    assert counts[0] == 0
    np.testing.assert_allclose(counts[1:] / 600, 1 / 3, atol=0.07)


# ------------------------------------------------------------------------- k-core
def test_filter_min_count_is_iterative():
    # 2-core: d (1 event) goes; then z has 1 event and goes; then c has 1 event and goes.
    rows = [("a", "x"), ("a", "y"), ("b", "x"), ("b", "y"), ("c", "x"), ("c", "z"), ("d", "z")]
    log = _log(rows, columns=("user", "item"))
    core = filter_min_count(log, min_user=2, min_item=2)
    assert list(zip(core.frame["user"], core.frame["item"], strict=True)) == [
        ("a", "x"),
        ("a", "y"),
        ("b", "x"),
        ("b", "y"),
    ]
    assert core.report.dropped == {
        "rows outside the 2/2-core": 3,
        "users outside the 2/2-core": 2,
        "items outside the 2/2-core": 1,
    }
    assert len(log.frame) == 7  # The input is not modified.
    assert len(filter_min_count(log, min_user=1, min_item=1).frame) == 7


def test_filter_min_count_rejects_zero():
    with pytest.raises(ValueError, match="min_user=0"):
        filter_min_count(_random_log(), min_user=0)


def test_sample_test_negatives_for_a_user_who_saw_most_items():
    # 10 items, 8 positives: only items 3 and 7 are left (the exact, non-rejection path).
    row = np.ones((1, 10), np.float32)
    row[0, [3, 7]] = 0
    test = np.zeros((1, 10), np.float32)
    test[0, 0] = 1
    train = row - test
    data = Interactions(
        train=sp.csr_matrix(train),
        test=sp.csr_matrix(test),
        user_keys=np.array(["u"], object),
        item_keys=np.array([str(i) for i in range(10)], object),
    )
    assert sorted(sample_test_negatives(data, 2, seed=5).test_negatives[0].tolist()) == [3, 7]
    assert sample_test_negatives(data, 1, seed=5).test_negatives[0, 0] in (3, 7)


# ------------------------------------------------------------ named splits, validation view
def test_split_log_leave_one_out_random_is_the_iris_protocol():
    log = _random_log(num_items=150, timestamps=True)
    data = split_log(log, "leave-one-out-random", seed=3)
    counts = np.bincount(pd.factorize(log.frame["user"])[0])
    users_with_test = np.flatnonzero(_per_user(data.test))
    # Random, not latest: the held-out events ignore the timestamps.
    latest = split_log(log, "leave-one-out")
    assert _pairs(data.test) != _pairs(latest.test)
    assert len(users_with_test) == int((counts >= 2).sum())
    assert _per_user(data.test).max() == 1 and _per_user(data.validation).max() == 1
    assert data.validation.nnz == int((counts >= 3).sum())
    assert data.train.nnz + data.validation.nnz + data.test.nnz == len(log.frame)
    assert data.test_negatives.shape == (data.num_users, 99)
    # Seeded: the same seed gives the same split, negatives sampled with seed 0.
    again = split_log(log, "leave-one-out-random", seed=3)
    assert _pairs(again.test) == _pairs(data.test)
    np.testing.assert_array_equal(again.test_negatives, data.test_negatives)


def test_split_log_names_the_known_splits():
    with pytest.raises(ValueError, match="Expected one of \\['leave-one-out', "):
        split_log(_random_log(), "random")
    ratio = split_log(_random_log(), "ratio", test_fraction=0.3)
    assert ratio.test.nnz > 0 and ratio.validation is None


def test_validation_view_ranks_validation_items_and_excludes_test_items():
    data = split_log(_random_log(num_items=200), "leave-one-out-random")
    view = validation_view(data, num_negatives=20, seed=1)
    assert _pairs(view.test) == _pairs(data.validation)
    assert _pairs(view.validation) == _pairs(data.test)
    assert view.train is data.train  # Shared, not copied.
    users = np.flatnonzero(_per_user(view.test))
    negatives = view.test_negatives[users]
    assert (negatives >= 0).all() and negatives.shape == (len(users), 20)
    everything = (data.train + data.validation + data.test).tocsr()
    assert everything[np.repeat(users, 20), negatives.ravel()].sum() == 0
    # Users without a validation event get no negatives (-1 rows).
    assert (view.test_negatives[np.flatnonzero(_per_user(view.test) == 0)] == -1).all()


def test_validation_view_needs_validation_events():
    with pytest.raises(ValueError, match="without validation events"):
        validation_view(leave_one_out(_random_log()))
