"""`tfrec evaluate`: evaluate a trained model directory on a test split."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tfrec.cli import common


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="evaluate a trained model",
        description=(
            "Loads DIR/model.keras and evaluates it with the protocol it was trained for: "
            "full ranking (training items excluded), or 1 + 99 sampled candidates for the "
            "history models (fism, nais, iris). Without data arguments it uses the registry "
            "dataset the model was trained on (from DIR/metrics.json)."
        ),
    )
    parser.add_argument("--model-dir", required=True, help="a directory written by `tfrec train`")
    common.add_data_arguments(parser)
    parser.add_argument(
        "--k", type=common.positive_int, nargs="+", help="cut-offs (default 10; history: 10 20)"
    )
    parser.add_argument("--output", help="write the metrics as JSON to this file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    model_dir = Path(args.model_dir)
    model_path = common.trained_model_path(model_dir)
    metrics_path = model_dir / "metrics.json"
    config = json.loads(metrics_path.read_text())["config"] if metrics_path.is_file() else {}
    if not args.dataset and not args.train:
        args.dataset = config.get("registry_dataset")
        args.split = args.split or config.get("registry_split")
        if not args.dataset:
            raise ValueError(
                "The model was not trained on a registry dataset: give the data arguments."
            )

    from tfrec.models.item_similarity_model import ItemSimilarityModel
    from tfrec.utils.atomic import write_json

    interactions = common.load_interactions(args)
    model = common.load_trained_model(model_path)

    from tfrec.models.acf import ACF

    if isinstance(model, ACF):
        result = _evaluate_acf(model, interactions, config, args)
    elif isinstance(model, ItemSimilarityModel):
        from tfrec.training.history_experiment import evaluate_history_model
        from tfrec.training.presets import get_preset

        saved = config.get("preset") or {}
        preset = get_preset(saved.get("model", model.name), saved.get("name"))
        if model.num_items != interactions.num_items:
            raise ValueError(
                f"The model has {model.num_items} items, the data {interactions.num_items}: "
                "not the data it was trained on."
            )
        result = evaluate_history_model(model, interactions, preset, ks=tuple(args.k or (10, 20)))
    else:
        result = _evaluate_full(model, interactions, args)
    print(result)
    if args.output:
        write_json(args.output, {k: float(v) for k, v in result.metrics.items()})
    return 0


def _evaluate_acf(model, interactions, config, args):
    """ACF / SVD++: full ranking from each user's training history (and its components)."""
    from tfrec.evaluation.full_ranking import evaluate_full_ranking
    from tfrec.features.component_store import ComponentStore
    from tfrec.sampling.user_histories import UserHistories

    if (model.num_users, model.num_items) != (interactions.num_users, interactions.num_items):
        raise ValueError(
            f"The model has {model.num_users} users x {model.num_items} items, the data "
            f"{interactions.num_users} x {interactions.num_items}: not the data it was trained on."
        )
    components = None
    if model.uses_components:
        path = config.get("components_file")
        if not path:
            raise ValueError("metrics.json records no components file for this ACF model.")
        components = ComponentStore(path, interactions.item_keys).load()
    histories = UserHistories(
        interactions.train,
        max_history_length=config.get("max_history_length"),
        timestamps=interactions.train_timestamps,
    )
    scorer = model.full_ranking_scorer(histories, components)
    return evaluate_full_ranking(scorer, interactions, ks=tuple(args.k or (100,)))


def _evaluate_full(model, interactions, args):
    from tfrec.evaluation.full_ranking import evaluate_full_ranking

    if (model.num_users, model.num_items) != (interactions.num_users, interactions.num_items):
        raise ValueError(
            f"The model has {model.num_users} users x {model.num_items} items, the data "
            f"{interactions.num_users} x {interactions.num_items}: not the data it was trained on."
        )
    return evaluate_full_ranking(model.score_users_numpy, interactions, ks=tuple(args.k or (10,)))
