"""History-model exports (FISM, NAIS prod and concat, IRIS): every signature against the model.

One module fixture trains a tiny FISM (alpha 0.5), NAIS (prod; concat with tanh and alpha
0.3) and Multimodal IRIS a few steps on synthetic data, exports the four, and calls them
in one fresh process with plain TensorFlow (tests/serving/load_and_call.py). The scoring
blocks are made small (`HISTORY_CELLS_PER_BLOCK` = 64 triples) so that the catalogue is
scored in many blocks, the last one padded. The tests compare with the in-memory models
(`score_candidates` and `explain` on the users' training histories).
"""

from __future__ import annotations

import json
import os

import keras
import numpy as np
import pytest
import scipy.sparse as sp
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.python.framework import op_def_registry

from tests.serving.fresh_process import Exported
from tests.serving.fresh_process import call_in_fresh_process
from tfrec.data.synthetic import make_synthetic
from tfrec.evaluation import top_k_items
from tfrec.sampling.history_batches import HistorySampler
from tfrec.sampling.history_tf_dataset import make_history_tf_dataset
from tfrec.serving import export_model
from tfrec.serving import history_scorers
from tfrec.training.history_experiment import build_history_model
from tfrec.training.presets import get_preset

NUM_USERS, NUM_ITEMS, TEXT_DIM = 40, 30, 6
MODELS = {  # name -> (registry model, preset, changes)
    "fism": ("fism", None, {"alpha": 0.5}),
    "nais-prod": ("nais", None, {"attention_size": 8}),
    "nais-concat": ("nais", None, {"attention": "concat", "activation": "tanh", "alpha": 0.3}),
    "iris": ("iris", "multimodal", {"attention_size": 8}),
    "fism-clip3": ("fism", None, {"alpha": 0.5}),
}
# Exported with the training clip: known users are scored from their first 3 items only
# (the synthetic split has no timestamps: item-id order), as `evaluate_history_model` does.
CLIPPED = {"fism-clip3": 3}
SCORE_USERS = ["u2", "nobody", "u9", "u2"]
SCORE_ITEMS = [["i0", "i29", "no-item"], ["i1", "i2", "i3"], ["i5", "i5", "i17"], ["i3"] * 3]
# A new user's histories: unknown keys, "" padding, repeated keys, an empty history.
HISTORIES = [
    ["i3", "i7", "i11", "", ""],
    ["i3", "nope", "i7", "i3", "i11"],
    ["", "", "", "", ""],
    ["nope", "", "never", "", ""],
    ["i0", "i1", "i2", "i4", "i5"],
]
HISTORY_IDS = [[3, 7, 11], [3, 7, 11], [], [], [0, 1, 2, 4, 5]]
TARGETS = ["i20", "i20", "i20", "i9", "no-item"]


def train_briefly(model_name, preset_name, changes, data):
    """The preset's model (P, Q at stddev 0.3: distinct scores), four steps of its training."""
    preset = get_preset(model_name, preset_name).replace(
        embedding_dim=8, initializer_stddev=0.3, **changes
    )
    features = None
    if model_name == "iris":
        rng = np.random.default_rng(3)
        features = {
            "image": rng.normal(size=(NUM_ITEMS, 10)).astype(np.float32),
            "text": rng.normal(size=(NUM_ITEMS, TEXT_DIM)).astype(np.float32),
        }
    model = build_history_model(preset, data.num_items, seed=0, item_features=features)
    sampler = HistorySampler(data.train, num_negatives=2, batch_size=64, seed=0)
    model.fit(
        make_history_tf_dataset(sampler), epochs=1, steps_per_epoch=4, shuffle=False, verbose=0
    )
    return model


