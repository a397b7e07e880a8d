"""Feature store round trips, atomic writes and validation errors that name the items."""

import h5py
import numpy as np
import pytest

from tfrec.data.interactions import FeatureTable
from tfrec.features import FeatureStoreError
from tfrec.features import read_features
from tfrec.features import read_provenance
from tfrec.features import write_features


def table(keys, dims=3, seed=0):
    values = np.random.default_rng(seed).normal(size=(len(keys), dims)).astype(np.float32)
    return FeatureTable(np.asarray(keys, dtype=object), values)


def test_round_trip_two_modalities_with_provenance(tmp_path):
    text, image = table(["B01", "B02", "é-3"], 4), table(["B02", "B01"], 2, seed=1)
    path = write_features(
        tmp_path / "f.h5",
        {"text": text, "image": image},
        provenance={"text": {"extractor": "doc2vec", "parameters": {"dim": 4}}},
    )
    loaded = read_features(path)
    assert sorted(loaded) == ["image", "text"]
    assert loaded["text"].keys.tolist() == ["B01", "B02", "é-3"]
    np.testing.assert_array_equal(loaded["text"].values, text.values)
    np.testing.assert_array_equal(loaded["image"].values, image.values)
    record = read_provenance(path)["text"]
    assert record["extractor"] == "doc2vec" and record["parameters"] == {"dim": 4}
    assert "created" in record


def test_float16_storage(tmp_path):
    path = write_features(tmp_path / "f.h5", {"image": table(["a", "b"], 8)}, dtype="float16")
    with h5py.File(path) as handle:
        assert handle["image/values"].dtype == np.float16
    assert read_features(path)["image"].values.dtype == np.float32


def test_required_keys_missing_are_named(tmp_path):
    path = write_features(tmp_path / "f.h5", {"text": table(["a", "b"])})
    with pytest.raises(FeatureStoreError, match=r"no features for 2 of 3 items, e.g. \['c', 'd'\]"):
        read_features(path, required_keys=["a", "c", "d"])


def test_nan_values_are_refused_naming_the_items(tmp_path):
    bad = table(["a", "b", "c"])
    bad.values[1, 0] = np.nan
    with pytest.raises(
        FeatureStoreError, match=r"NaN or infinite values for 1 items, e.g. \['b'\]"
    ):
        write_features(tmp_path / "f.h5", {"text": bad})
    assert not (tmp_path / "f.h5").exists()


def test_duplicate_keys_and_unknown_modality(tmp_path):
    with pytest.raises(FeatureStoreError, match="duplicate item keys"):
        write_features(tmp_path / "f.h5", {"text": table(["a", "a"])})
    path = write_features(tmp_path / "g.h5", {"text": table(["a"])})
    with pytest.raises(FeatureStoreError, match=r"no modality \['image'\]"):
        read_features(path, modalities=["image"])


def test_failed_write_keeps_the_previous_store(tmp_path, monkeypatch):
    path = write_features(tmp_path / "f.h5", {"text": table(["a", "b"])})
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(h5py.Group, "create_dataset", broken)
    with pytest.raises(OSError, match="disk full"):
        write_features(path, {"text": table(["x"])})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["f.h5"]


def test_not_a_store(tmp_path):
    (tmp_path / "f.h5").write_text("hello")
    with pytest.raises(FeatureStoreError, match="not an HDF5 feature store"):
        read_features(tmp_path / "f.h5")
