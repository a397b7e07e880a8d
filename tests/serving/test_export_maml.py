"""MAML and FeatureCML exports: block-wise attention scoring, `explain`, both MAML modes.

One module fixture builds a tiny MAML in each mode (`train_attention_and_fusion` False:
frozen random networks; True: networks trained a few steps, so F must be recomputed from
the trained fusion network, not read from the stale cache) and a FeatureCML, exports the
three, and calls them in one fresh process with plain TensorFlow (tests/serving/
load_and_call.py). The scoring blocks are made small (16 items) so that the 20-item
catalogue ends with a padded block. The tests compare with the in-memory models
(`score_users_numpy`, `attention_weights`) and with numpy written out from their tables.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras
import numpy as np
import pytest
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.python.framework import op_def_registry

from tests.serving.fresh_process import Exported
from tests.serving.fresh_process import call_in_fresh_process
from tfrec.data.synthetic import make_synthetic
from tfrec.evaluation import top_k_items
from tfrec.serving import export_model
from tfrec.serving import scorers
from tfrec.training import build_model
from tfrec.training import fit
from tfrec.training import get_preset

NUM_USERS, NUM_ITEMS, DIM, FEATURES = 30, 20, 8, 12
MODELS = {  # name -> (registry model, preset)
    "maml-code": ("maml", "code"),
    "maml-paper": ("maml", "paper"),
    "feature-cml": ("cml-features", "maml"),
}
EXPLAIN_USERS = ["u0", "u3", "u3", "nobody", "u7", "nobody", "u29"]
EXPLAIN_ITEMS = ["i0", "i19", "i5", "i4", "no-item", "no-item", "i17"]
KNOWN = [True, True, True, False, False, False, True]


def all_users():
    return [f"u{u}" for u in range(NUM_USERS)]


def calls_for(name: str, export_dir: str) -> dict:
    """Label -> call of load_and_call.py on `export_dir`."""
    calls = {
        "recommend": ("serving_default", {"user_keys": all_users(), "k": 7}),
        "recommend_one": ("serving_default", {"user_keys": ["u5"], "k": NUM_ITEMS}),
        "score": (
            "score",
            {
                "user_keys": ["u2", "nobody", "u9"],
                "item_keys": [["i0", "i19", "no-item"], ["i1", "i2", "i3"], ["i16", "i17", "i4"]],
            },
        ),
        "score_catalogue": (
            "score",
            {"user_keys": all_users(), "item_keys": [[f"i{i}" for i in range(NUM_ITEMS)]] * 30},
        ),
    }
    if name != "feature-cml":
        calls["explain"] = ("explain", {"user_keys": EXPLAIN_USERS, "item_keys": EXPLAIN_ITEMS})
        calls["explain_empty"] = ("explain", {"user_keys": [], "item_keys": []})
    return {
        label: {"signature": signature, "inputs": inputs, "export_dir": export_dir}
        for label, (signature, inputs) in calls.items()
    }


def train_briefly(model_name: str, preset_name: str, data):
    preset = get_preset(model_name, preset_name).replace(
        embedding_dim=DIM, hidden_dim=16, batch_size=64, num_negatives=2, steps_per_epoch=3
    )
    preset = preset.replace(epochs=1)
    features = np.random.default_rng(1).normal(size=(NUM_ITEMS, FEATURES)).astype(np.float32)
    model = build_model(preset, NUM_USERS, NUM_ITEMS, seed=0, item_features=features)
    model.compile(optimizer=model.optimizer, jit_compile=False)  # Three steps: skip XLA.
    fit(model, data, preset, verbose=0)
    return model


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[dict[str, Exported], object]:
    data = make_synthetic(
        num_users=NUM_USERS, num_items=NUM_ITEMS, interactions_per_user=5, num_clusters=2
    )
    base = tmp_path_factory.mktemp("saved_models")
    models, calls = {}, {}
    with pytest.MonkeyPatch.context() as patch:
        # Blocks of 16 items for every batch: 20 items = a full block and a padded one.
        patch.setattr(scorers, "MAML_PAIRS_PER_BLOCK", 16)
        for name, (model_name, preset_name) in MODELS.items():
            models[name] = train_briefly(model_name, preset_name, data)
            export_dir = os.fspath(export_model(models[name], data, base, name=name))
            calls.update(
                {(name, label): call for label, call in calls_for(name, export_dir).items()}
            )
    return call_in_fresh_process(base, models, calls), data


def numpy_of(variable):
    return np.asarray(keras.ops.convert_to_numpy(variable))


@pytest.mark.parametrize("name", list(MODELS))
def test_recommend_and_score_match_the_in_memory_model(exported, name):
    served, data = exported
    model, outputs = served[name].model, served[name].outputs
    users = np.arange(NUM_USERS, dtype=np.int32)
    full = model.score_users_numpy(users)
    items, scores = top_k_items(model.score_users_numpy, users, 7, data.train)
    np.testing.assert_array_equal(outputs["recommend"]["item_ids"], items)
    assert outputs["recommend"]["item_keys"] == [[f"i{i}" for i in row] for row in items]
    np.testing.assert_allclose(outputs["recommend"]["scores"], scores, rtol=0, atol=1e-5)
    items, scores = top_k_items(model.score_users_numpy, [5], NUM_ITEMS, data.train)
    np.testing.assert_array_equal(outputs["recommend_one"]["item_ids"], items)
    np.testing.assert_allclose(outputs["recommend_one"]["scores"], scores, rtol=0, atol=1e-5)
    np.testing.assert_allclose(outputs["score_catalogue"]["scores"], full, rtol=0, atol=1e-5)
    expected = [
        [full[2, 0], full[2, 19], np.nan],
        [np.nan] * 3,
        [full[9, 16], full[9, 17], full[9, 4]],
    ]
    np.testing.assert_allclose(outputs["score"]["scores"], expected, rtol=0, atol=1e-5)
    assert outputs["score"]["known_user"] == [True, False, True]


def test_paper_mode_exports_the_trained_fusion_output(exported):
    served, _ = exported
    model = served["maml-paper"].model
    projections = numpy_of(model.projections())
    # Training moved the fusion network: the cached projection is stale, F is not.
    assert np.abs(projections - numpy_of(model.item_projection)).max() > 1e-4
    variables = load_variables(served["maml-paper"].export_dir)
    np.testing.assert_allclose(variables["item_projection"], projections, atol=1e-6)
    code = served["maml-code"].model
    np.testing.assert_array_equal(
        load_variables(served["maml-code"].export_dir)["item_projection"],
        numpy_of(code.item_projection),
    )


def load_variables(export_dir: Path) -> dict[str, np.ndarray]:
    """The scorer's weights stored in the SavedModel."""
    import tensorflow as tf

    extras = tf.saved_model.load(os.fspath(export_dir)).extras
    return {name: variable.numpy() for name, variable in extras.items()}


