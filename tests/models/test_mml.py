"""MML: hand-computed loss terms, a numpy reference, ablation switches, PSD, round trips."""

import math

import keras
import numpy as np
import pytest
from keras import ops

from tests.testing import assert_config_round_trip
from tests.testing import assert_keras_file_round_trip
from tfrec.models.mml import MML
from tfrec.models.mml import MML_VARIANTS


def numpy_of(x):
    return np.asarray(ops.convert_to_numpy(x), np.float64)


def loss_of(model, batch):
    return float(numpy_of(model.compute_loss(x=batch)))


def tiny_batch():
    """One positive pair (a=0, c=0), b=1, d=1, similar/dissimilar user 1/2, item 2/1."""
    return {
        "user": np.array([0], np.int32),
        "positive": np.array([0], np.int32),
        "negatives": np.array([[1]], np.int32),
        "negative_users": np.array([[1]], np.int32),
        "similar_users": np.array([1], np.int32),
        "dissimilar_users": np.array([2], np.int32),
        "has_similar_user": np.array([1.0], np.float32),
        "similar_items": np.array([2], np.int32),
        "dissimilar_items": np.array([1], np.int32),
        "has_similar_item": np.array([1.0], np.float32),
    }


def tiny_model(**kwargs):
    kwargs.setdefault("covariance_weight", 0.0)
    kwargs.setdefault("margin_weight", 0.0)
    model = MML(3, 3, 2, **kwargs)
    model.user_embedding.embeddings.assign(np.array([[0, 0], [0.2, 0], [0, 0.1]], np.float32))
    model.item_embedding.embeddings.assign(np.array([[0.3, 0], [0, 0.1], [0.3, 0.2]], np.float32))
    model.user_margins.assign(np.array([0.02, 0.5, 0.5], np.float32))
    model.item_margins.assign(np.array([0.05, 0.1, 0.15], np.float32))
    model.relation_margins.assign(np.array([0.02, 0.3, 0.4, 0.1, 0.2, 0.3], np.float32))
    return model


def test_hand_computed_terms():
    # pull = |u0 - i0|^2 = 0.09
    # l1 = [0.02 + 0.09 - (F_U(u0,u1) = 0.04 + F_UI(u1,i0) = 0.01)]_+ = 0.06
    # l2 = [0.05 + 0.09 - (F_I(i0,i1) = 0.10 + F_UI(u0,i1) = 0.01)]_+ = 0.03
    # l3 users = [0.02 + F_U(u0,u1) = 0.04 - F_U(u0,u2) = 0.01]_+ = 0.05
    # l3 items = [0.1 + F_I(i0,i2) = 0.04 - F_I(i0,i1) = 0.10]_+ = 0.04
    model = tiny_model(rank_weight="none")
    terms = model.loss_terms(tiny_batch())
    for key, expected in (("l1", 0.06), ("l2", 0.03), ("l3_users", 0.05), ("l3_items", 0.04)):
        assert numpy_of(terms[key])[0] == pytest.approx(expected, rel=1e-5), key
    # L_MML = 0.7 * (0.5 * 0.06 + 0.5 * 0.03) + 0.3 * (0.05 + 0.04) = 0.0585
    assert loss_of(model, tiny_batch()) == pytest.approx(0.0585, rel=1e-5)
    # Every hinge is active and has one candidate: WARP weight ln(1 + 3) each (J = 3).
    warp = tiny_model()
    assert loss_of(warp, tiny_batch()) == pytest.approx(0.0585 * math.log(4.0), rel=1e-5)
    # lambda and alpha move the mixture as Eqs. 9 and 12 say.
    model = tiny_model(rank_weight="none", dual_balance=1.0, explicit_weight=0.5)
    assert loss_of(model, tiny_batch()) == pytest.approx(0.5 * 0.06 + 0.5 * 0.09, rel=1e-5)


