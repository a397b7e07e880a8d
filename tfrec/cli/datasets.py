"""`tfrec datasets`: list the registry, show an entry, download or fill the cache.

    tfrec datasets list [--data-dir DIR]
    tfrec datasets info NAME
    tfrec datasets download NAME [--from DIR] [--data-dir DIR] [--no-progress]

An unknown NAME is a one-line error that lists the valid names (exit code 2); a failed
download or a folder that lacks files exits with 1.
"""

from __future__ import annotations

import argparse
import sys
import textwrap


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "datasets",
        help="list, describe and download registered datasets",
        description="Registered datasets: pinned public files, verified by sha256, cached "
        "under --data-dir (default $TFREC_DATA_DIR, else ~/.cache/tfrec).",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    listing = actions.add_parser("list", help="table of the datasets and their cache state")
    _add_data_dir(listing)

    info = actions.add_parser("info", help="description, files, URLs, checksums, terms")
    info.add_argument("name", metavar="NAME")
    _add_data_dir(info)

    download = actions.add_parser(
        "download", help="download (or, with --from, copy from a folder) into the cache"
    )
    download.add_argument("name", metavar="NAME")
    download.add_argument(
        "--from",
        dest="source",
        metavar="DIR",
        help="offline: search DIR recursively for the files (matched by sha256) instead of "
        "downloading",
    )
    download.add_argument("--no-progress", action="store_true", help="no progress bars")
    _add_data_dir(download)
    parser.set_defaults(func=run)


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", metavar="DIR", help="cache root (default $TFREC_DATA_DIR or ~/.cache/tfrec)"
    )


def run(args: argparse.Namespace) -> int:
    return {"list": _list, "info": _info, "download": _download}[args.action](args)


def _list(args) -> int:
    from tfrec.data import registry

    rows = [("name", "users", "items", "cached", "verified", "default split")]
    for name in registry.list_datasets():
        spec = registry.get_spec(name)
        present = registry.cached_files(name, args.data_dir)
        rows.append(
            (
                name,
                _number(spec.num_users),
                _number(spec.num_items),
                f"{present}/{len(spec.files)}",
                "yes" if spec.verified else "NO (no sha256 pinned)",
                _short(spec.default_split),
            )
        )
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())
    from tfrec.data import cache

    print(f"\ncache: {cache.data_dir(args.data_dir)}")
    return 0


def _info(args) -> int:
    from tfrec.data import registry

    spec = registry.get_spec(args.name)
    directory = spec.directory(args.data_dir)
    wrap = textwrap.TextWrapper(width=100, initial_indent="  ", subsequent_indent="  ")
    print(spec.name)
    print(wrap.fill(spec.description))
    if spec.num_users is not None:
        print(f"  {spec.num_users:,} users, {spec.num_items:,} items")
    print("default split:")
    print(wrap.fill(spec.default_split))
    print(f"files (cache: {directory}):")
    for remote in spec.files:
        state = "cached" if (directory / remote.filename).is_file() else "not cached"
        size = f", {remote.size:,} bytes" if remote.size is not None else ""
        print(f"  {remote.filename} ({state}{size})")
        print(f"    url:    {remote.url}")
        print(f"    sha256: {remote.sha256 or 'NONE PINNED: not verified'}")
    print("license / terms:")
    print(wrap.fill(spec.license or "not stated"))
    print("citation:")
    print(wrap.fill(spec.citation or "not stated"))
    return 0


def _download(args) -> int:
    from tfrec.data import cache
    from tfrec.data import registry

    spec = registry.get_spec(args.name)
    if args.source:
        registry.fill_cache_from(args.name, args.source, data_dir=args.data_dir)
        missing = [remote.filename for remote in spec.missing_files(args.data_dir)]
        if missing:
            print(
                f"tfrec datasets: error: {args.source} lacks {len(missing)} file(s) of "
                f"{args.name}: {', '.join(missing)}. Download them (see `tfrec datasets info "
                f"{args.name}`) or run without --from.",
                file=sys.stderr,
            )
            return 1
        return 0
    try:
        directory = registry.prepare(
            args.name, data_dir=args.data_dir, download=True, progress=not args.no_progress
        )
    except cache.DownloadError as error:
        print(f"tfrec datasets: error: {error}", file=sys.stderr)
        return 1
    print(f"{args.name}: {len(spec.files)} files verified in {directory}")
    return 0


def _short(split: str) -> str:
    for stop in (" (", ":", ";"):
        split = split.split(stop)[0]
    return split


def _number(value: int | None) -> str:
    return f"{value:,}" if value is not None else "?"
