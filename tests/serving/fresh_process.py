"""Runs signature calls on exported SavedModels in one fresh Python process (load_and_call.py)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclasses.dataclass
class Exported:
    """One exported model and what the fresh process got from it."""

    model: object
    export_dir: Path
    outputs: dict[str, dict]
    signatures: dict
    warmup: list


def call_in_fresh_process(base: Path, models: dict, calls: dict) -> dict[str, Exported]:
    """Runs `calls` ({(model name, label): call}) in a new process with plain TensorFlow.

    Every model needs a `(name, "recommend")` call; its `export_dir` names the export. The
    process must succeed without importing tfrec or Keras.
    """
    requests_path, results_path = base / "requests.json", base / "results.json"
    export_dir = next(iter(calls.values()))["export_dir"]
    requests_path.write_text(json.dumps({"export_dir": export_dir, "calls": list(calls.values())}))
    process = subprocess.run(
        [sys.executable, os.fspath(HERE / "load_and_call.py"), requests_path, results_path],
        cwd=base,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    results = json.loads(results_path.read_text())
    assert results["imported"] == []  # Neither tfrec nor Keras in the loading process.
    outputs = dict(zip(calls, results["outputs"], strict=True))
    served = {}
    for name, model in models.items():
        export_dir = calls[(name, "recommend")]["export_dir"]
        served[name] = Exported(
            model,
            Path(export_dir),
            {label: value for (owner, label), value in outputs.items() if owner == name},
            results["exports"][export_dir]["signatures"],
            results["exports"][export_dir]["warmup"],
        )
    return served
