"""ACF and SVD++: the paper's equations against numpy, masks, AVG ablations, loss, scoring."""

import keras
import numpy as np
import pytest
import scipy.sparse as sp
from keras import ops

from tfrec.features.component_store import ComponentStore
from tfrec.features.component_store import write_components
from tfrec.layers.acf_attention import ItemAttention
from tfrec.models.acf import ACF
from tfrec.sampling.acf_batches import ACFSampler
from tfrec.sampling.acf_batches import history_inputs
from tfrec.sampling.user_histories import UserHistories

NUM_USERS, NUM_ITEMS, D, F = 4, 6, 5, 3


def numpy_weights(model):
    return {w.path: ops.convert_to_numpy(w) for w in model.weights}


def softmax(scores, mask):
    scores = np.where(mask, scores, -np.inf)
    top = scores.max(-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    exp = np.where(mask, np.exp(scores - top), 0.0)
    total = exp.sum(-1, keepdims=True)
    return exp / np.where(total > 0, total, 1.0)


def reference(model, inputs, store):
    """The paper's Eqs. 6-12 in numpy, from the model's own weights (one row at a time),
    with each history item's components read from `store` (not from the batch)."""
    get = lambda layer, name: ops.convert_to_numpy(getattr(layer, name))  # noqa: E731
    U = get(model.user_embedding, "embeddings")
    V = get(model.item_embedding, "embeddings")
    P = get(model.auxiliary_embedding, "embeddings")
    item, comp = model.item_attention, model.component_attention
    rows = []
    for b, user in enumerate(inputs["user"]):
        u = U[user]
        history = inputs["history"][b][inputs["history_mask"][b]]
        a_scores = []
        for position in range(len(history)):
            if model.item_attention_mode == "avg":
                break
            hidden = get(item, "hidden_bias").copy()
            if "X" in model.attention_inputs:
                x, m = (v[0] for v in store.gather([history[position]]))
                x = x.astype(np.float64)
                if model.component_attention_mode == "att":
                    b_scores = np.maximum(
                        u @ get(comp, "user_kernel")
                        + x @ get(comp, "feature_kernel")
                        + get(comp, "hidden_bias"),
                        0,
                    ) @ get(comp, "output_kernel")
                    beta = softmax(b_scores, m)
                else:
                    beta = m / max(m.sum(), 1)
                x_bar = beta @ x  # Eq. 9, raw feature space
                hidden = hidden + x_bar @ get(item, "kernel_X")
            terms = {"U": u, "V": V[history[position]], "P": P[history[position]]}
            for name in model.attention_inputs:
                if name != "X":
                    hidden = hidden + terms[name] @ get(item, f"kernel_{name}")
            a_scores.append(np.maximum(hidden, 0) @ get(item, "output_kernel"))
        a_scores = np.array(a_scores)
        if model.item_attention_mode == "att":
            alpha = softmax(a_scores, np.ones(len(a_scores), bool)) if len(a_scores) else a_scores
        else:
            alpha = np.full(len(history), 1.0 / max(len(history), 1))
        represented = u + (alpha[:, None] * P[history]).sum(0)
        items = np.concatenate([[inputs["positive"][b]], inputs["negatives"][b]])
        rows.append(V[items] @ represented)
    return np.array(rows)


@pytest.fixture
def store(tmp_path):
    rng = np.random.default_rng(0)
    counts = [3, 1, 0, 2, 3, 2]  # item 2 has no components
    path = write_components(
        tmp_path / "c.h5",
        {str(i): rng.normal(size=(c, F)) for i, c in enumerate(counts)},
        dtype="float32",
    )
    return ComponentStore(path, [str(i) for i in range(NUM_ITEMS)])


def train_matrix():
    rows = [0, 0, 0, 1, 2, 2, 3, 3, 3, 3]
    cols = [0, 2, 4, 1, 3, 5, 0, 1, 2, 5]
    return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), (NUM_USERS, NUM_ITEMS))


def batch(store, exclude=False):
    sampler = ACFSampler(train_matrix(), batch_size=4, components=store, exclude_target=exclude)
    return sampler.batch(0, 0)


@pytest.mark.parametrize(
    ("item_attention", "component_attention", "inputs"),
    [
        ("att", "att", ("U", "V", "P", "X")),
        ("att", "avg", ("U", "V", "P", "X")),
        ("att", "att", ("U", "X")),
        ("att", "att", ("U", "V")),
        ("att", "att", ("U", "P")),
        ("avg", "att", ("U", "V", "P")),
    ],
)
def test_forward_matches_the_paper_equations(store, item_attention, component_attention, inputs):
    keras.utils.set_random_seed(1)
    model = ACF(
        NUM_USERS,
        NUM_ITEMS,
        D,
        component_dim=F,
        item_attention=item_attention,
        component_attention=component_attention,
        attention_inputs=inputs,
        item_hidden=7,
        component_hidden=4,
        initializer_stddev=0.5,
    )
    assert model.uses_components == ("X" in inputs and item_attention == "att")
    data = batch(store if model.uses_components else None)
    scores = ops.convert_to_numpy(model(data))
    np.testing.assert_allclose(scores, reference(model, data, store), rtol=1e-5, atol=1e-6)


