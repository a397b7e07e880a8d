"""MAML Office for the benchmarks: the registry dataset, or MAML-format files given by path."""

from __future__ import annotations

import argparse


def add_office_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--train", help="MAML-format train.csv (default: the maml-office registry dataset)"
    )
    parser.add_argument("--test", help="MAML-format test.csv (with --train)")


def load_office(args: argparse.Namespace):
    """`Interactions` of MAML Office: from --train/--test, else `load_dataset("maml-office")`
    (cached in $TFREC_DATA_DIR; `tfrec datasets download maml-office [--from DIR]`)."""
    if args.train:
        if not args.test:
            raise SystemExit("--train needs --test")
        from tfrec.data.loaders.maml_csv import load_maml_csv

        return load_maml_csv(args.train, args.test)
    from tfrec.data import load_dataset

    return load_dataset("maml-office")