def test_push_terms_switch():
    # Same numbers as test_hand_computed_terms: pull 0.09, l1 pushes F_U(u0,u1) = 0.04 and
    # F_UI(u1,i0) = 0.01 (margin 0.02), l2 pushes F_I(i0,i1) = 0.10 and F_UI(u0,i1) = 0.01
    # (margin 0.05).
    # "mean": l1 = [0.02 + 0.09 - 0.025]_+ = 0.085, l2 = [0.05 + 0.09 - 0.055]_+ = 0.085.
    # "separate": l1 = [0.11 - 0.04]_+ + [0.11 - 0.01]_+ = 0.17,
    #             l2 = [0.14 - 0.10]_+ + [0.14 - 0.01]_+ = 0.17.
    for push_terms, l1, l2 in (("paper_sum", 0.06, 0.03), ("mean", 0.085, 0.085),
                               ("separate", 0.17, 0.17)):  # fmt: skip
        terms = tiny_model(rank_weight="none", push_terms=push_terms).loss_terms(tiny_batch())
        assert numpy_of(terms["l1"])[0] == pytest.approx(l1, rel=1e-5), push_terms
        assert numpy_of(terms["l2"])[0] == pytest.approx(l2, rel=1e-5), push_terms
        # L_LA has one push distance per hinge: the switch leaves it alone.
        assert numpy_of(terms["l3_users"])[0] == pytest.approx(0.05, rel=1e-5)
    # "separate" with one push term beyond pull + margin: only the other hinge counts.
    # i0 = (0, 0.3): pull still 0.09, F_U(u0,u1) = 0.04, F_UI(u1,i0) = 0.04 + 0.09 = 0.13;
    # l1 = ([0.11 - 0.04]_+ + [0.11 - 0.13]_+) * ln(1 + 3) (WARP, one candidate, J = 3).
    model = tiny_model(push_terms="separate")
    model.item_embedding.embeddings.assign(np.array([[0, 0.3], [0, 0.1], [0.3, 0.2]], "float32"))
    terms = model.loss_terms(tiny_batch())
    assert numpy_of(terms["l1"])[0] == pytest.approx(0.07 * math.log(4.0), rel=1e-5)
    with pytest.raises(ValueError, match="push_terms='both'"):
        MML(3, 3, push_terms="both")


def test_masked_anchor_and_relation_sides():
    batch = tiny_batch()
    batch["has_similar_item"] = np.array([0.0], np.float32)
    model = tiny_model(rank_weight="none")
    assert loss_of(model, batch) == pytest.approx(0.7 * 0.045 + 0.3 * 0.05, rel=1e-5)
    model = tiny_model(rank_weight="none", relation_sides="items")
    assert loss_of(model, tiny_batch()) == pytest.approx(0.7 * 0.045 + 0.3 * 0.04, rel=1e-5)
    explicit_only = {k: tiny_batch()[k] for k in ("user", "positive", "negatives")}
    explicit_only["negative_users"] = tiny_batch()["negative_users"]
    model = tiny_model(rank_weight="none", explicit_weight=1.0)
    assert loss_of(model, explicit_only) == pytest.approx(0.045, rel=1e-5)
    with pytest.raises(ValueError, match="similar_users"):
        tiny_model().compute_loss(x=explicit_only)
    del explicit_only["negative_users"]
    with pytest.raises(ValueError, match="negative_users"):
        model.compute_loss(x=explicit_only)


def test_margin_and_covariance_terms():
    terms = tiny_model().loss_terms(tiny_batch())
    # Eq. 15: -(mean mr_u + mean mr_i + mean mr_l) = -(0.34 + 0.1 + 0.22)
    assert float(numpy_of(terms["margin"])) == pytest.approx(-0.66, rel=1e-5)
    terms = tiny_model(margin_regularizer="sml_batch_mean").loss_terms(tiny_batch())
    # Gathered: mr_u[0] = 0.02, mr_i[0] = 0.05, mean(mr_l[0], mr_l[3 + 0]) = 0.06.
    assert float(numpy_of(terms["margin"])) == pytest.approx(-0.13, rel=1e-5)
    model = tiny_model(covariance_weight=0.03, margin_weight=0.03, rank_weight="none")
    rows = np.concatenate(
        [numpy_of(model.item_embedding.embeddings), numpy_of(model.user_embedding.embeddings)]
    )
    centered = rows - rows.mean(0)
    covariance = centered.T @ centered / 6
    penalty = (np.sqrt((covariance**2).sum()) - (np.diag(covariance) ** 2).sum()) / 6
    expected = 0.0585 + 0.03 * penalty + 0.03 * -0.66
    assert loss_of(model, tiny_batch()) == pytest.approx(expected, rel=1e-5)