def test_svdpp_is_u_plus_the_mean_of_p(store):
    keras.utils.set_random_seed(0)
    model = ACF(NUM_USERS, NUM_ITEMS, D, item_attention="avg", initializer_stddev=0.3)
    assert not model.uses_components and model.item_attention.trainable_weights == []
    data = batch(None)
    U = ops.convert_to_numpy(model.user_embedding.embeddings)
    P = ops.convert_to_numpy(model.auxiliary_embedding.embeddings)
    represented = ops.convert_to_numpy(model.user_representation(data))
    for b, user in enumerate(data["user"]):
        items = train_matrix()[user].indices
        np.testing.assert_allclose(represented[b], U[user] + P[items].mean(0), rtol=1e-5)


def test_pairs_point_at_each_history_items_components(store):
    data = batch(store)
    history, mask = data["history"], data["history_mask"]
    positions = data["pair_positions"]
    real = positions < mask.size
    # One pair per real history entry, in order; padded with B * L up to 256.
    np.testing.assert_array_equal(positions[real], np.flatnonzero(mask.ravel()))
    assert len(positions) == 256 and (positions[~real] == mask.size).all()
    assert data["components"].shape[0] == 64  # distinct items padded to a multiple of 64
    flat = data["components"].reshape(-1, F)
    slots, entries = data["component_slots"], data["component_entries"]
    # Each real component of each real entry once, in entry order; the rest is padding.
    items = history.ravel()[positions[real]]
    values, component_mask = store.gather(items)
    assert len(slots) == 256 and (entries[entries < len(positions)] < real.sum()).all()
    np.testing.assert_array_equal(
        entries[entries < len(positions)], np.repeat(np.arange(len(items)), component_mask.sum(1))
    )
    assert (entries[component_mask.sum() :] == len(positions)).all()
    for e in range(len(items)):
        np.testing.assert_array_equal(flat[slots[entries == e]], values[e][component_mask[e]])
    # Only the distinct items of the batch are gathered, each once.
    distinct = {tuple(row) for row in data["components"][data["component_mask"].any(1)][:, 0]}
    assert len(distinct) == len({int(i) for i in items if store.gather([i])[1].any()})


def test_exclude_target_leaves_the_positive_out(store):
    kept, left = batch(store), batch(store, exclude=True)
    np.testing.assert_array_equal(kept["positive"], left["positive"])
    for b, item in enumerate(left["positive"]):
        assert item in kept["history"][b][kept["history_mask"][b]]
        assert item not in left["history"][b][left["history_mask"][b]]
        assert left["history_mask"][b].sum() == kept["history_mask"][b].sum() - 1


def test_components_and_padding_are_masked(store):
    keras.utils.set_random_seed(2)
    model = ACF(NUM_USERS, NUM_ITEMS, D, component_dim=F, initializer_stddev=0.5)
    data = batch(store)
    alpha, beta = (ops.convert_to_numpy(x) for x in model.attention(data, True))
    mask = data["history_mask"]
    assert np.all(alpha[~mask] == 0) and np.allclose(alpha.sum(1), 1.0)
    component_mask = store.gather(np.where(mask, data["history"], NUM_ITEMS).ravel())[1]
    component_mask = component_mask.reshape(beta.shape)
    assert np.all(beta[~component_mask] == 0)
    counts = component_mask.sum(-1)
    np.testing.assert_allclose(beta.sum(-1)[counts > 0], 1.0, rtol=1e-6)
    assert np.all(beta.sum(-1)[counts == 0] == 0)  # item 2: no components, no content
    # Changing the features of padding rows or invalid slots changes nothing.
    noisy = dict(data, components=data["components"] + 100.0 * ~data["component_mask"][..., None])
    np.testing.assert_allclose(
        ops.convert_to_numpy(model(noisy)), ops.convert_to_numpy(model(data)), rtol=1e-6
    )


