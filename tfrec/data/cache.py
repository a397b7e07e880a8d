"""The local data cache: verified downloads, offline fills and zip extraction.

Files of dataset NAME live under `<cache>/<NAME>/`, where `<cache>` is the `data_dir`
argument, else the `TFREC_DATA_DIR` environment variable, else `~/.cache/tfrec`.

Every write is atomic: a download streams into a temporary file in the destination's
directory, is checked against its sha256 and only then renamed into place with
`os.replace`, so an interrupted download never leaves a half-written file under the real
name. Zip archives are extracted into a temporary directory that is renamed the same way.

Checking a cached file's sha256 on every load would cost a full read, so the first check
is recorded in a small stamp file (`<cache>/<NAME>/.tfrec-verified.json`) keyed by the
file's size and modification time; later loads only `stat` the file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import sys
import tempfile
import urllib.parse
import urllib.request
import warnings
import zipfile
from pathlib import Path

from tqdm import tqdm  # plain text bars: tqdm.auto needs ipywidgets in notebooks

from tfrec.data.errors import ChecksumMismatchError
from tfrec.utils.atomic import atomic_path

ENV_DATA_DIR = "TFREC_DATA_DIR"
STAMP_NAME = ".tfrec-verified.json"
CHUNK_BYTES = 1 << 20
TIMEOUT_SECONDS = 60


class DownloadError(OSError):
    """A file could not be downloaded (network error, HTTP error, truncated transfer)."""


class UnverifiedFileWarning(UserWarning):
    """A file was accepted without a pinned sha256 to check it against."""


@dataclasses.dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: where it lives in the cache and where to download it.

    Attributes:
        filename: path relative to the dataset's cache directory (may contain `/`).
        url: public download URL (a `raw.githubusercontent.com/<owner>/<repo>/<commit>/...`
            address pinned to a commit, or the publisher's URL).
        sha256: expected hex digest, or None when no trustworthy value is known (the file
            is then accepted with a loud "not verified" warning that shows its digest).
        size: expected size in bytes, if known (lets `fill_cache_from` match files fast).
        extract: the file is a zip archive to extract next to it (see `extracted_dir`).
    """

    filename: str
    url: str
    sha256: str | None
    size: int | None = None
    extract: bool = False

    @property
    def verified(self) -> bool:
        return self.sha256 is not None

    def extracted_dir(self, directory: str | os.PathLike) -> Path:
        """Where an archive is extracted: `<directory>/<filename without .zip>-extracted`."""
        name = Path(self.filename)
        return Path(directory) / name.parent / f"{name.stem}-extracted"


def data_dir(directory: str | os.PathLike | None = None) -> Path:
    """The cache root: `directory`, else `$TFREC_DATA_DIR`, else `~/.cache/tfrec`."""
    if directory is not None:
        return Path(directory).expanduser()
    if os.environ.get(ENV_DATA_DIR):
        return Path(os.environ[ENV_DATA_DIR]).expanduser()
    return Path.home() / ".cache" / "tfrec"


