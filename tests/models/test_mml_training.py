"""MML end to end: presets, dual-triplet batches through model.fit on each backend's
pipeline, and NMI@K of the item embeddings in the experiment's metrics."""

import json

import numpy as np
import pytest

from tfrec.data.synthetic import make_synthetic
from tfrec.evaluation.clustering import nmi_spherical_kmeans
from tfrec.models.mml import MML
from tfrec.sampling.dual_triplet_sampler import DualTripletSampler
from tfrec.training import get_preset
from tfrec.training import list_presets
from tfrec.training import make_sampler
from tfrec.training.experiment import run_experiment
from tfrec.training.mml_presets import MMLTraining
from tfrec.training.mml_presets import mml_training


def data():
    return make_synthetic(num_users=80, num_items=60, interactions_per_user=8, num_clusters=4)


def test_presets_are_the_paper_and_its_ablations():
    names = {p.name for p in list_presets() if p.model == "mml"}
    assert names == {"paper", "euc-mml", "w-mml", "m-mml", "np-mml", "nr-mml"}
    paper = get_preset("mml")
    assert paper.name == "paper" and paper.model_options["embedding_dim"] == 32
    assert (paper.optimizer, paper.batch_size, paper.num_negatives) == ("adagrad", 512, 1)
    assert mml_training(paper).similarity_threshold == 0.3
    assert get_preset("mml", "euc-mml").model_options["metric"] == "euclidean"
    assert get_preset("mml", "np-mml").model_options["covariance_weight"] == 0.0


def test_make_sampler_builds_dual_triplets_with_similar_pairs():
    interactions = data()
    preset = get_preset("mml").replace(batch_size=64)
    sampler = make_sampler(interactions, preset, seed=0)
    assert isinstance(sampler, DualTripletSampler)
    batch = sampler.batch(0, 0)
    assert {"negative_users", "similar_users", "similar_items"} <= set(batch)
    # alpha = 1 (no latent-relation term): no buffers are computed or drawn.
    plain = make_sampler(interactions, preset.replace(explicit_weight=1.0), seed=0)
    assert plain.similar_users is None and "similar_users" not in plain.batch(0, 0)
    # A capped buffer (MMLTraining.max_similar_per_row) keeps at most that many per row.
    full_rows = np.diff(sampler.similar_users.indptr)
    assert full_rows.max() > 1
    capped = make_sampler(interactions, preset, seed=0, training=MMLTraining(max_similar_per_row=1))
    np.testing.assert_array_equal(np.diff(capped.similar_users.indptr), np.minimum(full_rows, 1))
    assert np.diff(capped.similar_items.indptr).max() <= 1


def test_run_experiment_trains_mml_and_reports_nmi(tmp_path):
    interactions = data()
    preset = get_preset("mml").replace(epochs=2, batch_size=64, embedding_dim=8)
    result = run_experiment(interactions, preset, seed=0, output_dir=tmp_path, verbose=0)
    assert isinstance(result.model, MML)
    payload = json.loads((tmp_path / "metrics.json").read_text())
    assert len(payload["history"]["loss"]) == 2
    labels, names = interactions.item_labels()
    assert len(names) == 4
    for k in (10, 20):
        record = payload["config"]["nmi"][f"nmi@{k}"]
        assert payload[f"nmi@{k}"] == pytest.approx(record["mean"])
        assert len(record["per_seed"]) == 10 and 0.0 <= record["mean"] <= 1.0
    embeddings = np.asarray(result.model.item_embedding.embeddings)
    mean, _, _ = nmi_spherical_kmeans(embeddings, labels, 10)
    assert payload["nmi@10"] == pytest.approx(mean)
