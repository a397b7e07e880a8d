"""Shared parts of the table scripts: resumable run records and the progress switch.

`reproduce_iris_tables.py` and `reproduce_acf_table.py` keep every finished run under a key
(e.g. "nais/e16/s0") in `OUTPUT.json` and its per-user metric values under
"KEY/METRIC" in `OUTPUT.npz` (plus the shared "users"), so a restarted script skips what is
done and the summary can run paired t-tests on per-user values averaged over seeds.
Every table script takes `--verbose` (`add_progress_argument`), and a run records the
checkout that trained it (`code_version`): a table that takes several sessions mixes
commits, and a reader must be able to tell which.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import numpy as np

from tfrec.evaluation import RankingResult
from tfrec.utils.atomic import atomic_path
from tfrec.utils.atomic import write_json


def add_progress_argument(parser: argparse.ArgumentParser) -> None:
    """`--verbose`, Keras's progress display for every training run of a table script.

    The default, 2, prints one line per epoch (loss, seconds), which stays readable in the
    log file of an hour-long run started in the background; 1 is the progress bar, 0 silent.
    """
    parser.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=2,
        help="Keras progress: 2 one line per epoch (default), 1 progress bar, 0 silent",
    )


def code_version() -> str | None:
    """The commit of the checkout these scripts live in, "+changes" when its code (tfrec/,
    benchmarks/*.py, setup.cfg) differs from it; None outside git (an exported tarball).
    Results files are left out: a table run rewrites its own JSON between runs."""
    root = Path(__file__).resolve().parent.parent

    def git(*args):
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)

    try:
        commit = git("rev-parse", "--short", "HEAD")
        changed = git("diff", "--quiet", "HEAD", "--", "tfrec", "benchmarks/*.py", "setup.cfg")
    except OSError:
        return None
    if commit.returncode != 0:
        return None
    return commit.stdout.strip() + ("+changes" if changed.returncode == 1 else "")


def load_runs(output: Path) -> tuple[dict, dict]:
    """`(record, per_user)` from `output` and its `.npz` (empty when they do not exist)."""
    per_user_path = output.with_suffix(".npz")
    record = json.loads(output.read_text()) if output.exists() else {"runs": {}}
    per_user = dict(np.load(per_user_path)) if per_user_path.exists() else {}
    return record, per_user


def save_run(output: Path, record: dict, per_user: dict, key: str, evaluation, metrics) -> None:
    """Adds `evaluation`'s per-user `metrics` under `key` and writes both files atomically."""
    for metric in metrics:
        per_user[f"{key}/{metric}"] = evaluation.per_user[metric]
    per_user["users"] = evaluation.users
    write_json(output, record)
    with atomic_path(output.with_suffix(".npz")) as temporary, open(temporary, "wb") as handle:
        np.savez(handle, **per_user)


def averaged_over_seeds(per_user: dict, prefix: str, seeds, metric: str) -> RankingResult | None:
    """Per-user `metric` of runs "PREFIX/sSEED" averaged over `seeds` (None if one is missing)."""
    values = [per_user.get(f"{prefix}/s{seed}/{metric}") for seed in seeds]
    if any(value is None for value in values):
        return None
    mean = np.mean(values, axis=0)
    return RankingResult({metric: float(mean.mean())}, {metric: mean}, per_user["users"], "")
