"""`tfrec train` / `tfrec evaluate` and `run_experiment` end to end on small real files."""

import json

import keras
import numpy as np
import pandas as pd
import pytest

from tfrec.cli.main import main
from tfrec.data.synthetic import make_synthetic
from tfrec.evaluation import evaluate_full_ranking
from tfrec.training import get_preset
from tfrec.training.experiment import run_experiment


def small_preset(model="cml"):
    return get_preset(model).replace(epochs=2, steps_per_epoch=5, batch_size=256)


def test_run_experiment_writes_metrics_and_a_loadable_model(tmp_path):
    data = make_synthetic(num_users=200, num_items=120, interactions_per_user=10, num_clusters=4)
    result = run_experiment(
        data, small_preset(), seed=3, output_dir=tmp_path, evaluate_every=1, verbose=0
    )
    payload = json.loads((tmp_path / "metrics.json").read_text())
    for name in ("ndcg@10", "recall@10", "hr@10", "precision@10"):
        assert 0.0 <= payload[name] <= 1.0
        assert payload[name] == pytest.approx(result.metrics[name])
    assert payload["config"]["seed"] == 3 and payload["config"]["preset"]["epochs"] == 2
    assert len(payload["history"]["loss"]) == 2 and len(payload["history"]["ndcg@10"]) == 2
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    again = evaluate_full_ranking(loaded.score_users_numpy, data, ks=(10,)).metrics
    assert again == pytest.approx({name: result.metrics[name] for name in again})
    # The synthetic items have category labels: NMI of the item embeddings is reported too.
    assert set(result.metrics) - set(again) == {"nmi@10", "nmi@20"}


def test_same_seed_same_model():
    data = make_synthetic(num_users=100, num_items=60, interactions_per_user=8, num_clusters=3)
    first = run_experiment(data, small_preset("bpr"), seed=1, verbose=0)
    second = run_experiment(data, small_preset("bpr"), seed=1, verbose=0)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(first.model.user_embedding.embeddings),
        keras.ops.convert_to_numpy(second.model.user_embedding.embeddings),
    )


@pytest.fixture
def maml_csv_files(tmp_path):
    data = make_synthetic(num_users=150, num_items=80, interactions_per_user=10, num_clusters=3)
    for split in ("train", "test"):
        coo = getattr(data, split).tocoo()
        frame = pd.DataFrame(
            {
                "itemID": coo.col,
                "userID": coo.row,
                "reviewerID": [f"R{u}" for u in coo.row],
                "asin": [f"A{i}" for i in coo.col],
            }
        )
        frame.to_csv(tmp_path / f"{split}.csv", index=False)
    return tmp_path / "train.csv", tmp_path / "test.csv"


def test_cli_train_then_evaluate(maml_csv_files, tmp_path, capsys):
    train, test = maml_csv_files
    output = tmp_path / "run"
    arguments = ["--train", str(train), "--test", str(test), "--format", "maml-csv"]
    code = main(
        ["train", "--model", "cml", *arguments, "--epochs", "1", "--quiet", "--output", str(output)]
    )
    assert code == 0
    metrics = json.loads((output / "metrics.json").read_text())
    assert {"ndcg@10", "recall@10", "hr@10", "precision@10"} <= set(metrics)
    assert (
        main(
            [
                "evaluate",
                "--model-dir",
                str(output),
                *arguments,
                "--output",
                str(tmp_path / "e.json"),
            ]
        )
        == 0
    )
    evaluated = json.loads((tmp_path / "e.json").read_text())
    assert evaluated["ndcg@10"] == pytest.approx(metrics["ndcg@10"], rel=1e-5)


def test_cli_errors_are_one_line(maml_csv_files, tmp_path, capsys):
    train, _ = maml_csv_files
    assert main(["train", "--model", "cml", "--train", str(train), "--output", str(tmp_path)]) == 2
    assert "--train needs --format" in capsys.readouterr().err
    assert (
        main(["train", "--model", "nope", "--dataset", "maml-office", "--output", str(tmp_path)])
        == 2
    )
    assert "model='nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--model", "cml", "--epochs", "0", "--output", str(tmp_path)])
    assert "expected an integer >= 1" in capsys.readouterr().err
    _, test = maml_csv_files
    files = ["--train", str(train), "--test", str(test), "--format", "maml-csv"]
    argv = ["train", "--model", "cml", *files, "--output", str(tmp_path)]
    assert main([*argv, "--split", "leave-one-out-random"]) == 2
    assert "--format maml-csv is already split" in capsys.readouterr().err
    assert main([*argv, "--patience", "2"]) == 2
    assert "--patience is for fism, nais and iris, not --model cml" in capsys.readouterr().err


