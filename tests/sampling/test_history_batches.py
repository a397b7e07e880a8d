"""HistorySampler / UserHistories / evaluation_batches / HistoryDataset on hand-built data."""

import keras
import numpy as np
import pytest
import scipy.sparse as sp

from tfrec.models.fism import FISM
from tfrec.sampling.history_batches import HistorySampler
from tfrec.sampling.history_batches import evaluation_batches
from tfrec.sampling.history_dataset import HistoryDataset
from tfrec.sampling.user_histories import UserHistories

NUM_ITEMS = 12
# user -> training items, in time order (timestamps below), not in id order.
LISTS = {0: [5, 1, 9, 3, 7], 1: [2], 2: [0, 11, 4], 3: [8, 6, 10, 1, 2, 3, 4]}


def train_and_times():
    rows, cols, times = [], [], []
    for user, items in LISTS.items():
        for time, item in enumerate(items):
            rows.append(user)
            cols.append(item)
            times.append(100 + time)
    shape = (len(LISTS), NUM_ITEMS)
    train = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape)
    stamps = sp.csr_matrix((np.array(times, np.float64), (rows, cols)), shape=shape)
    return train, stamps


def rows_of(inputs, labels):
    """(user, item, label, history items as a list) per row."""
    out = []
    for r in range(len(labels)):
        mask = inputs["history_mask"][r]
        history = inputs["history"][r]
        assert (history[~mask] == NUM_ITEMS).all()
        assert mask[: mask.sum()].all()  # valid entries first, then padding
        out.append(
            (int(inputs["user"][r]), int(inputs["item"][r]), float(labels[r]), list(history[mask]))
        )
    return out


def all_rows(sampler, epoch):
    out = []
    for inputs, labels in sampler.epoch(epoch):
        out.extend(rows_of(inputs, labels))
    return out


@pytest.mark.parametrize("batching", ["length", "user"])
def test_rows_have_history_without_target_and_true_negatives(batching):
    train, stamps = train_and_times()
    sampler = HistorySampler(
        train, num_negatives=3, batch_size=4, batching=batching, timestamps=stamps, seed=1
    )
    rows = all_rows(sampler, 0)
    assert len(rows) == 16 * 4 == sampler.num_rows
    positives = sorted((u, i) for u, i, label, _ in rows if label == 1)
    assert positives == sorted((u, i) for u, items in LISTS.items() for i in items)
    for user, item, label, history in rows:
        if label == 1:
            # Target excluded; the rest in time order.
            assert history == [i for i in LISTS[user] if i != item]
        else:
            assert item not in LISTS[user]
            assert history == LISTS[user]
    # K negatives per positive: per user, 3 x the number of positives.
    for user, items in LISTS.items():
        assert sum(1 for u, _, label, _ in rows if u == user and label == 0) == 3 * len(items)


def test_history_of_length_one_and_empty_history():
    train, stamps = train_and_times()
    sampler = HistorySampler(train, num_negatives=2, batch_size=64, timestamps=stamps, seed=0)
    rows = all_rows(sampler, 0)
    # User 1 has one training item: its positive row has an empty (fully masked) history,
    # its negative rows a history of length one.
    user1 = [r for r in rows if r[0] == 1]
    assert [r[3] for r in user1 if r[2] == 1] == [[]]
    assert all(r[3] == [2] for r in user1 if r[2] == 0)


def test_batches_are_grouped_by_history_length():
    train, stamps = train_and_times()
    sampler = HistorySampler(train, num_negatives=4, batch_size=8, pad_multiple=1, seed=3)
    ranges = []
    for inputs, _ in sampler.epoch(0):
        lengths = inputs["history_mask"].sum(axis=1)
        # Padded to the longest history of the batch, no more.
        assert inputs["history"].shape[1] == max(lengths.max(), 1)
        ranges.append((lengths.min(), lengths.max()))
    # Sorted by length: the length ranges of two batches overlap at most at one end.
    for low, high in ranges:
        for other_low, other_high in ranges:
            assert high <= other_low or other_high <= low or (low, high) == (other_low, other_high)
    padding = sum(s[0]["history"].size - s[0]["history_mask"].sum() for s in sampler.epoch(0))
    # Row lengths: user 0: 5 x 4 (positives), 20 x 5; user 1: 1 x 0, 4 x 1; user 2: 3 x 2,
    # 12 x 3; user 3: 7 x 6, 28 x 7. Sorted and cut into batches of 8, the padding is
    # 6 + 0 + 4 + 1 + 0 + 5 + 4 + 0 + 0 + 0 = 20 slots (of 80 x 7 = 560 in one padded batch).
    assert padding == 20


