"""IRIS (three variants): hand-computed IRN weights and scores, missing modality, round trip."""

import keras
import numpy as np
import pytest
import scipy.sparse as sp
from keras import ops

from tests.testing import assert_keras_file_round_trip
from tfrec.models.iris import IRIS
from tfrec.sampling.history_batches import HistorySampler
from tfrec.sampling.history_dataset import HistoryDataset

NUM_ITEMS = 6
PAD = NUM_ITEMS
IDENTITY = np.eye(2, dtype=np.float32)

IMAGES = np.zeros((NUM_ITEMS, 2), np.float32)
IMAGES[1], IMAGES[2], IMAGES[3], IMAGES[4], IMAGES[5] = [1, 0], [0, 2], [-1, 1], [3, 1], [1, -2]
TEXTS = np.zeros((NUM_ITEMS, 2), np.float32)  # item 2 has no text: a zero row.
TEXTS[1], TEXTS[3], TEXTS[4], TEXTS[5] = [0, 1], [1, 1], [1, 0], [0, 2]

BATCH = {
    "user": np.array([0, 1, 2], np.int32),
    "history": np.array([[1, 2, PAD], [2, PAD, PAD], [PAD, PAD, PAD]], np.int32),
    "history_mask": np.array([[1, 1, 0], [1, 0, 0], [0, 0, 0]], bool),
    "item": np.array([4, 4, 5], np.int32),
}


def to_numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def hand_model(variant, beta=0.5, shared=((1.0, 0.0), (0.0, 0.0)), **kwargs):
    """e = d = w = 2, identity kernels, zero biases, h = 1; P, Q, b as in test_nais."""
    model = IRIS(
        NUM_ITEMS,
        IMAGES,
        TEXTS,
        variant=variant,
        embedding_dim=2,
        attention_size=2,
        visual_hidden_dim=2,
        beta=beta,
        projection_initializer="ones",
        **kwargs,
    )
    p = np.zeros((NUM_ITEMS, 2), np.float32)
    p[1], p[2], p[3] = [1.0, 0.0], [0.0, 2.0], [-1.0, 1.0]
    q = np.zeros((NUM_ITEMS, 2), np.float32)
    q[4], q[5] = [3.0, 1.0], [1.0, -2.0]
    b = np.zeros(NUM_ITEMS, np.float32)
    b[4], b[5] = 0.5, -0.25
    model.history_embeddings.assign(p)
    model.target_embeddings.assign(q)
    if model.use_item_bias:
        model.item_bias.assign(b)
    model.visual_hidden.kernel.assign(IDENTITY)
    network = model.feature_network
    if variant == "image":
        network.kernel.assign(IDENTITY)
    else:
        network.visual_kernels[0].assign(IDENTITY)
        network.textual_kernels[0].assign(IDENTITY)
        if network.sharing:
            network.shared_kernels[0].assign(np.array(shared, np.float32))
    for kernel in model.interest_network.kernels():
        kernel.assign(IDENTITY)
    return model


def test_image_iris_hand_computed():
    model = hand_model("image")
    # v = relu(relu(x)): v1 = [1, 0], v2 = [0, 2], v4 = [3, 1]. Row 0, target 4:
    # a = sum(relu(v_i + v_4)) = 4 + 1 = 5 (item 1) and 3 + 3 = 6 (item 2).
    root = np.sqrt(np.exp(5.0) + np.exp(6.0))
    row0 = [np.exp(5.0) / root, np.exp(6.0) / root, 0.0]
    # Row 1, history of length 1: weight e^6 / e^(0.5 * 6) = e^3.
    row1 = [np.exp(3.0), 0.0, 0.0]
    weights = model.interest_relevance(BATCH["history"], BATCH["history_mask"], BATCH["item"])
    np.testing.assert_allclose(weights, [row0, row1, [0, 0, 0]], rtol=1e-6)
    # p . q4: 3 (item 1), 2 (item 2); bias 0.5; row 2 (empty history) the bias of item 5.
    expected = [3 * row0[0] + 2 * row0[1] + 0.5, 2 * np.exp(3.0) + 0.5, -0.25]
    np.testing.assert_allclose(to_numpy(model(BATCH)), expected, rtol=1e-6)


