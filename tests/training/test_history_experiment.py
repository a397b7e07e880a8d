"""`run_history_experiment` end to end on a small synthetic leave-one-out split."""

import dataclasses
import json

import keras
import numpy as np
import pytest
import scipy.sparse as sp

from tfrec.data.synthetic import make_synthetic
from tfrec.evaluation.sampled import evaluate_sampled
from tfrec.models.fism import FISM
from tfrec.models.nais import NAIS
from tfrec.training.history_experiment import build_history_model
from tfrec.training.history_experiment import run_history_experiment
from tfrec.training.history_presets import history_training
from tfrec.training.presets import get_preset
from tfrec.training.presets import list_presets

KEYS = ("hr@10", "ndcg@10", "hr@20", "ndcg@20")


def leave_one_out_synthetic(seed=0):
    """Synthetic data with each user's lowest-id test item kept as test, the rest in train."""
    data = make_synthetic(
        num_users=120, num_items=150, interactions_per_user=8, num_clusters=4, seed=seed
    )
    test = data.test.tocsr()
    rows, columns = [], []
    extra = data.train.tolil()
    for user in range(data.num_users):
        items = test.indices[test.indptr[user] : test.indptr[user + 1]]
        if len(items):
            rows.append(user)
            columns.append(int(items.min()))
            for item in items[items != items.min()]:
                extra[user, item] = 1.0
    shape = data.train.shape
    single = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, columns)), shape=shape)
    train = extra.tocsr().astype(np.float32)
    train.sort_indices()
    return dataclasses.replace(data, train=train, test=single)


def small(model, name=None, **changes):
    return get_preset(model, name).replace(**{"epochs": 2, "batch_size": 128, **changes})


def test_presets_are_registered_with_their_training_settings():
    names = {(p.model, p.name) for p in list_presets() if p.model in ("fism", "nais", "iris")}
    assert {("fism", "code"), ("fism", "code-64"), ("nais", "code"), ("nais", "iris-paper-64")} <= (
        names
    )
    assert {("iris", "multimodal"), ("iris", "image-add-text-64"), ("iris", "image")} <= names
    fism = get_preset("fism")
    assert fism.name == "code" and fism.model_options["embedding_dim"] == 16
    assert (fism.optimizer, fism.learning_rate, fism.num_negatives) == ("adagrad", 0.01, 4)
    assert history_training(fism).optimizer_options["initial_accumulator_value"] == 1e-8
    nais = get_preset("nais")
    assert nais.model_options["beta"] == 0.5 and history_training(nais).pretrain == "fism"
    assert get_preset("nais", "iris-paper").model_options["beta"] == 0.8
    iris = get_preset("iris")
    assert iris.name == "multimodal" and iris.model_options["variant"] == "multimodal"
    assert (iris.optimizer, iris.learning_rate, iris.batch_size) == ("adam", 1e-3, 512)
    assert get_preset("iris", "image-64").model_options["embedding_dim"] == 64
    # A preset changed with `replace` keeps its training settings (looked up by name).
    assert history_training(nais.replace(epochs=1)).pretrain == "fism"


def test_build_applies_the_code_adagrad_constants():
    model = build_history_model(get_preset("fism"), 30)
    assert isinstance(model, FISM)
    assert model.optimizer.initial_accumulator_value == pytest.approx(1e-8)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.01)
    assert model.optimizer.epsilon == pytest.approx(1e-10)


@pytest.mark.parametrize("model_name", ["fism", "nais"])
def test_run_writes_metrics_and_a_loadable_model(tmp_path, model_name):
    data = leave_one_out_synthetic()
    assert data.test_negatives is None
    # NAIS pre-trains a 1-epoch FISM (the preset's own FISM runs 500 epochs).
    pretrain = small("fism", epochs=1) if model_name == "nais" else "auto"
    result = run_history_experiment(
        data,
        small(model_name),
        seed=1,
        output_dir=tmp_path,
        pretrain=pretrain,
        evaluate_every=1,
        verbose=0,
    )
    payload = json.loads((tmp_path / "metrics.json").read_text())
    for key in KEYS:
        assert 0.0 <= payload[key] <= 1.0
        assert payload[key] == pytest.approx(result.metrics[key])
        assert len(result.evaluation.per_user[key]) == len(data.test_users())
    assert payload["hr@20"] >= payload["hr@10"]
    assert len(payload["history"]["loss"]) == 2 and len(payload["history"]["hr@10"]) == 2
    assert payload["config"]["test_negatives"].startswith("99 per test user sampled here")
    assert payload["config"]["history_training"]["batching"] == "length"
    assert (payload["config"]["pretrain"] is not None) == (model_name == "nais")
    # The saved model scores the same candidates identically.
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert type(loaded).__name__ == model_name.upper()
    negatives = np.random.default_rng(0).integers(0, data.num_items, (data.num_users, 99))
    data = dataclasses.replace(data, test_negatives=negatives.astype(np.int32))
    again = evaluate_sampled(loaded.sampled_scorer(data.train), data, ks=(10, 20))
    first = evaluate_sampled(result.model.sampled_scorer(data.train), data, ks=(10, 20))
    assert again.metrics == pytest.approx(first.metrics)


