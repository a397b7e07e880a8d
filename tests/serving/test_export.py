"""Every exportable model: export, load in a fresh TensorFlow-only process, match the model.

A new model joins these tests with one line in `SERVED_MODELS`. Per model, one module-scoped
fixture trains briefly, exports, and runs tests/serving/load_and_call.py in a new Python
process (plain TensorFlow: the test asserts that neither tfrec nor Keras was imported there)
next to `saved_model_cli show --all`; the tests then compare what that process returned
with the in-memory model (`top_k_items` of `score_users_numpy`, training items excluded).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from tfrec.data.synthetic import make_synthetic
from tfrec.evaluation import top_k_items
from tfrec.models.wrmf import WRMF
from tfrec.serving import export_model
from tfrec.training import build_model
from tfrec.training import fit
from tfrec.training import get_preset

HERE = Path(__file__).resolve().parent
NUM_USERS, NUM_ITEMS = 80, 50
ALMOST_ALL_USER = 0  # "u0": every item but two is a training item (in the exported data).
LEFT_FOR_ALMOST_ALL = (7, 30)
EMPTY_HISTORY_USER = 1  # "u1": no training items at all.
FORBIDDEN_OPS = {"PyFunc", "PyFuncStateless", "EagerPyFunc"}

# Per model, the fixture trains, exports and starts two fresh Python processes that import
# TensorFlow (8-10 s on an idle 2-core machine); the tests themselves take milliseconds.
pytestmark = pytest.mark.slow


def briefly_trained(model_name: str, feature_dim: int | None = None, **options):
    """A factory `data -> model`: the model's default preset, a few steps, small tables;
    `feature_dim`: random item features of that width (the feature models, MAML)."""

    def factory(data):
        preset = get_preset(model_name).replace(
            **options,
            batch_size=128,
            num_negatives=2,
            steps_per_epoch=3,
            epochs=1,
        )
        features = None
        if feature_dim:
            rng = np.random.default_rng(0)
            features = rng.normal(size=(data.num_items, feature_dim)).astype(np.float32)
        model = build_model(preset, data.num_users, data.num_items, seed=0, item_features=features)
        model.compile(optimizer=model.optimizer, jit_compile=False)  # Three steps: skip XLA.
        fit(model, data, preset, verbose=0)
        return model

    return factory


SERVED_MODELS = [
    pytest.param(briefly_trained("cml", embedding_dim=8), id="cml"),
    pytest.param(
        briefly_trained("bpr", embedding_dim=8, item_bias=True, initializer_stddev=0.3),
        id="bpr-item-bias",
    ),
    pytest.param(briefly_trained("maml", 12, embedding_dim=8, hidden_dim=16), id="maml"),
    pytest.param(
        briefly_trained("cml-features", 12, embedding_dim=8, hidden_dim=16), id="feature-cml"
    ),
    pytest.param(briefly_trained("mml", embedding_dim=8), id="mml"),
    pytest.param(
        briefly_trained("mml", embedding_dim=8, metric="diagonal"),
        id="mml-diagonal",
    ),
    pytest.param(briefly_trained("sml", embedding_dim=8), id="sml"),
    pytest.param(
        lambda data: WRMF(data.num_users, data.num_items, 8, iterations=3).fit(data.train),
        id="wrmf",
    ),
]


def serving_data():
    """Synthetic data with an edited training split: one user with almost every item, one
    with none (the export excludes whatever the training split it is given holds)."""
    data = make_synthetic(
        num_users=NUM_USERS, num_items=NUM_ITEMS, interactions_per_user=8, num_clusters=3
    )
    train = data.train.tolil()
    train[ALMOST_ALL_USER, :] = 1.0
    train[ALMOST_ALL_USER, list(LEFT_FOR_ALMOST_ALL)] = 0.0
    train[EMPTY_HISTORY_USER, :] = 0.0
    train = sp.csr_matrix(train, dtype=np.float32)
    train.eliminate_zeros()
    train.sort_indices()
    return data, dataclasses.replace(data, train=train)


def keys(ids):
    return [f"u{i}" for i in ids]


CALLS = {
    "all_users": ("serving_default", {"user_keys": keys(range(NUM_USERS)), "k": 10}),
    "unknown": ("serving_default", {"user_keys": ["nobody", "u3", "", "u0"], "k": 5}),
    "huge_k": ("recommend", {"user_keys": keys([0, 1, 2]), "k": 1000}),
    "duplicates": ("serving_default", {"user_keys": ["u5", "u5", "u7", "u5"], "k": 10}),
    "no_users": ("serving_default", {"user_keys": [], "k": 10}),
    "k_zero": ("serving_default", {"user_keys": ["u2"], "k": 0}),
    "score": (
        "score",
        {
            "user_keys": ["u2", "u0", "nobody", "u2"],
            "item_keys": [
                ["i0", "i1", "no-item"],
                ["i7", "i30", "i0"],
                ["i0", "i1", "i2"],
                ["i2", "i2", "i49"],
            ],
        },
    ),
    "score_catalogue": (
        "score",
        {"user_keys": ["u4"], "item_keys": [[f"i{i}" for i in range(NUM_ITEMS)]]},
    ),
}


def saved_model_cli_command() -> list[str]:
    script = Path(sys.executable).parent / "saved_model_cli"
    if script.exists():
        return [sys.executable, os.fspath(script)]
    return [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli"]


@dataclasses.dataclass
class Served:
    model: object
    data: object  # the exported interactions (edited training split)
    export_dir: Path
    outputs: dict[str, dict]
    loaded: dict  # signatures, imported modules, warm-up replay
    cli_output: str


@pytest.fixture(scope="module", params=SERVED_MODELS)
def served(request, tmp_path_factory) -> Served:
    original, data = serving_data()
    model = request.param(original)
    base = tmp_path_factory.mktemp("saved_models")
    export_dir = export_model(model, data, base, name="served")
    requests_path, results_path = base / "requests.json", base / "results.json"
    calls = [{"signature": s, "inputs": inputs} for s, inputs in CALLS.values()]
    requests_path.write_text(json.dumps({"export_dir": os.fspath(export_dir), "calls": calls}))
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    # Both processes at once (one core each); cwd outside the repository.
    loader = subprocess.Popen(
        [sys.executable, os.fspath(HERE / "load_and_call.py"), requests_path, results_path],
        cwd=base,
        env=environment,
        stderr=subprocess.PIPE,
        text=True,
    )
    cli = subprocess.run(
        saved_model_cli_command() + ["show", "--dir", os.fspath(export_dir), "--all"],
        cwd=base,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    _, loader_errors = loader.communicate(timeout=300)
    assert loader.returncode == 0, loader_errors[-3000:]
    assert cli.returncode == 0, cli.stderr[-3000:]
    loaded = json.loads(results_path.read_text())
    outputs = dict(zip(CALLS, loaded.pop("outputs"), strict=True))
    return Served(model, data, export_dir, outputs, loaded, cli.stdout)


def expected_top_k(served: Served, user_ids, k):
    items, scores = top_k_items(served.model.score_users_numpy, user_ids, k, served.data.train)
    return items, scores


def assert_rows_match(output, items, scores, rows=slice(None)):
    """The SavedModel's ids, keys and scores equal the in-memory top-k (-1 = padding)."""
    served_ids = np.array(output["item_ids"])[rows]
    np.testing.assert_array_equal(served_ids, items)
    expected_keys = np.where(
        items >= 0, np.array([f"i{i}" for i in range(NUM_ITEMS)] + [""])[items], ""
    )
    np.testing.assert_array_equal(np.array(output["item_keys"])[rows], expected_keys)
    np.testing.assert_allclose(np.array(output["scores"])[rows], scores, rtol=0, atol=1e-5)