def test_loss_is_bpr_plus_l2_over_the_batch_rows(store):
    keras.utils.set_random_seed(3)
    model = ACF(NUM_USERS, NUM_ITEMS, D, component_dim=F, l2=0.1, attention_l2=0.01)
    data = batch(store)
    scores = ops.convert_to_numpy(model(data))
    bpr = np.sum(np.log1p(np.exp(-(scores[:, 0] - scores[:, 1]))))
    w = lambda layer: ops.convert_to_numpy(layer.embeddings)  # noqa: E731
    U, V, P = w(model.user_embedding), w(model.item_embedding), w(model.auxiliary_embedding)
    items = np.concatenate([data["positive"][:, None], data["negatives"]], 1)
    history = data["history"][data["history_mask"]]
    l2 = (U[data["user"]] ** 2).sum() + (V[items] ** 2).sum() + (P[history] ** 2).sum()
    theta = sum(
        (ops.convert_to_numpy(v) ** 2).sum()
        for v in model.item_attention.trainable_weights
        + model.component_attention.trainable_weights
    )
    loss = ops.convert_to_numpy(model.compute_loss(x=data, y_pred=ops.convert_to_tensor(scores)))
    np.testing.assert_allclose(loss, bpr + 0.1 * l2 + 0.01 * theta, rtol=1e-5)


def test_full_ranking_scorer_and_serialisation(store, tmp_path):
    keras.utils.set_random_seed(4)
    model = ACF(NUM_USERS, NUM_ITEMS, D, component_dim=F, initializer_stddev=0.5)
    histories = UserHistories(train_matrix())
    scorer = model.full_ranking_scorer(histories, store, batch_size=3)
    users = np.array([3, 0, 1, 2])
    scores = scorer(users)
    assert scores.shape == (4, NUM_ITEMS)
    inputs = history_inputs(histories, users, store)
    # The same scores through `call`: item j as the positive, the others as negatives.
    inputs.update(positive=np.zeros(4, np.int32), negatives=np.arange(1, 6)[None].repeat(4, 0))
    np.testing.assert_allclose(scores, ops.convert_to_numpy(model(inputs)), rtol=1e-5)
    model.save(tmp_path / "acf.keras")
    loaded = keras.saving.load_model(tmp_path / "acf.keras")
    np.testing.assert_allclose(
        loaded.full_ranking_scorer(histories, store)(users), scores, rtol=1e-6
    )
    with pytest.raises(ValueError, match="pass `components`"):
        model.full_ranking_scorer(histories)
    with pytest.raises(NotImplementedError, match="full_ranking_scorer"):
        model.score_users(users)


def test_switches_are_validated():
    with pytest.raises(ValueError, match="'X' and `component_dim=None`"):
        ACF(2, 3, 4, attention_inputs=("U", "X"))
    with pytest.raises(ValueError, match="item_attention='max'"):
        ACF(2, 3, 4, item_attention="max")
    with pytest.raises(ValueError, match="Expected distinct names from"):
        ItemAttention(inputs=("U", "W"))


def test_training_steps_lower_the_loss(store):
    keras.utils.set_random_seed(5)
    model = ACF(NUM_USERS, NUM_ITEMS, 8, component_dim=F, l2=0.0)
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    data = batch(store)
    first = float(model.train_on_batch(data))
    for _ in range(30):
        last = float(model.train_on_batch(data))
    assert last < 0.5 * first


def test_run_acf_experiment_trains_and_ranks_every_item(tmp_path):
    """One short run on each backend's pipeline (tf.data on TensorFlow, PyDataset on JAX):
    the metrics are those of full ranking at K = 100, from the saved model too."""
    import json

    from tfrec.data.synthetic import make_synthetic
    from tfrec.evaluation.full_ranking import evaluate_full_ranking
    from tfrec.training import get_preset
    from tfrec.training.acf_experiment import run_acf_experiment

    data = make_synthetic(num_users=60, num_items=120, interactions_per_user=6, num_clusters=3)
    rng = np.random.default_rng(0)
    path = write_components(
        tmp_path / "c.h5",
        {key: rng.normal(size=(1 + k % 3, 4)) for k, key in enumerate(data.item_keys)},
    )
    components = ComponentStore(path, data.item_keys).load()
    preset = get_preset("acf").replace(epochs=2, batch_size=64, embedding_dim=8)
    result = run_acf_experiment(
        data, preset, components=components, output_dir=tmp_path / "run", verbose=0
    )
    payload = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert set(payload) >= {"hr@100", "ndcg@100", "config", "history"}
    assert len(payload["history"]["loss"]) == 2 and payload["config"]["components"]["dim"] == 4
    assert 0.0 < payload["hr@100"] <= 1.0 and payload["hr@100"] == result.metrics["hr@100"]
    loaded = keras.saving.load_model(tmp_path / "run" / "model.keras")
    histories = UserHistories(data.train)
    again = evaluate_full_ranking(
        loaded.full_ranking_scorer(histories, components), data, ks=(100,)
    )
    assert again.metrics["ndcg@100"] == pytest.approx(payload["ndcg@100"], abs=1e-6)
    svdpp = run_acf_experiment(
        data, get_preset("svdpp").replace(epochs=1, batch_size=64), verbose=0
    )
    assert not svdpp.model.uses_components and svdpp.config["components"] is None