def test_nais_starts_from_the_given_fism():
    data = leave_one_out_synthetic()
    fism = run_history_experiment(data, small("fism"), seed=0, verbose=0).model
    frozen = history_training(get_preset("nais"))
    assert not frozen.freeze_pretrained
    # Zero epochs of NAIS: its P, Q and b are exactly the FISM's.
    nais = run_history_experiment(
        data, small("nais", epochs=0), seed=5, pretrain=fism, verbose=0
    ).model
    assert isinstance(nais, NAIS)
    for name in ("history_embeddings", "target_embeddings", "item_bias"):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(getattr(nais, name)),
            keras.ops.convert_to_numpy(getattr(fism, name)),
        )
    # Without pre-training, the seed-5 initial tables differ from the FISM's.
    cold = run_history_experiment(data, small("nais", epochs=0), seed=5, pretrain=None, verbose=0)
    assert not np.allclose(
        keras.ops.convert_to_numpy(cold.model.target_embeddings),
        keras.ops.convert_to_numpy(fism.target_embeddings),
    )


def test_pretrain_fism_by_name_records_the_fism_run():
    data = leave_one_out_synthetic()
    result = run_history_experiment(
        data, small("nais", epochs=1), seed=0, pretrain=small("fism", epochs=1), verbose=0
    )
    record = result.config["pretrain"]
    assert record["from"] == "FISM trained here" and len(record["history"]["loss"]) == 1
    assert 0.0 <= record["metrics"]["hr@10"] <= 1.0


def test_multi_item_test_sets_are_refused():
    data = make_synthetic(num_users=50, num_items=40, interactions_per_user=8, num_clusters=2)
    with pytest.raises(ValueError, match="Expected a leave-one-out split"):
        run_history_experiment(data, small("fism"), verbose=0)


def test_unknown_pretrain_is_refused():
    with pytest.raises(ValueError, match="Expected 'auto', 'fism', None"):
        run_history_experiment(leave_one_out_synthetic(), small("nais"), pretrain="bpr", verbose=0)


def test_iris_trains_from_features_and_fism_factors(tmp_path):
    data = leave_one_out_synthetic()
    images = data.item_side.features["image"].aligned(data.item_keys)[0]
    texts = np.random.default_rng(0).normal(size=(data.num_items, 24)).astype(np.float32)
    fism = run_history_experiment(data, small("fism", epochs=1), seed=0, verbose=0).model
    preset = small("iris", epochs=0)
    result = run_history_experiment(
        data,
        preset,
        seed=2,
        output_dir=tmp_path,
        item_features={"image": images, "text": texts},
        pretrain=fism,
        verbose=0,
    )
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(result.model.history_embeddings),
        keras.ops.convert_to_numpy(fism.history_embeddings),
    )
    assert result.config["item_features"] == {"image": [150, 128], "text": [150, 24]}
    assert set(KEYS) <= set(json.loads((tmp_path / "metrics.json").read_text()))
    # One epoch of the IRIS paper's setting (Adam, no pre-training) trains and evaluates.
    trained = run_history_experiment(
        data,
        small("iris", epochs=1),
        item_features={"image": images, "text": texts},
        verbose=0,
    )
    assert trained.config["pretrain"] is None and len(trained.history["loss"]) == 1
    assert all(0.0 <= trained.metrics[key] <= 1.0 for key in KEYS)
    with pytest.raises(ValueError, match="Expected a dict with 'image' and/or 'text'"):
        run_history_experiment(data, preset, item_features=images, verbose=0)


@pytest.mark.parametrize("model", ["fism", "iris"])
def test_cli_trains_a_history_model(model, tmp_path, monkeypatch):
    """`tfrec train --model fism|iris`: the 1 + 99 protocol's four metrics in metrics.json;
    IRIS gets its modalities from a feature store (VISUAL,TEXT by --modalities)."""
    from tfrec.cli import common
    from tfrec.cli.main import main
    from tfrec.data.interactions import FeatureTable
    from tfrec.features import write_features

    data = leave_one_out_synthetic()
    monkeypatch.setattr(common, "load_interactions", lambda args: data)
    argv = ["train", "--model", model, "--dataset", "synthetic", "--output", str(tmp_path)]
    argv += ["--epochs", "1", "--batch-size", "128", "--quiet", "--pretrain", "none"]
    if model == "iris":
        image = data.item_side.features["image"]
        store = tmp_path / "features.h5"
        write_features(
            store, {"pixels": image, "words": FeatureTable(image.keys, image.values[:, :6])}
        )
        argv += ["--item-features", str(store), "--modalities", "pixels,words"]
    assert main(argv) == 0
    payload = json.loads((tmp_path / "metrics.json").read_text())
    assert all(0.0 <= payload[key] <= 1.0 for key in KEYS)
    assert payload["hr@20"] >= payload["hr@10"]
    if model == "iris":
        dims = payload["config"]["modality_dims"]
        assert dims["image"]["modality"] == "pixels" and dims["text"]["dims"] == 6
    # `tfrec evaluate` reloads the model and applies the same 1 + 99 protocol.
    again = tmp_path / "again.json"
    assert main(["evaluate", "--model-dir", str(tmp_path), "--output", str(again)]) == 0
    evaluated = json.loads(again.read_text())
    assert {key: evaluated[key] for key in KEYS} == pytest.approx({k: payload[k] for k in KEYS})


