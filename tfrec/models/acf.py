"""ACF: attentive collaborative filtering (Chen et al., SIGIR 2017), and SVD++ as its AVG case."""

from __future__ import annotations

import keras
import keras_rs
import numpy as np
from keras import ops

from tfrec.layers.acf_attention import ITEM_INPUTS
from tfrec.layers.acf_attention import MODES
from tfrec.layers.acf_attention import ComponentAttention
from tfrec.layers.acf_attention import ItemAttention
from tfrec.layers.sparse_read_embedding import SparseReadEmbedding
from tfrec.models.embedding_model import EmbeddingModel


@keras.saving.register_keras_serializable(package="tfrec")
class ACF(EmbeddingModel):
    """Attentive Collaborative Filtering with item- and component-level attention.

    No authors' code exists; the paper is the reference (spec acf.md). For user i with
    training items R(i), each with components x_lm (image regions, frames, tokens):

        beta(i, l, m) = softmax_m  w2^T ReLU(W2u u_i + W2x x_lm + b2)         (Eqs. 10-11)
        x̄_il          = sum_m beta(i, l, m) x_lm                              (Eq. 9)
        alpha(i, l)   = softmax_l  w1^T ReLU(W1u u_i + W1v v_l + W1p p_l + W1x x̄_il + b1)
        u'_i          = u_i + sum_l alpha(i, l) p_l                            (Eq. 6)
        score(i, j)   = u'_i^T v_j                                             (no biases)

    Loss (Eq. 5): `sum -ln sigma(score(i, j) - score(i, k))` over the batch's BPR triples
    (keras-rs `PairwiseLogisticLoss`, summed: exactly BPR's term) plus
    `l2 * (|u_i|^2 + |v_j|^2 + |v_k|^2 + sum_(l in R(i)) |p_l|^2)` over the rows the batch
    uses and `attention_l2 * |Theta|^2` over the attention weights (Algorithm 1 regularises
    every parameter; the per-batch form is [INFER], spec §3).

    Switches (paper Tables 2-3):
    - `item_attention="avg"`: alpha = 1/|R(i)|; without components this is SVD++ (BPR).
    - `component_attention="avg"`: x̄ = mean of the components ("item attention with
      averaged components").
    - `attention_inputs`: the item attention's inputs, e.g. `("U", "V")` ... `("U", "V",
      "P", "X")` (default: all four when there are components, else U, V, P).
    - `component_dim=None`: no content at all.

    Whether R(i) holds the positive j of a training triple is the sampler's
    `exclude_target` (default: included, the paper's literal R(i)).

    Inputs of `call` (from `tfrec.sampling.acf_batches.ACFSampler`):
        `{"user": [B], "positive": [B], "negatives": [B, W], "history": [B, L] item ids
        padded with num_items, "history_mask": [B, L], "pair_positions": [N]}` (flat
        position b * L + l of each real history entry; B * L marks padding), plus with
        components `"components": [U, C, F]` (the batch's distinct history items),
        `"component_mask": [U, C]`, `"component_slots": [M]` and `"component_entries": [M]`
        (the flat position u * C + c in `components` of each real component of each real
        entry, and that entry; N marks padding). The item attention runs on the N real
        entries, the component attention on the M real (entry, component) pairs, never on
        the padded B x L or N x C grids (`attention` scatters the weights back to them for
        analysis).

    Args:
        num_users, num_items: sizes of the id spaces.
        embedding_dim: D (paper: 128 in the tables).
        component_dim: F, the size of one component vector, or None (no content).
        item_attention, component_attention: `"att"` or `"avg"`.
        attention_inputs: subset of U, V, P, X (X needs `component_dim`).
        item_hidden, component_hidden: widths of the two attention MLPs (64 [INFER, Elliot]).
        l2: lambda on U, V, P rows; attention_l2: on the attention weights (None: = l2).
        initializer_stddev: U, V, P ~ N(0, stddev^2) (paper: 0.01).
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        embedding_dim: int = 128,
        component_dim: int | None = None,
        item_attention: str = "att",
        component_attention: str = "att",
        attention_inputs=None,
        item_hidden: int = 64,
        component_hidden: int = 64,
        l2: float = 1e-4,
        attention_l2: float | None = None,
        initializer_stddev: float = 0.01,
        **kwargs,
    ):
        super().__init__(num_users, num_items, embedding_dim, **kwargs)
        for name, mode in (
            ("item_attention", item_attention),
            ("component_attention", component_attention),
        ):
            if mode not in MODES:
                raise ValueError(f"Received: `{name}={mode!r}`. Expected one of {MODES}.")
        if component_dim is not None and int(component_dim) < 1:
            raise ValueError(f"Received: `component_dim={component_dim}`. Expected >= 1 or None.")
        if attention_inputs is None:
            attention_inputs = ITEM_INPUTS if component_dim else ("U", "V", "P")
        attention_inputs = tuple(attention_inputs)
        if "X" in attention_inputs and component_dim is None:
            raise ValueError(
                "Received `attention_inputs` with 'X' and `component_dim=None`. Expected "
                "component features (component_dim) for the content input X."
            )
        self.component_dim = None if component_dim is None else int(component_dim)
        self.item_attention_mode = item_attention
        self.component_attention_mode = component_attention
        self.attention_inputs = tuple(n for n in ITEM_INPUTS if n in attention_inputs)
        self.item_hidden = int(item_hidden)
        self.component_hidden = int(component_hidden)
        self.l2 = float(l2)
        self.attention_l2 = self.l2 if attention_l2 is None else float(attention_l2)
        self.initializer_stddev = float(initializer_stddev)

        def table(rows, name):
            return SparseReadEmbedding(
                rows,
                self.embedding_dim,
                embeddings_initializer=keras.initializers.RandomNormal(stddev=initializer_stddev),
                name=name,
            )

        self.user_embedding = table(self.num_users, "user_embedding")  # U
        self.item_embedding = table(self.num_items, "item_embedding")  # V
        self.auxiliary_embedding = table(self.num_items, "auxiliary_embedding")  # P
        self.item_attention = ItemAttention(
            item_hidden, self.attention_inputs, item_attention, name="item_attention"
        )
        self.item_attention.build(self.embedding_dim, self.component_dim)
        self.component_attention = None
        if self.item_attention.uses_content:
            self.component_attention = ComponentAttention(
                component_hidden, component_attention, name="component_attention"
            )
            self.component_attention.build(self.embedding_dim, self.component_dim)
        self.ranking_loss = keras_rs.losses.PairwiseLogisticLoss(reduction="sum")
        self.build()

    @property
    def uses_components(self) -> bool:
        """Whether batches must carry components (item attention reads X)."""
        return self.component_attention is not None

    # ----------------------------------------------------------------- forward
    def _entries(self, inputs):
        """The batch's real history entries, packed: `(segments [N], items [N])`.

        `pair_positions` holds the flat position b * L + l of each real entry of the [B, L]
        history grid (padded with B * L). An entry's segment is its row b (B for padding)
        and its item the history id there (`num_items` for padding).
        """
        if "pair_positions" not in inputs:
            raise ValueError(
                "ACF inputs need 'pair_positions' (the flat positions of the real history "
                "entries): build them with `tfrec.sampling.acf_batches.history_inputs` or "
                "`ACFSampler`."
            )
        history = ops.convert_to_tensor(inputs["history"], "int32")
        positions = ops.convert_to_tensor(inputs["pair_positions"], "int32")
        length = ops.maximum(ops.shape(history)[1], 1)
        flat = ops.concatenate(
            [ops.reshape(history, (-1,)), ops.full((1,), self.num_items, "int32")], axis=0
        )
        return positions // length, ops.take(flat, positions, axis=0)

    def _entry_rows(self, layer, items):
        """`layer`'s rows of the entries' items `[N, D]`, zero at padding (id `num_items`).

        Gathers with the padding clipped to a real id and zeroes it, rather than appending
        a zero row to the table, which copies the whole table at every step (the gradient
        of SVD++ on amazon-cloth took 23 ms that way, 9 ms this way).
        """
        rows = layer(ops.minimum(items, self.num_items - 1))
        return rows * ops.expand_dims(ops.cast(items < self.num_items, rows.dtype), -1)

    def _attend(self, inputs):
        """`(users [B, D], segments, auxiliary [N, D], alpha [N], beta [M] or None)`."""
        users = self.user_embedding(ops.convert_to_tensor(inputs["user"], "int32"))
        segments, items = self._entries(inputs)
        auxiliary = self._entry_rows(self.auxiliary_embedding, items)
        targets = None
        if "V" in self.attention_inputs and self.item_attention_mode == "att":
            targets = self._entry_rows(self.item_embedding, items)
        pooled, beta = None, None
        if self.uses_components:
            components = ops.convert_to_tensor(inputs["components"])
            slots = ops.convert_to_tensor(inputs["component_slots"], "int32")
            entries = ops.convert_to_tensor(inputs["component_entries"], "int32")
            beta = self.component_attention(
                users, self.component_attention.project(components), slots, entries, segments
            )  # [M]
            content = self.item_attention.project(components)
            content = ops.take(ops.reshape(content, (-1, ops.shape(content)[-1])), slots, axis=0)
            pooled = ops.segment_sum(  # W1x x̄ [N, h]; row N collects the padding pairs
                ops.expand_dims(beta, -1) * content, entries, ops.shape(segments)[0] + 1
            )[:-1]
        alpha = self.item_attention(users, targets, auxiliary, pooled, segments)
        return users, segments, auxiliary, alpha, beta

    def attention(self, inputs, return_component_weights: bool = False):
        """`(alpha [B, L], beta [B, L, C] or None)` on the padded history grid (analysis).

        Training works on the real history entries (`user_representation`); this scatters
        their weights back to the grid of `inputs["history"]`, zero at padding. beta is
        only formed when `return_component_weights`.
        """
        _, segments, _, alpha, beta = self._attend(inputs)
        history = ops.convert_to_tensor(inputs["history"], "int32")
        batch, length = ops.shape(history)[0], ops.shape(history)[1]
        positions = ops.expand_dims(ops.convert_to_tensor(inputs["pair_positions"], "int32"), -1)
        grid = batch * length + 1  # The last cell collects the padding entries.
        alpha = ops.reshape(ops.scatter(positions, alpha, (grid,))[:-1], (batch, length))
        if not return_component_weights or beta is None:
            return alpha, None
        # [M] pairs -> [N + 1, C] (entry, component column) -> the [B, L, C] grid.
        columns = ops.shape(inputs["components"])[1]
        cells = (
            ops.convert_to_tensor(inputs["component_entries"], "int32") * columns
            + ops.convert_to_tensor(inputs["component_slots"], "int32") % columns
        )
        entries = ops.shape(segments)[0] + 1
        beta = ops.reshape(
            ops.scatter(ops.expand_dims(cells, -1), beta, (entries * columns,)),
            (entries, columns),
        )
        beta = ops.scatter(positions, beta[:-1], (grid, columns))
        return alpha, ops.reshape(beta[:-1], (batch, length, columns))

    def user_representation(self, inputs):
        """u'_i = u_i + sum_l alpha(i, l) p_l: `[B, D]`."""
        users, segments, auxiliary, alpha, _ = self._attend(inputs)
        weighted = ops.expand_dims(alpha, -1) * auxiliary
        pooled = ops.segment_sum(weighted, segments, ops.shape(users)[0] + 1)
        return users + pooled[:-1]

    def call(self, inputs):
        represented = ops.expand_dims(self.user_representation(inputs), 1)  # [B, 1, D]
        items = ops.concatenate(
            [ops.expand_dims(ops.convert_to_tensor(inputs["positive"], "int32"), -1),
             ops.convert_to_tensor(inputs["negatives"], "int32")],
            axis=-1,
        )  # fmt: skip
        return ops.sum(represented * self.item_embedding(items), axis=-1)  # [B, 1 + W]

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss = self.ranking_loss(self.candidate_labels(y_pred), y_pred)
        if self.l2:
            items = ops.concatenate([ops.expand_dims(x["positive"], -1), x["negatives"]], -1)
            auxiliary = self._entry_rows(self.auxiliary_embedding, self._entries(x)[1])
            loss = loss + self.l2 * (
                ops.sum(ops.square(self.user_embedding(x["user"])))
                + ops.sum(ops.square(self.item_embedding(items)))
                + ops.sum(ops.square(auxiliary))
            )
        if self.attention_l2:
            weights = self.item_attention.trainable_weights
            if self.component_attention is not None:
                weights = weights + self.component_attention.trainable_weights
            loss = loss + self.attention_l2 * sum(ops.sum(ops.square(w)) for w in weights)
        return self.with_added_losses(loss)

    # ----------------------------------------------------------------- scoring
    def score_candidates(self, user_ids, item_ids):
        raise NotImplementedError(
            "ACF scores need each user's history (and its components): use "
            "`score_inputs(inputs, item_ids)` or `full_ranking_scorer(...)`."
        )

    def score_users(self, user_ids):
        raise NotImplementedError(
            "ACF scores need each user's history (and its components): use "
            "`full_ranking_scorer(histories, components)`."
        )

    def score_all_items(self, inputs):
        """`[B, num_items]` scores u'_i^T v_j of every item, for the users of `inputs`."""
        represented = self.user_representation(inputs)
        return ops.matmul(represented, ops.transpose(self.item_embedding.embeddings))

    def full_ranking_scorer(self, histories, components=None, *, batch_size: int = 256):
        """A `score_fn(user_ids) -> [b, num_items]` numpy for `evaluate_full_ranking`.

        Args:
            histories: a `tfrec.sampling.UserHistories` of the training items (the users'
                R(i), clipped as in training).
            components: the `ComponentStore` (needed when the model reads X).
            batch_size: users per forward pass.
        """
        from tfrec.sampling.acf_batches import history_inputs

        if self.uses_components and components is None:
            raise ValueError("This ACF reads component features: pass `components`.")

        def score_fn(user_ids):
            user_ids = np.asarray(user_ids, np.int32)
            blocks = []
            for start in range(0, len(user_ids), batch_size):
                users = user_ids[start : start + batch_size]
                inputs = history_inputs(
                    histories, users, components if self.uses_components else None
                )
                blocks.append(np.asarray(ops.convert_to_numpy(self.score_all_items(inputs))))
            return np.concatenate(blocks) if blocks else np.zeros((0, self.num_items), np.float32)

        return score_fn

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "component_dim": self.component_dim,
                "item_attention": self.item_attention_mode,
                "component_attention": self.component_attention_mode,
                "attention_inputs": list(self.attention_inputs),
                "item_hidden": self.item_hidden,
                "component_hidden": self.component_hidden,
                "l2": self.l2,
                "attention_l2": self.attention_l2,
                "initializer_stddev": self.initializer_stddev,
            }
        )
        return config
