"""ACF / SVD++ exports: every signature against the in-memory model, in a fresh process.

One module fixture trains tiny models (full ACF, item attention with averaged components,
SVD++) a few steps on synthetic data with a small component store, exports them and calls
every signature in one fresh process with plain TensorFlow (no tfrec, no Keras).
"""

from __future__ import annotations

import os

import keras
import numpy as np
import pytest

from tests.serving.fresh_process import call_in_fresh_process
from tfrec.data.synthetic import make_synthetic
from tfrec.evaluation import top_k_items
from tfrec.features.component_store import ComponentStore
from tfrec.features.component_store import write_components
from tfrec.sampling.acf_batches import ACFSampler
from tfrec.sampling.acf_batches import history_inputs
from tfrec.sampling.user_histories import UserHistories
from tfrec.serving import export_model
from tfrec.training import get_preset
from tfrec.training.acf_experiment import build_acf_model

NUM_USERS, NUM_ITEMS = 30, 25
MODELS = {
    "acf": ("acf", "paper"),
    "acf-item-only": ("acf", "item-only"),
    "svdpp": ("svdpp", "paper"),
}
HISTORIES = [["i3", "i7", "nope", ""], ["", "", "", ""], ["i1", "i1", "i2", "i4"]]
HISTORY_IDS = [[3, 7], [], [1, 2, 4]]


def train_briefly(model, preset_name, data, store):
    preset = get_preset(model, preset_name).replace(embedding_dim=6, initializer_stddev=0.3)
    acf = build_acf_model(preset, data.num_users, data.num_items, component_dim=store.dim, seed=0)
    sampler = ACFSampler(
        data.train, batch_size=32, components=store if acf.uses_components else None, seed=0
    )
    for step in range(sampler.steps_per_epoch):
        acf.train_on_batch(sampler.batch(0, step))
    return acf


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    data = make_synthetic(
        num_users=NUM_USERS, num_items=NUM_ITEMS, interactions_per_user=5, num_clusters=3
    )
    base = tmp_path_factory.mktemp("saved_models")
    rng = np.random.default_rng(0)
    path = write_components(  # item k has k % 4 components (some have none)
        base / "components.h5",
        {key: rng.normal(size=(k % 4, 5)) for k, key in enumerate(data.item_keys)},
        dtype="float32",
    )
    store = ComponentStore(path, data.item_keys).load()
    models, calls = {}, {}
    users = [f"u{u}" for u in range(NUM_USERS)]
    for name, (model, preset_name) in MODELS.items():
        models[name] = train_briefly(model, preset_name, data, store)
        export_dir = os.fspath(export_model(models[name], data, base, name=name, components=store))
        for label, (signature, inputs) in {
            "recommend": ("serving_default", {"user_keys": users + ["nobody"], "k": 5}),
            "score": (
                "score",
                {"user_keys": users, "item_keys": [list(data.item_keys)] * NUM_USERS},
            ),
            "from_history": ("recommend_from_history", {"item_keys": HISTORIES, "k": 4}),
            "explain": (
                "explain",
                {"user_keys": ["u1", "u2", "nobody"], "item_keys": ["i0", "nope", "i0"]},
            ),
        }.items():
            calls[(name, label)] = {
                "signature": signature,
                "inputs": inputs,
                "export_dir": export_dir,
            }
    return call_in_fresh_process(base, models, calls), data, store


@pytest.mark.parametrize("name", list(MODELS))
def test_recommend_and_score_match_the_in_memory_model(exported, name):
    served, data, store = exported
    model, outputs = served[name].model, served[name].outputs
    histories = UserHistories(data.train)
    scorer = model.full_ranking_scorer(histories, store if model.uses_components else None)
    users = np.arange(NUM_USERS)
    full = scorer(users)
    np.testing.assert_allclose(outputs["score"]["scores"], full, rtol=1e-5, atol=1e-5)
    items, scores = top_k_items(lambda ids: full[ids], users, 5, data.train)
    np.testing.assert_array_equal(np.array(outputs["recommend"]["item_ids"])[:NUM_USERS], items)
    np.testing.assert_allclose(
        np.array(outputs["recommend"]["scores"])[:NUM_USERS], scores, rtol=1e-5, atol=1e-5
    )
    assert outputs["recommend"]["known_user"] == [True] * NUM_USERS + [False]