def calls_for(name: str, export_dir: str, data) -> dict:
    user_keys = [f"u{u}" for u in range(NUM_USERS)]
    known_history = [data.item_keys[i] for i in data.train[4].indices]  # u4's items, as keys
    calls = {
        "recommend": ("serving_default", {"user_keys": user_keys + ["nobody"], "k": 6}),
        "huge_k": ("recommend", {"user_keys": ["u4", "nobody"], "k": 1000}),
        "score": ("score", {"user_keys": SCORE_USERS, "item_keys": SCORE_ITEMS}),
        "score_catalogue": (
            "score",
            {"user_keys": user_keys, "item_keys": [list(data.item_keys)] * NUM_USERS},
        ),
        "from_history": ("recommend_from_history", {"item_keys": HISTORIES, "k": 8}),
        "from_known_history": (
            "recommend_from_history",
            {"item_keys": [known_history, list(reversed(known_history))], "k": 1000},
        ),
        "from_no_rows": ("recommend_from_history", {"item_keys": [[]], "k": 3}),
        "explain": ("explain", {"item_keys": HISTORIES, "target_keys": TARGETS}),
    }
    return {
        label: {"signature": signature, "inputs": inputs, "export_dir": export_dir}
        for label, (signature, inputs) in calls.items()
    }


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[dict[str, Exported], object]:
    data = make_synthetic(
        num_users=NUM_USERS, num_items=NUM_ITEMS, interactions_per_user=6, num_clusters=3
    )
    base = tmp_path_factory.mktemp("saved_models")
    models, calls = {}, {}
    with pytest.MonkeyPatch.context() as patch:
        # Tiny blocks: many blocks per request, the last one padded.
        patch.setattr(history_scorers, "HISTORY_CELLS_PER_BLOCK", 64)
        patch.setattr(history_scorers, "HISTORY_MIN_BLOCK_ITEMS", 7)
        for name, (model_name, preset_name, changes) in MODELS.items():
            models[name] = train_briefly(model_name, preset_name, changes, data)
            export_dir = os.fspath(
                export_model(
                    models[name],
                    data,
                    base,
                    name=name,
                    max_history_length=CLIPPED.get(name),
                    clip="first",
                )
            )
            calls.update(
                {(name, label): call for label, call in calls_for(name, export_dir, data).items()}
            )
    return call_in_fresh_process(base, models, calls), data


def padded(histories, num_items):
    """`[b, L]` ids padded with `num_items`, and the mask."""
    width = max(1, max(len(h) for h in histories))
    ids = np.full((len(histories), width), num_items, np.int32)
    for row, history in enumerate(histories):
        ids[row, : len(history)] = history
    return ids, ids < num_items


def catalogue_scores(model, histories):
    """The in-memory model's logits `[b, num_items]` for histories (lists of item ids)."""
    ids, mask = padded(histories, NUM_ITEMS)
    items = np.tile(np.arange(NUM_ITEMS, dtype=np.int32), (len(histories), 1))
    return np.asarray(model.score_candidates(ids, mask, items))


def training_histories(data, users, name=None):
    """The lists the export scores users from: all training items, or the clipped ones."""
    return [list(data.train[u].indices)[: CLIPPED.get(name)] for u in users]


def assert_top_k(output, items, scores, rows=slice(None)):
    np.testing.assert_array_equal(np.array(output["item_ids"])[rows], items)
    keys = np.where(items >= 0, np.array([f"i{i}" for i in range(NUM_ITEMS)] + [""])[items], "")
    np.testing.assert_array_equal(np.array(output["item_keys"])[rows], keys)
    np.testing.assert_allclose(np.array(output["scores"])[rows], scores, rtol=0, atol=1e-5)


def popularity_top(data, k):
    counts = np.asarray(data.train.sum(axis=0)).ravel()
    order = np.lexsort((np.arange(NUM_ITEMS), -counts))[:k]  # Most popular, lower id first.
    return order, counts[order]


@pytest.mark.parametrize("name", list(MODELS))
def test_recommend_and_score_match_the_in_memory_model(exported, name):
    served, data = exported
    model, outputs = served[name].model, served[name].outputs
    users = np.arange(NUM_USERS)
    full = catalogue_scores(model, training_histories(data, users, name))
    items, scores = top_k_items(lambda ids: full[ids], users, 6, data.train)
    assert_top_k(outputs["recommend"], items, scores, rows=slice(0, NUM_USERS))
    assert outputs["recommend"]["known_user"] == [True] * NUM_USERS + [False]
    order, counts = popularity_top(data, 6)
    assert outputs["recommend"]["item_ids"][-1] == order.tolist()
    assert outputs["recommend"]["scores"][-1] == counts.tolist()
    np.testing.assert_allclose(outputs["score_catalogue"]["scores"], full, rtol=0, atol=1e-5)
    # k > catalogue: every item, the training items as padding at the end.
    items, scores = top_k_items(lambda ids: full[ids], [4], NUM_ITEMS, data.train)
    assert_top_k(outputs["huge_k"], items, scores, rows=[0])
    assert outputs["huge_k"]["item_ids"][0].count(-1) == data.train[4].nnz
    assert outputs["huge_k"]["item_ids"][1] == popularity_top(data, NUM_ITEMS)[0].tolist()


