"""Real offline modalities: ml-1m-sample plots and metadata, amazon-cloth tags."""

import numpy as np
import pytest

from tfrec.data import registry
from tfrec.features import read_features
from tfrec.features import read_provenance
from tfrec.features.movie_features import iris_item_features
from tfrec.features.movie_features import movie_metadata_features
from tfrec.features.movie_features import movie_metadata_tokens
from tfrec.features.movie_features import tag_features
from tfrec.features.movie_features import token_features
from tfrec.features.movie_features import write_movie_features

_CACHE = {}
# ml-1m-sample: item 860 has no MeLU line at all; eight more have the plot "N/A".
NO_METADATA = ["860"]
NO_PLOT = {"922", "860", "3532", "1657", "643", "3084", "823", "826", "583"}


def cached(name, build):
    if name not in _CACHE:
        _CACHE[name] = build()
    return _CACHE[name]


@pytest.fixture
def movies(require_dataset):
    require_dataset("ml-1m-sample")
    return cached("ml-1m-sample", lambda: registry.load_dataset("ml-1m-sample", progress=False))


@pytest.fixture
def cloth(require_dataset):
    require_dataset("amazon-cloth")
    return cached("amazon-cloth", lambda: registry.load_dataset("amazon-cloth", progress=False))


@pytest.fixture
def metadata(movies):
    return cached("metadata", lambda: movie_metadata_features(movies, dim=128, seed=0))


def random_pairs(count, size, seed=0):
    a, b = np.random.default_rng(seed).integers(0, count, (2, size))
    return a[a != b], b[a != b]


def test_metadata_tokens_of_toy_story(movies):
    tokens = movie_metadata_tokens(movies)["1"]
    assert tokens["director"] == ["John Lasseter"]
    assert "Pete Docter" in tokens["writer"] and not any("(" in w for w in tokens["writer"])
    assert tokens["actor"] == ["Tom Hanks", "Tim Allen", "Don Rickles", "Jim Varney"]
    # ML-1M "Animation|Children's|Comedy" merged with OMDb "Animation, Adventure, Comedy".
    assert tokens["genre"] == ["adventure", "animation", "children's", "comedy"]
    assert tokens["rated"] == ["G"]


def test_metadata_table_shape_and_counted_gaps(metadata, movies):
    table, record = metadata
    assert table.values.shape == (3312, 128) and table.values.dtype == np.float32
    assert table.keys.tolist() == [str(k) for k in movies.item_keys]
    assert record["items_with_features"] == 3311 and record["items_zero_filled"] == 1
    assert record["zero_filled_examples"] == NO_METADATA
    norms = np.linalg.norm(table.values, axis=1)
    missing = table.keys == "860"
    np.testing.assert_array_equal(table.values[missing], 0.0)
    np.testing.assert_allclose(norms[~missing], 1.0, rtol=1e-5)
    # 18 ML-1M genres + OMDb ones; 6 rating classes; names kept on >= 2 movies.
    assert record["vocabulary"]["genre"] == 24 and record["vocabulary"]["rated"] == 6
    assert record["vocabulary"]["director"] == 687


def test_movies_sharing_a_genre_or_director_are_closer_than_random(metadata, movies):
    table, _ = metadata
    vectors = table.values
    codes, names = movies.item_labels()
    a, b = random_pairs(len(vectors), 20000)
    cosine = (vectors[a] * vectors[b]).sum(1)
    same = (codes[a] == codes[b]) & (codes[a] >= 0)
    assert cosine[same].mean() > cosine.mean() + 0.08
    # Hitchcock's films in the sample are far closer to each other than random pairs.
    directors = movies.item_side.metadata["director"].reindex(table.keys)
    hitchcock = np.flatnonzero(directors.to_numpy() == "Alfred Hitchcock")
    assert len(hitchcock) >= 10
    block = vectors[hitchcock] @ vectors[hitchcock].T
    within = block[~np.eye(len(hitchcock), dtype=bool)].mean()
    assert within > cosine.mean() + 0.3


