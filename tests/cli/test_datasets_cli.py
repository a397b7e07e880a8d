"""`tfrec datasets list | info | download`: tables, details, offline fills, clear errors."""

from __future__ import annotations

import hashlib

import pytest

from tfrec.cli.main import main
from tfrec.data import registry
from tfrec.data.cache import RemoteFile
from tfrec.data.dataset_spec import DatasetSpec


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(["datasets", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_sizes_and_cache_state(capsys, data_cache):
    code, out, _ = _run(capsys, "list", "--data-dir", str(data_cache))
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert set(registry.list_datasets()) <= set(rows)
    assert rows["maml-office"].split()[:4] == ["maml-office", "4,874", "2,406", "5/5"]
    assert rows["maml-menclothing"].split()[1:4] == ["?", "?", "0/2"]
    assert "NO (no sha256 pinned)" in rows["ncf-ml-1m"]
    assert f"cache: {data_cache}" in out


def test_info_shows_files_urls_checksums_terms(capsys, tmp_path):
    code, out, _ = _run(capsys, "info", "maml-office", "--data-dir", str(tmp_path))
    assert code == 0
    spec = registry.get_spec("maml-office")
    for remote in spec.files:
        assert remote.url in out and remote.sha256 in out and remote.filename in out
    assert "not cached" in out
    words = " ".join(out.split())  # Ignore the line wrapping.
    assert "MIT (Copyright 2020 Chenyang Wang)" in words
    assert "Multimodal Attentive Metric Learning. ACM MM 2019" in words
    code, out, _ = _run(capsys, "info", "ncf-ml-1m")
    assert "NONE PINNED: not verified" in out


@pytest.mark.parametrize("action", ["info", "download"])
def test_unknown_name_is_one_line_exit_2(capsys, action):
    code, out, err = _run(capsys, action, "maml-ofice")
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert "Did you mean 'maml-office'?" in lines[0] and "s3rec-beauty" in lines[0]


def test_download_from_folder_fills_the_cache(capsys, tmp_path, shared_data_dir):
    code, _, err = _run(
        capsys,
        "download",
        "maml-office",
        "--from",
        str(shared_data_dir),
        "--data-dir",
        str(tmp_path),
    )
    assert code == 0
    assert "maml-office: complete" in err
    assert registry.cached_files("maml-office", tmp_path) == 5
    # Offline load afterwards.
    data = registry.load_dataset("maml-office", data_dir=tmp_path, download=False)
    assert data.num_users == 4874


def test_download_from_folder_reports_missing_files(capsys, tmp_path, shared_data_dir):
    code, _, err = _run(
        capsys,
        "download",
        "maml-menclothing",
        "--from",
        str(shared_data_dir),
        "--data-dir",
        str(tmp_path),
    )
    assert code == 1
    assert "lacks 2 file(s) of maml-menclothing: train.csv, test.csv" in err


@pytest.fixture
def demo_entry(tmp_path, monkeypatch):
    """A registry entry whose one file is served from a local file:// URL."""
    source = tmp_path / "remote" / "data.txt"
    source.parent.mkdir()
    source.write_bytes(b"payload\n")
    remote = RemoteFile("data.txt", source.as_uri(), hashlib.sha256(b"payload\n").hexdigest(), 8)
    spec = DatasetSpec(
        name="demo",
        description="demo",
        files=(remote,),
        build=lambda d: None,
        default_split="none",
    )
    monkeypatch.setitem(registry.REGISTRY, "demo", spec)
    return source


def test_download_fetches_and_verifies(capsys, tmp_path, demo_entry):
    cache_root = tmp_path / "cache"
    code, out, _ = _run(capsys, "download", "demo", "--data-dir", str(cache_root), "--no-progress")
    assert code == 0 and "1 files verified" in out
    assert (cache_root / "demo" / "data.txt").read_bytes() == b"payload\n"


def test_download_checksum_mismatch_is_a_clear_error(capsys, tmp_path, demo_entry):
    demo_entry.write_bytes(b"changed\n")
    code, _, err = _run(capsys, "download", "demo", "--data-dir", str(tmp_path / "c"))
    assert code == 2
    assert "has the wrong sha256" in err and hashlib.sha256(b"changed\n").hexdigest() in err
    assert not (tmp_path / "c" / "demo" / "data.txt").exists()


def test_download_failure_is_exit_1(capsys, tmp_path, demo_entry):
    demo_entry.unlink()
    code, _, err = _run(capsys, "download", "demo", "--data-dir", str(tmp_path / "c"))
    assert code == 1
    assert err.startswith("tfrec datasets: error: Cannot download file://")
