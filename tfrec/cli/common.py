"""Arguments and data loading shared by the sub-commands."""

from __future__ import annotations

import argparse
from pathlib import Path

from tfrec.data.splits import NAMED_SPLITS


def positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """`--dataset NAME` or files (`--train/--test/--format` and format-specific files)."""
    group = parser.add_argument_group("data (a registry dataset, or files in a known format)")
    group.add_argument("--dataset", help="registry dataset name (see `tfrec datasets list`)")
    group.add_argument(
        "--data-dir", help="dataset cache (default $TFREC_DATA_DIR or ~/.cache/tfrec)"
    )
    group.add_argument("--train", help="training file (or the single file of an unsplit format)")
    group.add_argument("--test", help="test file")
    group.add_argument("--format", help="file format, e.g. maml-csv (see the README)")
    group.add_argument("--negatives", help="NCF .test.negative file")
    group.add_argument("--tags", help="item tag file (user-item-lines format)")
    group.add_argument("--attributes", help="item attribute JSON (s3rec format)")
    group.add_argument("--categories", help="item category file (hin format)")
    group.add_argument("--movies", help="movies.dat (movielens format)")
    group.add_argument("--extras", help="OMDb movies_extrainfos.dat (movielens format)")
    group.add_argument(
        "--split",
        choices=sorted(NAMED_SPLITS),
        help="re-split: files of an unsplit format (default leave-one-out, latest by time) "
        "or a registry dataset that offers it (default: its own split); "
        "leave-one-out-random is the IRIS protocol",
    )
    group.add_argument(
        "--test-fraction", type=float, default=0.3, help="test share for --split ratio"
    )


def load_interactions(args: argparse.Namespace):
    """The `Interactions` named by the data arguments (registry or files)."""
    from tfrec.data.interactions import InteractionLog

    if args.dataset and args.train:
        raise ValueError("Give either --dataset or --train/--test/--format, not both.")
    if args.dataset:
        from tfrec.data.registry import load_dataset

        return load_dataset(args.dataset, data_dir=args.data_dir, split=args.split)
    if not args.train:
        raise ValueError("No data: give --dataset NAME, or --train FILE [--test FILE] --format F.")
    if not args.format:
        from tfrec.data.loaders import FORMATS

        raise ValueError(f"--train needs --format, one of: {', '.join(sorted(FORMATS))}.")
    from tfrec.data.loaders import load_files

    files = {
        flag: getattr(args, flag)
        for flag in (
            "train",
            "test",
            "negatives",
            "tags",
            "attributes",
            "categories",
            "movies",
            "extras",
        )
        if getattr(args, flag, None)
    }
    loaded = load_files(args.format, **files)
    if isinstance(loaded, InteractionLog):
        from tfrec.data.splits import split_log

        split = args.split or "leave-one-out"
        return split_log(loaded, split, test_fraction=args.test_fraction)
    if args.split is not None:
        raise ValueError(
            f"--split {args.split} re-splits unsplit files, but --format {args.format} is "
            "already split (its train and test files are used as they are)."
        )
    return loaded


def trained_model_path(model_dir) -> Path:
    """DIR/model.keras, or DIR/model.npz for WRMF (factors, not a Keras model)."""
    model_dir = Path(model_dir)
    for name in ("model.keras", "model.npz"):
        if (model_dir / name).is_file():
            return model_dir / name
    raise FileNotFoundError(
        f"{model_dir / 'model.keras'} does not exist: is {model_dir} a `tfrec train` output?"
    )


def load_trained_model(path: Path):
    """The model of `trained_model_path`: WRMF from `.npz`, else a Keras model (tfrec's
    classes and optimizers registered)."""
    if path.suffix == ".npz":
        from tfrec.models.wrmf import WRMF

        return WRMF.load(path)
    import keras

    import tfrec.models  # noqa: F401  (registers the model classes for deserialisation)
    import tfrec.training.optimizers  # noqa: F401

    return keras.saving.load_model(path)