def test_cli_reports_a_malformed_file_by_line(tmp_path, capsys):
    (tmp_path / "train.csv").write_text("itemID,userID,reviewerID,asin\n0,0,R0,A0\n1,x,R1,A1\n")
    (tmp_path / "test.csv").write_text("itemID,userID,reviewerID,asin\n0,0,R0,A0\n")
    code = main(
        [
            "train",
            "--model",
            "cml",
            "--train",
            str(tmp_path / "train.csv"),
            "--test",
            str(tmp_path / "test.csv"),
            "--format",
            "maml-csv",
            "--output",
            str(tmp_path / "out"),
        ]
    )
    error = capsys.readouterr().err
    assert code == 2 and "train.csv" in error and "line 3" in error


def test_cli_trains_acf_and_svdpp_then_evaluates(tmp_path, monkeypatch, capsys):
    """`tfrec train --model acf` builds word-vector components from the item text when no
    --components is given; metrics.json has hr@100 and ndcg@100; `tfrec evaluate` agrees."""
    from tfrec.cli import common
    from tfrec.data.synthetic import make_synthetic

    data = make_synthetic(num_users=40, num_items=60, interactions_per_user=5, num_clusters=3)
    monkeypatch.setattr(common, "load_interactions", lambda args: data)
    for model in ("acf", "svdpp"):
        output = tmp_path / model
        argv = ["train", "--model", model, "--dataset", "synthetic", "--output", str(output)]
        assert main([*argv, "--epochs", "1", "--batch-size", "32", "--quiet"]) == 0
        payload = json.loads((output / "metrics.json").read_text())
        assert 0.0 <= payload["ndcg@100"] <= payload["hr@100"] <= 1.0
        assert (output / "components.h5").exists() == (model == "acf")
        again = tmp_path / f"{model}.json"
        assert main(["evaluate", "--model-dir", str(output), "--output", str(again)]) == 0
        evaluated = json.loads(again.read_text())
        assert evaluated["hr@100"] == pytest.approx(payload["hr@100"])
    argv = ["train", "--model", "svdpp", "--dataset", "s", "--output", str(tmp_path / "x")]
    assert main([*argv, "--components", str(tmp_path / "acf" / "components.h5")]) == 2
    assert "svdpp reads no component features" in capsys.readouterr().err


def test_cli_writes_token_components(tmp_path, monkeypatch):
    from tfrec.cli import common
    from tfrec.data.synthetic import make_synthetic
    from tfrec.features.component_store import ComponentStore

    data = make_synthetic(num_users=10, num_items=20, interactions_per_user=3, num_clusters=2)
    monkeypatch.setattr(common, "load_interactions", lambda args: data)
    output = tmp_path / "c.h5"
    argv = ["features", "components", "--dataset", "synthetic", "--output", str(output)]
    assert main([*argv, "--dim", "5", "--min-count", "1"]) == 0
    store = ComponentStore(output, data.item_keys)
    assert store.dim == 5 and (store.counts >= 1).all()


def test_cli_trains_mml_with_item_labels_from_a_file(tmp_path, monkeypatch, capsys):
    """`tfrec train --model mml --item-labels FILE`: "nmi@10" and "nmi@20" in metrics.json,
    computed against the file's labels (here: item id parity, two labels)."""
    from tfrec.cli import common
    from tfrec.data.synthetic import make_synthetic

    data = make_synthetic(num_users=60, num_items=40, interactions_per_user=6, num_clusters=2)
    monkeypatch.setattr(common, "load_interactions", lambda args: data)
    labels = tmp_path / "labels.tsv"
    labels.write_text("".join(f"{key}\tlabel{k % 2}\n" for k, key in enumerate(data.item_keys)))
    argv = ["train", "--model", "mml", "--dataset", "synthetic", "--output", str(tmp_path / "m")]
    argv += ["--item-labels", str(labels), "--epochs", "1", "--batch-size", "64", "--quiet"]
    assert main(argv) == 0
    payload = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert 0.0 <= payload["nmi@10"] <= 1.0 and 0.0 <= payload["nmi@20"] <= 1.0
    assert payload["config"]["nmi"]["nmi@10"]["labels"] == 2
    assert payload["config"]["item_labels"] == str(labels)
    labels.write_text("i0\tlabel0\ni1 label1\n")
    assert main(argv) == 2
    assert "labels.tsv" in (error := capsys.readouterr().err) and "line 2" in error
