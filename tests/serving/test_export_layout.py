"""The export's files: versions, models.config, atomicity, warm-up records, argument errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from tfrec.data.synthetic import make_synthetic
from tfrec.models import BPR
from tfrec.models import CML
from tfrec.serving import export_model
from tfrec.serving import exporter
from tfrec.serving import get_scorer
from tfrec.serving import next_version
from tfrec.serving import read_models_config
from tfrec.serving import update_models_config


@pytest.fixture(scope="module")
def data():
    return make_synthetic(num_users=30, num_items=20, interactions_per_user=5, num_clusters=2)


@pytest.fixture(scope="module")
def model(data):
    return CML(data.num_users, data.num_items, embedding_dim=4)


def test_versions_count_up_and_models_config_lists_every_model(tmp_path, data, model):
    first = export_model(model, data, tmp_path, name="office-cml", warmup=False)
    second = export_model(model, data, tmp_path, name="office-cml", warmup=False)
    other = export_model(model, data, tmp_path, name="bpr", version=7, warmup=False)
    assert (first, second, other) == (
        tmp_path / "office-cml" / "1",
        tmp_path / "office-cml" / "2",
        tmp_path / "bpr" / "7",
    )
    assert (second / "saved_model.pb").is_file() and (second / "variables").is_dir()
    config = (tmp_path / "models.config").read_text()
    assert config == (
        "model_config_list {\n"
        "  config {\n"
        '    name: "office-cml"\n'
        f'    base_path: "{(tmp_path / "office-cml").resolve()}"\n'
        '    model_platform: "tensorflow"\n'
        "  }\n"
        "  config {\n"
        '    name: "bpr"\n'
        f'    base_path: "{(tmp_path / "bpr").resolve()}"\n'
        '    model_platform: "tensorflow"\n'
        "  }\n"
        "}\n"
    )
    # Re-exporting with another serving root updates that entry only.
    export_model(model, data, tmp_path, name="bpr", warmup=False, serving_base_path="/models/")
    assert read_models_config(tmp_path / "models.config") == {
        "office-cml": str((tmp_path / "office-cml").resolve()),
        "bpr": "/models/bpr",
    }
    assert sorted(p.name for p in (tmp_path / "bpr").iterdir()) == ["7", "8"]
    info = json.loads((first / "assets.extra" / "tfrec_export.json").read_text())
    assert info["model_class"] == "tfrec.models.cml.CML"
    assert (info["num_users"], info["num_items"]) == (30, 20)
    assert info["train_interactions"] == data.train.nnz


def test_models_config_keeps_entries_and_options_written_by_hand(tmp_path):
    (tmp_path / "models.config").write_text(
        'model_config_list { config { name: "a" base_path: "/x/a" model_platform: "tensorflow"'
        " model_version_policy { all {} } } }\n"
    )
    update_models_config(tmp_path, "b", "/x/b")
    update_models_config(tmp_path, "a", "/y/a")
    text = (tmp_path / "models.config").read_text()
    assert read_models_config(tmp_path / "models.config") == {"a": "/y/a", "b": "/x/b"}
    assert "model_version_policy" in text and "all {" in text
    (tmp_path / "models.config").write_text("not a config {")
    with pytest.raises(ValueError, match="unreadable"):
        update_models_config(tmp_path, "c", "/x/c")


def test_next_version_ignores_non_integer_and_temporary_folders(tmp_path):
    assert next_version(tmp_path / "missing") == 1
    for name in ("1", "3", "10", "latest", ".export-abc", "2.5"):
        (tmp_path / name).mkdir()
    (tmp_path / "12").write_text("a file, not a version")
    assert next_version(tmp_path) == 11


def test_existing_version_is_never_overwritten(tmp_path, data, model):
    export_model(model, data, tmp_path, name="m", version=2, warmup=False)
    marker = tmp_path / "m" / "2" / "saved_model.pb"
    before = marker.read_bytes()
    with pytest.raises(ValueError, match="exports are never overwritten"):
        export_model(model, data, tmp_path, name="m", version=2, warmup=False)
    assert marker.read_bytes() == before
    assert export_model(model, data, tmp_path, name="m", warmup=False).name == "3"


def test_interrupted_export_leaves_no_partial_version(tmp_path, data, model, monkeypatch):
    export_model(model, data, tmp_path, name="m", warmup=False)
    config_before = (tmp_path / "models.config").read_text()

    def fail_after_saving(directory, *args, **kwargs):
        assert (directory / "saved_model.pb").is_file()  # The SavedModel was written.
        raise KeyboardInterrupt("interrupted mid-export")

    monkeypatch.setattr(exporter, "write_warmup_requests", fail_after_saving)
    with pytest.raises(KeyboardInterrupt):
        export_model(model, data, tmp_path, name="m", warmup=True)
    with pytest.raises(KeyboardInterrupt):
        export_model(model, data, tmp_path, name="new", warmup=True)
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["1"]
    assert list((tmp_path / "new").iterdir()) == []
    assert (tmp_path / "models.config").read_text() == config_before


def test_warmup_records_are_prediction_logs(tmp_path, data, model):
    from tensorflow_serving.apis import prediction_log_pb2

    export_dir = export_model(model, data, tmp_path, name="office")
    path = export_dir / "assets.extra" / "tf_serving_warmup_requests"
    logs = [
        prediction_log_pb2.PredictionLog.FromString(record.numpy())
        for record in tf.data.TFRecordDataset(str(path))
    ]
    requests = [log.predict_log.request for log in logs]
    assert [(r.model_spec.name, r.model_spec.signature_name) for r in requests] == [
        ("office", "serving_default"),
        ("office", "serving_default"),
        ("office", "score"),
    ]
    assert tf.make_ndarray(requests[1].inputs["user_keys"]).tolist() == [
        b"u0",
        b"u1",
        b"<unknown user>",
    ]
    assert tf.make_ndarray(requests[1].inputs["k"]) == np.int32(10)
    assert tf.make_ndarray(requests[2].inputs["item_keys"]).shape == (3, 3)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"name": "a/b"}, "name='a/b'"),
        ({"name": ""}, "name=''"),
        ({"name": "m", "version": 0}, "version=0"),
        ({"name": "m", "version": 1.5}, "version=1.5"),
    ],
)
def test_bad_names_and_versions(tmp_path, data, model, kwargs, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        export_model(model, data, tmp_path, **kwargs)
    assert not any(tmp_path.iterdir())


def test_model_and_data_must_agree_and_the_class_must_have_a_scorer(tmp_path, data, model):
    other = make_synthetic(num_users=31, num_items=20, interactions_per_user=5, num_clusters=2)
    with pytest.raises(ValueError, match="one row per key"):
        export_model(model, other, tmp_path, name="m")

    class Unregistered(CML):
        pass

    assert get_scorer(Unregistered(2, 3, embedding_dim=2)) is get_scorer(model)  # Subclass.
    with pytest.raises(ValueError, match="SCORERS"):
        get_scorer(object())


def test_default_name_is_the_class_name(tmp_path, data):
    bpr = BPR(data.num_users, data.num_items, embedding_dim=4, item_bias=True)
    assert export_model(bpr, data, tmp_path, warmup=False) == tmp_path / "bpr" / "1"
