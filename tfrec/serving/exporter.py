"""`export_model`: a trained model -> `saved_models/NAME/VERSION/`, a SavedModel for TF Serving.

The version folder is built in a hidden temporary folder beside it (same file system) and
renamed into place in one step, so a TF Serving instance polling `saved_models/NAME/`
never sees a half-written version (it only considers folders named by an integer). Then
`saved_models/models.config` gets an entry for NAME (see `models_config.py`).

Layout of one version (see saved_models/README.md):

    saved_models/NAME/VERSION/
        saved_model.pb, variables/, fingerprint.pb   the graph and its state
        assets.extra/tf_serving_warmup_requests      warm-up PredictionLogs
        assets.extra/tfrec_export.json               what was exported from what
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import tensorflow as tf

from tfrec.data.interactions import Interactions
from tfrec.serving.history_recommender_module import HistoryRecommenderModule
from tfrec.serving.history_scorers import HistoryScorer
from tfrec.serving.models_config import update_models_config
from tfrec.serving.recommender_module import RecommenderModule
from tfrec.serving.scorers import ACFScorer
from tfrec.serving.scorers import get_scorer
from tfrec.serving.warmup import WARMUP_DIRECTORY
from tfrec.serving.warmup import write_warmup_requests

EXPORT_INFO = "tfrec_export.json"
# Every export; MAML adds `explain`, the history models `recommend_from_history` and `explain`.
SIGNATURES = ("serving_default", "recommend", "score")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_TEMPORARY_PREFIX = ".export-"


def export_model(
    model,
    interactions: Interactions,
    base_dir: str | os.PathLike = "saved_models",
    name: str | None = None,
    version: int | None = None,
    *,
    warmup: bool = True,
    serving_base_path: str | None = None,
    max_history_length: int | None = None,
    clip: str = "first",
    components=None,
) -> Path:
    """Exports `model` with its vocabularies and training items as `base_dir/NAME/VERSION/`.

    The SavedModel has the signatures `serving_default` (= `recommend`) and `score`
    documented in `tfrec.serving.recommender_module`: raw string keys in, top-k item keys,
    ids and scores out, training items excluded, unknown users answered with the
    popularity ranking; MAML adds `explain` (the attention of (user, item) pairs); the
    history models (FISM, NAIS, IRIS) add `recommend_from_history` (a new user's items in
    the request) and `explain` (each history item's weight and share of a target's score,
    `tfrec.serving.history_recommender_module`). The weights are copied as numpy arrays,
    so a model trained on any Keras backend exports the same graph.

    Args:
        model: a trained model whose class has a scorer in `tfrec.serving.SCORERS`
            (CML, BPR, MAML, FeatureCML, FISM, NAIS, IRIS).
        interactions: the data the model was trained on (its keys and training split).
        base_dir: the folder of all exported models (TF Serving's model root).
        name: the model name in TF Serving (letters, digits, `.`, `_`, `-`); default the
            model class name in lower case.
        version: the integer version (>= 1); default the next free one (1 for a new name).
            An existing version is never overwritten.
        warmup: write TF Serving warm-up requests (needs tensorflow-serving-api).
        serving_base_path: where TF Serving sees `base_dir`, for `models.config` (e.g.
            `/models` inside the docker image); default the absolute path of `base_dir`.
        max_history_length, clip: history models: score known users from their training
            lists clipped as in training (`HistoryTraining`: the NAIS code keeps the first
            299 items), so the export matches `evaluate_history_model`; None scores from
            every training item. `tfrec export` reads them from metrics.json.
        components: ACF: the `ComponentStore` it was trained with (its projections are
            stored in the export, not the raw components).

    Returns:
        The path of the new version folder.

    Example:
    >>> export_model(model, data, "saved_models", name="office-cml")
    PosixPath('saved_models/office-cml/1')
    """
    name = type(model).__name__.lower() if name is None else name
    if not _NAME.match(name):
        raise ValueError(
            f"Received: `name={name!r}`. Expected letters, digits, '.', '_' or '-', starting "
            "with a letter or digit (it becomes a folder name and a URL path)."
        )
    if version is not None and (
        isinstance(version, bool) or int(version) != version or version < 1
    ):
        raise ValueError(f"Received: `version={version!r}`. Expected an integer >= 1.")
    model_dir = Path(base_dir) / name
    if version is not None and (model_dir / str(version)).exists():
        raise ValueError(
            f"Received: `version={version}`, but {model_dir / str(version)} exists. Expected a "
            "new version (exports are never overwritten; omit it for the next free one)."
        )
    scorer = get_scorer(model)
    module_class = (
        HistoryRecommenderModule if isinstance(scorer, HistoryScorer) else RecommenderModule
    )
    if isinstance(scorer, ACFScorer):
        from tfrec.serving.acf_recommender_module import ACFRecommenderModule

        module = ACFRecommenderModule.from_model(model, interactions, components=components)
    elif module_class is HistoryRecommenderModule:
        module = module_class.from_model(
            model, interactions, scorer, max_history_length=max_history_length, clip=clip
        )
    elif max_history_length is not None:
        raise ValueError(
            f"Received `max_history_length` for a {type(model).__name__}. Expected it only "
            "for the history models (FISM, NAIS, IRIS)."
        )
    else:
        module = module_class.from_model(model, interactions, scorer)
    model_dir.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=_TEMPORARY_PREFIX, dir=model_dir))
    try:
        _write_version(module, temporary, name, model, interactions, warmup)
        target = _move_into_place(temporary, model_dir, version)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    base_path = (
        f"{serving_base_path.rstrip('/')}/{name}" if serving_base_path else str(model_dir.resolve())
    )
    update_models_config(base_dir, name, base_path)
    return target


def _acf_module():
    from tfrec.serving.acf_recommender_module import ACFRecommenderModule

    return ACFRecommenderModule


def next_version(model_dir: str | os.PathLike) -> int:
    """1 + the highest integer-named version folder in `model_dir` (1 when there is none)."""
    model_dir = Path(model_dir)
    versions = [
        int(entry.name)
        for entry in (model_dir.iterdir() if model_dir.is_dir() else ())
        if entry.name.isdigit() and entry.is_dir()
    ]
    return max(versions, default=0) + 1


def _write_version(module, directory, name, model, interactions, warmup) -> None:
    signatures = module.serving_signatures()
    history = "recommend_from_history" in signatures
    tf.saved_model.save(module, os.fspath(directory), signatures=signatures)
    extra = directory / WARMUP_DIRECTORY
    extra.mkdir(exist_ok=True)
    if warmup:
        user_keys = [str(key) for key in interactions.user_keys[:2]]
        write_warmup_requests(
            directory,
            name,
            user_keys + ["<unknown user>"],
            [str(key) for key in interactions.item_keys[:3]],
            explain=("acf" if isinstance(module, _acf_module()) else "history")
            if history
            else "explain" in signatures,
        )
    info = {
        "model_class": f"{type(model).__module__}.{type(model).__name__}",
        "model_config": model.get_config(),
        "dataset": interactions.name,
        "num_users": interactions.num_users,
        "num_items": interactions.num_items,
        "train_interactions": int(interactions.train.nnz),
        "signatures": list(signatures),
        "exported_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "tensorflow": tf.__version__,
    }
    (extra / EXPORT_INFO).write_text(json.dumps(info, indent=2, default=str) + "\n")


def _move_into_place(temporary: Path, model_dir: Path, version: int | None) -> Path:
    """Renames `temporary` to `model_dir/VERSION` in one step; never replaces a version."""
    candidate = version or next_version(model_dir)
    while True:
        target = model_dir / str(candidate)
        if not target.exists():
            try:
                os.rename(temporary, target)  # Atomic; fails on a non-empty target.
                return target
            except OSError:
                if not target.exists():
                    raise
        if version is not None:
            raise ValueError(
                f"Received: `version={version}`, but {target} appeared during the export. "
                "Expected a new version."
            )
        candidate += 1  # Another export took this number meanwhile.
