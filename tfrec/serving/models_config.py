"""The TF Serving model-config file (`--model_config_file`) listing the exported models.

Text format of `tensorflow.serving.ModelServerConfig`:

    model_config_list {
      config {
        name: "office-cml"
        base_path: "/models/office-cml"
        model_platform: "tensorflow"
      }
    }

TF Serving serves the highest integer version under each `base_path` by default and picks
up new versions by polling it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from tfrec.utils.atomic import atomic_path

MODELS_CONFIG = "models.config"


def update_models_config(base_dir: str | os.PathLike, name: str, base_path: str) -> Path:
    """Adds (or updates) the entry `name` -> `base_path` of `base_dir/models.config`.

    Other entries and their options are kept. The file is replaced atomically, under a lock
    file, so concurrent exports into the same `base_dir` do not lose each other's entries.

    Args:
        base_dir: the folder holding the models and `models.config`.
        name: the model name (the `name` field; the URL path in REST requests).
        base_path: where TF Serving finds the model's version folders (absolute).

    Returns:
        The path of `models.config`.
    """
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    path = Path(base_dir) / MODELS_CONFIG
    with _locked(Path(base_dir) / f".{MODELS_CONFIG}.lock"):
        config = model_server_config_pb2.ModelServerConfig()
        if path.exists():
            try:
                text_format.Parse(path.read_text(), config)
            except text_format.ParseError as error:
                raise ValueError(
                    f"Received an unreadable {path}: {error}. Expected a TF Serving model "
                    "config in text format; fix or remove the file."
                ) from error
        entries = config.model_config_list.config
        entry = next((entry for entry in entries if entry.name == name), None)
        if entry is None:
            entry = entries.add(name=name)
        entry.base_path = base_path
        entry.model_platform = "tensorflow"
        with atomic_path(path) as temporary:
            temporary.write_text(text_format.MessageToString(config))
    return path


def read_models_config(path: str | os.PathLike) -> dict[str, str]:
    """`{name: base_path}` of the entries of a models.config file."""
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    config = model_server_config_pb2.ModelServerConfig()
    text_format.Parse(Path(path).read_text(), config)
    return {entry.name: entry.base_path for entry in config.model_config_list.config}


@contextlib.contextmanager
def _locked(lock_path: Path):
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
