"""The dataset registry and cache: pinned entries, verified atomic downloads, offline fills.

Downloads are tested against `file://` URLs and a local http.server on 127.0.0.1 only; the
session guard in conftest.py makes any other URL raise.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import http.server
import json
import os
import re
import shutil
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tfrec.data import cache
from tfrec.data import registry
from tfrec.data.cache import RemoteFile
from tfrec.data.dataset_spec import DatasetSpec
from tfrec.data.errors import ChecksumMismatchError
from tfrec.data.loaders import load_maml_csv

REQUIRED = (
    "maml-office",
    "maml-menclothing",
    "maml-toysgames",
    "amazon-cloth",
    "s3rec-sports",
    "s3rec-yelp",
    "s3rec-toys",
    "s3rec-beauty",
    "hin-yelp",
    "hin-ml100k",
    "hin-amazon",
    "ml-1m",
    "ml-1m-sample",
    "ncf-ml-1m",
    "ncf-pinterest-20",
)
# (users, items, train, validation, test) of each default split built from the shared files.
# MAML, a2_gcn and S3-Rec totals equal the counts in the data notes (STATS.md).
EXPECTED = {
    "maml-office": (4874, 2406, 37027, 0, 15930),
    "amazon-cloth": (39387, 23033, 220756, 0, 57920),
    "amazon-toys": (19412, 11924, 138835, 0, 28761),
    "lrd-office": (4905, 2420, 43448, 4905, 4905),
    "s3rec-sports": (35598, 18357, 296337 - 2 * 35598, 35598, 35598),
    "s3rec-beauty": (22363, 12101, 198502 - 2 * 22363, 22363, 22363),
    "hin-yelp": (15233, 13571, 106094, 28570, 35322),
    "hin-ml100k": (943, 1574, 49134, 16136, 17250),
    "ml-1m-sample": (5958, 3312, 100000 - 5709, 0, 5709),
}


def _remote(path: Path, url: str, **overrides) -> RemoteFile:
    data = path.read_bytes()
    fields = {
        "filename": path.name,
        "url": url,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
    }
    fields.update(overrides)
    return RemoteFile(**fields)


@pytest.fixture
def http_root(tmp_path):
    """A local http server on 127.0.0.1 serving `tmp_path/served`; yields (folder, base URL)."""
    folder = tmp_path / "served"
    folder.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=os.fspath(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


# ----------------------------------------------------------------------------- entries
def test_required_entries_exist():
    assert set(REQUIRED) <= set(registry.list_datasets())
    assert registry.list_datasets() == sorted(registry.REGISTRY)


@pytest.mark.parametrize("name", sorted(registry.REGISTRY))
def test_entry_is_pinned(name):
    spec = registry.get_spec(name)
    assert spec.name == name and spec.description and spec.license and spec.citation
    assert spec.default_split
    filenames = [remote.filename for remote in spec.files]
    assert len(set(filenames)) == len(filenames)
    for remote in spec.files:
        github = re.fullmatch(
            r"https://raw\.githubusercontent\.com/[\w.-]+/[\w.-]+/[0-9a-f]{40}/.+", remote.url
        )
        assert github or remote.url == "https://files.grouplens.org/datasets/movielens/ml-1m.zip"
        if remote.sha256 is not None:
            assert re.fullmatch(r"[0-9a-f]{64}", remote.sha256)
    # Only the NCF files have no trustworthy sha256.
    assert spec.verified == (not name.startswith("ncf-"))


def test_ml_1m_zip_is_pinned_to_the_tfds_checksum():
    (remote,) = [r for r in registry.get_spec("ml-1m").files if r.extract]
    assert remote.sha256 == "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20"
    assert remote.size == 5917549


@pytest.mark.parametrize(
    ("name", "suggestion"), [("maml-ofice", "'maml-office'"), ("ml1m", "'ml-1m'")]
)
def test_unknown_name_suggests_and_lists(name, suggestion):
    with pytest.raises(ValueError, match="Did you mean") as error:
        registry.get_spec(name)
    message = str(error.value)
    assert suggestion in message and "\n" not in message
    assert all(valid in message for valid in registry.list_datasets())


def test_shared_files_match_the_pinned_checksums(_shared_availability):
    """Every entry whose files are copied in the shared folder is found there by sha256."""
    available = {name for name, ok in _shared_availability.items() if ok}
    assert set(EXPECTED) <= available
    assert not available & {"maml-menclothing", "ml-1m", "ncf-ml-1m", "hin-amazon"}


# ----------------------------------------------------------------------------- loading
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_load_dataset_offline_from_cache(name, require_dataset, monkeypatch):
    require_dataset(name)
    monkeypatch.setattr(cache, "_open_url", _fail_network)
    data = registry.load_dataset(name, download=False, progress=False)
    stats = data.stats()
    users, items, train, validation, test = EXPECTED[name]
    assert (stats["users"], stats["items"]) == (users, items)
    assert (stats["train"], stats["validation"], stats["test"]) == (train, validation, test)
    spec = registry.get_spec(name)
    assert (spec.num_users, spec.num_items) == (users, items)
    assert data.name == name
    assert data.train.multiply(data.test).nnz == 0


def _fail_network(url, *args, **kwargs):
    raise AssertionError(f"network touched for {url}")


def test_maml_office_has_lrd_text_and_categories_offline(require_dataset, monkeypatch):
    require_dataset("maml-office")
    monkeypatch.setattr(cache, "_open_url", _fail_network)
    registry.load_dataset("maml-office")  # Stamps verified; later loads only stat files.
    data = registry.load_dataset("maml-office")  # speed: benchmarks, not a timed test
    texts = data.item_texts()
    assert all(texts) and len(texts) == 2406
    codes, names = data.item_labels()
    assert (codes >= 0).all() and len(names) == 40


def test_ml_1m_sample_has_plots_and_negatives(require_dataset):
    require_dataset("ml-1m-sample")
    data = registry.load_dataset("ml-1m-sample")
    # 3,311 of the 3,312 items have a MeLU line; 8 of those have the plot "N/A".
    assert sum(bool(t) for t in data.item_texts()) == 3303
    negatives = data.test_negatives
    users = data.test_users()
    assert negatives.shape == (5958, 99) and (negatives[users] >= 0).all()
    seen = (data.train + data.test).tocsr()
    rows = np.repeat(users, 99)
    assert seen[rows, negatives[users].ravel()].sum() == 0


def test_load_without_download_names_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="--from DIR") as error:
        registry.load_dataset("maml-office", data_dir=tmp_path, download=False)
    assert "train.csv" in str(error.value)


def test_data_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("TFREC_DATA_DIR", os.fspath(tmp_path / "env"))
    assert cache.data_dir() == tmp_path / "env"
    assert cache.data_dir(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv("TFREC_DATA_DIR")
    assert cache.data_dir() == Path.home() / ".cache" / "tfrec"
    assert registry.get_spec("ml-1m").directory(tmp_path) == tmp_path / "ml-1m"


# ----------------------------------------------------------------------------- download
def test_download_over_local_http_is_verified_and_atomic(http_root, tmp_path):
    folder, base = http_root
    payload = os.urandom(3 * cache.CHUNK_BYTES + 17)
    (folder / "blob.bin").write_bytes(payload)
    remote = _remote(folder / "blob.bin", f"{base}/blob.bin", filename="sub/blob.bin")
    target = tmp_path / "cache"
    path = cache.download(remote, target, progress=False)
    assert path == target / "sub" / "blob.bin" and path.read_bytes() == payload
    stamps = json.loads((target / cache.STAMP_NAME).read_text())
    assert stamps["sub/blob.bin"]["sha256"] == remote.sha256
    assert sorted(p.name for p in (target / "sub").iterdir()) == ["blob.bin"]


def test_download_refuses_a_checksum_mismatch(http_root, tmp_path):
    folder, base = http_root
    (folder / "blob.bin").write_bytes(b"tampered")
    remote = RemoteFile("blob.bin", f"{base}/blob.bin", "0" * 64)
    with pytest.raises(ChecksumMismatchError) as error:
        cache.download(remote, tmp_path / "cache", progress=False, dataset="demo")
    message = str(error.value)
    assert "0" * 64 in message and hashlib.sha256(b"tampered").hexdigest() in message
    assert "blob.bin" in message and "Delete it" in message and "--from DIR" in message
    assert list((tmp_path / "cache").iterdir()) == []  # No partial or bad file left behind.


def test_download_http_error_is_a_download_error(http_root, tmp_path):
    _, base = http_root
    with pytest.raises(cache.DownloadError, match="missing.bin"):
        cache.download(
            RemoteFile("missing.bin", f"{base}/missing.bin", "0" * 64),
            tmp_path / "cache",
            progress=False,
        )
    assert list((tmp_path / "cache").iterdir()) == []


def test_download_of_unpinned_file_warns_with_its_sha256(tmp_path):
    source = tmp_path / "plain.txt"
    source.write_text("hello\n")
    remote = RemoteFile("plain.txt", source.as_uri(), None)
    with pytest.warns(cache.UnverifiedFileWarning, match="NOT VERIFIED") as record:
        cache.download(remote, tmp_path / "cache", progress=False)
    assert hashlib.sha256(b"hello\n").hexdigest() in str(record[0].message)


def test_network_is_blocked_in_tests(tmp_path):
    remote = RemoteFile("x", "https://example.com/x", "0" * 64)
    with pytest.raises(RuntimeError, match="must not touch the network"):
        cache.download(remote, tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_registry_entry_downloads_once_then_stays_offline(
    http_root, tmp_path, monkeypatch, shared_data_dir
):
    folder, base = http_root
    for split in ("train", "test"):
        shutil.copy(shared_data_dir / "liufancs_MAML" / "Office" / f"{split}.csv", folder)
    spec = DatasetSpec(
        name="demo",
        description="MAML Office served locally",
        files=tuple(_remote(folder / f"{s}.csv", f"{base}/{s}.csv") for s in ("train", "test")),
        build=lambda d: load_maml_csv(d / "train.csv", d / "test.csv", name="demo"),
        default_split="pre-split",
    )
    monkeypatch.setitem(registry.REGISTRY, "demo", spec)
    first = registry.load_dataset("demo", data_dir=tmp_path, progress=False)
    monkeypatch.setattr(cache, "_open_url", _fail_network)
    second = registry.load_dataset("demo", data_dir=tmp_path)
    assert first.train.nnz == second.train.nnz == 37027
    assert (tmp_path / "demo" / "train.csv").is_file()


# ----------------------------------------------------------------------------- cache checks
def test_cached_file_is_hashed_once_then_trusted_by_size_and_mtime(tmp_path):
    directory = tmp_path / "demo"
    directory.mkdir()
    path = directory / "data.txt"
    path.write_bytes(b"abcdef")
    remote = _remote(path, "file:///unused")
    cache.verify_cached(remote, directory)
    stat = path.stat()
    # Same size and mtime but other bytes: the stamp is trusted, no re-hash.
    path.write_bytes(b"zzzzzz")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert cache.verify_cached(remote, directory) == path
    # A new mtime invalidates the stamp, and the wrong content is found.
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    with pytest.raises(ChecksumMismatchError, match=remote.sha256):
        cache.verify_cached(remote, directory)


def test_corrupt_cached_file_is_refused_on_load(tmp_path, shared_data_dir):
    registry.fill_cache_from("maml-office", shared_data_dir, data_dir=tmp_path, verbose=False)
    train = tmp_path / "maml-office" / "train.csv"
    train.chmod(0o644)
    with open(train, "ab") as handle:
        handle.write(b"1,2,x,y\n")
    with pytest.raises(ChecksumMismatchError, match="train.csv"):
        registry.load_dataset("maml-office", data_dir=tmp_path, download=False)


def test_extract_zip_is_atomic_and_refuses_escapes(tmp_path):
    archive = tmp_path / "pack.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("pack/ratings.dat", "1::2::5::10\n")
    remote = RemoteFile("pack.zip", archive.as_uri(), None, extract=True)
    target = cache.extract(remote, tmp_path)
    assert target == tmp_path / "pack-extracted"
    assert (target / "pack" / "ratings.dat").read_text() == "1::2::5::10\n"
    assert cache.extract(remote, tmp_path) == target  # Done once.
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as handle:
        handle.writestr("../outside.txt", "x")
    with pytest.raises(ValueError, match="leaves the archive"):
        cache.extract(RemoteFile("evil.zip", evil.as_uri(), None, extract=True), tmp_path)
    assert not (tmp_path / "outside.txt").exists()
    assert not (tmp_path / "evil-extracted").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.zip", "pack-extracted", "pack.zip"]


# ----------------------------------------------------------------------------- offline fill
def test_fill_cache_from_matches_by_checksum_not_name(tmp_path, shared_data_dir, capsys):
    source = tmp_path / "source" / "deep" / "er"
    source.mkdir(parents=True)
    shutil.copy(shared_data_dir / "liufancs_MAML" / "Office" / "train.csv", source / "a.csv")
    shutil.copy(shared_data_dir / "liufancs_MAML" / "Office" / "test.csv", source / "b.csv")
    # A decoy with the right name and size but other bytes.
    decoy = bytearray((shared_data_dir / "ysh1998_LRD_Office" / "item_meta.csv").read_bytes())
    decoy[-2:] = b"!\n"
    (source / "item_meta.csv").write_bytes(bytes(decoy))
    cache_root = tmp_path / "cache"
    found = registry.fill_cache_from("maml-office", tmp_path / "source", data_dir=cache_root)
    assert sorted(path.name for path in found) == ["test.csv", "train.csv"]
    copied = (cache_root / "maml-office" / "train.csv").read_bytes()
    assert copied == (source / "a.csv").read_bytes()
    err = capsys.readouterr().err
    assert "missing  lrd/item_meta.csv" in err and "3 of 5 missing" in err
    missing = {r.filename for r in registry.get_spec("maml-office").missing_files(cache_root)}
    assert missing == {"lrd/Office.text", "lrd/Office.item2index", "lrd/item_meta.csv"}
    # Then the full folder completes it; files already cached are kept.
    found = registry.fill_cache_from(
        "maml-office", shared_data_dir, data_dir=cache_root, verbose=False
    )
    assert len(found) == 5
    assert registry.cached_files("maml-office", cache_root) == 5


def test_fill_cache_from_rejects_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a folder"):
        registry.fill_cache_from("maml-office", tmp_path / "nope", data_dir=tmp_path)


def test_ml_1m_builds_from_the_extracted_zip_layout(tmp_path, monkeypatch, shared_data_dir):
    """The ml-1m entry's zip path: GroupLens' layout `ml-1m/{ratings,movies}.dat` in the zip.

    The real zip is not in the shared folder; a zip of the same layout is built from the
    LibRecommender sample (ML-1M ratings) and MeLU's movies.dat and served by file://.
    """
    melu = shared_data_dir / "hoyeoplee_MeLU_ml-1m"
    archive = tmp_path / "served" / "ml-1m.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as handle:
        handle.write(
            shared_data_dir / "massquantity_LibRecommender" / "sample_movielens_rating.dat",
            "ml-1m/ratings.dat",
        )
        handle.write(melu / "movies.dat", "ml-1m/movies.dat")
    real = registry.get_spec("ml-1m")
    zipped = _remote(archive, archive.as_uri(), extract=True)
    extras = _remote(melu / "movies_extrainfos.dat", (melu / "movies_extrainfos.dat").as_uri())
    spec = dataclasses.replace(real, files=(zipped, extras))
    monkeypatch.setitem(registry.REGISTRY, "ml-1m", spec)
    data = registry.load_dataset("ml-1m", data_dir=tmp_path / "cache", progress=False)
    assert (tmp_path / "cache" / "ml-1m" / "ml-1m-extracted" / "ml-1m" / "ratings.dat").is_file()
    assert (data.num_users, data.num_items, data.test.nnz) == (5958, 3312, 5709)
    assert data.test_negatives.shape == (5958, 99)
    assert data.item_side.categories["1"][0] == "Animation"  # Toy Story, from movies.dat.


# ---------------------------------------------------------------------------- re-splits
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # (users, items, train, validation, test): one random test and validation event per
        # user with >= 3 events; every event lands in exactly one split.
        ("amazon-cloth", (39387, 23033, 199902, 39387, 39387)),
        ("ml-1m-sample", (5958, 3312, 88950, 5341, 5709)),
    ],
)
def test_load_dataset_resplits_with_the_iris_protocol(name, expected, require_dataset):
    require_dataset(name)
    data = registry.load_dataset(name, split="leave-one-out-random", progress=False)
    stats = data.stats()
    assert (stats["users"], stats["items"]) == expected[:2]
    assert (stats["train"], stats["validation"], stats["test"]) == expected[2:]
    assert np.diff(data.test.tocsr().indptr).max() == 1
    users = data.test_users()
    assert data.test_negatives.shape[1] == 99 and (data.test_negatives[users] >= 0).all()
    # The released amazon-cloth split has several test items per user; the re-split one.
    default = registry.load_dataset(name, progress=False)
    assert data.train.nnz + data.validation.nnz + data.test.nnz == (
        default.train.nnz + default.test.nnz
    )


def test_load_dataset_refuses_a_split_the_entry_does_not_offer():
    with pytest.raises(ValueError, match="only offered with its default split.*amazon-cloth"):
        registry.load_dataset("maml-office", split="leave-one-out-random", download=False)
    with pytest.raises(ValueError, match="Expected None \\(the default split\\) or one of"):
        registry.load_dataset("ml-1m-sample", split="latest", download=False)
