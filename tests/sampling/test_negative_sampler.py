"""NegativeSampler: the CollMetric/MAML sampler semantics, exactly."""

from __future__ import annotations

import os
import pathlib
import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from tfrec.sampling import NegativeSampler
from tfrec.sampling import negative_sampler as negative_sampler_module

# 4 users x 5 items, 10 pairs. User 2 has 4 of 5 items, so most of its draws collide.
DENSE = np.array(
    [
        [1, 0, 1, 0, 0],
        [0, 1, 0, 0, 1],
        [1, 1, 1, 1, 0],
        [0, 0, 0, 1, 1],
    ],
    dtype=np.float32,
)
TRAIN = sp.csr_matrix(DENSE)
PAIRS = {(0, 0), (0, 2), (1, 1), (1, 4), (2, 0), (2, 1), (2, 2), (2, 3), (3, 3), (3, 4)}


def random_train(num_users=300, num_items=200, density=0.05, seed=0):
    rng = np.random.default_rng(seed)
    return sp.random(
        num_users, num_items, density=density, format="csr", random_state=rng, dtype=np.float32
    )


@pytest.fixture(params=["bitmap", "hashed_filter", "hashed_search"])
def membership(request, monkeypatch):
    """Runs a test with each membership test; returns a sampler factory and the expected kind.

    `hashed_filter` caps the budget just below the exact bitmap of the matrix, so a real
    hashed filter (rejecting some keys, passing others) is built; `hashed_search` gives it a
    zero budget, so every key goes to the binary search.
    """

    def make(train, **kwargs):
        exact_bytes = -(-train.shape[0] * train.shape[1] // 8)
        budget = {"bitmap": exact_bytes, "hashed_filter": exact_bytes - 1, "hashed_search": 0}
        monkeypatch.setattr(negative_sampler_module, "BITMAP_MAX_BYTES", budget[request.param])
        return NegativeSampler(train, **kwargs)

    return make, request.param.split("_")[0]


def pairs_of(batch):
    return list(zip(batch["user"].tolist(), batch["positive"].tolist(), strict=True))


@pytest.mark.parametrize(
    "batch_size, drop_remainder, steps, sizes",
    [
        (5, True, 2, [5, 5]),
        (3, True, 3, [3, 3, 3]),  # 10 pairs: 1 dropped
        (3, False, 4, [3, 3, 3, 1]),
        (4, True, 2, [4, 4]),  # 2 dropped
        (10, True, 1, [10]),
    ],
)
def test_steps_and_batch_shapes(batch_size, drop_remainder, steps, sizes):
    sampler = NegativeSampler(
        TRAIN, num_negatives=3, batch_size=batch_size, drop_remainder=drop_remainder
    )
    assert sampler.num_pairs == 10
    assert sampler.steps_per_epoch == steps
    batches = list(sampler.epoch(0))
    assert [len(b["user"]) for b in batches] == sizes
    for batch in batches:
        assert set(batch) == {"user", "positive", "negatives"}
        assert batch["user"].dtype == batch["positive"].dtype == np.int32
        assert batch["negatives"].dtype == np.int32
        assert batch["negatives"].shape == (len(batch["user"]), 3)


@pytest.mark.parametrize("batch_size", [2, 5, 10])
def test_every_pair_exactly_once_per_pass_when_batches_divide(batch_size):
    sampler = NegativeSampler(TRAIN, batch_size=batch_size, seed=3)
    for epoch_index in range(3):
        seen = [p for batch in sampler.epoch(epoch_index) for p in pairs_of(batch)]
        assert len(seen) == 10
        assert set(seen) == PAIRS


@pytest.mark.parametrize("batch_size, kept", [(3, 9), (4, 8), (6, 6), (7, 7)])
def test_remainder_is_dropped(batch_size, kept):
    sampler = NegativeSampler(TRAIN, batch_size=batch_size, seed=1)
    dropped_ever = set()
    for epoch_index in range(20):
        seen = [p for batch in sampler.epoch(epoch_index) for p in pairs_of(batch)]
        assert len(seen) == kept == len(set(seen))
        assert set(seen) <= PAIRS
        dropped_ever |= PAIRS - set(seen)
    # The dropped pairs change between passes (each pass reshuffles all pairs).
    assert len(dropped_ever) > 10 - kept


def test_remainder_kept_covers_all_pairs():
    sampler = NegativeSampler(TRAIN, batch_size=4, drop_remainder=False)
    seen = [p for batch in sampler.epoch(5) for p in pairs_of(batch)]
    assert sorted(seen) == sorted(PAIRS)


def test_negatives_are_never_training_positives(membership):
    train = random_train(density=0.3)  # about 60 positives of 200 per user
    dense = train.toarray() > 0
    make, kind = membership
    sampler = make(train, num_negatives=8, batch_size=1000, seed=7)
    assert sampler.membership == kind
    collisions_without_check = 0
    for batch in sampler.epoch(0):
        assert not dense[batch["user"][:, None], batch["negatives"]].any()
        assert dense[batch["user"], batch["positive"]].all()
        assert batch["negatives"].min() >= 0 and batch["negatives"].max() < 200
    unchecked = NegativeSampler(train, num_negatives=8, batch_size=1000, check_negative=False)
    for batch in unchecked.epoch(0):
        collisions_without_check += dense[batch["user"][:, None], batch["negatives"]].sum()
    assert collisions_without_check > 0


def test_tiny_matrix_negatives_with_and_without_check():
    # User 2's only negative is item 4; user 0 may get 1, 3 or 4.
    checked = NegativeSampler(TRAIN, num_negatives=5, batch_size=10, seed=0)
    unchecked = NegativeSampler(TRAIN, num_negatives=5, batch_size=10, check_negative=False)
    found_positive = False
    for epoch_index in range(5):
        for batch in checked.epoch(epoch_index):
            for user, negatives in zip(batch["user"], batch["negatives"], strict=True):
                assert not DENSE[user, negatives].any()
                if user == 2:
                    np.testing.assert_array_equal(negatives, [4, 4, 4, 4, 4])
        for batch in unchecked.epoch(epoch_index):
            found_positive |= bool(DENSE[batch["user"][:, None], batch["negatives"]].any())
    assert found_positive


@pytest.mark.parametrize("budget", [0, 7499])  # the exact bitmap needs 7500 bytes
def test_bitmap_and_hashed_membership_give_identical_batches(monkeypatch, budget):
    train = random_train(density=0.2, seed=4)
    exact = NegativeSampler(train, num_negatives=6, batch_size=700, seed=11)
    monkeypatch.setattr(negative_sampler_module, "BITMAP_MAX_BYTES", budget)
    hashed = NegativeSampler(train, num_negatives=6, batch_size=700, seed=11)
    assert (exact.membership, hashed.membership) == ("bitmap", "hashed")
    assert hashed._bitmap.nbytes == (8 if budget == 0 else 4096)  # 2^6 and 2^15 bits
    for a, b in zip(exact.epoch(2), hashed.epoch(2), strict=True):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])