@pytest.mark.parametrize("name", list(MODELS))
def test_score_signature_with_unknown_and_repeated_keys(exported, name):
    served, data = exported
    model, output = served[name].model, served[name].outputs["score"]
    full = catalogue_scores(model, training_histories(data, [2, 0, 9, 2], name))
    expected = [
        [full[0, 0], full[0, 29], np.nan],
        [np.nan] * 3,  # Unknown user.
        [full[2, 5], full[2, 5], full[2, 17]],
        [full[3, 3]] * 3,
    ]
    np.testing.assert_allclose(output["scores"], expected, rtol=0, atol=1e-5)
    assert output["known_user"] == [True, False, True, True]
    assert output["item_ids"][0] == [0, 29, -1]


@pytest.mark.parametrize("name", list(MODELS))
def test_recommend_from_history_serves_new_users(exported, name):
    served, data = exported
    model, output = served[name].model, served[name].outputs["from_history"]
    assert output["known_history"] == [True, True, False, False, True]
    assert output["history_ids"][1] == [3, -1, 7, 3, 11] and output["history_ids"][3][0] == -1
    rows = [0, 1, 4]  # Unknown keys dropped and a repeated key counted once: rows 0, 1 equal.
    full = catalogue_scores(model, [HISTORY_IDS[r] for r in rows])
    exclude = sp.csr_matrix(
        (np.ones(11), ([0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2], [3, 7, 11] * 2 + [0, 1, 2, 4, 5])),
        shape=(3, NUM_ITEMS),
    )
    items, scores = top_k_items(lambda ids: full[ids], [0, 1, 2], 8, exclude)
    assert_top_k(output, items, scores, rows=rows)
    assert output["item_ids"][0] == output["item_ids"][1]
    order, counts = popularity_top(data, 8)
    for row in (2, 3):  # No known key: the popularity ranking, nothing excluded.
        assert output["item_ids"][row] == order.tolist()
        assert output["scores"][row] == counts.tolist()
    assert served[name].outputs["from_no_rows"]["item_ids"] == [order[:3].tolist()]


@pytest.mark.parametrize("name", [name for name in MODELS if name not in CLIPPED])
def test_a_known_users_history_gives_their_recommendations(exported, name):
    outputs = exported[0][name].outputs
    for row in (0, 1):  # In training order and reversed.
        for field in ("item_ids", "item_keys"):
            assert outputs["from_known_history"][field][row] == outputs["huge_k"][field][0]
        np.testing.assert_allclose(
            outputs["from_known_history"]["scores"][row], outputs["huge_k"]["scores"][0], atol=1e-5
        )
    assert outputs["from_known_history"]["known_history"] == [True, True]


def test_clipped_export_scores_like_the_evaluation_and_excludes_every_training_item(exported):
    """The export matches the 1 + 99 evaluation's scorer (same clip); exclusion is not
    clipped: none of a user's training items, clipped or not, is recommended."""
    served, data = exported
    model, outputs = served["fism-clip3"].model, served["fism-clip3"].outputs
    users = np.arange(NUM_USERS)
    assert max(data.train[u].nnz for u in users) > 3  # the clip matters for these users
    scorer = model.sampled_scorer(data.train, max_history_length=3, clip="first")
    candidates = np.tile(np.arange(NUM_ITEMS, dtype=np.int32), (NUM_USERS, 1))
    np.testing.assert_allclose(
        outputs["score_catalogue"]["scores"], scorer(users, candidates), rtol=0, atol=1e-5
    )
    for user in users:
        recommended = set(outputs["recommend"]["item_ids"][user])
        assert not recommended & set(data.train[user].indices.tolist())