def test_multimodal_iris_hand_computed():
    model = hand_model("multimodal", beta=0.8)
    # KSU with W_i2i = W_t2t = I and W_share = [[1, 0], [0, 0]] (x W_share = [x0, 0]):
    # item 1: v1 = [1, 0], t0 = [0, 1] -> v = [1, 0], t = [0, 1] + [1, 0] = [1, 1];
    # item 2: v1 = [0, 2], t0 = 0 (missing) -> v = [0, 2], t = [0, 0];
    # item 4: v1 = [3, 1], t0 = [1, 0] -> v = [3, 1] + [1, 0] = [4, 1], t = [1, 0] + [3, 0].
    visual, textual = model.item_representations(np.array([1, 2, 4], np.int32))
    np.testing.assert_allclose(to_numpy(visual), [[1, 0], [0, 2], [4, 1]], rtol=1e-6)
    np.testing.assert_allclose(to_numpy(textual), [[1, 1], [0, 0], [4, 0]], rtol=1e-6)
    # IRN (Eq. 6, all W = I): target part v4 + t4 = [8, 1]; item 1: [2, 1] + [8, 1] -> 12,
    # item 2: [0, 2] + [8, 1] -> 11.
    total = (np.exp(12.0) + np.exp(11.0)) ** 0.8
    row0 = [np.exp(12.0) / total, np.exp(11.0) / total, 0.0]
    row1 = [np.exp(11.0) / np.exp(11.0) ** 0.8, 0.0, 0.0]
    weights = model.interest_relevance(BATCH["history"], BATCH["history_mask"], BATCH["item"])
    np.testing.assert_allclose(weights, [row0, row1, [0, 0, 0]], rtol=1e-5)
    expected = [3 * row0[0] + 2 * row0[1] + 0.5, 2 * row1[0] + 0.5, -0.25]
    np.testing.assert_allclose(to_numpy(model(BATCH)), expected, rtol=1e-5)
    assert model.rank_history([1, 2], 4) == [
        (1, pytest.approx(row0[0], rel=1e-5)),
        (2, pytest.approx(row0[1], rel=1e-5)),
    ]


def test_image_add_text_iris_hand_computed():
    model = hand_model("image_add_text", beta=1.0)
    assert model.feature_network.shared_kernels == []
    # No W_share: item 1 v = [1, 0], t = [0, 1]; item 2 v = [0, 2], t = 0; item 4 v = [3, 1],
    # t = [1, 0]. Target part [4, 1]: item 1 [1, 1] + [4, 1] -> 7, item 2 [0, 2] + [4, 1]
    # -> 7: a tie, softmax (beta = 1) [0.5, 0.5].
    weights = model.interest_relevance(BATCH["history"], BATCH["history_mask"], BATCH["item"])
    np.testing.assert_allclose(weights[:2], [[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]], rtol=1e-6)
    np.testing.assert_allclose(to_numpy(model(BATCH))[:2], [3.0, 2.5], rtol=1e-6)
    # Ties keep the history order.
    assert [i for i, _ in model.rank_history([2, 1], 4)] == [2, 1]


def numpy_iris(model, history, mask, item):
    """Plain numpy IRIS logit of one row (ReLU everywhere)."""

    def relu(x):
        return np.maximum(x, 0.0)

    def dense(layer, x):
        return relu(x @ to_numpy(layer.kernel) + to_numpy(layer.bias))

    def represent(ids):
        v1 = dense(model.visual_hidden, IMAGES_RANDOM[ids])
        if model.variant == "image":
            return dense(model.feature_network, v1), None
        t0, unit = TEXTS_RANDOM[ids], model.feature_network
        v = v1 @ to_numpy(unit.visual_kernels[0]) + to_numpy(unit.visual_biases[0])
        t = t0 @ to_numpy(unit.textual_kernels[0]) + to_numpy(unit.textual_biases[0])
        if unit.sharing:
            v, t = (
                v + t0 @ to_numpy(unit.shared_kernels[0]),
                t + v1 @ to_numpy(unit.shared_kernels[0]),
            )
        return relu(v), relu(t)

    p = to_numpy(model.history_embeddings)
    q = to_numpy(model.target_embeddings)[item]
    bias = to_numpy(model.item_bias)[item]
    items = [i for i, m in zip(history, mask, strict=True) if m]
    if not items:
        return bias
    network = model.interest_network
    kernels = [to_numpy(k) for k in network.kernels()]
    vi, ti = represent(np.array(items))
    vj, tj = represent(np.array([item]))
    pre = vi @ kernels[0] + vj @ kernels[1] + to_numpy(network.bias)
    if ti is not None:
        pre = pre + ti @ kernels[2] + tj @ kernels[3]
    a = relu(pre) @ to_numpy(network.projection)
    weights = np.exp(a) / np.exp(a).sum() ** model.beta
    coefficient = len(items) ** -model.alpha
    return coefficient * (weights * (p[items] @ q)).sum() + bias