def test_feature_cml_scores_are_plain_distances(exported):
    served, _ = exported
    model, outputs = served["feature-cml"].model, served["feature-cml"].outputs
    users, items = (
        numpy_of(model.user_embedding.embeddings),
        numpy_of(model.item_embedding.embeddings),
    )
    distances = ((users[:, None, :] - items[None, :, :]) ** 2).sum(-1)
    np.testing.assert_allclose(outputs["score_catalogue"]["scores"], -distances, atol=1e-5)
    assert "explain" not in served["feature-cml"].signatures
    assert served["feature-cml"].warmup == [
        ["feature-cml", "serving_default"],
        ["feature-cml", "serving_default"],
        ["feature-cml", "score"],
    ]


@pytest.mark.parametrize("name", ["maml-code", "maml-paper"])
def test_explain_matches_the_attention_and_the_score(exported, name):
    served, _ = exported
    model, output = served[name].model, served[name].outputs["explain"]
    assert output["known"] == KNOWN
    rows = [r for r, known in enumerate(KNOWN) if known]
    user_ids = np.array([int(EXPLAIN_USERS[r][1:]) for r in rows], np.int32)
    item_ids = np.array([int(EXPLAIN_ITEMS[r][1:]) for r in rows], np.int32)
    attention = numpy_of(model.attention_weights(user_ids, item_ids[:, None]))[:, 0]
    np.testing.assert_allclose(np.array(output["attention"])[rows], attention, atol=1e-5)
    np.testing.assert_allclose(np.array(output["attention"])[rows].sum(-1), DIM, rtol=1e-5)
    users = numpy_of(model.user_embedding.embeddings)[user_ids]
    items = numpy_of(model.item_embedding.embeddings)[item_ids]
    contributions = attention**2 * (users - items) ** 2  # a_l^2 (p_ul - q_il)^2
    served_contributions = np.array(output["dimension_contributions"])
    np.testing.assert_allclose(served_contributions[rows], contributions, rtol=1e-4, atol=1e-6)
    full = model.score_users_numpy(user_ids)
    scores = full[np.arange(len(rows)), item_ids]
    np.testing.assert_allclose(np.array(output["scores"])[rows], scores, rtol=0, atol=1e-5)
    np.testing.assert_allclose(served_contributions.sum(-1), -np.array(output["scores"]), atol=1e-5)
    # u3 twice with two items: each pair its own attention.
    assert not np.allclose(output["attention"][1], output["attention"][2])


@pytest.mark.parametrize("name", ["maml-code", "maml-paper"])
def test_explain_answers_unknown_keys_with_zeros(exported, name):
    output = exported[0][name].outputs["explain"]
    for row in (3, 4, 5):  # Unknown user, unknown item, both.
        assert output["attention"][row] == [0.0] * DIM
        assert output["dimension_contributions"][row] == [0.0] * DIM
        assert output["scores"][row] == 0.0
    empty = exported[0][name].outputs["explain_empty"]
    assert empty["known"] == [] and np.array(empty["attention"]).size == 0


@pytest.mark.parametrize("name", ["maml-code", "maml-paper"])
def test_signatures_warmup_and_export_info(exported, name):
    served = exported[0][name]
    assert served.signatures["explain"] == {
        "inputs": ["item_keys", "user_keys"],
        "outputs": ["attention", "dimension_contributions", "known", "scores"],
    }
    assert served.warmup == [
        [name, "serving_default"],
        [name, "serving_default"],
        [name, "score"],
        [name, "explain"],
    ]
    info = json.loads((served.export_dir / "assets.extra" / "tfrec_export.json").read_text())
    assert info["model_class"] == "tfrec.models.maml.MAML"
    assert info["signatures"] == ["serving_default", "recommend", "score", "explain"]


@pytest.mark.parametrize("name", list(MODELS))
def test_op_set_is_standard_tensorflow(exported, name):
    saved = saved_model_pb2.SavedModel.FromString(
        (exported[0][name].export_dir / "saved_model.pb").read_bytes()
    )
    graph = saved.meta_graphs[0].graph_def
    functions = {function.signature.name for function in graph.library.function}
    ops = {node.op for node in graph.node}
    ops |= {node.op for function in graph.library.function for node in function.node_def}
    ops -= functions
    assert not ops & {"PyFunc", "PyFuncStateless", "EagerPyFunc"}
    assert [op for op in sorted(ops) if op_def_registry.get(op) is None] == []
    if name != "feature-cml":  # Block-wise scoring: a while loop, not an unrolled graph.
        assert {"Softmax", "Tanh"} <= ops and ops & {"While", "StatelessWhile"}