def test_geometric_padding_changes_shapes_not_scores(store):
    keras.utils.set_random_seed(6)
    model = ACF(NUM_USERS, NUM_ITEMS, D, component_dim=F, initializer_stddev=0.5)
    histories = UserHistories(train_matrix())
    users = np.array([3, 0, 1, 2])
    tight = dict(pad_multiple=1, component_pad_multiple=1, pair_pad_multiple=1)
    plain = history_inputs(histories, users, store, **tight)
    ladder = history_inputs(histories, users, store, **tight, sizes_per_octave=1)
    # Widest history 4, 6 distinct items, 10 entries -> ladder sizes 4, 8 and 16.
    assert plain["history"].shape[1] == 4 and ladder["history"].shape[1] == 4
    assert (plain["components"].shape[0], ladder["components"].shape[0]) == (6, 8)
    assert (plain["pair_positions"].shape[0], ladder["pair_positions"].shape[0]) == (10, 16)
    for inputs in (plain, ladder):
        inputs.update(positive=np.zeros(4, np.int32), negatives=np.arange(1, 6)[None].repeat(4, 0))
    np.testing.assert_allclose(
        ops.convert_to_numpy(model(ladder)), ops.convert_to_numpy(model(plain)), rtol=1e-6
    )
    sampler = ACFSampler(train_matrix(), batch_size=4, components=store, sizes_per_octave=2)
    assert sampler.batch(0, 0)["components"].shape[0] == 64  # 64 * 1: below the ladder


def test_segment_softmax_is_the_masked_softmax_of_each_row():
    """The packed item attention's softmax: per segment, masked entries 0, padding dropped."""
    from tfrec.layers.acf_attention import segment_softmax

    scores = np.array([2.0, -1.0, 0.5, 30.0, 3.0, 7.0, -4.0], np.float32)
    segments = np.array([0, 0, 2, 2, 2, 3, 3], np.int32)  # row 1 empty; 3 = B: padding
    mask = np.array([True, True, True, False, True, False, False])
    weights = ops.convert_to_numpy(segment_softmax(scores, segments, 4, mask))
    e = np.exp
    expected = [e(2) / (e(2) + e(-1)), e(-1) / (e(2) + e(-1)),
                e(0.5) / (e(0.5) + e(3)), 0.0, e(3) / (e(0.5) + e(3)), 0.0, 0.0]  # fmt: skip
    np.testing.assert_allclose(weights, expected, rtol=1e-6)
    # Large scores do not overflow (the segment max is subtracted first).
    big = ops.convert_to_numpy(segment_softmax(scores + 1000.0, segments, 4, mask))
    np.testing.assert_allclose(big, expected, rtol=1e-5)


def test_history_width_padding_changes_nothing(store):
    """Both attentions read the N real entries: a grid padded 8x wider scores the same."""
    keras.utils.set_random_seed(7)
    model = ACF(NUM_USERS, NUM_ITEMS, D, component_dim=F, initializer_stddev=0.5)
    histories = UserHistories(train_matrix())
    users = np.array([3, 0, 1, 2])
    narrow = history_inputs(histories, users, store, pad_multiple=4)
    wide = history_inputs(histories, users, store, pad_multiple=32)
    assert (narrow["history"].shape[1], wide["history"].shape[1]) == (4, 32)
    for inputs in (narrow, wide):
        inputs.update(positive=np.zeros(4, np.int32), negatives=np.arange(1, 6)[None].repeat(4, 0))
    np.testing.assert_allclose(
        ops.convert_to_numpy(model(wide)), ops.convert_to_numpy(model(narrow)), rtol=1e-6
    )
    alpha_narrow, _ = model.attention(narrow)
    alpha_wide, _ = model.attention(wide)
    np.testing.assert_allclose(
        ops.convert_to_numpy(alpha_wide)[:, :4], ops.convert_to_numpy(alpha_narrow), rtol=1e-6
    )
    assert np.all(ops.convert_to_numpy(alpha_wide)[:, 4:] == 0)


def test_inputs_without_pair_positions_get_a_clear_error():
    model = ACF(NUM_USERS, NUM_ITEMS, D, item_attention="avg")
    history = np.array([[0, 1]], np.int32)
    with pytest.raises(ValueError, match="need 'pair_positions'.*history_inputs"):
        model.user_representation(
            {"user": np.zeros(1, np.int32), "history": history, "history_mask": history >= 0}
        )