def test_membership_test_matches_a_python_set(membership):
    train = random_train(num_users=50, num_items=40, density=0.3, seed=2)
    make, kind = membership
    sampler = make(train, batch_size=10)
    assert sampler.membership == kind
    coo = train.tocoo()
    positives = set(zip(coo.row.tolist(), coo.col.tolist(), strict=True))
    users, items = np.meshgrid(np.arange(50), np.arange(40), indexing="ij")
    keys = (users * 40 + items).ravel().astype(sampler._key_dtype)
    expected = [(u, i) in positives for u, i in zip(users.ravel(), items.ravel(), strict=True)]
    np.testing.assert_array_equal(sampler._contains(keys), expected)
    if kind == "hashed" and sampler._bitmap.nbytes > 8:
        # The filter rejects some non-pairs before the search (and never a pair).
        passed = negative_sampler_module._test_bits(sampler._bitmap, sampler._hash(keys))
        assert passed[expected].all() and not passed.all()


# Chi-square critical values at p = 0.001: 13.82 for 2 degrees of freedom, 18.47 for 4.
@pytest.mark.parametrize(
    "check_negative, support, critical", [(True, [1, 3, 4], 13.82), (False, range(5), 18.47)]
)
def test_negatives_are_uniform(check_negative, support, critical):
    # User 0 has items {0, 2}: with the check its negatives are uniform over {1, 3, 4}.
    sampler = NegativeSampler(TRAIN, num_negatives=10, batch_size=2, check_negative=check_negative)
    negatives = sampler.sample_negatives(np.zeros(6000, np.int32), np.random.default_rng(0))
    counts = np.bincount(negatives.ravel(), minlength=5)
    support = list(support)
    assert counts.sum() == counts[support].sum() == 60_000
    expected = 60_000 / len(support)
    chi_square = ((counts[support] - expected) ** 2 / expected).sum()
    assert chi_square < critical