_RNG = np.random.default_rng(3)
IMAGES_RANDOM = _RNG.normal(size=(NUM_ITEMS, 5)).astype(np.float32)
TEXTS_RANDOM = _RNG.normal(size=(NUM_ITEMS, 3)).astype(np.float32)


def random_model(variant, **kwargs):
    keras.utils.set_random_seed(1)
    model = IRIS(
        NUM_ITEMS,
        IMAGES_RANDOM,
        TEXTS_RANDOM,
        variant=variant,
        embedding_dim=4,
        attention_size=3,
        initializer_stddev=0.5,
        **kwargs,
    )
    rng = np.random.default_rng(2)
    for layer in (model.visual_hidden, model.feature_network, model.interest_network):
        for weight in layer.weights:  # non-zero biases too
            weight.assign(rng.normal(scale=0.5, size=weight.shape).astype(np.float32))
    model.item_bias.assign(rng.normal(size=NUM_ITEMS).astype(np.float32))
    return model


@pytest.mark.parametrize(
    "variant, feature_pass",
    [
        ("multimodal", "all_items"),
        ("multimodal", "per_row"),
        ("image_add_text", "all_items"),
        ("image", "per_row"),
    ],
)
def test_random_weights_match_numpy_with_alpha_and_candidates(variant, feature_pass):
    model = random_model(variant, alpha=0.5, beta=0.7, feature_pass=feature_pass)
    items = np.array([[4, 5, 0], [5, 4, 3], [1, 4, 5]], np.int32)
    scores = to_numpy(model.score_candidates(BATCH["history"], BATCH["history_mask"], items))
    for r in range(3):
        for m in range(3):
            expected = numpy_iris(model, BATCH["history"][r], BATCH["history_mask"][r], items[r, m])
            assert scores[r, m] == pytest.approx(expected, rel=1e-4, abs=1e-5)


def test_history_longer_than_the_clip_through_the_sampler():
    model = random_model("multimodal", beta=0.8)
    # User 0 has 8 items, user 1 one item (its positive rows have an empty history).
    rows = [0] * 5 + [1]
    cols = [0, 1, 2, 3, 5, 4]
    train = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(2, NUM_ITEMS))
    sampler = HistorySampler(
        train, num_negatives=1, batch_size=16, max_history_length=3, pad_multiple=1, seed=0
    )
    inputs, _ = sampler.batch(0, 0)
    lengths = inputs["history_mask"].sum(-1)
    assert lengths.max() == 3 and inputs["history"].shape[1] == 3 and 0 in lengths
    logits = to_numpy(model(inputs))
    for r in range(len(logits)):
        expected = numpy_iris(
            model, inputs["history"][r], inputs["history_mask"][r], inputs["item"][r]
        )
        assert logits[r] == pytest.approx(expected, rel=1e-4, abs=1e-5)


