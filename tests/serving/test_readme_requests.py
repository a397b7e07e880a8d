"""The request examples of saved_models/README.md against the exported signatures.

TF Serving cannot run here, so its gRPC `PredictionService` is stood in for by an
in-process gRPC server that answers `Predict` from the SavedModel's signatures (rejecting
input names or dtypes the signature does not have, as TF Serving does). The README's
Python client runs unchanged against it; the README's REST bodies are checked against the
signatures' input names.
"""

from __future__ import annotations

import dataclasses
import json
import re
from concurrent import futures
from pathlib import Path

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc

from tfrec.data.synthetic import make_synthetic
from tfrec.evaluation import top_k_items
from tfrec.models import CML
from tfrec.models import FISM
from tfrec.models import MAML
from tfrec.serving import export_model

README = Path(__file__).resolve().parents[2] / "saved_models" / "README.md"


class SavedModelPredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    """`Predict` as TF Serving answers it, from a loaded SavedModel per model name."""

    def __init__(self, models):
        self.models = models

    def Predict(self, request, context):
        if request.model_spec.name not in self.models:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no model {request.model_spec.name}")
        signatures = self.models[request.model_spec.name].signatures
        function = signatures[request.model_spec.signature_name or "serving_default"]
        expected = function.structured_input_signature[1]
        inputs = {name: tf.constant(tf.make_ndarray(p)) for name, p in request.inputs.items()}
        if set(inputs) != set(expected) or any(
            inputs[name].dtype != spec.dtype for name, spec in expected.items()
        ):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"inputs {inputs} vs {expected}")
        response = predict_pb2.PredictResponse()
        response.model_spec.CopyFrom(request.model_spec)
        for name, value in function(**inputs).items():
            response.outputs[name].CopyFrom(tf.make_tensor_proto(value.numpy()))
        return response


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    data = make_synthetic(num_users=40, num_items=30, interactions_per_user=6, num_clusters=2)
    model = CML(data.num_users, data.num_items, embedding_dim=4)
    export_dir = export_model(model, data, tmp_path_factory.mktemp("saved"), name="office-cml")
    loaded = tf.saved_model.load(str(export_dir))
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        SavedModelPredictionService({"office-cml": loaded}), server
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield model, data, loaded, f"127.0.0.1:{port}"
    server.stop(None)


def readme_client():
    text = README.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    code = next(block for block in blocks if "def recommend(" in block)
    namespace = {"__name__": "readme_client"}
    exec(compile(code, str(README), "exec"), namespace)  # noqa: S102 (our own README)
    return namespace


def test_readme_grpc_client(served):
    model, data, _, address = served
    client = readme_client()
    users = ["u3", "nobody", "u3"]
    keys, scores, known = client["recommend"](address, "office-cml", users, k=5)
    items, expected_scores = top_k_items(model.score_users_numpy, [3], 5, data.train)
    assert keys[0] == keys[2] == [data.item_keys[i] for i in items[0]]
    np.testing.assert_allclose(scores[0], expected_scores[0], atol=1e-5)
    assert known.tolist() == [True, False, True]
    counts = np.bincount(data.train.indices, minlength=data.num_items)
    assert keys[1] == [data.item_keys[i] for i in np.lexsort((np.arange(30), -counts))[:5]]
    scored = client["score"](address, "office-cml", ["u3"], [["i0", "i29", "nope"]])
    full = model.score_users_numpy(np.array([3], np.int32))[0]
    np.testing.assert_allclose(scored, [[full[0], full[29], np.nan]], atol=1e-5)
    with pytest.raises(grpc.RpcError) as error:  # A wrong dtype is refused, as by TF Serving.
        client["predict"](
            address, "office-cml", "serving_default", {"user_keys": ["u1"], "k": np.int64(5)}
        )
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_readme_rest_bodies_match_the_signatures(served, tmp_path):
    _, _, loaded, _ = served
    bodies = re.findall(r"-d '(\{.*?\})'", README.read_text(), re.S)
    assert len(bodies) == 4
    exports = {
        "explain": _tiny_maml_export(tmp_path),
        "recommend_from_history": _tiny_fism_export(tmp_path),
    }
    for body in map(json.loads, bodies):
        signatures = exports.get(body["signature_name"], loaded).signatures
        function = signatures[body["signature_name"]]
        assert set(body["inputs"]) == set(function.structured_input_signature[1])
        inputs = {
            name: tf.constant(value, function.structured_input_signature[1][name].dtype)
            for name, value in body["inputs"].items()
        }
        function(**inputs)  # The README's values are valid inputs (shapes, dtypes).


def _tiny_maml_export(tmp_path):
    """A small MAML whose vocabulary holds the README's example keys."""
    data = make_synthetic(num_users=12, num_items=10, interactions_per_user=4, num_clusters=2)
    user_keys = np.array(["A2TM9WEZ2CIXH2", *data.user_keys[1:]], dtype=object)
    item_keys = np.array(["B00006IATF", *data.item_keys[1:]], dtype=object)
    data = dataclasses.replace(data, user_keys=user_keys, item_keys=item_keys)
    features = np.random.default_rng(0).normal(size=(10, 6)).astype(np.float32)
    model = MAML(12, 10, features, embedding_dim=4, hidden_dim=8)
    return tf.saved_model.load(str(export_model(model, data, tmp_path, name="office-maml")))


def _tiny_fism_export(tmp_path):
    """A small (untrained) FISM whose item vocabulary holds the README's ML-1M example keys."""
    data = make_synthetic(num_users=12, num_items=10, interactions_per_user=4, num_clusters=2)
    item_keys = np.array(["1193", "661", "914", "3408", *data.item_keys[4:]], dtype=object)
    data = dataclasses.replace(data, item_keys=item_keys)
    model = FISM(10, embedding_dim=4)
    return tf.saved_model.load(str(export_model(model, data, tmp_path, name="ml1m-nais")))
