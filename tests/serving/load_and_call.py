"""Loads an exported SavedModel with plain TensorFlow and calls its signatures.

Run in a fresh process by tests/serving/test_export.py (never imported by the tests):

    python load_and_call.py REQUESTS.json RESULTS.json

REQUESTS.json: {"export_dir": DIR, "calls": [{"signature": NAME, "inputs": {...}}, ...]}.
RESULTS.json: {"outputs": [{output name: nested lists}, ...], "signatures": {name: {"inputs":
[...], "outputs": [...]}}, "imported": [tfrec/Keras modules in sys.modules at the end],
"warmup": [[model name, signature name] of each replayed warm-up request]}.

tfrec and Keras are made unimportable before TensorFlow is imported (TensorFlow itself
imports Keras when it is installed, and tolerates its absence), so the SavedModel is loaded
and called as on a machine with TensorFlow alone.
"""

import importlib.abc
import importlib.machinery
import json
import os
import sys

BLOCKED = ("tfrec", "keras", "tf_keras")


class Unimportable(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Makes `import keras` (etc.) fail with ImportError, as if it were not installed."""

    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BLOCKED:
            return importlib.machinery.ModuleSpec(name, self)  # No origin: "not installed".
        return None

    def create_module(self, spec):
        raise ImportError(f"{spec.name} is blocked in this process", name=spec.name)

    def exec_module(self, module):
        raise ImportError(f"{module.__name__} is blocked in this process")


sys.meta_path.insert(0, Unimportable())

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

DTYPES = {"user_keys": tf.string, "item_keys": tf.string, "k": tf.int32}


def as_json(array: np.ndarray):
    if array.dtype == object:
        return (
            [[v.decode() for v in row] for row in array]
            if array.ndim == 2
            else [v.decode() for v in array]
        )
    return array.tolist()


def main(requests_path: str, results_path: str) -> None:
    request = json.loads(open(requests_path).read())
    loaded = tf.saved_model.load(request["export_dir"])
    outputs = []
    for call in request["calls"]:
        function = loaded.signatures[call["signature"]]
        inputs = {name: tf.constant(value, DTYPES[name]) for name, value in call["inputs"].items()}
        result = function(**inputs)
        outputs.append({name: as_json(tensor.numpy()) for name, tensor in result.items()})
    signatures = {
        name: {
            "inputs": sorted(function.structured_input_signature[1]),
            "outputs": sorted(function.structured_outputs),
        }
        for name, function in loaded.signatures.items()
    }
    # The warm-up file: parse every record as a PredictionLog and replay its request.
    from tensorflow_serving.apis import prediction_log_pb2

    warmup = []
    path = os.path.join(request["export_dir"], "assets.extra", "tf_serving_warmup_requests")
    for record in tf.data.TFRecordDataset(path):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        predict = log.predict_log.request
        inputs = {name: tf.constant(tf.make_ndarray(t)) for name, t in predict.inputs.items()}
        loaded.signatures[predict.model_spec.signature_name](**inputs)
        warmup.append([predict.model_spec.name, predict.model_spec.signature_name])
    imported = sorted(name for name in sys.modules if name.split(".")[0] in BLOCKED)
    with open(results_path, "w") as handle:
        json.dump(
            {"outputs": outputs, "signatures": signatures, "imported": imported, "warmup": warmup},
            handle,
        )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
