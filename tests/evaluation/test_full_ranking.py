"""Full-ranking metrics against a loop-based reference written from spec/evaluation.md."""

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from tfrec.data.interactions import Interactions
from tfrec.evaluation import evaluate_full_ranking
from tfrec.evaluation import top_k_items
from tfrec.evaluation.top_k import top_k_indices


def make_interactions(train_pairs, test_pairs, num_users, num_items):
    def matrix(pairs):
        rows, cols = zip(*pairs, strict=True) if pairs else ((), ())
        return sp.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, cols)), shape=(num_users, num_items)
        )

    return Interactions(
        train=matrix(train_pairs),
        test=matrix(test_pairs),
        user_keys=np.array([f"u{i}" for i in range(num_users)], dtype=object),
        item_keys=np.array([f"i{i}" for i in range(num_items)], dtype=object),
    )


def reference(scores, interactions, k):
    """The MAML evaluator's walk-down, one user at a time (protocol A)."""
    out = {"precision": [], "recall": [], "ndcg": [], "hr": []}
    for user in range(interactions.num_users):
        test = set(interactions.test[user].indices)
        if not test:
            continue
        train = set(interactions.train[user].indices)
        # Sort by score descending, ties -> lower index first (tf.nn.top_k).
        ranked = sorted(range(interactions.num_items), key=lambda j: (-scores[user, j], j))
        top = [j for j in ranked if j not in train][:k]
        hits = [r for r, j in enumerate(top) if j in test]
        dcg = sum(1 / math.log2(r + 2) for r in hits)
        idcg = sum(1 / math.log2(t + 2) for t in range(min(len(test), k)))
        out["precision"].append(len(hits) / k)
        out["recall"].append(len(hits) / len(test))
        out["ndcg"].append(dcg / idcg)
        out["hr"].append(float(len(hits) > 0))
    return {f"{name}@{k}": float(np.mean(values)) for name, values in out.items()}


def test_hand_computed_single_user():
    # 1 user, 6 items; item 0 is a training item, test items {1, 4}.
    # Scores: item 0 best (excluded), then 4, 2, 1, 3, 5 -> top-3 = [4, 2, 1].
    interactions = make_interactions([(0, 0)], [(0, 1), (0, 4)], 1, 6)
    scores = np.array([[9.0, 3.0, 5.0, 1.0, 7.0, 0.0]])
    result = evaluate_full_ranking(lambda users: scores[users], interactions, ks=(3,))
    # Hits at positions 0 (item 4) and 2 (item 1).
    dcg = 1 / math.log2(2) + 1 / math.log2(4)
    idcg = 1 / math.log2(2) + 1 / math.log2(3)
    assert result.metrics == pytest.approx(
        {"ndcg@3": dcg / idcg, "recall@3": 1.0, "hr@3": 1.0, "precision@3": 2 / 3}
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [1, 5, 12])
def test_matches_reference_on_random_data_with_ties(seed, k):
    rng = np.random.default_rng(seed)
    num_users, num_items = 40, 30
    train = {
        (u, i) for u, i in zip(rng.integers(0, 40, 300), rng.integers(0, 30, 300), strict=True)
    }
    test = {(u, i) for u, i in zip(rng.integers(0, 35, 80), rng.integers(0, 30, 80), strict=True)}
    test -= train
    interactions = make_interactions(sorted(train), sorted(test), num_users, num_items)
    # Few distinct values -> many ties, including across the k-th place.
    scores = rng.integers(0, 4, (num_users, num_items)).astype(np.float32)
    result = evaluate_full_ranking(
        lambda users: scores[users], interactions, ks=(k,), user_batch_size=7
    )
    assert result.metrics == pytest.approx(reference(scores, interactions, k))
    assert len(result.users) == len({u for u, _ in test})


def test_k_larger_than_candidates_and_masked_items_never_hit():
    # 4 items, item 0 and 1 in train; test {2}: only 2 candidates remain for K = 10.
    interactions = make_interactions([(0, 0), (0, 1)], [(0, 2)], 1, 4)
    scores = np.array([[5.0, 4.0, 3.0, 2.0]])
    result = evaluate_full_ranking(lambda users: scores[users], interactions, ks=(10,))
    assert result.metrics["precision@10"] == pytest.approx(0.1)
    assert result.metrics["ndcg@10"] == pytest.approx(1.0)