def test_uniform_over_many_users():
    train = random_train(num_users=400, num_items=50, density=0.1, seed=5)
    sampler = NegativeSampler(train, num_negatives=4, batch_size=100, seed=9)
    allowed = (train.toarray() == 0).astype(np.float64)  # [users, items]
    counts = np.zeros_like(allowed)
    total = 0
    for epoch_index in range(40):
        for batch in sampler.epoch(epoch_index):
            np.add.at(counts, (np.repeat(batch["user"], 4), batch["negatives"].ravel()), 1)
            total += batch["negatives"].size
    # Item marginals: E[count_j] = sum over drawn rows of 1[j allowed] / |allowed(u)|.
    rows = counts.sum(axis=1, keepdims=True)
    expected = (rows * allowed / allowed.sum(axis=1, keepdims=True)).sum(axis=0)
    observed = counts.sum(axis=0)
    assert observed.sum() == total
    chi_square = ((observed - expected) ** 2 / expected).sum()
    assert chi_square < 85.35  # 49 degrees of freedom, p = 0.001


def test_passes_are_differently_shuffled_and_seeded():
    train = random_train()
    sampler = NegativeSampler(train, batch_size=500, seed=0)
    first = [pairs_of(b) for b in sampler.epoch(0)]
    again = [pairs_of(b) for b in NegativeSampler(train, batch_size=500, seed=0).epoch(0)]
    second = [pairs_of(b) for b in sampler.epoch(1)]
    other_seed = [pairs_of(b) for b in NegativeSampler(train, batch_size=500, seed=1).epoch(0)]
    assert first == again
    assert first != second
    assert first != other_seed
    # A pass is a permutation: only the order differs.
    assert sorted(sum(first, [])) == sorted(sum(second, []))


def test_same_seed_same_batches_in_any_order():
    train = random_train()
    sampler = NegativeSampler(train, num_negatives=5, batch_size=300, seed=42)
    forward = list(sampler.epoch(3))
    fresh = NegativeSampler(train, num_negatives=5, batch_size=300, seed=42)
    for step in reversed(range(fresh.steps_per_epoch)):
        batch = fresh.batch(3, step)
        for key in batch:
            np.testing.assert_array_equal(batch[key], forward[step][key])


def test_iter_runs_over_passes():
    sampler = NegativeSampler(TRAIN, batch_size=3, seed=5)
    stream = iter(sampler)
    got = [next(stream) for _ in range(7)]
    expected = list(sampler.epoch(0)) + list(sampler.epoch(1)) + [sampler.batch(2, 0)]
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a["negatives"], b["negatives"])
        np.testing.assert_array_equal(a["user"], b["user"])


