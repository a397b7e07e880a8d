"""`tfrec export` end to end: a saved model directory and its training files -> SavedModel."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from tfrec.cli.main import main
from tfrec.data.loaders.maml_csv import load_maml_csv
from tfrec.data.synthetic import make_synthetic
from tfrec.evaluation import top_k_items
from tfrec.models import BPR
from tfrec.models.wrmf import WRMF


@pytest.fixture
def trained_dir(tmp_path):
    """MAML-format files (keys R<u>, A<i>) and a model directory as `tfrec train` leaves it."""
    data = make_synthetic(num_users=40, num_items=25, interactions_per_user=6, num_clusters=2)
    for split in ("train", "test"):
        coo = getattr(data, split).tocoo()
        pd.DataFrame(
            {
                "itemID": coo.col,
                "userID": coo.row,
                "reviewerID": [f"R{u}" for u in coo.row],
                "asin": [f"A{i}" for i in coo.col],
            }
        ).to_csv(tmp_path / f"{split}.csv", index=False)
    model = BPR(data.num_users, data.num_items, embedding_dim=4, initializer_stddev=0.5)
    run = tmp_path / "run"
    run.mkdir()
    model.save(run / "model.keras")
    (run / "metrics.json").write_text(json.dumps({"config": {"seed": 0}}))
    return run, ["--train", str(tmp_path / "train.csv"), "--test", str(tmp_path / "test.csv")]


def test_export_command_writes_a_servable_version(trained_dir, tmp_path, capsys):
    run, files = trained_dir
    base = tmp_path / "saved"
    arguments = ["export", "--model-dir", str(run), "--name", "shop", "--base", str(base)]
    assert main([*arguments, *files, "--format", "maml-csv", "--version", "3"]) == 0
    assert f"wrote {base / 'shop' / '3'}" in capsys.readouterr().out
    assert main([*arguments, *files, "--format", "maml-csv", "--no-warmup"]) == 0
    assert sorted(p.name for p in (base / "shop").iterdir()) == ["3", "4"]
    assert (base / "shop" / "3" / "assets.extra" / "tf_serving_warmup_requests").is_file()
    assert not (base / "shop" / "4" / "assets.extra" / "tf_serving_warmup_requests").exists()
    assert f'base_path: "{(base / "shop").resolve()}"' in (base / "models.config").read_text()

    data = load_maml_csv(files[1], files[3])
    import keras

    model = keras.saving.load_model(run / "model.keras")
    items, scores = top_k_items(model.score_users_numpy, [0, 5], 4, data.train)
    served = tf.saved_model.load(str(base / "shop" / "3")).signatures["serving_default"]
    output = served(user_keys=tf.constant([data.user_keys[0], data.user_keys[5]]), k=tf.constant(4))
    np.testing.assert_array_equal(output["item_ids"].numpy(), items)
    assert output["item_keys"].numpy().astype(str).tolist() == data.item_keys[items].tolist()
    np.testing.assert_allclose(output["scores"].numpy(), scores, atol=1e-5)


def test_export_command_reads_a_wrmf_directory(trained_dir, tmp_path):
    """WRMF runs leave model.npz (factors, no Keras model): export serves p_u . q_i."""
    run, files = trained_dir
    data = load_maml_csv(files[1], files[3])
    (run / "model.keras").unlink()
    model = WRMF(data.num_users, data.num_items, 4, iterations=2).fit(data.train)
    model.save(run / "model.npz")
    base = tmp_path / "saved"
    arguments = ["export", "--model-dir", str(run), "--name", "als", "--base", str(base)]
    assert main([*arguments, *files, "--format", "maml-csv", "--no-warmup"]) == 0
    items, scores = top_k_items(model.score_users_numpy, [1, 2], 5, data.train)
    served = tf.saved_model.load(str(base / "als" / "1")).signatures["serving_default"]
    output = served(user_keys=tf.constant([data.user_keys[1], data.user_keys[2]]), k=tf.constant(5))
    np.testing.assert_array_equal(output["item_ids"].numpy(), items)
    np.testing.assert_allclose(output["scores"].numpy(), scores, atol=1e-5)


def test_export_command_errors_are_one_line(trained_dir, tmp_path, capsys):
    run, files = trained_dir
    base = str(tmp_path / "saved")
    assert main(["export", "--model-dir", str(tmp_path), "--name", "x", "--base", base]) == 2
    assert "model.keras does not exist" in capsys.readouterr().err
    assert main(["export", "--model-dir", str(run), "--name", "x", "--base", base]) == 2
    assert "not trained on a registry dataset" in capsys.readouterr().err
    code = main(
        ["export", "--model-dir", str(run), "--name", "a b", "--base", base, *files]
        + ["--format", "maml-csv"]
    )
    assert code == 2
    assert "name='a b'" in capsys.readouterr().err
