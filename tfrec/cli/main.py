"""The `tfrec` command line: one sub-command module per verb, each with `register(subparsers)`.

A sub-command module defines `register(subparsers)` which adds its parser and sets
`func=run` on it; `run(args) -> int` returns the exit code. Argument errors are reported by
argparse (exit 2) or as `tfrec: error: ...` lines, never as tracebacks.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Order is the order shown in `tfrec --help`.
SUBCOMMANDS = ("datasets", "train", "evaluate", "features", "export")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tfrec", description="Train, evaluate and export tfrec recommenders."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"tfrec.cli.{name}")
        except ModuleNotFoundError as error:
            if error.name == f"tfrec.cli.{name}":
                continue  # Sub-command not implemented in this version.
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, KeyError) as error:
        # User-facing errors (bad files, unknown names) are one line, not a traceback.
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"tfrec {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
