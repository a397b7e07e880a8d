"""nmi_spherical_kmeans: planted clusters give NMI ~ 1, random labels NMI ~ 0."""

import numpy as np
import pytest

from tfrec.evaluation.clustering import nmi_spherical_kmeans


def planted(num_clusters=5, per_cluster=40, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    directions = rng.normal(size=(num_clusters, dim))
    labels = np.repeat(np.arange(num_clusters), per_cluster)
    # Different norms per row: only the direction carries the cluster.
    scale = rng.uniform(0.1, 5.0, size=(len(labels), 1))
    embeddings = scale * (directions[labels] + 0.05 * rng.normal(size=(len(labels), dim)))
    return embeddings, labels


@pytest.mark.parametrize("algorithm", ["spherical", "euclidean_on_normalised"])
def test_planted_clusters_give_nmi_one(algorithm):
    embeddings, labels = planted()
    mean, std, per_seed = nmi_spherical_kmeans(
        embeddings, labels, 5, seeds=range(3), algorithm=algorithm
    )
    assert per_seed.shape == (3,)
    assert mean == pytest.approx(1.0, abs=1e-9) and std == pytest.approx(0.0, abs=1e-9)


def test_random_labels_give_nmi_near_zero():
    embeddings, _ = planted(per_cluster=200)
    labels = np.random.default_rng(1).integers(0, 5, len(embeddings))
    mean, std, per_seed = nmi_spherical_kmeans(embeddings, labels, 5, seeds=[0, 1])
    assert 0.0 <= mean < 0.02
    assert mean == pytest.approx(per_seed.mean()) and std == pytest.approx(per_seed.std())


def test_unknown_labels_are_excluded():
    embeddings, labels = planted()
    noisy = np.concatenate([embeddings, np.random.default_rng(2).normal(size=(60, 16))])
    labels = np.concatenate([labels, np.full(60, -1)])
    mean, _, _ = nmi_spherical_kmeans(noisy, labels, 5, seeds=[0])
    assert mean == pytest.approx(1.0, abs=1e-9)


def test_hand_checked_two_clusters_with_k_one():
    # One cluster carries no information: NMI 0 whatever the labels.
    embeddings = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    mean, _, _ = nmi_spherical_kmeans(embeddings, np.array([0, 0, 1, 1]), 1, seeds=[0])
    assert mean == 0.0
    mean, _, _ = nmi_spherical_kmeans(embeddings, np.array([0, 0, 1, 1]), 2, seeds=[0])
    assert mean == pytest.approx(1.0)


def test_bad_arguments():
    embeddings, labels = planted(per_cluster=2)
    with pytest.raises(ValueError, match="k=11"):
        nmi_spherical_kmeans(embeddings, labels, 11)
    with pytest.raises(ValueError, match="labels"):
        nmi_spherical_kmeans(embeddings, labels[:-1], 2)
    with pytest.raises(ValueError, match="algorithm='kmedoids'"):
        nmi_spherical_kmeans(embeddings, labels, 2, algorithm="kmedoids")
