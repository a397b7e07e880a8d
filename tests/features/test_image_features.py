"""CNN image features: shapes, stem keys, determinism, equality with a direct model call,
and errors that name the offending files. Random weights only (no download)."""

import keras
import numpy as np
import pytest
from PIL import Image

from tfrec.features import build_image_backbone
from tfrec.features import cnn_image_features
from tfrec.features import load_image


def _write_images(folder, names, size=(40, 30)):
    """Small images with distinct content (a colour gradient shifted per file)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for name in names:
        pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / name)
    return folder


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    _write_images(folder, ["B003.png", "B001.jpg", "B002.JPEG", "B004.bmp"])
    (folder / "notes.txt").write_text("not an image")
    return folder


@pytest.fixture(scope="module")
def resnet_features(image_dir):
    return cnn_image_features(image_dir, backbone="resnet50", weights=None, batch_size=3)


def test_resnet50_shape_keys_and_provenance(resnet_features):
    table, provenance = resnet_features
    assert table.keys.tolist() == ["B001", "B002", "B003", "B004"]
    assert table.values.shape == (4, 2048) and table.values.dtype == np.float32
    assert np.isfinite(table.values).all()
    assert not np.allclose(table.values[0], table.values[1])  # Distinct images, distinct rows.
    assert provenance["parameters"]["backbone"] == "resnet50"
    assert provenance["parameters"]["weights"] == "random (seed 0)"
    assert provenance["num_images"] == 4 and provenance["num_ignored_files"] == 1
    assert provenance["skipped"] == []


def test_same_inputs_same_values_across_calls_and_batch_sizes(image_dir, resnet_features):
    again, _ = cnn_image_features(
        image_dir, backbone="resnet50", weights=None, batch_size=4, progress=False
    )
    np.testing.assert_allclose(again.values, resnet_features[0].values, rtol=1e-4, atol=1e-5)


def test_equals_a_direct_model_call(image_dir, resnet_features):
    image = keras.utils.img_to_array(
        keras.utils.load_img(
            image_dir / "B003.png", target_size=(224, 224), interpolation="bilinear"
        )
    )
    np.testing.assert_array_equal(load_image(image_dir / "B003.png"), image)
    model = build_image_backbone("resnet50", weights=None)
    direct = keras.ops.convert_to_numpy(
        model(keras.applications.resnet50.preprocess_input(image[None].copy()), training=False)
    )
    row = resnet_features[0].keys.tolist().index("B003")
    np.testing.assert_allclose(resnet_features[0].values[row], direct[0], rtol=1e-4, atol=1e-5)


def test_vgg16_fc2_is_4096_wide(tmp_path):
    folder = _write_images(tmp_path, ["a.png", "b.gif"], size=(8, 8))
    table, provenance = cnn_image_features(folder, weights=None, progress=False)
    assert table.keys.tolist() == ["a", "b"] and table.values.shape == (2, 4096)
    assert (table.values >= 0).all()  # fc2 is taken after its ReLU, as Caffe's fc7 blob.
    assert provenance["extractor"].startswith("keras.applications.VGG16, layer fc2")


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_image_is_named_or_skipped(tmp_path, damage):
    folder = _write_images(tmp_path, ["good.png", "broken.jpg"], size=(64, 64))
    content = (folder / "broken.jpg").read_bytes()
    if damage == "garbage":
        content = b"\xff\xd8\xff\xe0 definitely not a jpeg"
    (folder / "broken.jpg").write_bytes(content[: len(content) // 2])
    with pytest.raises(ValueError, match=r"broken\.jpg: cannot read the image .*skip_unreadable"):
        cnn_image_features(folder, backbone="resnet50", weights=None, progress=False)
    with pytest.warns(UserWarning, match=r"Skipped 1 unreadable images: .*broken\.jpg"):
        table, provenance = cnn_image_features(
            folder, backbone="resnet50", weights=None, progress=False, skip_unreadable=True
        )
    assert table.keys.tolist() == ["good"]
    assert provenance["num_skipped"] == 1 and provenance["skipped"][0].endswith("broken.jpg")


def test_duplicate_stems_name_both_files(tmp_path):
    folder = _write_images(tmp_path, ["a.jpg", "a.png"], size=(8, 8))
    with pytest.raises(ValueError, match=r"item key 'a': .*a\.jpg and .*a\.png"):
        cnn_image_features(folder, weights=None)


def test_argument_errors(tmp_path):
    folder = _write_images(tmp_path / "imgs", ["a.png"], size=(8, 8))
    with pytest.raises(ValueError, match=r"`backbone='vgg19'`. Expected one of"):
        cnn_image_features(folder, backbone="vgg19", weights=None)
    with pytest.raises(FileNotFoundError, match=r"missing\.h5: no such weights file"):
        cnn_image_features(folder, weights=tmp_path / "missing.h5")
    with pytest.raises(ValueError, match=r"unsupported image extension '\.tiff'"):
        cnn_image_features([tmp_path / "x.tiff"], weights=None)
    with pytest.raises(ValueError, match=r"empty: no images"):
        (tmp_path / "empty").mkdir()
        cnn_image_features(tmp_path / "empty", weights=None)
    with pytest.raises(ValueError, match=r"`batch_size=0`"):
        cnn_image_features(folder, weights=None, batch_size=0)


def test_weights_file_is_loaded(tmp_path):
    """A local weights file gives exactly the model it was saved from."""
    folder = _write_images(tmp_path / "imgs", ["a.png"], size=(8, 8))
    model = build_image_backbone("resnet50", weights=None, seed=7)
    path = tmp_path / "resnet.weights.h5"
    model.save_weights(path)
    table, provenance = cnn_image_features(
        [folder / "a.png"], backbone="resnet50", weights=path, progress=False
    )
    image = keras.applications.resnet50.preprocess_input(load_image(folder / "a.png")[None])
    expected = keras.ops.convert_to_numpy(model(image, training=False))
    np.testing.assert_allclose(table.values, expected, rtol=1e-4, atol=1e-5)
    assert provenance["parameters"]["weights"] == str(path.resolve())
