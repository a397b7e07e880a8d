"""The synthetic generator: deterministic, well-shaped, and its planted signal is real."""

from __future__ import annotations

import numpy as np
import pytest

from tfrec.data.synthetic import make_synthetic


@pytest.fixture(scope="module")
def data():
    return make_synthetic(num_users=600, num_items=300, interactions_per_user=15, seed=7)


def _clusters(data) -> np.ndarray:
    codes, names = data.item_labels()
    return np.array([int(names[c].split(":")[1]) for c in codes])


def test_shapes_and_side_info(data):
    assert data.train.shape == data.test.shape == (600, 300)
    assert data.num_users == 600 and data.num_items == 300
    assert data.user_keys[0] == "u0" and data.item_keys[299] == "i299"
    image = data.item_side.features["image"]
    assert image.values.shape == (300, 128) and image.values.dtype == np.float32
    assert (image.values >= 0).all()
    np.testing.assert_array_equal(image.keys, data.item_keys)
    assert len(data.item_side.text) == 300
    assert all(len(text.split()) == 12 for text in data.item_side.text.values())
    codes, names = data.item_labels()
    assert (codes >= 0).all() and len(names) == 10
    np.testing.assert_array_equal(_clusters(data), data.item_side.metadata["cluster"].to_numpy())


def test_split_is_disjoint_and_floor_rule(data):
    assert data.train.multiply(data.test).nnz == 0
    train, test = np.diff(data.train.indptr), np.diff(data.test.indptr)
    total = train + test
    expected_train = np.where(total >= 2, np.floor(total * 0.7 + 1e-9), total)
    np.testing.assert_array_equal(train, expected_train)
    assert set(np.unique(data.train.data)) == {1.0}


def test_deterministic_by_seed():
    first = make_synthetic(num_users=200, num_items=100, seed=1)
    again = make_synthetic(num_users=200, num_items=100, seed=1)
    other = make_synthetic(num_users=200, num_items=100, seed=2)
    assert (first.train != again.train).nnz == 0 and (first.test != again.test).nnz == 0
    assert first.item_side.text == again.item_side.text
    np.testing.assert_array_equal(
        first.item_side.features["image"].values, again.item_side.features["image"].values
    )
    assert (first.train != other.train).nnz > 0


def test_cluster_recommender_beats_random(data):
    """Recommending the user's majority cluster's popular items hits far more than chance."""
    clusters = _clusters(data)
    train = data.train.toarray() > 0
    test = data.test.toarray() > 0
    popularity = train.sum(axis=0)
    k = 10
    hits_cluster, hits_random = [], []
    rng = np.random.default_rng(0)
    for user in data.test_users():
        seen = train[user]
        favourite = np.bincount(clusters[seen], minlength=10).argmax()
        score = np.where(clusters == favourite, popularity + 1.0, 0.0)
        score[seen] = -1.0
        top = np.argsort(-score, kind="stable")[:k]
        hits_cluster.append(test[user, top].sum() / test[user].sum())
        candidates = np.flatnonzero(~seen)
        random_top = rng.choice(candidates, k, replace=False)
        hits_random.append(test[user, random_top].sum() / test[user].sum())
    recall_cluster, recall_random = np.mean(hits_cluster), np.mean(hits_random)
    assert recall_random < 0.06  # About k / num_items.
    assert recall_cluster > 5 * recall_random


def test_users_mostly_stay_in_their_cluster(data):
    clusters = _clusters(data)
    rows = np.repeat(np.arange(data.num_users), np.diff(data.train.indptr))
    item_clusters = clusters[data.train.indices]
    majority = np.array(
        [np.bincount(item_clusters[rows == u], minlength=10).max() for u in range(data.num_users)]
    )
    share = majority.sum() / data.train.nnz
    assert share > 0.7  # 80% in-cluster draws, plus chance hits of the own cluster.


def test_features_and_text_carry_the_clusters(data):
    clusters = _clusters(data)
    values = data.item_side.features["image"].values
    centroids = np.stack([values[clusters == c].mean(axis=0) for c in range(10)])
    distances = ((values[:, None, :] - centroids[None]) ** 2).sum(axis=-1)
    assert np.mean(distances.argmin(axis=1) == clusters) > 0.95
    # Words: 70% of the tokens are words only one cluster uses (the shared 30% are not).
    texts = [data.item_side.text[key].split() for key in data.item_keys]
    by_word = {}
    for cluster, words in zip(clusters, texts, strict=True):
        for word in words:
            by_word.setdefault(word, set()).add(cluster)
    exclusive = [len(by_word[w]) == 1 for words in texts for w in words]
    assert 0.65 < np.mean(exclusive) < 0.8


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_items": 5},
        {"interactions_per_user": 0.5},
        {"text_vocabulary_size": 5},
        {"test_fraction": 1.0},
    ],
)
def test_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="Received"):
        make_synthetic(**kwargs)


def test_scales_to_a_million_users():
    data = make_synthetic(
        num_users=1_000_000, num_items=50_000, interactions_per_user=2.3, image_dim=16
    )
    assert data.num_users == 1_000_000
    assert 2_000_000 < data.train.nnz + data.test.nnz < 2_400_000
