"""Loaders of the MAML authors' files: a gensim Doc2Vec model, a pickled dict in an .npy
file (refused unless pickle is allowed) and asin_sample.json, on files written here."""

import json

import numpy as np
import pytest

from tfrec.features import load_asin_sample
from tfrec.features import load_doc2vec_model_features
from tfrec.features import load_image_feature_npy

DOCUMENTS = {
    "B001": "red stapler for the office desk",
    "B002": "blue ballpoint pens pack of ten",
    "B003": "recycled printer paper ream",
    "B004": "wooden desk organiser with drawers",
    "B005": "black ink cartridge for printers",
}


@pytest.fixture(scope="module")
def doc2vec_model(tmp_path_factory):
    from gensim.models.doc2vec import Doc2Vec
    from gensim.models.doc2vec import TaggedDocument

    documents = [TaggedDocument(text.split(), [asin]) for asin, text in DOCUMENTS.items()]
    model = Doc2Vec(documents, vector_size=6, min_count=1, epochs=3, seed=0, workers=1)
    path = tmp_path_factory.mktemp("maml") / "doc2vecFile"
    model.save(str(path))
    return path, model


def test_doc2vec_vectors_keyed_by_tags(doc2vec_model):
    path, model = doc2vec_model
    table = load_doc2vec_model_features(path)
    assert table.keys.tolist() == list(DOCUMENTS)
    assert table.values.shape == (5, 6) and table.values.dtype == np.float32
    for row, asin in enumerate(DOCUMENTS):
        np.testing.assert_array_equal(table.values[row], model.dv[asin])


def test_doc2vec_keys_select_and_order(doc2vec_model):
    path, model = doc2vec_model
    table = load_doc2vec_model_features(path, keys=["B004", "B001"])
    assert table.keys.tolist() == ["B004", "B001"]
    np.testing.assert_array_equal(table.values, np.stack([model.dv["B004"], model.dv["B001"]]))
    with pytest.raises(
        ValueError, match=r"no vector for 2 of 3 requested keys, e.g. \['X9', 'Y'\]"
    ):
        load_doc2vec_model_features(path, keys=["B001", "X9", "Y"])


def test_doc2vec_integer_tags_become_strings(tmp_path):
    from gensim.models.doc2vec import Doc2Vec
    from gensim.models.doc2vec import TaggedDocument

    documents = [TaggedDocument(text.split(), [i]) for i, text in enumerate(DOCUMENTS.values())]
    model = Doc2Vec(documents, vector_size=4, min_count=1, epochs=2, seed=0, workers=1)
    model.save(str(tmp_path / "model"))
    table = load_doc2vec_model_features(tmp_path / "model", keys=["2", "0"])
    np.testing.assert_array_equal(table.values, np.stack([model.dv[2], model.dv[0]]))


def test_doc2vec_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nothing: no such file"):
        load_doc2vec_model_features(tmp_path / "nothing")
    (tmp_path / "junk").write_bytes(b"not a pickle at all")
    with pytest.raises(ValueError, match=r"junk: not a gensim Doc2Vec model"):
        load_doc2vec_model_features(tmp_path / "junk")


def _save_dict(path, features):
    np.save(path, features, allow_pickle=True)
    return path


def test_image_dict_round_trip_needs_explicit_opt_in(tmp_path):
    features = {
        "B002": np.arange(4, dtype=np.float32),
        "B001": [0.5, -1.0, 2.0, 3.0],  # A plain list, as some pickles hold.
        "B003": np.ones((1, 4)),  # A [1, dims] Caffe blob.
    }
    path = _save_dict(tmp_path / "image_feature.npy", features)
    with pytest.raises(ValueError) as error:
        load_image_feature_npy(path)
    message = str(error.value)
    assert "image_feature.npy: this .npy file holds pickled Python objects" in message
    assert "can execute arbitrary code" in message
    assert "`allow_pickle=True`" in message and "--allow-pickle" in message
    table = load_image_feature_npy(path, allow_pickle=True)
    assert table.keys.tolist() == ["B002", "B001", "B003"]
    np.testing.assert_array_equal(table.values, [[0, 1, 2, 3], [0.5, -1, 2, 3], [1, 1, 1, 1]])
    selected = load_image_feature_npy(path, allow_pickle=True, keys=["B003", "B002"])
    np.testing.assert_array_equal(selected.values, [[1, 1, 1, 1], [0, 1, 2, 3]])