@pytest.mark.parametrize("name", list(MODELS))
def test_recommend_from_history_scores_a_new_user_with_a_zero_user_vector(exported, name):
    served, data, store = exported
    model, output = served[name].model, served[name].outputs["from_history"]
    assert output["known_history"] == [True, False, True]
    # The in-memory model with user 0's vector set to zero scores the same histories.
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    table = clone.user_embedding.embeddings
    table.assign(keras.ops.zeros_like(table))
    for row in (0, 2):
        history = np.array(HISTORY_IDS[row], np.int32)[None]
        components = store if model.uses_components else None
        inputs = history_inputs(_one(history[0]), np.zeros(1), components)
        full = np.asarray(keras.ops.convert_to_numpy(clone.score_all_items(inputs)))
        excluded = np.zeros((1, NUM_ITEMS), bool)
        excluded[0, HISTORY_IDS[row]] = True
        full = np.where(excluded, -np.inf, full)
        expected = np.argsort(-full[0], kind="stable")[:4]
        assert output["item_ids"][row] == expected.tolist()
        np.testing.assert_allclose(output["scores"][row], full[0, expected], rtol=1e-5, atol=1e-5)
    popular = np.argsort(-np.asarray(data.train.sum(axis=0)).ravel(), kind="stable")[:4]
    assert output["item_ids"][1] == popular.tolist()


def _one(items):
    """A one-user `UserHistories` holding `items`."""
    import scipy.sparse as sp

    matrix = sp.csr_matrix(
        (np.ones(len(items), np.float32), (np.zeros(len(items), int), items)),
        shape=(1, NUM_ITEMS),
    )
    return UserHistories(matrix)


@pytest.mark.parametrize("name", list(MODELS))
def test_explain_gives_the_attention_weights(exported, name):
    served, data, store = exported
    model, output = served[name].model, served[name].outputs["explain"]
    assert output["known"] == [True, False, False]
    histories = UserHistories(data.train)
    inputs = history_inputs(
        histories, np.array([1]), store if model.uses_components else None, pad_multiple=1
    )
    alpha, beta = (
        None if x is None else np.asarray(keras.ops.convert_to_numpy(x))
        for x in model.attention(inputs, True)
    )
    length = int(inputs["history_mask"].sum())
    weights = np.array(output["item_weights"][0])
    np.testing.assert_allclose(weights[:length], alpha[0, :length], rtol=1e-5, atol=1e-6)
    assert (
        np.array(output["history_ids"][0])[:length].tolist()
        == inputs["history"][0][:length].tolist()
    )
    if model.uses_components and model.component_attention_mode == "att":
        components = np.array(output["component_weights"][0])[:length]
        np.testing.assert_allclose(components, beta[0, :length], rtol=1e-5, atol=1e-6)
    represented = keras.ops.convert_to_numpy(model.score_all_items(inputs))[0]
    np.testing.assert_allclose(output["scores"][0], represented[0], rtol=1e-5)
    assert np.all(np.array(output["item_weights"][1]) == 0)  # unknown item: zeros


def test_cli_exports_an_acf_trained_by_the_cli(tmp_path, monkeypatch):
    """`tfrec train --model acf` then `tfrec export`: the component store recorded in
    metrics.json is found, the export has ACF's explain signature."""
    import json

    import tensorflow as tf

    from tfrec.cli import common
    from tfrec.cli.main import main

    data = make_synthetic(num_users=20, num_items=30, interactions_per_user=4, num_clusters=2)
    monkeypatch.setattr(common, "load_interactions", lambda args: data)
    run = tmp_path / "run"
    argv = ["train", "--model", "acf", "--dataset", "synthetic", "--output", str(run)]
    assert main([*argv, "--epochs", "1", "--batch-size", "16", "--quiet"]) == 0
    assert json.loads((run / "metrics.json").read_text())["config"]["components_file"]
    base = tmp_path / "saved_models"
    argv = ["export", "--model-dir", str(run), "--name", "acf", "--base", str(base)]
    assert main([*argv, "--no-warmup"]) == 0
    loaded = tf.saved_model.load(str(base / "acf" / "1"))
    output = loaded.signatures["explain"](
        user_keys=tf.constant(["u0"]), item_keys=tf.constant(["i0"])
    )
    assert output["known"].numpy().tolist() == [True]
    np.testing.assert_allclose(output["item_weights"].numpy().sum(), 1.0, rtol=1e-5)
