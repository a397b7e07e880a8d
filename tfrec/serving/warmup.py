"""TF Serving warm-up records: requests TF Serving replays when it loads a version.

TF Serving reads `assets.extra/tf_serving_warmup_requests` (a TFRecord file of
`PredictionLog` protos) and runs each request once before it marks the version available,
so the first real request does not pay for graph initialisation (tensorflow/serving
docs, "SavedModel Warmup"). Needs tensorflow-serving-api (`pip install tfrec[serving]`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import tensorflow as tf

WARMUP_DIRECTORY = "assets.extra"
WARMUP_FILE = "tf_serving_warmup_requests"


def write_warmup_requests(
    export_dir: str | os.PathLike,
    model_name: str,
    user_keys: Sequence[str],
    item_keys: Sequence[str],
    k: int = 10,
    *,
    explain: bool | str = False,
) -> Path:
    """Writes warm-up requests for the `serving_default` and `score` (and `explain`) signatures.

    Args:
        export_dir: the SavedModel directory (the version directory).
        model_name: the model's name in TF Serving (`ModelSpec.name`).
        user_keys: user keys of the warm-up requests (include an unknown key so that the
            popularity branch is warmed up too).
        item_keys: item keys for the `score` request.
        k: the `k` of the recommend request.
        explain: also a request for the `explain` signature (models that have it): each
            user key paired with an item key (cycling through `item_keys`). `"history"`:
            the history models' signatures instead, `recommend_from_history` (`item_keys`
            and an unknown key as a history, and an empty one) and `explain` (that history
            against each item key). `"acf"`: that `recommend_from_history` request and the
            pair form of `explain`.

    Returns:
        The path of the warm-up file.
    """
    try:
        from tensorflow_serving.apis import model_pb2
        from tensorflow_serving.apis import predict_pb2
        from tensorflow_serving.apis import prediction_log_pb2
    except ImportError as error:
        raise ImportError(
            "Writing TF Serving warm-up requests needs tensorflow-serving-api: "
            "`pip install tfrec[serving]` (or export with `warmup=False`)."
        ) from error

    def log(signature_name: str, inputs: dict) -> bytes:
        request = predict_pb2.PredictRequest(
            model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature_name)
        )
        for name, value in inputs.items():
            request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
        return prediction_log_pb2.PredictionLog(
            predict_log=prediction_log_pb2.PredictLog(request=request)
        ).SerializeToString()

    user_keys = [str(key) for key in user_keys]
    item_keys = [str(key) for key in item_keys]
    records = [
        log("serving_default", {"user_keys": user_keys[:1], "k": tf.constant(k, tf.int32)}),
        log("serving_default", {"user_keys": user_keys, "k": tf.constant(k, tf.int32)}),
        log("score", {"user_keys": user_keys, "item_keys": [item_keys] * len(user_keys)}),
    ]
    if explain == "acf":  # recommend_from_history of the history models, explain by pair.
        histories = [item_keys + ["<unknown item>"], [""] * (len(item_keys) + 1)]
        k_tensor = tf.constant(k, tf.int32)
        records.append(log("recommend_from_history", {"item_keys": histories, "k": k_tensor}))
        pairs = [item_keys[index % len(item_keys)] for index in range(len(user_keys))]
        records.append(log("explain", {"user_keys": user_keys, "item_keys": pairs}))
    elif explain == "history":
        histories = [item_keys + ["<unknown item>"], [""] * (len(item_keys) + 1)]
        k_tensor = tf.constant(k, tf.int32)
        records.append(log("recommend_from_history", {"item_keys": histories, "k": k_tensor}))
        targets = {"target_keys": item_keys, "item_keys": [histories[0]] * len(item_keys)}
        records.append(log("explain", targets))
    elif explain:
        pairs = [item_keys[index % len(item_keys)] for index in range(len(user_keys))]
        records.append(log("explain", {"user_keys": user_keys, "item_keys": pairs}))
    path = Path(export_dir) / WARMUP_DIRECTORY / WARMUP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(os.fspath(path)) as writer:
        for record in records:
            writer.write(record)
    return path
