"""`tfrec train`: train a model on a registry dataset or on files, evaluate, save."""

from __future__ import annotations

import argparse
import os
import sys

from tfrec.cli import common


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train and evaluate a model",
        description=(
            "Trains a model with a preset (the paper's settings by default), evaluates the "
            "final model with full ranking on the test split, and writes DIR/metrics.json "
            "and DIR/model.keras."
        ),
    )
    parser.add_argument("--model", required=True, help="model name (cml, bpr)")
    common.add_data_arguments(parser)
    parser.add_argument("--preset", help="preset name (default: the model's paper preset)")
    parser.add_argument("--epochs", type=common.positive_int, help="override the epochs")
    parser.add_argument("--seed", type=common.non_negative_int, default=0, help="random seed")
    parser.add_argument(
        "--evaluate-every",
        type=common.non_negative_int,
        default=0,
        metavar="N",
        help="also log test metrics every N epochs (learning curves; never used to select)",
    )
    parser.add_argument("--k", type=common.positive_int, nargs="+", default=[10], help="cut-offs")
    parser.add_argument(
        "--backend",
        choices=("tensorflow", "jax"),
        help="Keras backend (default: $KERAS_BACKEND or tensorflow)",
    )
    parser.add_argument("--output", required=True, help="output directory")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.backend:
        if "keras" in sys.modules and os.environ.get("KERAS_BACKEND") != args.backend:
            raise ValueError("--backend must be chosen before Keras is imported.")
        os.environ["KERAS_BACKEND"] = args.backend
    from tfrec.training.experiment import run_experiment
    from tfrec.training.presets import get_preset

    preset = get_preset(args.model, args.preset, dataset=args.dataset)
    if args.epochs:
        preset = preset.replace(epochs=args.epochs)
    interactions = common.load_interactions(args)
    print(interactions.summary())
    print(f"preset {preset.model}/{preset.name}: {preset.source}")
    extra_config = {"registry_dataset": args.dataset} if args.dataset else {}
    result = run_experiment(
        interactions,
        preset,
        seed=args.seed,
        output_dir=args.output,
        ks=tuple(args.k),
        evaluate_every=args.evaluate_every,
        verbose=0 if args.quiet else "auto",
        extra_config=extra_config,
    )
    print(result.evaluation)
    print(
        f"wrote {os.path.join(args.output, 'metrics.json')} and model.keras "
        f"({result.seconds:.0f} s)"
    )
    return 0
