"""Session fixtures for the shared research data, and a guard that keeps tests offline.

* `shared_data_dir`: the folder of public data files (`$TFREC_SHARED_DATA`, else
  `<repo>/../shared/data`); tests that need it skip when it is absent.
* `data_cache`: a session-wide dataset cache (set as `$TFREC_DATA_DIR`) filled from the
  shared folder with `fill_cache_from` for every registry entry whose files are all there,
  so `load_dataset(name)` works offline.
* `require_dataset(name)`: skips the test unless every file of that registry entry is in
  the shared folder; otherwise makes sure the cache holds it and returns the cache root.
* No test touches the network: the registry's downloader raises for any URL that is not
  `file://` or an http server on 127.0.0.1 / localhost (local test servers are allowed).
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def _shared_data_path() -> Path:
    return Path(os.environ.get("TFREC_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The shared data folder (skips the test when it is absent)."""
    path = _shared_data_path()
    if not path.is_dir():
        pytest.skip(f"shared data folder {path} is absent (set TFREC_SHARED_DATA)")
    return path


@pytest.fixture(scope="session", autouse=True)
def _no_network():
    """Makes the dataset downloader refuse every non-local URL for the whole session."""
    from tfrec.data import cache

    real_open = cache._open_url

    def guarded_open(url, *args, **kwargs):
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme == "file" or parsed.hostname in LOCAL_HOSTS:
            return real_open(url, *args, **kwargs)
        raise RuntimeError(f"Tests must not touch the network; tried to download {url}.")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cache, "_open_url", guarded_open)
        yield


@pytest.fixture(scope="session")
def _shared_availability(shared_data_dir) -> dict[str, bool]:
    """Registry name -> whether every file of the entry is in the shared folder."""
    from tfrec.data import registry

    by_sha = {}
    for root, _, names in os.walk(shared_data_dir):
        for name in names:
            path = Path(root) / name
            by_sha.setdefault(registry._hash(path), path)
    return {
        name: all(remote.sha256 in by_sha for remote in registry.get_spec(name).files)
        for name in registry.list_datasets()
    }


@pytest.fixture(scope="session")
def data_cache(tmp_path_factory, shared_data_dir, _shared_availability) -> Path:
    """A session cache (`$TFREC_DATA_DIR`) holding every dataset the shared folder has."""
    from tfrec.data import registry

    root = tmp_path_factory.mktemp("tfrec-data")
    for name, available in _shared_availability.items():
        if available:
            registry.fill_cache_from(name, shared_data_dir, data_dir=root, verbose=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TFREC_DATA_DIR", os.fspath(root))
        yield root


@pytest.fixture
def require_dataset(_shared_availability, data_cache):
    """`require_dataset(name)` skips unless the shared folder has all files of `name`."""

    def require(name: str) -> Path:
        from tfrec.data import registry

        registry.get_spec(name)  # An unknown name is a test bug, not a skip.
        if not _shared_availability[name]:
            pytest.skip(f"the shared data folder lacks files of {name}")
        return data_cache

    return require