def test_token_features_hand_computed():
    tokens = {"a": {"g": ["x"]}, "b": {"g": ["x", "y"]}, "c": {"g": ["y"]}, "d": {"g": ["z"]}}
    table, record = token_features(tokens, ["a", "b", "c", "d", "e"], dim=None, min_count=2)
    # "z" is on one item only: dropped, so d and e (no tokens) are zero rows. x and y have
    # the same idf, so b = (1, 1) / sqrt(2).
    expected = np.array([[1, 0], [2**-0.5, 2**-0.5], [0, 1], [0, 0], [0, 0]], np.float32)
    np.testing.assert_allclose(table.values, expected, atol=1e-6)
    assert record["items_zero_filled"] == 2 and record["zero_filled_examples"] == ["d", "e"]
    with pytest.raises(ValueError, match="no token appears on 2 or more items"):
        token_features({"a": {"g": ["x"]}}, ["a"], min_count=2)


def test_movie_store_with_text_and_metadata(movies, tmp_path, capsys):
    path = tmp_path / "movies.h5"
    records = write_movie_features(movies, path, text_dim=16, text_epochs=5, seed=0)
    printed = capsys.readouterr().out
    assert "text: 3,312 items x 16, 3,303 with features, 9 zero-filled" in printed
    assert "metadata: 3,312 items x 128, 3,311 with features, 1 zero-filled" in printed
    tables = read_features(path, required_keys=[str(k) for k in movies.item_keys])
    text = tables["text"]
    assert text.values.shape == (3312, 16)
    zero = ~text.values.any(axis=1)
    assert set(text.keys[zero]) == NO_PLOT and records["text"]["items_zero_filled"] == 9
    provenance = read_provenance(path)
    assert provenance["text"]["items_zero_filled"] == 9
    assert provenance["metadata"]["zero_filled_examples"] == NO_METADATA
    assert provenance["text"]["parameters"]["dim"] == 16


def test_cloth_tags(cloth):
    table, record = cached("tags", lambda: tag_features(cloth, dim=64, seed=0))
    assert table.values.shape == (23033, 64)
    assert record["items_zero_filled"] == 0 and record["items_with_features"] == 23033
    assert record["vocabulary"]["tag"] <= 760
    # The cosine of two items follows the overlap of their tag sets (Jaccard index).
    tags = [set(cloth.item_side.tags[str(k)]) for k in table.keys]
    a, b = random_pairs(len(tags), 20000)
    cosine = (table.values[a] * table.values[b]).sum(1)
    jaccard = np.array(
        [len(tags[i] & tags[j]) / len(tags[i] | tags[j]) for i, j in zip(a, b, strict=True)]
    )
    assert abs(cosine[jaccard == 0].mean()) < 0.02
    assert cosine[jaccard > 0.5].mean() > 0.7
    assert np.corrcoef(jaccard, cosine)[0, 1] > 0.8


def test_iris_item_features_build_tags_once_and_fill_text_with_zeros(cloth, tmp_path):
    store = tmp_path / "cloth.h5"
    features, towers = iris_item_features(cloth, store, verbose=False)
    assert store.exists()
    assert towers["image"] == {"modality": "tags", "dims": 128, "missing": 0}
    assert towers["text"] == {"modality": None, "dims": 1, "missing": 23033}
    assert features["image"].shape == (23033, 128) and not features["text"].any()
    # A second call reads the store (same values) instead of building it again.
    stamp = store.stat().st_mtime_ns
    again, _ = iris_item_features(cloth, store, verbose=False)
    assert store.stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(again["image"], features["image"])
    with pytest.raises(ValueError, match="no modality \\['plot'\\]; the store has \\['tags'\\]"):
        iris_item_features(cloth, store, modalities=["tags", "plot"])
    with pytest.raises(ValueError, match="Expected VISUAL or VISUAL,TEXT"):
        iris_item_features(cloth, store, modalities=["tags", "tags", "tags"])


def test_iris_item_features_need_side_information(tmp_path):
    import dataclasses

    from tfrec.data.interactions import ItemSideInfo
    from tfrec.data.synthetic import make_synthetic

    data = make_synthetic(num_users=5, num_items=6, interactions_per_user=2, num_clusters=2)
    with pytest.raises(ValueError, match="Expected some of \\['genres', 'genre'"):
        iris_item_features(data, tmp_path / "synthetic.h5")  # not movie metadata
    bare = dataclasses.replace(data, item_side=ItemSideInfo())
    with pytest.raises(ValueError, match="synthetic has no metadata, text or tags"):
        iris_item_features(bare, tmp_path / "none.h5")
    assert not (tmp_path / "none.h5").exists() and not (tmp_path / "synthetic.h5").exists()