def test_loads_without_tfrec_or_keras(served):
    assert served.loaded["imported"] == []


def test_recommend_matches_in_memory_model(served):
    output = served.outputs["all_users"]
    items, scores = expected_top_k(served, np.arange(NUM_USERS), 10)
    assert_rows_match(output, items, scores)
    assert output["known_user"] == [True] * NUM_USERS
    # The edited users: two items left for u0 (then padding), all 50 candidates for u1.
    assert output["item_ids"][ALMOST_ALL_USER][:2] == sorted(
        LEFT_FOR_ALMOST_ALL, key=lambda i: -served.model.score_users_numpy([0])[0, i]
    )
    assert output["item_ids"][ALMOST_ALL_USER][2:] == [-1] * 8
    assert output["item_keys"][ALMOST_ALL_USER][2:] == [""] * 8
    assert output["scores"][ALMOST_ALL_USER][2:] == [-np.inf] * 8
    history = set(served.data.train[EMPTY_HISTORY_USER].indices)
    assert history == set() and min(output["item_ids"][EMPTY_HISTORY_USER]) >= 0


def test_unknown_users_get_the_popularity_ranking(served):
    output = served.outputs["unknown"]
    assert output["known_user"] == [False, True, False, True]
    counts = np.asarray(served.data.train.sum(axis=0)).ravel()
    order = np.lexsort((np.arange(NUM_ITEMS), -counts))[:5]  # Most popular, lower id first.
    for row in (0, 2):
        assert output["item_ids"][row] == order.tolist()
        assert output["item_keys"][row] == [f"i{i}" for i in order]
        assert output["scores"][row] == counts[order].tolist()
    items, scores = expected_top_k(served, [3, 0], 5)
    assert_rows_match(output, items, scores, rows=[1, 3])