def test_matches_keras_rs_recall_and_ndcg():
    keras_rs = pytest.importorskip("keras_rs")
    rng = np.random.default_rng(5)
    num_users, num_items, k = 25, 40, 10
    train = {
        (u, i) for u, i in zip(rng.integers(0, 25, 200), rng.integers(0, 40, 200), strict=True)
    }
    test = {
        (u, i) for u, i in zip(rng.integers(0, 25, 90), rng.integers(0, 40, 90), strict=True)
    } - train
    interactions = make_interactions(sorted(train), sorted(test), num_users, num_items)
    scores = rng.normal(size=(num_users, num_items)).astype(np.float32)
    ours = evaluate_full_ranking(lambda users: scores[users], interactions, ks=(k,)).metrics
    users = interactions.test_users()
    labels = interactions.test[users].toarray()
    mask = interactions.train[users].toarray() == 0
    y_true = {"labels": labels, "mask": mask}
    recall = keras_rs.metrics.RecallAtK(k=k, shuffle_ties=False)
    ndcg = keras_rs.metrics.NDCG(k=k, shuffle_ties=False)
    recall.update_state(y_true, scores[users])
    ndcg.update_state(y_true, scores[users])
    assert ours["recall@10"] == pytest.approx(float(recall.result()), rel=1e-5)
    assert ours["ndcg@10"] == pytest.approx(float(ndcg.result()), rel=1e-5)


def test_top_k_indices_ties_prefer_lower_index():
    scores = np.array([[1.0, 3.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0, 2.0]])
    np.testing.assert_array_equal(top_k_indices(scores, 2), [[1, 2], [0, 1]])
    np.testing.assert_array_equal(top_k_indices(scores, 4), [[1, 2, 3, 0], [0, 1, 2, 3]])


def test_top_k_items_excludes_and_pads():
    exclude = sp.csr_matrix(np.array([[1, 1, 0]], np.float32))
    items, scores = top_k_items(lambda u: np.array([[3.0, 2.0, 1.0]]), [0], 2, exclude)
    np.testing.assert_array_equal(items, [[2, -1]])


def test_nan_scores_are_an_error():
    interactions = make_interactions([(0, 0)], [(0, 1)], 1, 3)
    with pytest.raises(ValueError, match="NaN"):
        evaluate_full_ranking(lambda users: np.full((len(users), 3), np.nan), interactions)


def test_wrong_score_shape_is_an_error():
    interactions = make_interactions([(0, 0)], [(0, 1)], 1, 3)
    with pytest.raises(ValueError, match="expected"):
        evaluate_full_ranking(lambda users: np.zeros((len(users), 2)), interactions)


def test_on_real_office_split_matches_reference_for_a_user_sample(shared_data_dir):
    from tfrec.data.loaders.maml_csv import load_maml_csv

    office = shared_data_dir / "liufancs_MAML" / "Office"
    interactions = load_maml_csv(office / "train.csv", office / "test.csv")
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(interactions.num_users, interactions.num_items)).astype(np.float32)
    result = evaluate_full_ranking(lambda users: scores[users], interactions, ks=(10,))
    assert len(result.users) == 4512  # users with a test item (spec/evaluation.md)
    # Random scores: recall@10 is about 10 / 2406 of a user's test items.
    assert 0.001 < result.metrics["recall@10"] < 0.01
    sample = make_interactions(
        list(zip(*interactions.train[:60].nonzero(), strict=True)),
        list(zip(*interactions.test[:60].nonzero(), strict=True)),
        60,
        interactions.num_items,
    )
    ours = evaluate_full_ranking(lambda users: scores[users], sample, ks=(10,)).metrics
    assert ours == pytest.approx(reference(scores, sample, 10))
    frame = pd.DataFrame(result.per_user)
    assert frame["hr@10"].isin([0.0, 1.0]).all()