def numpy_mml_loss(model, batch, pick):
    """Eqs. 7-16 written out in numpy for full metrics (default weights and forms)."""
    users = numpy_of(model.user_embedding.embeddings)
    items = numpy_of(model.item_embedding.embeddings)
    factors = {
        name: numpy_of(getattr(model, name).factor)
        for name in ("user_metric", "item_metric", "user_item_metric")
    }

    def distance(name, x, y):
        return (((x - y) @ factors[name]) ** 2).sum(-1)

    m, n = len(users), len(items)
    mr_u, mr_i, mr_l = (
        numpy_of(v) for v in (model.user_margins, model.item_margins, model.relation_margins)
    )
    a, c = users[batch["user"]], items[batch["positive"]]
    b, d = users[batch["negative_users"]], items[batch["negatives"]]
    pull = distance("user_item_metric", a, c)

    def hinge(pull, pushes, margins, population):
        rank = population * ((pull[:, None] + margins[:, None] - pushes) > 0).mean(1)
        push = pushes.max(1) if pick == "paper_max_distance" else pushes.min(1)
        return np.log1p(rank) * np.maximum(margins + pull - push, 0)

    push1 = distance("user_metric", a[:, None], b) + distance("user_item_metric", b, c[:, None])
    push2 = distance("item_metric", c[:, None], d) + distance("user_item_metric", a[:, None], d)
    l1 = hinge(pull, push1, mr_u[batch["user"]], m)
    l2 = hinge(pull, push2, mr_i[batch["positive"]], n)
    f, g = users[batch["similar_users"]], users[batch["dissimilar_users"]]
    l3u = (
        hinge(
            distance("user_metric", a, f),
            distance("user_metric", a, g)[:, None],
            mr_l[batch["user"]],
            m,
        )
        * batch["has_similar_user"]
    )
    f, g = items[batch["similar_items"]], items[batch["dissimilar_items"]]
    l3i = (
        hinge(
            distance("item_metric", c, f),
            distance("item_metric", c, g)[:, None],
            mr_l[m + batch["positive"]],
            n,
        )
        * batch["has_similar_item"]
    )
    rows = np.concatenate([items, users])
    centered = rows - rows.mean(0)
    cov = centered.T @ centered / len(rows)
    penalty = (np.sqrt((cov**2).sum()) - (np.diag(cov) ** 2).sum()) / len(rows)
    margin = -(mr_u.mean() + mr_i.mean() + mr_l.mean())
    explicit = 0.5 * l1.sum() + 0.5 * l2.sum()
    return 0.7 * explicit + 0.3 * (l3u.sum() + l3i.sum()) + 0.03 * penalty + 0.03 * margin


def random_batch(num_users, num_items, batch_size, width, seed):
    rng = np.random.default_rng(seed)

    def ids(high, shape):
        return rng.integers(0, high, shape).astype(np.int32)

    return {
        "user": ids(num_users, batch_size),
        "positive": ids(num_items, batch_size),
        "negatives": ids(num_items, (batch_size, width)),
        "negative_users": ids(num_users, (batch_size, width)),
        "similar_users": ids(num_users, batch_size),
        "dissimilar_users": ids(num_users, batch_size),
        "has_similar_user": (rng.random(batch_size) < 0.7).astype(np.float32),
        "similar_items": ids(num_items, batch_size),
        "dissimilar_items": ids(num_items, batch_size),
        "has_similar_item": (rng.random(batch_size) < 0.7).astype(np.float32),
    }