def test_missing_modality_is_zeros():
    keras.utils.set_random_seed(0)
    missing = IRIS(NUM_ITEMS, IMAGES, None, text_feature_dim=3, embedding_dim=2)
    keras.utils.set_random_seed(0)
    zeros = IRIS(NUM_ITEMS, IMAGES, np.zeros((NUM_ITEMS, 3)), embedding_dim=2)
    np.testing.assert_array_equal(to_numpy(missing.text_features), np.zeros((NUM_ITEMS, 3)))
    np.testing.assert_allclose(to_numpy(missing(BATCH)), to_numpy(zeros(BATCH)), rtol=1e-6)
    # Zero text: the KSU's visual output is the visual tower alone, act(W_i2i v1 + b_v).
    model = hand_model("multimodal")
    ids = np.array([2], np.int32)
    visual, textual = model.item_representations(ids)
    np.testing.assert_allclose(to_numpy(visual), [[0.0, 2.0]])
    np.testing.assert_allclose(to_numpy(textual), [[0.0, 0.0]])  # W_share v1 = [0, 0]
    # A missing image (no table at all): zeros of `image_feature_dim`.
    text_only = IRIS(NUM_ITEMS, None, TEXTS, image_feature_dim=4, embedding_dim=2)
    assert to_numpy(text_only.image_features).shape == (NUM_ITEMS, 4)
    assert not np.any(to_numpy(text_only.image_features))
    with pytest.raises(ValueError, match="needs `text_features`"):
        IRIS(NUM_ITEMS, IMAGES, None)
    # Image IRIS needs no text.
    assert IRIS(NUM_ITEMS, IMAGES, variant="image").text_feature_dim is None


def test_loss_includes_equation_12_terms():
    model = hand_model(
        "multimodal",
        history_l2=0.01,
        target_l2=0.02,
        attention_l2=0.1,
        feature_l2=0.2,
        sharing_l2=0.3,
    )
    labels = np.array([1.0, 0.0, 1.0], np.float32)
    logits = to_numpy(model(BATCH)).astype(np.float64)
    s = 1 / (1 + np.exp(-logits))
    log_loss = -(labels * np.log(s + 1e-7) + (1 - labels) * np.log(1 - s + 1e-7)).mean()
    # |P|^2 = 7, |Q|^2 = 15; IRN W1..W4 = I: 8; W_v1, W_i2i, W_t2t = I: 6; |W_share|^2 = 1.
    expected = log_loss + 0.01 * 7 + 0.02 * 15 + 0.1 * 8 + 0.2 * 6 + 0.3 * 1
    loss = model.compute_loss(x=BATCH, y=labels, y_pred=model(BATCH))
    assert float(to_numpy(loss)) == pytest.approx(expected, rel=1e-5)
    image = hand_model("image", history_l2=0, target_l2=0, attention_l2=0.1, feature_l2=0.2)
    loss = image.compute_loss(x=BATCH, y=labels, y_pred=image(BATCH))
    logits = to_numpy(image(BATCH)).astype(np.float64)
    s = 1 / (1 + np.exp(-logits))
    log_loss = -(labels * np.log(s + 1e-7) + (1 - labels) * np.log(1 - s + 1e-7)).mean()
    # IRN W1, W2: 4; W_v1, W_v2: 4.
    assert float(to_numpy(loss)) == pytest.approx(log_loss + 0.1 * 4 + 0.2 * 4, rel=1e-5)


def test_explain_rank_history_and_sampled_scorer():
    model = hand_model("image")
    result = model.explain(BATCH["history"], BATCH["history_mask"], BATCH["item"])
    np.testing.assert_allclose(
        result["contributions"].sum(-1) + result["bias"], to_numpy(model(BATCH)), rtol=1e-6
    )
    root = np.sqrt(np.exp(5.0) + np.exp(6.0))
    ranked = model.rank_history([1, 2], 4)
    assert [i for i, _ in ranked] == [2, 1]
    assert ranked[0][1] == pytest.approx(np.exp(6.0) / root, rel=1e-6)
    assert model.rank_history([1, 2], 4, top_k=1) == ranked[:1]
    assert model.rank_history([], 4) == []
    with pytest.raises(ValueError, match="Expected ids in \\[0, 6\\)"):
        model.rank_history([1, PAD], 4)
    train = sp.csr_matrix(([1.0, 1.0], ([0, 0], [1, 2])), shape=(1, NUM_ITEMS))
    score_fn = model.sampled_scorer(train)
    scores = score_fn(np.array([0]), np.array([[4, 5]]))
    expected = model.score_candidates(
        np.array([[1, 2]]), np.ones((1, 2), bool), np.array([[4, 5]], np.int32)
    )
    np.testing.assert_allclose(scores, to_numpy(expected), rtol=1e-6)


