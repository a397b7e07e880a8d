"""MAML and FeatureCML through build_model, run_experiment and `tfrec train --item-features`."""

import json

import keras
import numpy as np
import pandas as pd
import pytest

from tfrec.cli.main import main
from tfrec.data.interactions import FeatureTable
from tfrec.data.synthetic import make_synthetic
from tfrec.evaluation import evaluate_full_ranking
from tfrec.features import read_features
from tfrec.features import write_features
from tfrec.training import build_model
from tfrec.training import get_preset
from tfrec.training.experiment import run_experiment

SMALL = dict(epochs=1, steps_per_epoch=3, batch_size=128)


@pytest.fixture(scope="module")
def data():
    return make_synthetic(num_users=120, num_items=70, interactions_per_user=8, num_clusters=3)


@pytest.mark.parametrize("model", ["maml", "cml-features"])
def test_run_experiment_with_features_round_trips(model, data, tmp_path):
    features = data.item_side.features["image"].aligned(data.item_keys)[0]
    preset = get_preset(model).replace(**SMALL)
    result = run_experiment(data, preset, seed=2, output_dir=tmp_path, item_features=features)
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(loaded.item_features), features.astype(np.float32)
    )
    again = evaluate_full_ranking(loaded.score_users_numpy, data, ks=(10,)).metrics
    assert again == pytest.approx({name: result.metrics[name] for name in again})


def test_build_model_checks_the_features(data):
    with pytest.raises(ValueError, match="needs item features"):
        build_model(get_preset("maml"), data.num_users, data.num_items)
    with pytest.raises(ValueError, match="takes no item features"):
        build_model(get_preset("cml"), data.num_users, data.num_items, item_features=np.ones((1,)))
    with pytest.raises(ValueError, match=r"Expected \(70, d_in\)"):
        build_model(get_preset("maml"), data.num_users, 70, item_features=np.ones((69, 4)))


def test_presets_hold_the_code_and_paper_settings():
    code, paper = get_preset("maml"), get_preset("maml", "paper")
    assert code.name == "code" and get_preset("maml", dataset="maml-office").name == "code"
    assert not code.model_options["train_attention_and_fusion"]
    assert paper.model_options["train_attention_and_fusion"]
    assert (code.model_options["feature_weight"], paper.model_options["feature_weight"]) == (5, 7)
    assert code.optimizer == "adam" and code.learning_rate == 1e-3 and code.batch_size == 5000
    toys = get_preset("maml", dataset="maml-toysgames")
    assert (toys.model_options["margin"], toys.num_negatives) == (1.5, 8)
    assert toys.model_options["feature_weight"] == 2.0
    assert get_preset("cml-features").model_options["covariance_weight"] == 1.0


@pytest.fixture
def files(tmp_path, data):
    for split in ("train", "test"):
        coo = getattr(data, split).tocoo()
        pd.DataFrame(
            {
                "itemID": coo.col,
                "userID": coo.row,
                "reviewerID": [f"R{u}" for u in coo.row],
                "asin": [data.item_keys[i] for i in coo.col],
            }
        ).to_csv(tmp_path / f"{split}.csv", index=False)
    image = data.item_side.features["image"]
    text = FeatureTable(image.keys, image.values[:, :5] * 2.0)
    write_features(tmp_path / "features.h5", {"image": image, "text": text})
    return tmp_path


def cli(files, output, *extra):
    argv = ["train", "--model", "maml", "--train", str(files / "train.csv"), "--test"]
    argv += [str(files / "test.csv"), "--format", "maml-csv", "--output", str(output)]
    argv += ["--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "64", "--quiet"]
    return main(argv + list(extra))


def test_cli_trains_maml_on_files_with_a_feature_store(files, data, tmp_path, capsys):
    store = files / "features.h5"
    assert cli(files, tmp_path / "out", "--item-features", str(store)) == 0
    payload = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert 0.0 <= payload["ndcg@10"] <= 1.0
    assert payload["config"]["modality_dims"] == {"text": 5, "image": 128}
    assert payload["config"]["preset"]["steps_per_epoch"] == 2
    model = keras.saving.load_model(tmp_path / "out" / "model.keras")
    assert model.feature_dim == 133
    # Only the image modality, chosen on the command line.
    assert cli(files, tmp_path / "img", "--item-features", str(store), "--modalities", "image") == 0
    payload = json.loads((tmp_path / "img" / "metrics.json").read_text())
    assert payload["config"]["modality_dims"] == {"image": 128}


def test_cli_feature_errors_are_one_line(files, tmp_path, capsys):
    assert cli(files, tmp_path / "a") == 2  # maml-csv files carry no item text.
    assert "needs item features" in capsys.readouterr().err
    partial = files / "partial.h5"
    image = read_features(files / "features.h5")["image"]
    write_features(partial, {"image": FeatureTable(image.keys[:-3], image.values[:-3])})
    assert cli(files, tmp_path / "b", "--item-features", str(partial)) == 2
    err = capsys.readouterr().err
    assert "has no features for 3 of 70 items" in err and "Traceback" not in err


def test_cli_builds_text_features_from_the_item_text(data, tmp_path, monkeypatch):
    """A dataset with item text needs no store: Doc2Vec vectors are built and saved."""
    from tfrec.cli import common

    monkeypatch.setattr(common, "load_interactions", lambda args: data)
    argv = ["train", "--model", "cml-features", "--dataset", "synthetic", "--output"]
    argv += [str(tmp_path), "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "64"]
    assert main(argv + ["--quiet", "--text-dim", "8"]) == 0
    tables = read_features(tmp_path / "item_features.h5")
    assert tables["text"].values.shape == (70, 8)
    assert list(tables["text"].keys) == list(data.item_keys)
    from gensim.models.doc2vec import Doc2Vec

    doc2vec = Doc2Vec.load(str(tmp_path / "item_features.doc2vec"))  # Saved beside them.
    assert doc2vec.vector_size == 8 and len(doc2vec.dv) == 70
