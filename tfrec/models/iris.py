"""IRIS: item similarity weighted by an interest-related network on image and text features."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from tfrec.layers.interest_related_network import InterestRelatedNetwork
from tfrec.layers.knowledge_sharing_unit import KnowledgeSharingUnit
from tfrec.models.item_similarity_model import ItemSimilarityModel

VARIANTS = ("multimodal", "image_add_text", "image")
FEATURE_PASSES = ("all_items", "per_row")
FEATURE_ACTIVATIONS = ("relu", "sigmoid", "tanh", "linear")
# The paper's visual hidden width (ResNet50 2048 -> 768 -> e; spec iris.md §5.2).
PAPER_VISUAL_HIDDEN_DIM = 768


@keras.saving.register_keras_serializable(package="tfrec")
class IRIS(ItemSimilarityModel):
    """Interest-Related Item Similarity model (Lv et al., IEEE Access 2019), three variants.

    IRIS is NAIS with the attention computed from the items' content features instead of
    their latent factors (spec iris.md §5; paper §III):

        y(u, j) = sigmoid(n_u^(-alpha) * sum_(i in R_u \\ {j}) alpha_ij p_i^T q_j + b_j)  (Eq. 5)
        alpha_ij = exp(a_ij) / (sum_(i') exp(a_i'j))^beta
        a_ij = h^T act(W1 v_i + W2 v_j [+ W3 t_i + W4 t_j] + b)            (Eqs. 4, 6)

    (`InterestRelatedNetwork`). v_i and t_i come from supervised feature networks on the
    pre-extracted features (ResNet50 2048-d image, BERT 768-d text; §5.2):

    - `variant="image"` (Image IRIS): v = act(W_v2 act(W_v1 v0 + b) + b'), no text.
    - `variant="image_add_text"` (Image-add-Text IRIS): v = act(W_i2i v1 + b_v) with
      v1 = act(W_v1 v0 + b), t = act(W_t2t t0 + b_t); both enter the IRN (Eq. 6).
    - `variant="multimodal"` (Multimodal IRIS, default): the same towers joined by the
      knowledge-sharing unit, v = act(W_i2i v1 + W_share t0 + b_v), t = act(W_t2t t0 +
      W_share v1 + b_t) (`KnowledgeSharingUnit`, Eqs. 7-8; [INFER] placement of spec §5.2:
      the unit joins the visual hidden layer and the raw text, the only 768-d pair).

    The latent factors P, Q are used only for the similarity p_i^T q_j. A missing modality
    is a zero vector (paper §III.D): pass `text_features=None` with `text_feature_dim`
    (or `image_features=None` with `image_feature_dim`) for a table of zeros, and rows of
    zeros for items without an image or a text. The feature tables are non-trainable
    weights, saved with the model (`.keras` files rebuild from the dims in the config).

    Loss (Eq. 12, `ItemSimilarityModel.compute_loss`): the mean log loss (1 positive : K
    sampled negatives, `HistorySampler(num_negatives=4)`) plus `target_l2 |Q|^2 +
    history_l2 |P|^2` (lambda_1), `attention_l2 (|W1|^2 + .. + |W4|^2)` (lambda_2) and
    `feature_l2` / `sharing_l2` on the feature-network kernels (lambda_3, lambda_4), all
    full-matrix sums of squares without 1/2 (NAIS code convention); biases and h are not
    regularised.

    Choices the paper leaves open ([INFER], spec iris.md §5), each a switch:

    - `beta=0.8`, `alpha=0` [PAPER]; `embedding_dim=16` [PAPER: e in {16, 64}].
    - `attention_size=None` -> e (§5.3, NAIS's w = e).
    - `activation="relu"` of the IRN (§5.3: "ReLU, sigmoid, etc."), `feature_activation=
      "relu"` of the feature networks (§5.2: lost in extraction).
    - `visual_hidden_dim=None` -> the text feature width (768 for BERT), so that the
      knowledge-sharing unit's inputs match; 768 when there is no text (§5.2).
    - `num_sharing_layers=1`, `share_across_layers=False` (`KnowledgeSharingUnit`).
    - `projection_initializer="glorot_uniform"` for h (§5.6, Xavier for all weights;
      `"ones"` is the NAIS code's).
    - `use_item_bias=True`: b_j is absent from Eq. 5 but in the NAIS code (§5.4); False
      keeps b at zero (not trained).
    - `attention_l2=1e-5`, `feature_l2=1e-5` (NAIS's eta), `sharing_l2=None` (= feature_l2);
      `history_l2 = target_l2 = 1e-7` (§5.5). `feature_l2` also covers W_v1 (2048 -> 768),
      which Eq. 12 does not name.
    - P, Q ~ truncated normal(0.01) of the base (the paper's "N(0, 0.01)", §5.6).

    Train with Adam(1e-3), batches of 512 (§5.6): `HistorySampler(batch_size=512)`.

    Args:
        num_items: size of the item id space (padding id = `num_items`).
        image_features: `[num_items, d_img]` visual features v0, or None (zeros of
            `image_feature_dim`: no item has an image, or weights are loaded from a file).
        text_features: `[num_items, d_txt]` textual features t0, or None (zeros of
            `text_feature_dim`). Unused by `variant="image"`.
        variant: `"multimodal"`, `"image_add_text"` or `"image"`.
        embedding_dim: e, the width of p, q and of the feature-network outputs.
        attention_size: the IRN hidden width (None: e).
        visual_hidden_dim: the width of v1 (None: see above).
        activation: the IRN activation (`"relu"`, `"sigmoid"`, `"tanh"`).
        feature_activation: the feature networks' activation (also `"linear"`).
        beta: the smoothing exponent of the softmax.
        num_sharing_layers, share_across_layers: stacking of the knowledge-sharing unit.
        projection_initializer: h's initialiser, `"glorot_uniform"` or `"ones"`.
        use_item_bias: add (and train) the item bias b_j.
        feature_pass: `"all_items"` runs the feature networks once over the catalogue per
            call and gathers rows (cheaper when a batch holds more history slots than
            there are items, e.g. 512 rows x 300 slots vs 23k items); `"per_row"` gathers
            the raw features and runs the networks per history slot. Same values.
        attention_l2, feature_l2, sharing_l2: the Eq. 12 weights (see above).
        image_feature_dim, text_feature_dim: the feature widths when the tables are None.
        **kwargs: alpha, history_l2, target_l2, log_loss_epsilon, initializer_stddev,
            embeddings_trainable (`ItemSimilarityModel`) and Keras model arguments.

    Example:

    ```python
    model = IRIS(data.num_items, image_features=images, text_features=texts)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(HistoryDataset(HistorySampler(data.train, batch_size=512)), epochs=10)
    model.rank_history(user_items, target_item)  # [(item_id, relevance), ...]
    ```
    """

    def __init__(
        self,
        num_items: int,
        image_features: np.ndarray | None = None,
        text_features: np.ndarray | None = None,
        variant: str = "multimodal",
        embedding_dim: int = 16,
        attention_size: int | None = None,
        visual_hidden_dim: int | None = None,
        activation: str = "relu",
        feature_activation: str = "relu",
        beta: float = 0.8,
        num_sharing_layers: int = 1,
        share_across_layers: bool = False,
        projection_initializer: str = "glorot_uniform",
        use_item_bias: bool = True,
        feature_pass: str = "all_items",
        attention_l2: float = 1e-5,
        feature_l2: float = 1e-5,
        sharing_l2: float | None = None,
        image_feature_dim: int | None = None,
        text_feature_dim: int | None = None,
        **kwargs,
    ):
        super().__init__(num_items, embedding_dim, **kwargs)
        if variant not in VARIANTS:
            raise ValueError(f"Received: `variant={variant!r}`. Expected one of {VARIANTS}.")
        if feature_activation not in FEATURE_ACTIVATIONS:
            raise ValueError(
                f"Received: `feature_activation={feature_activation!r}`. Expected one of "
                f"{FEATURE_ACTIVATIONS}."
            )
        if feature_pass not in FEATURE_PASSES:
            raise ValueError(
                f"Received: `feature_pass={feature_pass!r}`. Expected one of {FEATURE_PASSES}."
            )
        sharing_l2 = feature_l2 if sharing_l2 is None else sharing_l2
        for name, value in (
            ("attention_l2", attention_l2),
            ("feature_l2", feature_l2),
            ("sharing_l2", sharing_l2),
        ):
            if not float(value) >= 0.0:
                raise ValueError(f"Received: `{name}={value}`. Expected a float >= 0.")
        self.variant = variant
        self.use_text = variant != "image"
        image_features, image_feature_dim = self._check_features(
            "image", image_features, image_feature_dim, required=True
        )
        text_features, text_feature_dim = self._check_features(
            "text", text_features, text_feature_dim, required=self.use_text
        )
        self.image_feature_dim = image_feature_dim
        self.text_feature_dim = text_feature_dim
        if visual_hidden_dim is None:
            visual_hidden_dim = text_feature_dim if self.use_text else PAPER_VISUAL_HIDDEN_DIM
        self.visual_hidden_dim = int(visual_hidden_dim)
        self.attention_size = self.embedding_dim if attention_size is None else int(attention_size)
        self.activation = activation
        self.feature_activation = feature_activation
        self.beta = float(beta)
        self.num_sharing_layers = int(num_sharing_layers)
        self.share_across_layers = bool(share_across_layers)
        self.projection_initializer = projection_initializer
        self.use_item_bias = bool(use_item_bias)
        self.feature_pass = feature_pass
        self.attention_l2 = float(attention_l2)
        self.feature_l2 = float(feature_l2)
        self.sharing_l2 = float(sharing_l2)

        feature_act = None if feature_activation == "linear" else feature_activation
        self.visual_hidden = keras.layers.Dense(
            self.visual_hidden_dim, activation=feature_act, name="visual_hidden"
        )  # W_v1
        if self.use_text:
            self.feature_network = KnowledgeSharingUnit(
                self.embedding_dim,
                num_layers=self.num_sharing_layers,
                activation=feature_activation,
                sharing=variant == "multimodal",
                share_across_layers=self.share_across_layers,
                name="feature_network",
            )
        else:
            self.feature_network = keras.layers.Dense(
                self.embedding_dim, activation=feature_act, name="feature_network"
            )  # W_v2
        self.interest_network = InterestRelatedNetwork(
            self.embedding_dim,
            attention_size=self.attention_size,
            use_text=self.use_text,
            activation=activation,
            beta=self.beta,
            projection_initializer=projection_initializer,
            name="interest_network",
        )
        self.build()
        self.image_features.assign(image_features)
        if self.use_text:
            self.text_features.assign(text_features)

    def _check_features(self, modality, features, feature_dim, required):
        """Validated `[num_items, d]` float32 features (zeros when None) and their width."""
        if features is None:
            if feature_dim is None:
                if not required:
                    return None, None
                raise ValueError(
                    f"IRIS(variant={self.variant!r}) needs `{modality}_features` "
                    f"([num_items, d]) or `{modality}_feature_dim` (a table of zeros: a "
                    "missing modality, or weights loaded from a file). Received neither."
                )
            if int(feature_dim) < 1:
                raise ValueError(
                    f"Received: `{modality}_feature_dim={feature_dim}`. Expected an integer >= 1."
                )
            return np.zeros((self.num_items, int(feature_dim)), np.float32), int(feature_dim)
        features = np.asarray(features, dtype=np.float32)
        if features.ndim != 2 or features.shape[0] != self.num_items:
            raise ValueError(
                f"Received `{modality}_features` of shape {features.shape}. Expected "
                f"({self.num_items}, d): one row per item id (zeros for a missing {modality})."
            )
        if feature_dim is not None and int(feature_dim) != features.shape[1]:
            raise ValueError(
                f"Received `{modality}_features` of width {features.shape[1]} and "
                f"`{modality}_feature_dim={feature_dim}`. Expected them to agree."
            )
        if not np.isfinite(features).all():
            raise ValueError(
                f"Received `{modality}_features` with NaN or infinite values. Expected finite "
                "values (zeros for a missing modality)."
            )
        return features, features.shape[1]

    def build(self, input_shape=None):
        if self.built:  # Built in __init__; Keras may call it again.
            return
        self.visual_hidden.build((None, self.image_feature_dim))
        if self.use_text:
            self.feature_network.build(
                (None, self.visual_hidden_dim), (None, self.text_feature_dim)
            )
        else:
            self.feature_network.build((None, self.visual_hidden_dim))
        self.interest_network.build()
        super().build(input_shape)
        if not self.use_item_bias:
            self.item_bias.trainable = False
        # The pre-extracted features: state saved with the model, never trained.
        self.image_features = self.add_weight(
            shape=(self.num_items, self.image_feature_dim),
            initializer="zeros",
            trainable=False,
            name="image_features",
        )
        if self.use_text:
            self.text_features = self.add_weight(
                shape=(self.num_items, self.text_feature_dim),
                initializer="zeros",
                trainable=False,
                name="text_features",
            )

    # ----------------------------------------------------------------- features
    def _feature_networks(self, image_features, text_features):
        visual = self.visual_hidden(image_features)
        if not self.use_text:
            return self.feature_network(visual), None
        return self.feature_network(visual, text_features)

    def item_representations(self, item_ids):
        """v and t (None for Image IRIS) of the feature networks: `[..., e]` each.

        The padding id `num_items` is mapped to the last item (its weight is masked out).
        """
        item_ids = ops.minimum(ops.convert_to_tensor(item_ids, "int32"), self.num_items - 1)
        if self.feature_pass == "all_items":
            tables = self.all_item_representations()
            return tuple(None if t is None else ops.take(t, item_ids, axis=0) for t in tables)
        images = ops.take(self.image_features, item_ids, axis=0)
        texts = ops.take(self.text_features, item_ids, axis=0) if self.use_text else None
        return self._feature_networks(images, texts)

    def all_item_representations(self):
        """v and t (None for Image IRIS) of every item: `[num_items, e]` each."""
        return self._feature_networks(
            self.image_features, self.text_features if self.use_text else None
        )

    def history_weights(
        self, history_embeddings, history_mask, target_embeddings, history=None, items=None
    ):
        """alpha_ij `[B, M, L]` of the IRN from the features of `history` and `items`.

        IRIS reads the item features of `history` and `items` (the base passes the ids).
        """
        del history_embeddings, target_embeddings
        if history is None or items is None:
            raise ValueError(
                "IRIS.history_weights needs the item ids: received `history` or `items` None. "
                "Expected `[B, L]` history ids and `[B, M]` target ids."
            )
        if self.feature_pass == "all_items":
            # One pass of the feature networks over the catalogue, then two gathers.
            visual_table, textual_table = self.all_item_representations()
            history, items = (ops.minimum(ids, self.num_items - 1) for ids in (history, items))
            history_visual = ops.take(visual_table, history, axis=0)
            target_visual = ops.take(visual_table, items, axis=0)
            history_textual = target_textual = None
            if textual_table is not None:
                history_textual = ops.take(textual_table, history, axis=0)
                target_textual = ops.take(textual_table, items, axis=0)
        else:
            history_visual, history_textual = self.item_representations(history)
            target_visual, target_textual = self.item_representations(items)
        if history_textual is not None:
            history_textual = ops.expand_dims(history_textual, 1)
        # [B, 1, L, e] history against [B, M, e] targets -> [B, M, L] weights.
        return self.interest_network(
            ops.expand_dims(history_visual, 1),
            target_visual,
            ops.expand_dims(history_mask, 1),
            history_textual=history_textual,
            target_textual=target_textual,
        )

    # ----------------------------------------------------------------- loss
    def regularization_loss(self):
        def squares(weights):
            return sum(ops.sum(ops.square(w)) for w in weights)

        loss = 0.0
        if self.attention_l2:
            loss = loss + self.attention_l2 * squares(self.interest_network.kernels())
        if self.use_text:
            tower_kernels = [
                *self.feature_network.visual_kernels,
                *self.feature_network.textual_kernels,
            ]
            shared_kernels = self.feature_network.shared_kernels
        else:
            tower_kernels, shared_kernels = [self.feature_network.kernel], []
        if self.feature_l2:
            tower_kernels = [self.visual_hidden.kernel, *tower_kernels]
            loss = loss + self.feature_l2 * squares(tower_kernels)
        if self.sharing_l2 and shared_kernels:
            loss = loss + self.sharing_l2 * squares(shared_kernels)
        return loss

    # ----------------------------------------------------------------- explanations
    def interest_relevance(self, history, history_mask, items):
        """`[B, L]` numpy alpha_ij of each history item for the row's target `items [B]`.

        Padding gets 0. With beta < 1 the weights of a row sum to more than 1.
        """
        return self.explain(history, history_mask, items)["weights"]

    def rank_history(self, history, item: int, top_k: int | None = None):
        """One user's history items ranked by interest relevance to `item` (paper Tables VII-IX).

        Args:
            history: 1-D sequence of the user's item ids (no padding).
            item: the target item id.
            top_k: keep the first `top_k` (default: all).

        Returns:
            A list of `(item_id, relevance)` pairs, most relevant first (ties by position).
        """
        history = np.asarray(history, np.int32).reshape(-1)
        if history.size == 0:
            return []
        if history.min() < 0 or history.max() >= self.num_items or not 0 <= item < self.num_items:
            raise ValueError(
                f"Received history ids in [{history.min()}, {history.max()}] and `item={item}`. "
                f"Expected ids in [0, {self.num_items})."
            )
        weights = self.interest_relevance(
            history[None, :], np.ones((1, history.size), bool), np.array([item], np.int32)
        )[0]
        order = np.argsort(-weights, kind="stable")[:top_k]
        return [(int(history[i]), float(weights[i])) for i in order]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "variant": self.variant,
                "attention_size": self.attention_size,
                "visual_hidden_dim": self.visual_hidden_dim,
                "activation": self.activation,
                "feature_activation": self.feature_activation,
                "beta": self.beta,
                "num_sharing_layers": self.num_sharing_layers,
                "share_across_layers": self.share_across_layers,
                "projection_initializer": self.projection_initializer,
                "use_item_bias": self.use_item_bias,
                "feature_pass": self.feature_pass,
                "attention_l2": self.attention_l2,
                "feature_l2": self.feature_l2,
                "sharing_l2": self.sharing_l2,
                "image_feature_dim": self.image_feature_dim,
                "text_feature_dim": self.text_feature_dim,
            }
        )
        return config