def test_pad_multiple_rounds_the_width_up():
    train, _ = train_and_times()
    sampler = HistorySampler(train, num_negatives=1, batch_size=40, pad_multiple=8, seed=0)
    widths = {inputs["history"].shape[1] for inputs, _ in sampler.epoch(0)}
    assert widths == {8}


def test_seeded_deterministic_and_epochs_differ():
    train, _ = train_and_times()
    a = HistorySampler(train, num_negatives=2, batch_size=5, seed=7)
    b = HistorySampler(train, num_negatives=2, batch_size=5, seed=7)
    # Any order of requests gives the same batches.
    late = b.batch(1, 2)
    for step in reversed(range(b.steps_per_epoch)):
        x, y = a.batch(0, step), b.batch(0, step)
        for key in x[0]:
            np.testing.assert_array_equal(x[0][key], y[0][key])
        np.testing.assert_array_equal(x[1], y[1])
    np.testing.assert_array_equal(a.batch(1, 2)[0]["item"], late[0]["item"])
    first = [tuple(x[0]["item"]) for x in a.epoch(0)]
    second = [tuple(x[0]["item"]) for x in a.epoch(1)]
    assert first != second
    other = HistorySampler(train, num_negatives=2, batch_size=5, seed=8)
    assert [tuple(x[0]["item"]) for x in other.epoch(0)] != first


def test_user_batching_one_user_per_batch():
    train, _ = train_and_times()
    sampler = HistorySampler(train, num_negatives=2, batching="user", seed=0)
    assert sampler.steps_per_epoch == 4
    sizes = {}
    for inputs, labels in sampler.epoch(0):
        assert len(set(inputs["user"].tolist())) == 1
        sizes[int(inputs["user"][0])] = len(labels)
        assert labels.sum() == len(labels) / 3
    assert sizes == {u: 3 * len(items) for u, items in LISTS.items()}


@pytest.mark.parametrize(
    "clip, expected",
    [
        # User 3's list without the target 10: [8, 6, 1, 2, 3, 4]; clip to 3 items.
        ("latest", [2, 3, 4]),
        ("first", [8, 6, 1]),
    ],
)
def test_clip_after_target_exclusion(clip, expected):
    train, stamps = train_and_times()
    histories = UserHistories(train, max_history_length=3, clip=clip, timestamps=stamps)
    position = LISTS[3].index(10)
    history, mask = histories.gather(np.array([3, 3, 1]), np.array([position, -1, -1]))
    assert list(history[0][mask[0]]) == expected
    # Without exclusion the latest/first 3 of the full list; short lists are not clipped.
    full = LISTS[3][-3:] if clip == "latest" else LISTS[3][:3]
    assert list(history[1][mask[1]]) == full
    assert list(history[2][mask[2]]) == [2]
    assert history.shape == (3, 8) and mask.sum(axis=1).tolist() == [3, 3, 1]


def test_random_clip_is_an_ordered_subset_drawn_per_epoch():
    train, stamps = train_and_times()
    sampler = HistorySampler(
        train,
        num_negatives=1,
        batch_size=64,
        max_history_length=2,
        clip="random",
        timestamps=stamps,
        seed=0,
    )
    seen = set()
    for epoch in range(6):
        for user, item, label, history in all_rows(sampler, epoch):
            full = [i for i in LISTS[user] if not (label == 1 and i == item)]
            assert len(history) == min(2, len(full))
            assert item not in history or label == 0
            positions = [full.index(i) for i in history]
            assert positions == sorted(positions)  # kept in history order
            if user == 0 and label == 0:
                seen.add(tuple(history))
    assert len(seen) > 3  # different subsets over rows and epochs