@pytest.mark.parametrize("name", list(MODELS))
def test_explain_matches_the_models_explanation(exported, name):
    served, _ = exported
    model, output = served[name].model, served[name].outputs["explain"]
    assert output["known"] == [True, True, True, True, False]
    # Rows 0 and 4 of HISTORIES have no dropped places: the in-memory model on the same ids.
    ids, mask = padded([HISTORY_IDS[0] + [NUM_ITEMS] * 2, HISTORY_IDS[4]], NUM_ITEMS)
    expected = model.explain(ids, mask, np.array([20, 20], np.int32))
    weights = np.array(output["history_weights"])
    contributions = np.array(output["contributions"])
    np.testing.assert_allclose(weights[0], expected["weights"][0], rtol=0, atol=1e-5)
    np.testing.assert_allclose(contributions[0], expected["contributions"][0], atol=1e-5)
    np.testing.assert_allclose(output["scores"][0], expected["logits"][0], atol=1e-5)
    np.testing.assert_allclose(output["bias"][0], expected["bias"][0], atol=1e-6)
    # Row 1: the same items with an unknown key and a repeat: zero at the dropped places.
    np.testing.assert_allclose(weights[1][[0, 2, 4]], weights[0][:3], atol=1e-6)
    assert weights[1][1] == weights[1][3] == contributions[1][1] == contributions[1][3] == 0.0
    np.testing.assert_allclose(output["scores"][1], output["scores"][0], atol=1e-6)
    # The logit is the contributions plus the bias, and equals the score signature's.
    np.testing.assert_allclose(contributions.sum(1) + output["bias"], output["scores"], atol=1e-5)
    full = catalogue_scores(model, [HISTORY_IDS[0]])
    np.testing.assert_allclose(output["scores"][0], full[0, 20], atol=1e-5)
    # Empty histories: only the bias; unknown target: a row of zeros.
    assert weights[2].tolist() == [0.0] * 5 and weights[3].tolist() == [0.0] * 5
    np.testing.assert_allclose(
        output["scores"][3], keras.ops.convert_to_numpy(model.item_bias)[9], atol=1e-6
    )
    assert weights[4].tolist() == [0.0] * 5 and output["scores"][4] == output["bias"][4] == 0.0
    if name.startswith("fism"):  # Uniform weights over the used places.
        assert weights[0].tolist() == [1.0, 1.0, 1.0, 0.0, 0.0]


def test_signatures_warmup_and_export_info(exported):
    for name, served in exported[0].items():
        assert served.signatures["recommend_from_history"] == {
            "inputs": ["item_keys", "k"],
            "outputs": ["history_ids", "item_ids", "item_keys", "known_history", "scores"],
        }
        assert served.signatures["explain"] == {
            "inputs": ["item_keys", "target_keys"],
            "outputs": [
                "bias",
                "contributions",
                "history_ids",
                "history_weights",
                "known",
                "scores",
            ],
        }
        assert served.signatures["serving_default"]["outputs"] == [
            "item_ids",
            "item_keys",
            "known_user",
            "scores",
        ]
        assert served.warmup == [
            [name, "serving_default"],
            [name, "serving_default"],
            [name, "score"],
            [name, "recommend_from_history"],
            [name, "explain"],
        ]
        info = json.loads((served.export_dir / "assets.extra" / "tfrec_export.json").read_text())
        assert info["signatures"] == [
            "serving_default",
            "recommend",
            "recommend_from_history",
            "score",
            "explain",
        ]


def test_iris_export_holds_no_feature_network(exported):
    import tensorflow as tf

    loaded = tf.saved_model.load(os.fspath(exported[0]["iris"].export_dir))
    names = sorted(loaded.extras)
    assert "attention_history_terms" in names and not any("feature" in n for n in names)
    assert loaded.extras["attention_history_terms"].shape == (NUM_ITEMS + 1, 8)


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
    assert {"HashTableV2", "LookupTableFindV2", "TopKV2", "RaggedRange"} <= ops
    if not name.startswith("fism"):  # Block-wise attention: a while loop, not an unrolled graph.
        assert ops & {"While", "StatelessWhile"}
