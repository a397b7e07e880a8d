"""The dataset registry: `load_dataset("maml-office")` -> verified, cached, split data.

Files of dataset NAME live under `<cache>/<NAME>/` (`<cache>` = the `data_dir` argument, else
`$TFREC_DATA_DIR`, else `~/.cache/tfrec`). The first use downloads each missing file from
its pinned public URL (with a progress bar), checks its sha256 and renames it into place;
later uses read only the cache and never touch the network. Without network access, fill
the cache from a folder that holds the files (any layout, any names) with
`fill_cache_from(name, folder)` or `tfrec datasets download NAME --from FOLDER`.

Example:
>>> from tfrec.data.registry import load_dataset
>>> data = load_dataset("maml-office")
>>> data.num_users, data.num_items
(4874, 2406)
"""

from __future__ import annotations

import difflib
import os
import sys
from pathlib import Path

from tfrec.data import cache
from tfrec.data.cache import RemoteFile
from tfrec.data.dataset_spec import DatasetSpec
from tfrec.data.errors import ChecksumMismatchError
from tfrec.data.interactions import Interactions
from tfrec.data.registry_entries import ENTRIES

REGISTRY: dict[str, DatasetSpec] = {spec.name: spec for spec in ENTRIES}

# sha256 of files already hashed by `fill_cache_from`, keyed by (path, size, mtime_ns).
_HASHES: dict[tuple[str, int, int], str] = {}


def list_datasets() -> list[str]:
    """Names of the registered datasets, sorted."""
    return sorted(REGISTRY)