def test_exclude_target_off_keeps_the_target():
    train, stamps = train_and_times()
    sampler = HistorySampler(
        train, num_negatives=1, batch_size=64, exclude_target=False, timestamps=stamps
    )
    for user, _, _, history in all_rows(sampler, 0):
        assert history == LISTS[user]


def test_history_order_without_timestamps_is_item_id_order():
    train, _ = train_and_times()
    history, mask = UserHistories(train).gather(np.array([0]))
    assert list(history[0][mask[0]]) == sorted(LISTS[0])


def test_evaluation_batches_cover_users_with_full_histories():
    train, stamps = train_and_times()
    users = np.array([3, 0, 1, 2, 0])
    candidates = np.arange(5 * 4).reshape(5, 4) % NUM_ITEMS
    seen = []
    for rows, inputs in evaluation_batches(
        train, users, candidates, timestamps=stamps, max_cells=64, pad_multiple=1
    ):
        b, width = inputs["history"].shape
        assert b * width * 4 <= 64 or b == 1
        np.testing.assert_array_equal(inputs["items"], candidates[rows])
        np.testing.assert_array_equal(inputs["user"], users[rows])
        for r, user in enumerate(inputs["user"]):
            assert list(inputs["history"][r][inputs["history_mask"][r]]) == LISTS[int(user)]
        seen.extend(rows.tolist())
    assert sorted(seen) == list(range(5))


def test_errors_name_the_argument():
    train, _ = train_and_times()
    with pytest.raises(ValueError, match="clip='last'"):
        HistorySampler(train, clip="last")
    with pytest.raises(ValueError, match="batching='users'"):
        HistorySampler(train, batching="users")
    with pytest.raises(ValueError, match="num_negatives=0"):
        HistorySampler(train, num_negatives=0)
    with pytest.raises(ValueError, match="max_history_length=0"):
        HistorySampler(train, max_history_length=0)
    full = sp.csr_matrix(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="user 0 with all 3 items"):
        HistorySampler(full)
    with pytest.raises(ValueError, match="step=99"):
        HistorySampler(train).batch(0, 99)
    with pytest.raises(ValueError, match="Expected \\[len\\(users\\), M\\]"):
        next(evaluation_batches(train, np.array([0, 1]), np.zeros((3, 2))))


def test_dataset_feeds_fit_and_advances_one_pass_per_epoch():
    train, _ = train_and_times()
    sampler = HistorySampler(train, num_negatives=2, batch_size=8, seed=0)
    dataset = HistoryDataset(sampler)
    assert len(dataset) == sampler.steps_per_epoch == 6
    inputs, labels = dataset[0]
    np.testing.assert_array_equal(inputs["item"], sampler.batch(0, 0)[0]["item"])
    model = FISM(NUM_ITEMS, 4)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    model.fit(dataset, epochs=2, verbose=0, shuffle=False)
    assert dataset.epoch_index == 2
    with pytest.raises(ValueError, match="Expected a `tfrec.sampling.history_batches"):
        HistoryDataset(object())


def test_padded_size_ladder():
    from tfrec.sampling.user_histories import padded_size

    # Plain multiples (s = 0), and the ladder 8 * {4, 5, 6, 7} * 2**e for s = 4.
    assert [padded_size(n, 8) for n in (0, 1, 8, 9, 65)] == [8, 8, 8, 16, 72]
    assert [padded_size(n, 8, 4) for n in (1, 32, 33, 41, 64, 65, 300)] == [
        8,
        32,
        40,
        48,
        64,
        80,
        320,
    ]
    for s in (1, 2, 4):
        sizes = [padded_size(n, 8, s) for n in range(1, 5000)]
        assert all(size >= n and size % 8 == 0 for n, size in enumerate(sizes, 1))
        # Beyond 8 * s, at most 1/s above the plain multiple and s sizes per doubling.
        for n, size in enumerate(sizes, 1):
            if n > 8 * s:
                assert size <= padded_size(n, 8) * (1 + 1 / s)
        assert len({size for size in sizes if 1024 < size <= 2048}) == s