def sha256_of(path: str | os.PathLike) -> str:
    """The hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def checksum_error(path, expected: str, actual: str, *, dataset: str | None = None):
    """A `ChecksumMismatchError` whose message says what to do about it."""
    target = f"tfrec datasets download {dataset}" if dataset else "the download"
    return ChecksumMismatchError(
        f"{os.fspath(path)} has the wrong sha256.\n"
        f"    expected: {expected}\n"
        f"    actual:   {actual}\n"
        f"The file is corrupt, truncated or a different version. Delete it and run "
        f"{target} again, or fill the cache from a folder holding the right file with "
        f"`tfrec datasets download {dataset or 'NAME'} --from DIR`."
    )


# ----------------------------------------------------------------------------- stamps
def _stamp_key(path: Path) -> dict:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _read_stamps(directory: Path) -> dict:
    try:
        return json.loads((directory / STAMP_NAME).read_text())
    except (OSError, ValueError):
        return {}


def _write_stamp(directory: Path, filename: str, path: Path, sha256: str) -> None:
    stamps = _read_stamps(directory)
    stamps[filename] = {**_stamp_key(path), "sha256": sha256}
    with atomic_path(directory / STAMP_NAME) as temporary:
        temporary.write_text(json.dumps(stamps, indent=1, sort_keys=True))


def verify_cached(remote: RemoteFile, directory: str | os.PathLike, *, dataset=None) -> Path:
    """Checks a cached file against its sha256 once; later calls trust the stamp.

    The stamp records (size, mtime, sha256) of the last check; a file whose size or
    modification time changed since is hashed again.

    Returns:
        The file's path.

    Raises:
        FileNotFoundError: the file is not in the cache.
        ChecksumMismatchError: the file's sha256 differs from `remote.sha256`.
    """
    directory = Path(directory)
    path = directory / remote.filename
    stamp = _read_stamps(directory).get(remote.filename)
    key = _stamp_key(path)
    if stamp and all(stamp.get(k) == v for k, v in key.items()):
        if remote.sha256 is None or stamp.get("sha256") == remote.sha256:
            return path
    actual = sha256_of(path)
    if remote.sha256 is not None and actual != remote.sha256:
        raise checksum_error(path, remote.sha256, actual, dataset=dataset)
    if remote.sha256 is None:
        warn_unverified(path, actual)
    _write_stamp(directory, remote.filename, path, actual)
    return path


def warn_unverified(path: Path, actual: str) -> None:
    message = (
        f"NOT VERIFIED: no sha256 is pinned for {path.name}, so its content cannot be "
        f"checked. Its sha256 is {actual}; compare it with a trusted copy."
    )
    warnings.warn(message, UnverifiedFileWarning, stacklevel=3)


# ----------------------------------------------------------------------------- download
def _open_url(url: str, timeout: float = TIMEOUT_SECONDS):
    """Opens a URL for reading (the one place that touches the network; tests patch it)."""
    request = urllib.request.Request(url, headers={"User-Agent": "tfrec"})
    return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (http(s)/file only)


def download(
    remote: RemoteFile,
    directory: str | os.PathLike,
    *,
    progress: bool = True,
    dataset: str | None = None,
) -> Path:
    """Downloads `remote.url` to `<directory>/<remote.filename>`, verified and atomic.

    The response is streamed into a temporary file in the destination directory while a
    tqdm progress bar runs and the sha256 is computed; a file with the wrong sha256 is
    deleted and refused, a good one is renamed into place with `os.replace`.

    Raises:
        DownloadError: the URL cannot be read, or fewer bytes arrived than announced.
        ChecksumMismatchError: the downloaded bytes do not have `remote.sha256`.
    """
    scheme = urllib.parse.urlparse(remote.url).scheme
    if scheme not in ("http", "https", "file"):
        raise DownloadError(f"Received the URL {remote.url!r}. Expected http(s):// or file://.")
    destination = Path(directory) / remote.filename
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".part"
    )
    digest = hashlib.sha256()
    received = 0
    try:
        with os.fdopen(handle, "wb") as out:
            try:
                response = _open_url(remote.url)
            except OSError as error:
                raise DownloadError(f"Cannot download {remote.url}: {error}") from error
            with response:
                announced = _content_length(response) or remote.size
                with tqdm(
                    total=announced,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc=remote.filename,
                    disable=not progress,
                    file=sys.stderr,
                ) as bar:
                    while True:
                        try:
                            chunk = response.read(CHUNK_BYTES)
                        except OSError as error:
                            raise DownloadError(
                                f"Download of {remote.url} failed after {received} bytes: {error}"
                            ) from error
                        if not chunk:
                            break
                        out.write(chunk)
                        digest.update(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
        if announced is not None and received != announced:
            raise DownloadError(
                f"Download of {remote.url} stopped at {received} of {announced} bytes."
            )
        actual = digest.hexdigest()
        if remote.sha256 is not None and actual != remote.sha256:
            raise checksum_error(remote.url, remote.sha256, actual, dataset=dataset)
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    if remote.sha256 is None:
        warn_unverified(destination, actual)
    _write_stamp(Path(directory), remote.filename, destination, actual)
    return destination


def _content_length(response) -> int | None:
    value = getattr(response, "headers", {}).get("Content-Length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


# ----------------------------------------------------------------------------- copies
def copy_into(source: str | os.PathLike, remote: RemoteFile, directory, sha256: str) -> Path:
    """Copies a file whose sha256 is already known into the cache (atomic) and stamps it."""
    destination = Path(directory) / remote.filename
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".part"
    )
    os.close(handle)
    try:
        shutil.copyfile(source, temporary)
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _write_stamp(Path(directory), remote.filename, destination, sha256)
    return destination


def extract(remote: RemoteFile, directory: str | os.PathLike) -> Path:
    """Extracts the cached archive `remote` once, atomically; returns the extracted folder.

    The members go into a temporary folder that is renamed to `remote.extracted_dir`; an
    existing folder means a finished extraction. Members that would land outside the
    folder (absolute paths, `..`) are refused.
    """
    target = remote.extracted_dir(directory)
    if target.is_dir():
        return target
    archive = Path(directory) / remote.filename
    temporary = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        with zipfile.ZipFile(archive) as handle:
            root = temporary.resolve()
            for member in handle.namelist():
                resolved = (root / member).resolve()
                if resolved != root and root not in resolved.parents:
                    raise ValueError(f"{archive}: the member {member!r} leaves the archive folder.")
            handle.extractall(temporary)
        try:
            os.replace(temporary, target)
        except OSError:
            if not target.is_dir():  # Not another process having finished first.
                raise
            shutil.rmtree(temporary, ignore_errors=True)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return target