def test_item_bias_switch():
    model = IRIS(NUM_ITEMS, IMAGES, TEXTS, embedding_dim=2, use_item_bias=False)
    assert "item_bias" not in {w.name for w in model.trainable_weights}
    assert not np.any(to_numpy(model.item_bias))


@pytest.mark.parametrize(
    "variant, kwargs",
    [
        ("multimodal", {"num_sharing_layers": 2, "activation": "tanh"}),
        ("image_add_text", {"feature_activation": "sigmoid"}),
        ("image", {"projection_initializer": "ones"}),
    ],
)
def test_keras_file_round_trip(tmp_path, variant, kwargs):
    keras.utils.set_random_seed(0)
    model = IRIS(NUM_ITEMS, IMAGES_RANDOM, TEXTS_RANDOM, variant=variant, embedding_dim=3, **kwargs)
    loaded = assert_keras_file_round_trip(model, BATCH, tmp_path)
    assert loaded.variant == variant and loaded.beta == pytest.approx(0.8)
    np.testing.assert_array_equal(to_numpy(loaded.image_features), IMAGES_RANDOM)
    assert loaded.get_config() == model.get_config()
    assert not any(w.trainable for w in (loaded.image_features,))


def test_round_trip_with_a_missing_modality(tmp_path):
    model = IRIS(NUM_ITEMS, IMAGES_RANDOM, None, text_feature_dim=3, embedding_dim=3)
    loaded = assert_keras_file_round_trip(model, BATCH, tmp_path)
    assert loaded.text_feature_dim == 3


def make_train():
    rng = np.random.default_rng(0)
    rows, cols = [], []
    for user in range(20):
        group = 10 * (user // 10)
        for item in rng.choice(10, 5, replace=False):
            rows.append(user)
            cols.append(group + item)
    rows.append(20)  # A user with a single item: empty histories.
    cols.append(3)
    return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(21, 20))


def test_training_lowers_the_loss():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(1)
    # Features that carry the two item groups (text missing for a few items).
    group = np.repeat([[1.0, 0.0], [0.0, 1.0]], 10, axis=0)
    images = np.concatenate([group, rng.normal(size=(20, 6))], axis=1)
    texts = np.concatenate([group, rng.normal(size=(20, 2))], axis=1)
    texts[[0, 15]] = 0.0
    sampler = HistorySampler(make_train(), num_negatives=4, batch_size=64, seed=0)
    model = IRIS(
        20,
        images,
        texts,
        variant="multimodal",
        embedding_dim=8,
        visual_hidden_dim=4,
        initializer_stddev=0.1,
    )
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    history = model.fit(HistoryDataset(sampler), epochs=6, verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert np.isfinite(losses).all()
    assert losses[-1] < 0.7 * losses[0]
    assert all(np.isfinite(to_numpy(w)).all() for w in model.weights)
    # The feature tables are not trained.
    np.testing.assert_allclose(to_numpy(model.image_features), images, rtol=1e-6)


def test_validation():
    with pytest.raises(ValueError, match="variant='audio'"):
        IRIS(3, np.zeros((3, 2)), np.zeros((3, 2)), variant="audio")
    with pytest.raises(ValueError, match="Expected \\(3, d\\)"):
        IRIS(3, np.zeros((4, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="NaN"):
        IRIS(3, np.full((3, 2), np.nan), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="image_feature_dim=3"):
        IRIS(3, np.zeros((3, 2)), np.zeros((3, 2)), image_feature_dim=3)
    with pytest.raises(ValueError, match="visual width 5 and textual width 2"):
        IRIS(3, np.zeros((3, 4)), np.zeros((3, 2)), visual_hidden_dim=5)
    with pytest.raises(ValueError, match="feature_pass='some'"):
        IRIS(3, np.zeros((3, 2)), np.zeros((3, 2)), feature_pass="some")
    with pytest.raises(ValueError, match="feature_l2=-1"):
        IRIS(3, np.zeros((3, 2)), np.zeros((3, 2)), feature_l2=-1)
