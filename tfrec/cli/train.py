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
    parser.add_argument(
        "--model",
        required=True,
        help="model name (cml, bpr, maml, cml-features, fism, nais, iris, acf, svdpp, mml, wrmf)",
    )
    common.add_data_arguments(parser)
    features = parser.add_argument_group("item features (maml, cml-features)")
    features.add_argument(
        "--item-features",
        metavar="FEATURES.h5",
        help="feature store (`tfrec features ...`); default for a dataset with item text: "
        "Doc2Vec PV-DM vectors of that text, built here and saved as DIR/item_features.h5",
    )
    features.add_argument(
        "--modalities",
        type=_modalities,
        help="comma-separated modalities of the store, in column order (default: all, "
        "text first, then image); for iris: VISUAL,TEXT (default image,text), e.g. "
        "metadata,text on ml-1m-sample",
    )
    features.add_argument(
        "--text-dim",
        type=common.positive_int,
        default=100,
        help="Doc2Vec size when the features are built from the item text (default 100)",
    )
    parser.add_argument(
        "--item-labels",
        metavar="FILE",
        help="item<TAB>label lines: category labels for NMI (replace the dataset's own)",
    )
    parser.add_argument("--preset", help="preset name (default: the model's paper preset)")
    parser.add_argument("--epochs", type=common.positive_int, help="override the epochs")
    parser.add_argument(
        "--steps-per-epoch", type=common.positive_int, help="override the batches per epoch"
    )
    parser.add_argument("--batch-size", type=common.positive_int, help="override the batch size")
    parser.add_argument("--seed", type=common.non_negative_int, default=0, help="random seed")
    parser.add_argument(
        "--evaluate-every",
        type=common.non_negative_int,
        default=0,
        metavar="N",
        help="also log test metrics every N epochs (learning curves; never used to select)",
    )
    parser.add_argument(
        "--k",
        type=common.positive_int,
        nargs="+",
        help="cut-offs (default 10; 10 20 for fism, nais, iris; 100 for acf, svdpp)",
    )
    parser.add_argument(
        "--components",
        metavar="COMPONENTS.h5",
        help="acf: component store (`tfrec features components|regions`); default: word "
        "vectors of the dataset's item text (else tags), built here as DIR/components.h5",
    )
    parser.add_argument(
        "--pretrain",
        choices=("auto", "fism", "none"),
        default="auto",
        help="nais/iris: start from a trained FISM (auto: as the preset says)",
    )
    parser.add_argument(
        "--patience",
        type=common.non_negative_int,
        help="fism/nais/iris: early stopping on the validation events after N epochs "
        "without improvement, best epoch kept (needs a split with validation, e.g. --split "
        "leave-one-out-random); 0: off (default: as the preset says; iris 3)",
    )
    parser.add_argument(
        "--backend",
        choices=("tensorflow", "jax"),
        help="Keras backend (default: $KERAS_BACKEND or tensorflow)",
    )
    parser.add_argument("--output", required=True, help="output directory")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def _modalities(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected modality names like text,image; got {text!r}")
    return names


def item_features_for(args: argparse.Namespace, interactions):
    """The `[num_items, d]` feature matrix for the feature models, and how it was made."""
    from tfrec.features import item_feature_matrix

    if args.item_features:
        matrix, dims = item_feature_matrix(
            args.item_features, interactions.item_keys, modalities=args.modalities
        )
        print(f"item features: {args.item_features} {dims}")
        return matrix, {"item_features": str(args.item_features), "modality_dims": dims}
    if args.modalities and args.modalities != ["text"]:
        raise ValueError(
            f"--modalities {','.join(args.modalities)} needs --item-features FEATURES.h5 "
            "(only text features can be built from the dataset itself)."
        )
    if not interactions.item_side.text:
        raise ValueError(
            f"--model {args.model} needs item features and {interactions.name} has no item "
            "text to build them from: give --item-features FEATURES.h5 (see `tfrec features`)."
        )
    from tfrec.features import text_features_from_side_info
    from tfrec.features import write_features
    from tfrec.utils.atomic import atomic_path

    print(f"item features: Doc2Vec PV-DM ({args.text_dim} dims) of the item text")
    table, doc2vec = text_features_from_side_info(
        interactions.item_side.text, interactions.item_keys, dim=args.text_dim, seed=0
    )
    os.makedirs(args.output, exist_ok=True)
    path = os.path.join(args.output, "item_features.h5")
    provenance = {
        "extractor": "gensim Doc2Vec, PV-DM (dm=1)",
        "parameters": {"dim": args.text_dim, "epochs": 40, "min_count": 2, "seed": 0},
        "source_files": [f"item text of dataset {interactions.name}"],
    }
    model_path = os.path.join(args.output, "item_features.doc2vec")
    with atomic_path(model_path) as temporary:
        doc2vec.save(str(temporary))
    provenance["model_file"] = os.path.basename(model_path)
    write_features(path, {"text": table}, provenance={"text": provenance})
    return table.values, {"item_features": path, "modality_dims": {"text": args.text_dim}}


def history_item_features(args: argparse.Namespace, interactions):
    """IRIS's {"image": ..., "text": ...} feature arrays, and how they were made."""
    from tfrec.features.movie_features import iris_item_features

    source = args.item_features or os.path.join(args.output, "item_features.h5")
    if not args.item_features:
        os.makedirs(args.output, exist_ok=True)
    features, dims = iris_item_features(interactions, source, modalities=args.modalities)
    print(f"item features: {source} {dims}")
    return features, {"item_features": source, "modality_dims": dims}


def acf_components(args: argparse.Namespace, interactions):
    """The `ComponentStore` of ACF: --components, or word vectors built into DIR."""
    from tfrec.features.component_store import ComponentStore

    path = args.components
    if not path:
        from tfrec.features.component_features import write_token_components

        os.makedirs(args.output, exist_ok=True)
        path = os.path.join(args.output, "components.h5")
        record = write_token_components(interactions, path)
        print(f"components: word vectors of {record['source']} -> {path}")
    store = ComponentStore(path, interactions.item_keys)
    print(
        f"components: {path}, {store.max_components} x {store.dim} per item, "
        f"{int((store.counts == 0).sum())} items without any"
    )
    return store.load()


def run(args: argparse.Namespace) -> int:
    if args.backend:
        if "keras" in sys.modules and os.environ.get("KERAS_BACKEND") != args.backend:
            raise ValueError("--backend must be chosen before Keras is imported.")
        os.environ["KERAS_BACKEND"] = args.backend
    from tfrec.models.registry import needs_item_features
    from tfrec.training.acf_experiment import run_acf_experiment
    from tfrec.training.acf_presets import ACF_MODELS
    from tfrec.training.experiment import run_experiment
    from tfrec.training.history_experiment import HISTORY_MODELS
    from tfrec.training.history_experiment import run_history_experiment
    from tfrec.training.presets import get_preset

    preset = get_preset(args.model, args.preset, dataset=args.dataset)
    preset = preset.replace(
        epochs=args.epochs, steps_per_epoch=args.steps_per_epoch, batch_size=args.batch_size
    )
    interactions = common.load_interactions(args)
    extra_config = {"registry_dataset": args.dataset} if args.dataset else {}
    if args.item_labels:
        import dataclasses

        from tfrec.data.loaders.item_labels import load_item_labels

        labels = load_item_labels(args.item_labels)
        side = dataclasses.replace(interactions.item_side, categories=labels.categories)
        interactions = dataclasses.replace(interactions, item_side=side)
        known = int((interactions.item_labels()[0] >= 0).sum())
        print(f"item labels: {args.item_labels}, {known:,} of {interactions.num_items:,} items")
        extra_config["item_labels"] = str(args.item_labels)
    print(interactions.summary())
    print(f"preset {preset.model}/{preset.name}: {preset.source}")
    if args.dataset and args.split:
        extra_config["registry_split"] = args.split  # `tfrec evaluate` re-splits the same way.
    verbose = 0 if args.quiet else "auto"
    if preset.model in ACF_MODELS:
        if args.item_features or args.patience is not None:
            raise ValueError(
                f"--model {args.model} takes --components, not --item-features or --patience."
            )
        components = None
        if preset.model == "acf":
            components = acf_components(args, interactions)
            extra_config["components_file"] = str(components.path)
        elif args.components:
            raise ValueError("--model svdpp reads no component features (no --components).")
        result = run_acf_experiment(
            interactions,
            preset,
            components=components,
            seed=args.seed,
            output_dir=args.output,
            ks=tuple(args.k or (100,)),
            evaluate_every=args.evaluate_every,
            verbose=verbose,
            extra_config=extra_config,
        )
        return _report(result, args)
    if args.components:
        raise ValueError(f"--components is for acf, not --model {args.model}.")
    if preset.model == "wrmf":
        from tfrec.training.wrmf_experiment import run_wrmf_experiment

        result = run_wrmf_experiment(
            interactions,
            preset,
            seed=args.seed,
            output_dir=args.output,
            ks=tuple(args.k or (10,)),
            extra_config=extra_config,
        )
        print(result.evaluation)
        print(f"wrote {os.path.join(args.output, 'metrics.json')} and model.npz")
        return 0
    if preset.model in HISTORY_MODELS:
        item_features = None
        if preset.model == "iris":
            item_features, feature_config = history_item_features(args, interactions)
            extra_config.update(feature_config)
        elif args.item_features:
            raise ValueError(f"--model {args.model} takes no --item-features.")
        result = run_history_experiment(
            interactions,
            preset,
            seed=args.seed,
            output_dir=args.output,
            item_features=item_features,
            pretrain=None if args.pretrain == "none" else args.pretrain,
            ks=tuple(args.k or (10, 20)),
            evaluate_every=args.evaluate_every,
            patience="auto" if args.patience is None else (args.patience or None),
            verbose=verbose,
            extra_config=extra_config,
        )
        return _report(result, args)
    item_features = None
    if needs_item_features(preset.model):
        item_features, feature_config = item_features_for(args, interactions)
        extra_config.update(feature_config)
    elif args.item_features:
        raise ValueError(f"--model {args.model} takes no --item-features.")
    if args.patience is not None:
        raise ValueError(f"--patience is for fism, nais and iris, not --model {args.model}.")
    result = run_experiment(
        interactions,
        preset,
        seed=args.seed,
        output_dir=args.output,
        ks=tuple(args.k or (10,)),
        evaluate_every=args.evaluate_every,
        verbose=verbose,
        extra_config=extra_config,
        item_features=item_features,
    )
    return _report(result, args)


def _report(result, args) -> int:
    print(result.evaluation)
    print(
        f"wrote {os.path.join(args.output, 'metrics.json')} and model.keras "
        f"({result.seconds:.0f} s)"
    )
    return 0
