"""Atomic writes: readers see the old file or the new one, never a partial one.

Everything that others read (metrics, models, feature stores, exports) is written to a
temporary path in the same directory and then moved into place with `os.replace`, which
is atomic on POSIX file systems when source and target are on the same file system.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, directory: bool = False) -> Iterator[Path]:
    """Yields a temporary path beside `path`; on success it replaces `path` atomically.

    On an exception the temporary file or directory is removed and `path` is untouched.
    For a directory target that already exists, the old directory is swapped out and removed
    after the new one is in place.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if directory:
        temporary = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    else:
        # Keep the suffix: some writers check it (Keras insists on ".keras").
        handle, name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=target.suffix, dir=target.parent
        )
        os.close(handle)
        temporary = Path(name)
    try:
        yield temporary
        if directory and target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
            os.replace(target, old / target.name)
            os.replace(temporary, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(temporary, target)
    except BaseException:
        if temporary.is_dir():
            shutil.rmtree(temporary, ignore_errors=True)
        else:
            temporary.unlink(missing_ok=True)
        raise


def write_json(path: str | os.PathLike, payload) -> None:
    """Writes `payload` as indented JSON, atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(
            json.dumps(payload, indent=2, sort_keys=False, default=_jsonable) + "\n"
        )


def _jsonable(value):
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serialisable")
