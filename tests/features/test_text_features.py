"""Doc2Vec (PV-DM) text features: seeded, semantic on real Office text; the CLI end to end."""

import numpy as np
import pytest

from tfrec.cli.main import main
from tfrec.data.errors import DataFormatError
from tfrec.features import doc2vec_features
from tfrec.features import read_features
from tfrec.features import read_provenance
from tfrec.features import read_text_file


def test_same_seed_same_vectors_and_pv_dm():
    texts = {"a": "red stapler office", "b": "blue stapler desk", "c": "paper ream office"}
    first, model = doc2vec_features(texts, dim=8, epochs=5, min_count=1, seed=3)
    second, _ = doc2vec_features(texts, dim=8, epochs=5, min_count=1, seed=3)
    np.testing.assert_array_equal(first.values, second.values)
    assert first.keys.tolist() == ["a", "b", "c"] and first.values.shape == (3, 8)
    assert model.dm == 1  # PV-DM


def test_office_text_vectors_group_items_by_category(shared_data_dir):
    """On the real LRD Office text, items of a category are closer than random pairs."""
    import pandas as pd

    office = shared_data_dir / "ysh1998_LRD_Office"
    texts = read_text_file(office / "Office.text")
    assert len(texts) == 2420
    table, _ = doc2vec_features(texts, dim=32, epochs=20, seed=0)
    index = pd.read_csv(office / "Office.item2index", sep="\t", header=None, names=["asin", "id"])
    meta = pd.read_csv(office / "item_meta.csv", sep="\t")
    category = dict(
        zip(
            index.asin,
            index.id.map(dict(zip(meta.item_id, meta.i_category, strict=True))),
            strict=True,
        )
    )
    labels = np.array([category.get(k, -1) for k in table.keys])
    vectors = table.values / np.linalg.norm(table.values, axis=1, keepdims=True)
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, len(labels), (2, 20000))
    keep = (labels[a] >= 0) & (labels[b] >= 0) & (a != b)
    cosine = (vectors[a[keep]] * vectors[b[keep]]).sum(1)
    same = labels[a[keep]] == labels[b[keep]]
    assert cosine[same].mean() > cosine[~same].mean() + 0.05


def test_read_text_file_errors_name_the_line(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("id\ttext\nA1\tfirst item\nA2 second item without tab\n")
    with pytest.raises(DataFormatError, match=r"t.txt, line 3: expected `key<TAB>text`"):
        read_text_file(path)
    path.write_text("A1\tone\nA1\tagain\n")
    with pytest.raises(DataFormatError, match=r"line 2, column 1: item 'A1' appears twice"):
        read_text_file(path)


def test_cli_features_text(tmp_path):
    source = tmp_path / "items.txt"
    source.write_text(
        "id\ttext\n" + "".join(f"I{i}\tword{i % 5} common text {i}\n" for i in range(40))
    )
    output = tmp_path / "features.h5"
    code = main(
        [
            "features",
            "text",
            "--input",
            str(source),
            "--output",
            str(output),
            "--dim",
            "16",
            "--epochs",
            "3",
        ]
    )
    assert code == 0
    loaded = read_features(output, required_keys=[f"I{i}" for i in range(40)])
    assert loaded["text"].values.shape == (40, 16)
    record = read_provenance(output)["text"]
    assert record["parameters"]["dim"] == 16 and record["extractor"].startswith("gensim Doc2Vec")
    assert (tmp_path / "features.doc2vec").exists()