def with_validation(data):
    """Moves each user's highest-id training item (users with >= 3) to a validation split."""
    train = data.train.tolil()
    rows, columns = [], []
    for user in range(data.num_users):
        items = data.train[user].indices
        if len(items) >= 3:
            rows.append(user)
            columns.append(int(items.max()))
            train[user, int(items.max())] = 0
    train = sp.csr_matrix(train, dtype=np.float32)
    train.eliminate_zeros()
    validation = sp.csr_matrix(
        (np.ones(len(rows), np.float32), (rows, columns)), shape=data.train.shape
    )
    return dataclasses.replace(data, train=train, validation=validation)


def test_early_stopping_keeps_the_best_validation_epoch(tmp_path):
    from tfrec.data.splits import sample_test_negatives
    from tfrec.data.splits import validation_view

    data = sample_test_negatives(with_validation(leave_one_out_synthetic()), 99, seed=0)
    preset = small("fism", epochs=6)
    result = run_history_experiment(
        data, preset, seed=0, patience=1, output_dir=tmp_path, verbose=0
    )
    stopping = result.config["early_stopping"]
    curve = result.history["val_ndcg@10"]
    assert stopping["applied"] and stopping["epochs_trained"] == len(curve) == len(
        result.history["loss"]
    )
    best = int(np.argmax(curve))
    assert stopping["best_epoch"] == best + 1 and stopping["best_value"] == pytest.approx(
        curve[best]
    )
    # Stopped after `patience` epochs without improvement, or ran out of epochs.
    assert len(curve) == 6 or len(curve) == best + 2
    # The returned model holds the best epoch's weights: it scores exactly that value.
    view = validation_view(data, 99)
    again = evaluate_sampled(
        result.model.sampled_scorer(data.train, max_history_length=299, clip="first"),
        view,
        ks=(10,),
    )
    assert again.metrics["ndcg@10"] == pytest.approx(stopping["best_value"], abs=1e-9)
    saved = json.loads((tmp_path / "metrics.json").read_text())["config"]["early_stopping"]
    assert saved["best_epoch"] == stopping["best_epoch"]


def test_early_stopping_without_validation_trains_every_epoch(capsys):
    data = leave_one_out_synthetic()
    result = run_history_experiment(data, small("fism", epochs=2), patience=2, verbose=0)
    assert result.config["early_stopping"] == {
        "patience": 2,
        "applied": False,
        "reason": "no validation",
    }
    assert len(result.history["loss"]) == 2 and "no validation events" in capsys.readouterr().out
    # IRIS presets stop early by default (paper); FISM/NAIS code presets do not.
    assert history_training(get_preset("iris")).patience == 3
    assert history_training(get_preset("fism")).patience is None


def test_cli_trains_on_the_iris_split_and_evaluate_reuses_it(tmp_path, require_dataset):
    """`tfrec train --split leave-one-out-random` on the real ml-1m-sample: early stopping on
    the validation events; `tfrec evaluate` re-splits the same way and gets the same numbers."""
    from tfrec.cli.main import main

    require_dataset("ml-1m-sample")
    argv = ["train", "--model", "fism", "--dataset", "ml-1m-sample", "--output", str(tmp_path)]
    argv += ["--split", "leave-one-out-random", "--epochs", "2", "--patience", "1", "--quiet"]
    assert main(argv) == 0
    payload = json.loads((tmp_path / "metrics.json").read_text())
    config = payload["config"]
    assert config["registry_split"] == "leave-one-out-random"
    assert config["dataset_stats"]["validation"] == 5341
    assert config["early_stopping"]["applied"] and len(payload["history"]["val_hr@10"]) >= 1
    again = tmp_path / "again.json"
    assert main(["evaluate", "--model-dir", str(tmp_path), "--output", str(again)]) == 0
    evaluated = json.loads(again.read_text())
    assert {key: evaluated[key] for key in KEYS} == pytest.approx({k: payload[k] for k in KEYS})