def get_spec(name: str) -> DatasetSpec:
    """The registry entry `name`.

    Raises:
        ValueError: an unknown name; the one-line message suggests the closest name and
            lists the valid ones.
    """
    if name in REGISTRY:
        return REGISTRY[name]
    close = difflib.get_close_matches(str(name), list(REGISTRY), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(
        f"Received: `name={name!r}`, which is not a registered dataset.{hint} Expected one "
        f"of: {', '.join(list_datasets())}."
    )


def prepare(
    name: str,
    *,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    progress: bool = True,
) -> Path:
    """Makes every file of `name` present, verified and extracted; returns its folder.

    Cached files are checked against their sha256 once (then trusted while their size and
    modification time stay the same); missing files are downloaded when `download` is True.

    Raises:
        FileNotFoundError: files are missing and `download` is False.
        ChecksumMismatchError: a cached or downloaded file has the wrong sha256.
        cache.DownloadError: a download failed.
    """
    spec = get_spec(name)
    directory = spec.directory(data_dir)
    missing = spec.missing_files(data_dir)
    if missing and not download:
        raise FileNotFoundError(_missing_message(spec, missing, directory))
    for remote in spec.files:
        if remote in missing:
            cache.download(remote, directory, progress=progress, dataset=name)
        else:
            cache.verify_cached(remote, directory, dataset=name)
        if remote.extract:
            cache.extract(remote, directory)
    return directory


def load_dataset(
    name: str,
    *,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    progress: bool = True,
    split: str | None = None,
) -> Interactions:
    """Loads a registered dataset with its default split (see `tfrec datasets info NAME`).

    Args:
        name: a name from `list_datasets()`.
        data_dir: cache root (default `$TFREC_DATA_DIR`, else `~/.cache/tfrec`).
        download: download missing files; with False a missing file raises.
        progress: show download progress bars.
        split: None for the entry's default split, or a name of
            `tfrec.data.splits.NAMED_SPLITS` to re-split all of its events (e.g.
            `"leave-one-out-random"`, the IRIS protocol); only for entries that can be
            re-split (`DatasetSpec.build_log`).

    Raises:
        ValueError: an unknown name, or a split the entry does not offer.
        FileNotFoundError: files are missing and `download` is False.
        ChecksumMismatchError: a file has the wrong sha256.
    """
    spec = get_spec(name)
    if split is not None:
        from tfrec.data.splits import NAMED_SPLITS

        if split not in NAMED_SPLITS:
            raise ValueError(
                f"Received: `split={split!r}`. Expected None (the default split) or one of "
                f"{sorted(NAMED_SPLITS)}."
            )
        if spec.build_log is None:
            offering = [entry.name for entry in ENTRIES if entry.build_log is not None]
            raise ValueError(
                f"Dataset {name!r} is only offered with its default split "
                f"({spec.default_split}). Datasets that can be re-split: {offering}."
            )
    directory = prepare(name, data_dir=data_dir, download=download, progress=progress)
    if split is None:
        return spec.build(directory)
    from tfrec.data.splits import split_log

    return split_log(spec.build_log(directory), split)


def fill_cache_from(
    name: str,
    source_dir: str | os.PathLike,
    *,
    data_dir: str | os.PathLike | None = None,
    verbose: bool = True,
) -> list[Path]:
    """Copies the files of `name` found anywhere under `source_dir` into the cache.

    A file matches when its sha256 equals the entry's. To stay fast only candidates are
    hashed: files of the expected size when the size is known, else files with the same
    base name. Entries without a pinned sha256 match by base name (and size when known);
    they are copied with a "NOT VERIFIED" warning. Copies are atomic. Files already in the
    cache with the right sha256 are kept.

    Returns:
        Cache paths of the entry's files now present (found or already cached). What is
        still missing is printed when `verbose` (and is the difference to `spec.files`).
    """
    spec = get_spec(name)
    source = Path(source_dir)
    if not source.is_dir():
        raise FileNotFoundError(f"Received: `source_dir={os.fspath(source_dir)!r}`, not a folder.")
    directory = spec.directory(data_dir)
    by_size, by_name = _index_folder(source)
    present, missing = [], []
    for remote in spec.files:
        target = directory / remote.filename
        if target.is_file():
            try:
                present.append(cache.verify_cached(remote, directory, dataset=name))
                _report(verbose, f"  cached   {remote.filename}")
                continue
            except ChecksumMismatchError:
                pass  # A bad cached copy: look for a good one below.
        found = _find(remote, by_size, by_name)
        if found is None:
            missing.append(remote)
            _report(verbose, f"  missing  {remote.filename}  ({remote.url})")
            continue
        path, digest = found
        if remote.sha256 is None:
            cache.warn_unverified(path, digest)
        present.append(cache.copy_into(path, remote, directory, digest))
        _report(verbose, f"  copied   {remote.filename}  <- {path}")
    for remote in spec.files:
        if remote.extract and (directory / remote.filename).is_file():
            cache.extract(remote, directory)
    if verbose:
        state = "complete" if not missing else f"{len(missing)} of {len(spec.files)} missing"
        print(f"{name}: {state} in {directory}", file=sys.stderr)
    return present


def cached_files(name: str, data_dir: str | os.PathLike | None = None) -> int:
    """How many files of `name` are present in the cache (presence only, no hashing)."""
    spec = get_spec(name)
    return len(spec.files) - len(spec.missing_files(data_dir))


# --------------------------------------------------------------------------- helpers
def _missing_message(spec: DatasetSpec, missing: list[RemoteFile], directory: Path) -> str:
    names = ", ".join(remote.filename for remote in missing)
    return (
        f"{spec.name}: {len(missing)} of {len(spec.files)} files are not in the cache "
        f"{directory} ({names}) and downloading is off. Run `tfrec datasets download "
        f"{spec.name}`, or `tfrec datasets download {spec.name} --from DIR` with a folder "
        "that holds the files."
    )


def _index_folder(source: Path):
    by_size: dict[int, list[Path]] = {}
    by_name: dict[str, list[Path]] = {}
    for root, _, names in os.walk(source):
        for file_name in names:
            path = Path(root) / file_name
            if not path.is_file() or file_name.startswith("."):
                continue
            by_size.setdefault(path.stat().st_size, []).append(path)
            by_name.setdefault(file_name, []).append(path)
    return by_size, by_name


def _hash(path: Path) -> str:
    stat = path.stat()
    key = (os.fspath(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _HASHES:
        _HASHES[key] = cache.sha256_of(path)
    return _HASHES[key]


def _find(remote: RemoteFile, by_size, by_name) -> tuple[Path, str] | None:
    basename = Path(remote.filename).name
    if remote.size is not None:
        candidates = by_size.get(remote.size, [])
    else:
        candidates = by_name.get(basename, [])
    if remote.sha256 is None:
        named = [path for path in candidates if path.name == basename]
        return (named[0], _hash(named[0])) if named else None
    for path in sorted(candidates, key=lambda p: p.name != basename):
        if _hash(path) == remote.sha256:
            return path, remote.sha256
    return None


def _report(verbose: bool, line: str) -> None:
    if verbose:
        print(line, file=sys.stderr)