@pytest.mark.parametrize("pick", ["paper_max_distance", "closest"])
@pytest.mark.parametrize("seed", [0, 1])
def test_loss_matches_numpy_reference(pick, seed):
    keras.utils.set_random_seed(seed)
    model = MML(11, 9, 4, negative_pick=pick, initialization="normal")
    rng = np.random.default_rng(seed)
    for layer in (model.user_metric, model.item_metric, model.user_item_metric):
        layer.factor.assign(np.eye(4, dtype=np.float32) + 0.3 * rng.normal(size=(4, 4)))
    for variable in (model.user_margins, model.item_margins, model.relation_margins):
        variable.assign(rng.uniform(0.01, 0.5, variable.shape).astype(np.float32))
    batch = random_batch(11, 9, 8, 3, seed)
    expected = numpy_mml_loss(model, batch, pick)
    assert loss_of(model, batch) == pytest.approx(expected, rel=1e-4)


def test_scores_use_the_user_item_metric():
    keras.utils.set_random_seed(0)
    model = MML(5, 7, 3, initialization="normal")
    factor = np.array([[1.0, 0.5, 0.0], [0.0, 2.0, 0.0], [0.3, 0.0, 0.7]], np.float32)
    model.user_item_metric.factor.assign(factor)
    users, items = (
        numpy_of(model.user_embedding.embeddings),
        numpy_of(model.item_embedding.embeddings),
    )
    expected = -((((users[:, None] - items[None]) @ factor) ** 2).sum(-1))
    full = model.score_users_numpy(np.arange(5, dtype=np.int32))
    np.testing.assert_allclose(full, expected, rtol=1e-4, atol=1e-5)
    batch = random_batch(5, 7, 4, 2, 0)
    scores = numpy_of(model(batch))
    np.testing.assert_allclose(scores[:, 0], expected[batch["user"], batch["positive"]], rtol=1e-4)


def test_paper_uniform_initialisation():
    keras.utils.set_random_seed(0)
    users = numpy_of(MML(2000, 3, 32).user_embedding.embeddings)
    # U(0.2 - sqrt(0.12), 0.2 + sqrt(0.12)): mean 0.2, variance 0.04; rows start outside
    # the unit ball (norm ~ sqrt(32 * 0.08) = 1.6) and are clipped after the first step.
    assert users.mean() == pytest.approx(0.2, abs=0.005)
    assert users.var() == pytest.approx(0.04, rel=0.02)
    assert users.min() >= 0.2 - math.sqrt(0.12) - 1e-6
    assert np.median(np.linalg.norm(users, axis=1)) > 1.4


def test_training_step_keeps_constraints_and_psd():
    keras.utils.set_random_seed(0)
    # Margins of 0.5 make many dual hinges active at the start (the push side sums two
    # distances, so with the paper's 0.02 most hinges of a random start are inactive).
    model = MML(20, 15, 4, initial_margin=0.5)
    model.compile(optimizer=keras.optimizers.Adagrad(0.5))
    batch = random_batch(20, 15, 16, 2, 0)
    batch["negatives"] = (batch["positive"][:, None] + 1 + np.arange(2)) % 15
    model.fit(x=batch, batch_size=16, epochs=1, verbose=0, shuffle=False)
    for layer in (model.user_metric, model.item_metric, model.user_item_metric):
        matrix = numpy_of(layer.matrix())
        assert not np.allclose(numpy_of(layer.factor), np.eye(4))  # the metric was trained
        np.testing.assert_allclose(matrix, matrix.T, atol=1e-6)
        assert np.linalg.eigvalsh(matrix).min() >= -1e-6
    for table in (model.user_embedding.embeddings, model.item_embedding.embeddings):
        assert np.linalg.norm(numpy_of(table), axis=1).max() <= 1.0 + 1e-5
    for variable in (model.user_margins, model.item_margins, model.relation_margins):
        values = numpy_of(variable)
        assert values.min() >= 1e-6 - 1e-12 and values.max() <= 1.0
    assert not np.allclose(numpy_of(model.user_margins), 0.5)  # margins are trained