def test_pickle_round_trip_keeps_the_stream():
    sampler = NegativeSampler(random_train(), batch_size=400, seed=8)
    clone = pickle.loads(pickle.dumps(sampler))
    for a, b in zip(sampler.epoch(1), clone.epoch(1), strict=True):
        np.testing.assert_array_equal(a["negatives"], b["negatives"])


def test_num_items_limits_negatives_and_duplicates_are_merged():
    coo = sp.coo_matrix(([1.0, 1.0, 1.0, 1.0], ([0, 0, 1, 1], [0, 0, 1, 5])), shape=(2, 6))
    sampler = NegativeSampler(coo, num_negatives=50, batch_size=3, num_items=3)
    assert sampler.num_pairs == 3  # the duplicate (0, 0) counts once
    batch = sampler.batch(0, 0)
    assert batch["negatives"].max() < 3
    user0 = batch["negatives"][batch["user"] == 0]
    user1 = batch["negatives"][batch["user"] == 1]
    assert set(user0.ravel()) == {1, 2} and set(user1.ravel()) == {0, 2}
    assert NegativeSampler(coo, batch_size=3).num_items == 6


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_negatives": 0}, "Received: `num_negatives=0`. Expected an integer >= 1."),
        ({"num_negatives": 2.0}, "Received: `num_negatives=2.0`"),
        ({"batch_size": 0}, "Received: `batch_size=0`. Expected an integer >= 1."),
        ({"batch_size": 11}, "Expected at most the number of training pairs (10)"),
        ({"num_items": 0}, "Received: `num_items=0`. Expected an integer >= 1."),
        ({"seed": -1}, "Received: `seed=-1`. Expected an integer >= 0."),
        ({"num_items": 4}, "Received: user 2 with training positives covering all"),
    ],
)
def test_argument_errors(kwargs, message):
    kwargs = {"batch_size": 2} | kwargs
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        NegativeSampler(TRAIN, **kwargs)


def test_full_user_is_fine_without_check_and_dense_input_is_rejected():
    sampler = NegativeSampler(TRAIN, batch_size=2, num_items=4, check_negative=False)
    assert sampler.batch(0, 0)["negatives"].max() < 4
    with pytest.raises(ValueError, match="Expected a 2-D scipy sparse matrix"):
        NegativeSampler(DENSE, batch_size=2)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda s: s.batch(0, 5), r"Received: `step=5`. Expected an integer in \[0, 5\)"),
        (lambda s: s.batch(-1, 0), r"Received: `epoch_index=-1`"),
        (lambda s: s.epoch(-2), r"Received: `epoch_index=-2`"),
        (lambda s: s.sample_negatives([4], np.random.default_rng()), r"Expected ids in \[0, 4\)"),
        (lambda s: s.sample_negatives([[0]], np.random.default_rng()), "Expected a 1-D array"),
        (lambda s: s.sample_negatives([0], 3), "Expected a `numpy.random.Generator`"),
    ],
)
def test_call_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call(NegativeSampler(TRAIN, batch_size=2))


def _shared_data_dir() -> pathlib.Path:
    default = pathlib.Path(__file__).resolve().parents[3] / "shared" / "data"
    return pathlib.Path(os.environ.get("TFREC_SHARED_DATA", default))


def test_maml_office_sampler():
    path = _shared_data_dir() / "liufancs_MAML" / "Office" / "train.csv"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    frame = pd.read_csv(path)
    train = sp.csr_matrix((np.ones(len(frame), np.float32), (frame["userID"], frame["itemID"])))
    sampler = NegativeSampler(train, num_negatives=4, batch_size=5000)
    assert (sampler.num_pairs, sampler.steps_per_epoch, sampler.num_items) == (37_027, 7, 2405)
    assert sampler.membership == "bitmap"
    dense = train.toarray() > 0
    seen = 0
    for batch in sampler.epoch(0):
        assert not dense[batch["user"][:, None], batch["negatives"]].any()
        seen += len(batch["user"])
    assert seen == 35_000