def test_image_dict_bytes_keys_are_decoded(tmp_path):
    """Python 2 `str` keys may come back as bytes; they become text keys."""
    path = _save_dict(tmp_path / "py2.npy", {b"B001": np.ones(2), b"B002": np.zeros(2)})
    assert load_image_feature_npy(path, allow_pickle=True).keys.tolist() == ["B001", "B002"]


@pytest.mark.parametrize(
    ("features", "pattern"),
    [
        ({"A": np.zeros(4), "B": np.zeros(3)}, r"vector of 'B' has 3 values but that of 'A' has 4"),
        ({"A": np.zeros(2), "B": np.array([1.0, np.nan])}, r"NaN or infinite .* \['B'\]"),
        ({"A": np.zeros(2), "B": "text"}, r"value of 'B' is not a numeric vector"),
        ({"A": np.zeros((2, 2))}, r"vector of 'A' has shape \(2, 2\)"),
        ({}, r"the feature dict is empty"),
    ],
)
def test_image_dict_errors_name_the_asin(tmp_path, features, pattern):
    path = _save_dict(tmp_path / "f.npy", features)
    with pytest.raises(ValueError, match=pattern):
        load_image_feature_npy(path, allow_pickle=True)


def test_plain_array_needs_one_key_per_row(tmp_path):
    values = np.arange(6, dtype=np.float32).reshape(3, 2)
    np.save(tmp_path / "image_feat.npy", values)
    table = load_image_feature_npy(tmp_path / "image_feat.npy", keys=["a", "b", "c"])
    assert table.keys.tolist() == ["a", "b", "c"]
    np.testing.assert_array_equal(table.values, values)
    with pytest.raises(ValueError, match=r"plain \[3, 2\] array has no item keys; received 2"):
        load_image_feature_npy(tmp_path / "image_feat.npy", keys=["a", "b"])
    np.save(tmp_path / "list.npy", np.array(["x", "y"], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match=r"list.npy: expected a pickled dict"):
        load_image_feature_npy(tmp_path / "list.npy", allow_pickle=True)
    (tmp_path / "text.npy").write_text("hello")
    with pytest.raises(ValueError, match=r"text.npy: not an .npy file"):
        load_image_feature_npy(tmp_path / "text.npy")


def test_asin_sample_list_or_object(tmp_path):
    (tmp_path / "list.json").write_text(json.dumps(["B002", "B001"]))
    assert load_asin_sample(tmp_path / "list.json") == ["B002", "B001"]
    (tmp_path / "dict.json").write_text(json.dumps({"B009": 1, "B001": 0, "B005": "any"}))
    assert load_asin_sample(tmp_path / "dict.json") == ["B009", "B001", "B005"]
    (tmp_path / "dup.json").write_text(json.dumps(["B1", "B2", "B1"]))
    with pytest.raises(ValueError, match=r"dup.json: the key 'B1' appears twice"):
        load_asin_sample(tmp_path / "dup.json")
    (tmp_path / "bad.json").write_text(json.dumps(["B1", None]))
    with pytest.raises(ValueError, match=r"bad.json: entry 1 is None"):
        load_asin_sample(tmp_path / "bad.json")
    (tmp_path / "num.json").write_text("3")
    with pytest.raises(ValueError, match=r"num.json: expected a JSON list .* found a JSON int"):
        load_asin_sample(tmp_path / "num.json")