def variant_pair(variant, **kwargs):
    keras.utils.set_random_seed(3)
    full = MML(10, 8, 4, **kwargs)
    keras.utils.set_random_seed(3)
    ablation = MML.from_variant(variant, 10, 8, embedding_dim=4, **kwargs)
    return full, ablation


def test_ablations_change_exactly_their_term():
    batch = random_batch(10, 8, 6, 2, 1)
    full = variant_pair("MML")[0]
    terms = {k: float(numpy_of(ops.sum(v))) for k, v in full.loss_terms(batch).items()}
    full_loss = loss_of(full, batch)
    # NP-MML: minus omega_P L_P; NR-MML and M-MML: minus omega_R L_R (margins still 0.02).
    for variant, removed in (
        ("NP-MML", 0.03 * terms["covariance"]),
        ("NR-MML", 0.03 * terms["margin"]),
        ("M-MML", 0.03 * terms["margin"]),
        # The metrics start at I, so at initialisation these equal the full model.
        ("EUC-MML", 0.0),
        ("W-MML", 0.0),
    ):
        _, ablation = variant_pair(variant)
        assert loss_of(ablation, batch) == pytest.approx(full_loss - removed, rel=1e-5), variant
    assert len(factors(full)) == 3
    assert len(factors(variant_pair("W-MML")[1])) == 1
    assert len(factors(variant_pair("EUC-MML")[1])) == 0
    m_mml = variant_pair("M-MML")[1]
    assert not any(w.path.endswith("margins") for w in m_mml.trainable_weights)
    assert len(m_mml.non_trainable_weights) == 3
    nr_mml = variant_pair("NR-MML")[1]
    assert sum(w.path.endswith("margins") for w in nr_mml.trainable_weights) == 3
    assert set(MML_VARIANTS) == {"MML", "EUC-MML", "W-MML", "M-MML", "NP-MML", "NR-MML"}


def factors(model):
    return [w for w in model.trainable_weights if w.path.endswith("factor")]


def test_shared_metric_drives_all_three_distances():
    _, model = variant_pair("W-MML")
    assert model.user_user_metric is model.user_item_metric is model.item_item_metric
    model.user_item_metric.factor.assign(2.0 * np.eye(4, dtype=np.float32))
    batch = random_batch(10, 8, 6, 2, 1)
    full, _ = variant_pair("MML")
    for layer in (full.user_metric, full.item_metric, full.user_item_metric):
        layer.factor.assign(2.0 * np.eye(4, dtype=np.float32))
    assert loss_of(model, batch) == pytest.approx(loss_of(full, batch), rel=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="metric='cosine'"):
        MML(3, 3, metric="cosine")
    with pytest.raises(ValueError, match="negative_pick='farthest'"):
        MML(3, 3, negative_pick="farthest")
    with pytest.raises(ValueError, match="initial_margin=0"):
        MML(3, 3, initial_margin=0.0)
    with pytest.raises(ValueError, match="variant='X-MML'"):
        MML.from_variant("X-MML", 3, 3)
    with pytest.raises(ValueError, match="metric"):
        MML.from_variant("EUC-MML", 3, 3, metric="full")


@pytest.mark.parametrize("metric", ["full", "diagonal"])
def test_config_and_keras_file_round_trip(tmp_path, metric):
    keras.utils.set_random_seed(0)
    model = MML(
        9,
        8,
        4,
        metric=metric,
        shared_metric=metric == "diagonal",
        covariance_form="squared_offdiag",
        margin_regularizer="sml_batch_mean",
    )
    model.compile(optimizer=keras.optimizers.Adagrad(0.1))
    batch = random_batch(9, 8, 4, 2, 0)
    model.fit(x=batch, batch_size=4, epochs=1, verbose=0)  # weights away from their init
    clone = assert_config_round_trip(model)
    assert clone.covariance_form == "squared_offdiag" and clone.metric == metric
    inputs = {key: batch[key] for key in ("user", "positive", "negatives")}
    loaded = assert_keras_file_round_trip(model, inputs, tmp_path)
    assert loss_of(loaded, batch) == pytest.approx(loss_of(model, batch), rel=1e-6)
