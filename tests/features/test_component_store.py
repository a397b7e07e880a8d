"""The HDF5 component store: streamed atomic writes, validation, lazy and loaded reads."""

import h5py
import numpy as np
import pytest

from tfrec.features.component_store import ComponentStore
from tfrec.features.component_store import ComponentStoreWriter
from tfrec.features.component_store import write_components
from tfrec.features.feature_store import FeatureStoreError


def components(seed=0):
    rng = np.random.default_rng(seed)
    return {f"i{k}": rng.normal(size=(k % 4, 3)).astype(np.float32) for k in range(1, 9)}


def test_round_trip_lazy_and_loaded_agree(tmp_path):
    items = components()
    path = write_components(tmp_path / "c.h5", items, dtype="float32", provenance={"x": 1})
    keys = ["i3", "nope", "i1", "i4", "i2"]  # a dataset's item order, one item unknown
    store = ComponentStore(path, keys)
    assert (store.max_components, store.dim) == (3, 3)
    assert store.counts.tolist() == [3, 0, 1, 0, 2]  # i4 has 4 % 4 = 0 components
    assert store.missing == ["nope"] and store.provenance["x"] == 1
    ids = np.array([0, 4, 5, 1, 0])  # 5 = num_items: the padding id
    lazy, lazy_mask = store.gather(ids)
    loaded, loaded_mask = ComponentStore(path, keys).load().gather(ids)
    np.testing.assert_array_equal(lazy, loaded)
    np.testing.assert_array_equal(lazy_mask, loaded_mask)
    np.testing.assert_array_equal(lazy[0], items["i3"])
    np.testing.assert_array_equal(lazy[1, :2], items["i2"])
    assert not lazy[1, 2:].any() and not lazy[2].any() and not lazy[3].any()
    assert lazy_mask.sum(1).tolist() == [3, 2, 0, 0, 3]
    with pytest.raises(ValueError, match="Expected ids in \\[0, 5\\]"):
        store.gather(np.array([6]))


def test_float16_and_max_components_cut(tmp_path):
    path = write_components(tmp_path / "c.h5", components(), max_components=2)
    store = ComponentStore(path, list(components()))
    assert store.dtype == np.float16 and store.max_components == 2
    assert store.counts.max() == 2 and store.provenance["items_cut_to_max_components"] == 2


def test_writer_streams_blocks_and_is_atomic(tmp_path):
    path = tmp_path / "c.h5"
    with ComponentStoreWriter(path, 3, 2, 4, dtype="float32") as writer:
        writer.write(["a", "b"], np.ones((2, 2, 4)), [2, 1])
        assert not path.exists()  # Nothing visible before the writer closes.
        writer.write(["c"], np.full((1, 1, 4), 5.0), [1])
    with h5py.File(path) as handle:
        values = handle["components/values"][:]
    assert values[1, 1].tolist() == [0, 0, 0, 0]  # past the count: zeros, not the input
    assert values[2, 0].tolist() == [5, 5, 5, 5]


@pytest.mark.parametrize(
    ("keys", "values", "counts", "match"),
    [
        (["a"], np.full((1, 2, 4), np.nan), [1], "item 'a' has NaN or infinite"),
        (["a"], np.ones((1, 2, 4)), [3], "item 'a' has count 3. Expected 0..2"),
        (["a"], np.ones((1, 2, 5)), [1], "Expected \\[1, <= 2, 4\\]"),
        (["a", "a"], np.ones((2, 2, 4)), [1, 1], "item 'a' is written twice"),
    ],
)
def test_bad_blocks_name_the_item_and_leave_no_file(tmp_path, keys, values, counts, match):
    path = tmp_path / "c.h5"
    with pytest.raises(FeatureStoreError, match=match):
        with ComponentStoreWriter(path, 3, 2, 4) as writer:
            writer.write(keys, values, counts)
    assert list(tmp_path.iterdir()) == []


def test_nan_past_the_count_is_ignored(tmp_path):
    values = np.ones((1, 2, 4))
    values[0, 1] = np.nan  # an invalid slot: never read
    with ComponentStoreWriter(tmp_path / "c.h5", 1, 2, 4) as writer:
        writer.write(["a"], values, [1])
    assert ComponentStore(tmp_path / "c.h5", ["a"]).gather(np.array([0]))[0][0, 1].sum() == 0


def test_too_few_items_or_an_exception_leave_no_file(tmp_path):
    path = tmp_path / "c.h5"
    with pytest.raises(FeatureStoreError, match="1 items written. Expected 2"):
        with ComponentStoreWriter(path, 2, 1, 1) as writer:
            writer.write(["a"], np.ones((1, 1, 1)), [1])
    with pytest.raises(KeyboardInterrupt):
        with ComponentStoreWriter(path, 1, 1, 1) as writer:
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_reading_a_non_component_file_is_named(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as handle:
        handle.create_group("text")
    with pytest.raises(FeatureStoreError, match="no 'components' group \\(found \\['text'\\]\\)"):
        ComponentStore(path, ["a"])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ComponentStore(tmp_path / "missing.h5", ["a"])
