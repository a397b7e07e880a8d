"""ACF component features: ResNet region maps and Word2Vec token vectors in component stores."""

import keras
import numpy as np
import pytest

from tests.features.test_image_features import _write_images
from tfrec.features import load_image
from tfrec.features.component_features import build_region_backbone
from tfrec.features.component_features import cnn_region_components
from tfrec.features.component_features import item_tokens
from tfrec.features.component_features import token_components
from tfrec.features.component_features import write_token_components
from tfrec.features.component_store import ComponentStore


def test_regions_are_the_last_conv_map_row_major(tmp_path):
    folder = _write_images(tmp_path / "images", ["b.png", "a.jpg", "c.png"], size=(48, 40))
    path = tmp_path / "regions.h5"
    record = cnn_region_components(
        folder, path, backbone="resnet50", weights=None, batch_size=2, progress=False
    )
    assert record["parameters"]["backbone"] == "resnet50"
    store = ComponentStore(path, ["a", "b", "c", "missing"])
    assert (store.max_components, store.dim) == (49, 2048) and store.dtype == np.float16
    assert store.counts.tolist() == [49, 49, 49, 0] and store.missing == ["missing"]
    values, mask = store.gather(np.array([0]))
    model = build_region_backbone("resnet50", weights=None)
    image = keras.applications.resnet.preprocess_input(load_image(folder / "a.jpg")[None])
    expected = keras.ops.convert_to_numpy(model.predict_on_batch(image))  # [1, 7, 7, 2048]
    np.testing.assert_allclose(
        values[0].astype(np.float32), expected.reshape(49, 2048), rtol=2e-3, atol=2e-3
    )
    assert mask.all()


def test_unreadable_images_get_no_components(tmp_path):
    folder = _write_images(tmp_path / "images", ["good.png", "bad.jpg"], size=(32, 32))
    (folder / "bad.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match=r"bad\.jpg: cannot read the image"):
        cnn_region_components(folder, tmp_path / "r.h5", backbone="resnet50", weights=None)
    assert not (tmp_path / "r.h5").exists()
    with pytest.warns(UserWarning, match="Skipped 1 unreadable images"):
        cnn_region_components(
            folder,
            tmp_path / "r.h5",
            backbone="resnet50",
            weights=None,
            progress=False,
            skip_unreadable=True,
        )
    store = ComponentStore(tmp_path / "r.h5", ["bad", "good"])
    assert store.counts.tolist() == [0, 49]
    assert store.provenance["num_skipped"] == 1


def test_token_components_are_word_vectors_of_distinct_known_tokens():
    tokens = {
        "a": ["red", "shoe", "red", "lace"],
        "b": ["blue", "shoe"],
        "c": ["red", "blue", "shoe", "rare"],
        "d": ["rare2"],
    }
    components, record = token_components(tokens, dim=8, max_components=2, min_count=2, epochs=5)
    # "red", "shoe" (first seen, repeats dropped), then cut to 2; "lace"/"rare"/"rare2" unknown.
    assert components["a"].shape == (2, 8) and components["b"].shape == (2, 8)
    assert components["d"].shape == (0, 8)
    np.testing.assert_array_equal(components["a"][1], components["b"][1])  # both "shoe"
    np.testing.assert_array_equal(components["a"][0], components["c"][0])  # both "red"
    assert record["vocabulary_size"] == 3 and record["items_without_tokens"] == 1
    assert record["items_cut_to_max_components"] == 1  # c: red, blue, shoe
    *_, kept = token_components(
        tokens, dim=8, max_components=2, min_count=2, epochs=5, return_tokens=True
    )
    assert kept == {"a": ["red", "shoe"], "b": ["blue", "shoe"], "c": ["red", "blue"], "d": []}


def test_item_tokens_and_store_from_a_dataset(tmp_path):
    import dataclasses

    from tfrec.data.interactions import ItemSideInfo
    from tfrec.data.synthetic import make_synthetic

    data = make_synthetic(num_users=20, num_items=30, interactions_per_user=3, num_clusters=3)
    words = ["red", "blue", "green", "shoe", "boot", "lace", "silk"]
    text = {
        key: " ".join(words[(k + j) % 7] for j in range(4)) for k, key in enumerate(data.item_keys)
    }
    data = dataclasses.replace(data, item_side=ItemSideInfo(text=text))
    tokens, source = item_tokens(data)
    assert (
        source == "text" and len(tokens) == 30 and tokens["i0"] == ["red", "blue", "green", "shoe"]
    )
    record = write_token_components(data, tmp_path / "t.h5", dim=6, max_components=5)
    store = ComponentStore(tmp_path / "t.h5", data.item_keys)
    assert store.dim == 6 and store.max_components == 4 and not store.missing
    assert (store.counts == 4).all()
    assert record["source"] == "synthetic: item_side.text"
    with pytest.raises(ValueError, match="has no item tags"):
        item_tokens(data, "tags")
