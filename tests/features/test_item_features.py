"""item_feature_matrix: modalities side by side, in item-id order, missing items named."""

import numpy as np
import pytest

from tfrec.data.interactions import FeatureTable
from tfrec.features import FeatureStoreError
from tfrec.features import item_feature_matrix
from tfrec.features import text_features_from_side_info
from tfrec.features import write_features


@pytest.fixture
def store(tmp_path):
    text = FeatureTable(np.array(["b", "a", "c"], dtype=object), np.array([[2.0], [1.0], [3.0]]))
    image = FeatureTable(
        np.array(["c", "a", "b"], dtype=object),
        np.array([[30.0, 31.0], [10.0, 11.0], [20.0, 21.0]]),
    )
    path = tmp_path / "features.h5"
    write_features(path, {"image": image, "text": text})
    return path


def test_text_then_image_in_item_order(store):
    matrix, dims = item_feature_matrix(store, ["a", "b", "c"])
    assert list(dims.items()) == [("text", 1), ("image", 2)]
    np.testing.assert_array_equal(matrix, [[1, 10, 11], [2, 20, 21], [3, 30, 31]])
    assert matrix.dtype == np.float32


def test_chosen_modalities_and_order(store):
    matrix, dims = item_feature_matrix(store, ["c", "a"], modalities=["image"])
    assert dims == {"image": 2}
    np.testing.assert_array_equal(matrix, [[30, 31], [10, 11]])
    matrix, _ = item_feature_matrix(store, ["a"], modalities=["image", "text"])
    np.testing.assert_array_equal(matrix, [[10, 11, 1]])


def test_missing_items_are_named_or_zero(store):
    with pytest.raises(FeatureStoreError, match=r"1 of 2 items.*'zz'"):
        item_feature_matrix(store, ["a", "zz"])
    matrix, _ = item_feature_matrix(store, ["a", "zz"], missing="zeros")
    np.testing.assert_array_equal(matrix, [[1, 10, 11], [0, 0, 0]])
    with pytest.raises(FeatureStoreError, match="no modality"):
        item_feature_matrix(store, ["a"], modalities=["audio"])


def test_tables_in_memory_work_like_a_store(store):
    tables = {"text": FeatureTable(np.array(["a", "b"], dtype=object), np.array([[1.0], [2.0]]))}
    matrix, dims = item_feature_matrix(tables, ["b", "a"])
    np.testing.assert_array_equal(matrix, [[2.0], [1.0]])
    with pytest.raises(FeatureStoreError, match="'q'"):
        item_feature_matrix(tables, ["q"])


def test_text_features_need_text_for_every_item():
    texts = {"a": "red pen ink", "b": "blue pen ink", "c": ""}
    with pytest.raises(ValueError, match=r"1 of 3 items have no text, e\.g\. \['c'\]"):
        text_features_from_side_info(texts, ["a", "b", "c"], dim=4, epochs=2)
    table, _ = text_features_from_side_info(texts, ["b", "a"], dim=4, epochs=2, seed=1)
    assert list(table.keys) == ["b", "a"] and table.values.shape == (2, 4)
