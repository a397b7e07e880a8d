"""`tfrec export`: a trained model directory -> saved_models/NAME/VERSION/ for TF Serving."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tfrec.cli import common


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a trained model for TF Serving",
        description=(
            "Loads DIR/model.keras and writes BASE/NAME/VERSION/, a SavedModel with the "
            "signatures serving_default (= recommend: user_keys, k -> item_keys, item_ids, "
            "scores, known_user) and score (user_keys, item_keys -> scores), and adds NAME "
            "to BASE/models.config. The data must be the data the model was trained on (its "
            "keys and training items go into the export); without data arguments it is the "
            "registry dataset recorded in DIR/metrics.json. See saved_models/README.md."
        ),
    )
    parser.add_argument("--model-dir", required=True, help="a directory written by `tfrec train`")
    parser.add_argument("--name", required=True, help="model name in TF Serving (e.g. office-cml)")
    parser.add_argument(
        "--base", default="saved_models", help="root of the exported models (default: saved_models)"
    )
    parser.add_argument(
        "--version",
        type=common.positive_int,
        help="integer version (default: the next free one); an existing one is never replaced",
    )
    parser.add_argument(
        "--serving-base-path",
        help="where TF Serving sees --base, for models.config (e.g. /models in docker; "
        "default: the absolute path of --base)",
    )
    parser.add_argument(
        "--no-warmup", action="store_true", help="do not write TF Serving warm-up requests"
    )
    common.add_data_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    model_dir = Path(args.model_dir)
    model_path = common.trained_model_path(model_dir)
    metrics_path = model_dir / "metrics.json"
    config = json.loads(metrics_path.read_text())["config"] if metrics_path.is_file() else {}
    if not args.dataset and not args.train:
        if config:
            args.dataset = config.get("registry_dataset")
            args.split = args.split or config.get("registry_split")
        if not args.dataset:
            raise ValueError(
                "The model was not trained on a registry dataset: give the data arguments "
                "(--dataset, or --train/--test/--format) of its training data."
            )

    from tfrec.serving import export_model

    interactions = common.load_interactions(args)
    model = common.load_trained_model(model_path)
    if (model.num_users, model.num_items) != (interactions.num_users, interactions.num_items):
        raise ValueError(
            f"The model has {model.num_users} users x {model.num_items} items, the data "
            f"{interactions.num_users} x {interactions.num_items}: not the data it was trained on."
        )
    # History models are scored from their training lists clipped as in training.
    clipping = config.get("history_training") or {}
    components = None
    if config.get("components_file"):  # ACF: its component store, as in training.
        from tfrec.features.component_store import ComponentStore

        components = ComponentStore(config["components_file"], interactions.item_keys)
    target = export_model(
        model,
        interactions,
        args.base,
        name=args.name,
        version=args.version,
        warmup=not args.no_warmup,
        serving_base_path=args.serving_base_path,
        max_history_length=clipping.get("max_history_length"),
        clip=clipping.get("clip", "first"),
        components=components,
    )
    print(f"wrote {target} and {Path(args.base) / 'models.config'}")
    return 0
