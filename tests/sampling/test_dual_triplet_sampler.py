"""DualTripletSampler: negatives of both kinds, similar/dissimilar draws, determinism."""

import numpy as np
import pytest
import scipy.sparse as sp

from tfrec.data.similar_pairs import similar_pairs
from tfrec.sampling.dual_triplet_sampler import DualTripletSampler
from tfrec.sampling.negative_sampler import NegativeSampler


def random_train(num_users=30, num_items=20, density=0.2, seed=0):
    rng = np.random.default_rng(seed)
    dense = rng.random((num_users, num_items)) < density
    dense[np.arange(num_users), rng.integers(0, num_items, num_users)] = True
    return sp.csr_matrix(dense.astype(np.float32))


def make(train, **kwargs):
    kwargs.setdefault("batch_size", 16)
    kwargs.setdefault("num_negatives", 3)
    return DualTripletSampler(train, **kwargs)


def test_negatives_of_both_kinds_are_non_interactions():
    train = random_train()
    dense = train.toarray() > 0
    sampler = make(train)
    for batch in sampler.epoch(0):
        users, items = batch["user"], batch["positive"]
        assert dense[users, items].all()
        assert not dense[users[:, None], batch["negatives"]].any()
        assert not dense[batch["negative_users"], items[:, None]].any()
        assert batch["negative_users"].shape == (16, 3)
        assert batch["negative_users"].dtype == np.int32
        assert "similar_users" not in batch


def test_item_part_equals_negative_sampler_and_is_seeded():
    train = random_train()
    reference = NegativeSampler(train, num_negatives=3, batch_size=16, seed=4)
    sampler = make(train, seed=4)
    batch = sampler.batch(1, 2)
    expected = reference.batch(1, 2)
    for key in ("user", "positive", "negatives"):
        np.testing.assert_array_equal(batch[key], expected[key])
    again = make(train, seed=4).batch(1, 2)
    np.testing.assert_array_equal(batch["negative_users"], again["negative_users"])
    other = make(train, seed=5).batch(1, 2)
    assert not np.array_equal(batch["negative_users"], other["negative_users"])


def test_similar_and_dissimilar_draws_respect_the_buffers():
    train = random_train(density=0.3)
    similar_users = similar_pairs(train, 0.2)
    similar_items = similar_pairs(train.T, 0.2)
    sampler = make(train, similar_users=similar_users, similar_items=similar_items, seed=1)
    user_buffer = similar_users.toarray() > 0
    item_buffer = similar_items.toarray() > 0
    seen_user_pairs = set()
    for epoch in range(3):
        for batch in sampler.epoch(epoch):
            for anchors, buffer, kind in (
                (batch["user"], user_buffer, "user"),
                (batch["positive"], item_buffer, "item"),
            ):
                similar = batch[f"similar_{kind}s"]
                dissimilar = batch[f"dissimilar_{kind}s"]
                has = batch[f"has_similar_{kind}"]
                assert has.dtype == np.float32
                expected_has = buffer[anchors].any(1) & (buffer[anchors].sum(1) < len(buffer) - 1)
                np.testing.assert_array_equal(has, expected_has.astype(np.float32))
                live = has == 1
                assert buffer[anchors[live], similar[live]].all()
                assert not buffer[anchors[live], dissimilar[live]].any()
                assert (dissimilar[live] != anchors[live]).all()
                np.testing.assert_array_equal(similar[~live], anchors[~live])
                if kind == "user":
                    seen_user_pairs.update(zip(anchors[live], similar[live], strict=True))
    # The similar draws vary over the buffer rows, not one fixed neighbour per anchor.
    assert len(seen_user_pairs) > 10


def test_empty_buffers_mask_every_anchor():
    train = random_train()
    empty = sp.csr_matrix((30, 30), dtype=np.float32)
    batch = make(train, similar_users=empty).batch(0, 0)
    assert batch["has_similar_user"].sum() == 0
    np.testing.assert_array_equal(batch["similar_users"], batch["user"])


def test_bad_buffers():
    train = random_train()
    with pytest.raises(ValueError, match=r"similar_items` of shape \(30, 30\)"):
        make(train, similar_items=sp.csr_matrix((30, 30)))
    with pytest.raises(ValueError, match="ndarray"):
        make(train, similar_users=np.eye(30))
