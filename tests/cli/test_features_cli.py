"""`tfrec features images | import`: stores with provenance, --append, one-line errors."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from PIL import Image

from tfrec.cli.main import main
from tfrec.data.interactions import FeatureTable
from tfrec.features import read_features
from tfrec.features import read_provenance
from tfrec.features import write_features


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(["features", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def image_dir(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ["B002.png", "B001.jpg"]:
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(folder / name)
    return folder


@pytest.fixture
def authors_files(tmp_path):
    from gensim.models.doc2vec import Doc2Vec
    from gensim.models.doc2vec import TaggedDocument

    texts = {"B001": "red stapler", "B002": "blue pens", "B003": "printer paper"}
    documents = [TaggedDocument(text.split(), [asin]) for asin, text in texts.items()]
    model = Doc2Vec(documents, vector_size=4, min_count=1, epochs=2, seed=0, workers=1)
    model.save(str(tmp_path / "doc2vecFile"))
    image = {asin: np.full(3, index, dtype=np.float32) for index, asin in enumerate(texts)}
    np.save(tmp_path / "image_feature.npy", image, allow_pickle=True)
    (tmp_path / "asin_sample.json").write_text('{"B003": 0, "B001": 1}')
    return tmp_path, model


def test_images_writes_modality_image_with_provenance(capsys, tmp_path, image_dir):
    output = tmp_path / "features.h5"
    code, out, err = _run(
        capsys,
        "images",
        "--input",
        str(image_dir),
        "--output",
        str(output),
        "--backbone",
        "resnet50",
        "--weights",
        "none",
        "--batch-size",
        "1",
        "--float16",
        "--no-progress",
    )
    assert code == 0, err
    assert "'image': 2 x 2048" in out
    table = read_features(output, required_keys=["B001", "B002"])["image"]
    assert table.keys.tolist() == ["B001", "B002"] and table.values.shape == (2, 2048)
    with h5py.File(output) as handle:
        assert handle["image/values"].dtype == np.float16
    record = read_provenance(output)["image"]
    assert record["parameters"]["backbone"] == "resnet50"
    assert record["parameters"]["weights"] == "random (seed 0)"
    assert record["source"] == str(image_dir.resolve())


def test_images_unreadable_file_is_one_line_error(capsys, tmp_path, image_dir):
    (image_dir / "B003.png").write_bytes(b"not a png")
    code, out, err = _run(
        capsys,
        "images",
        "--input",
        str(image_dir),
        "--output",
        str(tmp_path / "f.h5"),
        "--backbone",
        "resnet50",
        "--weights",
        "none",
        "--no-progress",
    )
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "B003.png: cannot read the image" in err
    assert not (tmp_path / "f.h5").exists()


def test_import_both_files_restricted_to_asin_sample(capsys, tmp_path, authors_files):
    folder, model = authors_files
    output = tmp_path / "store.h5"
    code, out, err = _run(
        capsys,
        "import",
        "--doc2vec",
        str(folder / "doc2vecFile"),
        "--image-npy",
        str(folder / "image_feature.npy"),
        "--allow-pickle",
        "--asin-sample",
        str(folder / "asin_sample.json"),
        "--output",
        str(output),
    )
    assert code == 0, err
    tables = read_features(output)
    assert tables["text"].keys.tolist() == ["B003", "B001"]
    np.testing.assert_array_equal(
        tables["text"].values, np.stack([model.dv["B003"], model.dv["B001"]])
    )
    np.testing.assert_array_equal(tables["image"].values, [[2, 2, 2], [0, 0, 0]])
    records = read_provenance(output)
    assert records["image"]["extractor"].startswith("imported: np.save'd dict")
    assert len(records["text"]["source_files"][0]["sha256"]) == 64
    assert records["text"]["asin_sample"]["path"].endswith("asin_sample.json")


def test_import_pickle_needs_the_flag(capsys, tmp_path, authors_files):
    folder, _ = authors_files
    code, out, err = _run(
        capsys,
        "import",
        "--image-npy",
        str(folder / "image_feature.npy"),
        "--output",
        str(tmp_path / "s.h5"),
    )
    assert code == 2 and "can execute arbitrary code" in err and "--allow-pickle" in err
    assert not (tmp_path / "s.h5").exists()
    code, _, err = _run(capsys, "import", "--output", str(tmp_path / "s.h5"))
    assert code == 2 and "nothing to import" in err


def test_append_keeps_other_modalities(capsys, tmp_path, authors_files):
    folder, model = authors_files
    output = tmp_path / "store.h5"
    old_text = FeatureTable(np.asarray(["X"], dtype=object), np.ones((1, 2), np.float32))
    old_image = FeatureTable(np.asarray(["Y"], dtype=object), np.ones((1, 5), np.float32))
    write_features(
        output,
        {"text": old_text, "image": old_image},
        provenance={"image": {"extractor": "old cnn"}},
    )
    code, out, err = _run(
        capsys,
        "import",
        "--doc2vec",
        str(folder / "doc2vecFile"),
        "--output",
        str(output),
        "--append",
    )
    assert code == 0, err
    assert "replacing modality ['text']" in out
    tables = read_features(output)
    assert tables["text"].keys.tolist() == ["B001", "B002", "B003"]
    np.testing.assert_array_equal(tables["image"].values, old_image.values)
    assert read_provenance(output)["image"]["extractor"] == "old cnn"
    # Without --append the store is replaced.
    code, _, err = _run(
        capsys, "import", "--doc2vec", str(folder / "doc2vecFile"), "--output", str(output)
    )
    assert code == 0, err
    assert sorted(read_features(output)) == ["text"]