def test_k_larger_than_the_catalogue_returns_the_catalogue_with_padding(served):
    output = served.outputs["huge_k"]
    assert np.array(output["item_ids"]).shape == (3, NUM_ITEMS)
    items, scores = expected_top_k(served, [0, 1, 2], NUM_ITEMS)
    assert_rows_match(output, items, scores)
    padded = (np.array(output["item_ids"]) == -1).sum(axis=1)
    trained = np.diff(served.data.train.indptr)[:3]
    np.testing.assert_array_equal(padded, trained)  # u0: 48 places of padding, u1: none.
    assert padded[0] == NUM_ITEMS - 2 and padded[1] == 0


def test_duplicate_keys_in_one_request(served):
    output = served.outputs["duplicates"]
    items, scores = expected_top_k(served, [5, 5, 7, 5], 10)
    assert_rows_match(output, items, scores)
    assert output["item_ids"][0] == output["item_ids"][1] == output["item_ids"][3]


def test_empty_requests(served):
    assert np.array(served.outputs["no_users"]["item_ids"]).size == 0
    assert served.outputs["no_users"]["known_user"] == []
    assert served.outputs["k_zero"]["item_ids"] == [[]]
    assert served.outputs["k_zero"]["known_user"] == [True]


def test_score_signature(served):
    output = served.outputs["score"]
    full = served.model.score_users_numpy(np.array([2, 0, 0, 2], np.int32))
    items = np.array([[0, 1, -1], [7, 30, 0], [0, 1, 2], [2, 2, 49]])
    np.testing.assert_array_equal(output["item_ids"], items)
    expected = np.take_along_axis(full, np.maximum(items, 0), axis=1)
    expected[items < 0] = np.nan
    expected[2] = np.nan  # Unknown user.
    np.testing.assert_allclose(np.array(output["scores"]), expected, rtol=0, atol=1e-5)
    assert output["known_user"] == [True, True, False, True]
    catalogue = served.outputs["score_catalogue"]["scores"]
    np.testing.assert_allclose(
        catalogue, served.model.score_users_numpy(np.array([4], np.int32)), rtol=0, atol=1e-5
    )


def test_op_set_is_standard_tensorflow(served):
    from tensorflow.core.protobuf import saved_model_pb2
    from tensorflow.python.framework import op_def_registry

    saved = saved_model_pb2.SavedModel.FromString(
        (served.export_dir / "saved_model.pb").read_bytes()
    )
    graph = saved.meta_graphs[0].graph_def
    functions = {function.signature.name for function in graph.library.function}
    ops = {node.op for node in graph.node}
    ops |= {node.op for function in graph.library.function for node in function.node_def}
    ops -= functions  # Calls of the graph's own functions.
    assert not ops & FORBIDDEN_OPS
    assert {"HashTableV2", "LookupTableFindV2", "TopKV2", "RaggedRange"} <= ops
    assert [op for op in sorted(ops) if op_def_registry.get(op) is None] == []


def test_saved_model_cli_lists_named_signatures(served):
    text = served.cli_output
    for name in ("serving_default", "recommend", "score"):
        assert f"signature_def['{name}']" in text
    for name in ("user_keys", "k", "item_keys", "item_ids", "scores", "known_user"):
        assert f"['{name}'] tensor_info" in text
    assert "output_0" not in text and "output_1" not in text
    signatures = served.loaded["signatures"]
    assert signatures["serving_default"] == {
        "inputs": ["k", "user_keys"],
        "outputs": ["item_ids", "item_keys", "known_user", "scores"],
    }
    assert signatures["score"] == {
        "inputs": ["item_keys", "user_keys"],
        "outputs": ["item_ids", "known_user", "scores"],
    }
    if "explain" in signatures:  # The attention models (tests/serving/test_export_maml.py).
        assert signatures["explain"] == {
            "inputs": ["item_keys", "user_keys"],
            "outputs": ["attention", "dimension_contributions", "known", "scores"],
        }


def test_warmup_requests_parse_and_replay(served):
    explains = "explain" in served.loaded["signatures"]
    assert (
        served.loaded["warmup"]
        == [
            ["served", "serving_default"],
            ["served", "serving_default"],
            ["served", "score"],
        ]
        + [["served", "explain"]] * explains
    )
