"""Loads an exported SavedModel with plain TensorFlow and calls its signatures.

Run in a fresh process by tests/serving/test_export.py (never imported by the tests):

    python load_and_call.py REQUESTS.json RESULTS.json

REQUESTS.json: {"export_dir": DIR, "calls": [{"signature": NAME, "inputs": {...}}, ...]}; a
call may name another "export_dir" (several exports checked in one process).
RESULTS.json: {"outputs": [{output name: nested lists}, ...], "signatures": {name: {"inputs":
[...], "outputs": [...]}}, "imported": [tfrec/Keras modules in sys.modules at the end],
"warmup": [[model name, signature name] of each replayed warm-up request]}, where
"signatures" and "warmup" are those of DIR; "exports": {each export dir: {"signatures": ...,
"warmup": ...}} has them for every export used.

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

DTYPES = {"user_keys": tf.string, "item_keys": tf.string, "target_keys": tf.string, "k": tf.int32}


def as_json(array: np.ndarray):
    if array.dtype == object:
        return (
            [[v.decode() for v in row] for row in array]
            if array.ndim == 2
            else [v.decode() for v in array]
        )
    return array.tolist()


def replay_warmup(loaded, export_dir: str) -> list:
    """Parses every warm-up record as a PredictionLog and replays its request."""
    from tensorflow_serving.apis import prediction_log_pb2

    warmup = []
    path = os.path.join(export_dir, "assets.extra", "tf_serving_warmup_requests")
    for record in tf.data.TFRecordDataset(path):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        predict = log.predict_log.request
        inputs = {name: tf.constant(tf.make_ndarray(t)) for name, t in predict.inputs.items()}
        loaded.signatures[predict.model_spec.signature_name](**inputs)
        warmup.append([predict.model_spec.name, predict.model_spec.signature_name])
    return warmup


def main(requests_path: str, results_path: str) -> None:
    request = json.loads(open(requests_path).read())
    loaded = {request["export_dir"]: tf.saved_model.load(request["export_dir"])}
    outputs = []
    for call in request["calls"]:
        export_dir = call.get("export_dir", request["export_dir"])
        if export_dir not in loaded:
            loaded[export_dir] = tf.saved_model.load(export_dir)
        function = loaded[export_dir].signatures[call["signature"]]
        inputs = {name: tf.constant(value, DTYPES[name]) for name, value in call["inputs"].items()}
        result = function(**inputs)
        outputs.append({name: as_json(tensor.numpy()) for name, tensor in result.items()})
    exports = {}
    for export_dir, model in loaded.items():
        signatures = {
            name: {
                "inputs": sorted(function.structured_input_signature[1]),
                "outputs": sorted(function.structured_outputs),
            }
            for name, function in model.signatures.items()
        }
        exports[export_dir] = {
            "signatures": signatures,
            "warmup": replay_warmup(model, export_dir),
        }
    imported = sorted(name for name in sys.modules if name.split(".")[0] in BLOCKED)
    with open(results_path, "w") as handle:
        json.dump(
            {
                "outputs": outputs,
                **exports[request["export_dir"]],
                "exports": exports,
                "imported": imported,
            },
            handle,
        )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
