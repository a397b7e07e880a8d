"""`DatasetSpec`: one registry entry (files, checksums, license, and how to build it)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

from tfrec.data import cache
from tfrec.data.cache import RemoteFile
from tfrec.data.interactions import InteractionLog
from tfrec.data.interactions import Interactions


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """A dataset the registry can download, verify and load.

    Attributes:
        name: registry name (`"maml-office"`); also the cache sub-folder.
        description: one paragraph: what the data is and where it comes from.
        files: the files to fetch, relative to `<cache>/<name>/`.
        build: `build(directory) -> Interactions`; reads the (verified, extracted) files
            under `directory` with the loaders and applies the default split.
        default_split: how `build` splits, in words (shown by `tfrec datasets info`).
        license: the terms of the files and of the underlying data.
        citation: what to cite when using the data.
        num_users, num_items: sizes when known (for `tfrec datasets list`).
        build_log: `build_log(directory) -> InteractionLog`, all events unsplit, for
            datasets that can be re-split (`load_dataset(name, split=...)`); None when
            only the default split is offered.
    """

    name: str
    description: str
    files: tuple[RemoteFile, ...]
    build: Callable[[Path], Interactions]
    default_split: str
    license: str = ""
    citation: str = ""
    num_users: int | None = None
    num_items: int | None = None
    build_log: Callable[[Path], InteractionLog] | None = None

    @property
    def verified(self) -> bool:
        """Whether every file has a pinned sha256."""
        return all(remote.verified for remote in self.files)

    def directory(self, data_dir: str | os.PathLike | None = None) -> Path:
        """`<cache>/<name>` for the cache root given by `cache.data_dir(data_dir)`."""
        return cache.data_dir(data_dir) / self.name

    def missing_files(self, data_dir: str | os.PathLike | None = None) -> list[RemoteFile]:
        """Files not present in the cache (presence only; checksums are not read)."""
        directory = self.directory(data_dir)
        return [remote for remote in self.files if not (directory / remote.filename).is_file()]
