"""Atomic writes leave the old file or the new one, never a partial one."""

import json

import pytest

from tfrec.utils.atomic import atomic_path
from tfrec.utils.atomic import write_json


def test_write_json_round_trip(tmp_path):
    write_json(tmp_path / "m.json", {"ndcg@10": 0.5})
    assert json.loads((tmp_path / "m.json").read_text()) == {"ndcg@10": 0.5}


def test_interrupted_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "metrics.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_directory_replaced_whole(tmp_path):
    target = tmp_path / "export"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with atomic_path(target, directory=True) as temporary:
        (temporary / "new.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["export"]


def test_suffix_is_kept_for_writers_that_check_it(tmp_path):
    with atomic_path(tmp_path / "model.keras") as temporary:
        assert temporary.suffix == ".keras"
        temporary.write_text("x")
