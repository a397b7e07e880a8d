"""WRMF through `implicit`: the ALS normal equations hold, NMI/ranking runs, round trips."""

import json

import numpy as np
import pytest
import scipy.sparse as sp

from tfrec.data.synthetic import make_synthetic
from tfrec.models.wrmf import WRMF
from tfrec.training import get_preset
from tfrec.training.wrmf_experiment import run_wrmf_experiment


def data():
    return make_synthetic(num_users=120, num_items=80, interactions_per_user=8, num_clusters=4)


def test_user_factors_solve_the_weighted_normal_equations():
    """At convergence p_u = (Q^T C_u Q + lambda I)^-1 Q^T C_u r_u with c = 1 + a r (Hu et
    al. Eq. 4): the fitted factors satisfy it, so `alpha` and `regularization` mean that."""
    interactions = data()
    model = WRMF(
        interactions.num_users, interactions.num_items, 8, regularization=0.1, alpha=4.0,
        iterations=60,
    ).fit(interactions.train)  # fmt: skip
    q = model.item_factors.astype(np.float64)
    train = interactions.train.tocsr()
    residuals = []
    for user in range(0, interactions.num_users, 10):
        r = np.zeros(interactions.num_items)
        r[train[user].indices] = 1.0
        c = 1.0 + 4.0 * r
        a = q.T @ (c[:, None] * q) + 0.1 * np.eye(8)
        solved = np.linalg.solve(a, q.T @ (c * r))
        residuals.append(np.linalg.norm(model.user_factors[user] - solved) / np.linalg.norm(solved))
    assert max(residuals) < 0.05


def test_learns_the_clusters_better_than_random_factors():
    interactions = data()
    model = WRMF(interactions.num_users, interactions.num_items, 8).fit(interactions.train)
    from tfrec.evaluation.clustering import nmi_spherical_kmeans

    labels, _ = interactions.item_labels()
    learned, _, _ = nmi_spherical_kmeans(model.item_factors, labels, 4, seeds=range(3))
    noise = np.random.default_rng(0).normal(size=model.item_factors.shape)
    random, _, _ = nmi_spherical_kmeans(noise, labels, 4, seeds=range(3))
    assert learned > random + 0.2


def test_save_load_and_validation(tmp_path):
    model = WRMF(5, 4, 2, iterations=2).fit(sp.eye(5, 4, format="csr"))
    loaded = WRMF.load(model.save(tmp_path / "m.npz"))
    np.testing.assert_array_equal(loaded.score_users_numpy([0, 3]), model.score_users_numpy([0, 3]))
    assert loaded.get_config() == model.get_config()
    with pytest.raises(ValueError, match="Expected \\(5, 4\\)"):
        model.fit(sp.eye(4, 4, format="csr"))
    with pytest.raises(ValueError, match="alpha > 0"):
        WRMF(5, 4, alpha=0.0)


def test_run_and_cli(tmp_path, monkeypatch):
    interactions = data()
    preset = get_preset("wrmf").replace(epochs=5, embedding_dim=8)
    result = run_wrmf_experiment(interactions, preset, output_dir=tmp_path / "run")
    payload = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert payload["ndcg@10"] == pytest.approx(result.metrics["ndcg@10"])
    assert 0.0 <= payload["nmi@10"] <= 1.0 and payload["config"]["nmi"]["nmi@20"]["labels"] == 4

    from tfrec.cli import common
    from tfrec.cli.main import main

    monkeypatch.setattr(common, "load_interactions", lambda args: interactions)
    argv = ["train", "--model", "wrmf", "--dataset", "s", "--output", str(tmp_path / "cli")]
    assert main([*argv, "--epochs", "3"]) == 0
    metrics = json.loads((tmp_path / "cli" / "metrics.json").read_text())
    again = tmp_path / "again.json"
    assert main(["evaluate", "--model-dir", str(tmp_path / "cli"), "--output", str(again)]) == 0
    assert json.loads(again.read_text())["ndcg@10"] == pytest.approx(metrics["ndcg@10"])
