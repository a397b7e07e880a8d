"""NAIS: FISM with an attention network weighting each history item per target item."""

from __future__ import annotations

import keras
from keras import ops

from tfrec.layers.nais_attention import NAISAttention
from tfrec.models.item_similarity_model import ItemSimilarityModel


@keras.saving.register_keras_serializable(package="tfrec")
class NAIS(ItemSimilarityModel):
    """Neural Attentive Item Similarity model (He et al., TKDE 2018), as in the authors' code.

    NAIS code `NAIS.py` (spec iris.md §3; IRIS paper Eq. 3):

        y(u, j) = sigmoid(n_u^(-alpha) * sum_(i in R_u \\ {j}) a_ij p_i^T q_j + b_j)
        a_ij = exp(f(p_i, q_j)) / (sum_(i') exp(f(p_i', q_j)))^beta
        f = h^T act(W x_ij + b),  x_ij = p_i * q_j ("prod") or [p_i; q_j] ("concat")

    (`tfrec.layers.NAISAttention`, padding masked out of numerator and denominator). Loss:
    the mean log loss plus `target_l2 |Q|^2 + history_l2 |P|^2 + attention_l2 |W|^2` over the
    full matrices (b and h are not regularised; code regs [1e-7, 1e-7, 1e-5]).

    Defaults are the code's: e = w = 16, "prod", ReLU, alpha = 0, beta = 0.5. The IRIS
    paper runs NAIS with beta = 0.8 (`beta=0.8`). The code starts from a trained FISM
    (`pretrain=1`, default): call `load_item_weights(fism)` before training; `pretrain=2`
    also freezes P, Q, b: build with `embeddings_trainable=False`. Train with Adagrad
    (lr 0.01, initial accumulator 1e-8) as the code does.

    Args:
        num_items: size of the item id space (padding id = `num_items`).
        embedding_dim: e.
        attention_size: w, the attention network's hidden width (code `weight_size`).
        attention: `"prod"` (code `algorithm=0`) or `"concat"` (`algorithm=1`).
        activation: `"relu"`, `"sigmoid"` or `"tanh"` of the attention network.
        beta: the smoothing exponent of the softmax.
        attention_l2: eta, L2 weight on the attention matrix W.
        **kwargs: alpha, history_l2, target_l2, log_loss_epsilon, initializer_stddev,
            embeddings_trainable (`ItemSimilarityModel`) and Keras model arguments.

    Example:

    ```python
    model = NAIS(data.num_items, attention="prod", beta=0.5)
    model.load_item_weights(trained_fism)
    weights = model.attention_weights(history, mask, items)  # [B, L]
    ```
    """

    def __init__(
        self,
        num_items: int,
        embedding_dim: int = 16,
        attention_size: int = 16,
        attention: str = "prod",
        activation: str = "relu",
        beta: float = 0.5,
        attention_l2: float = 1e-5,
        **kwargs,
    ):
        super().__init__(num_items, embedding_dim, **kwargs)
        if not float(attention_l2) >= 0.0:
            raise ValueError(f"Received: `attention_l2={attention_l2}`. Expected a float >= 0.")
        self.attention_size = int(attention_size)
        self.attention = attention
        self.activation = activation
        self.beta = float(beta)
        self.attention_l2 = float(attention_l2)
        self.attention_network = NAISAttention(
            self.embedding_dim,
            attention_size=self.attention_size,
            form=attention,
            activation=activation,
            beta=self.beta,
            name="attention_network",
        )
        self.build()

    def history_weights(
        self, history_embeddings, history_mask, target_embeddings, history=None, items=None
    ):
        # [B, 1, L, e] history against [B, M, e] targets -> [B, M, L] weights.
        return self.attention_network(
            ops.expand_dims(history_embeddings, 1),
            target_embeddings,
            ops.expand_dims(history_mask, 1),
        )

    def regularization_loss(self):
        if not self.attention_l2:
            return 0.0
        return self.attention_l2 * ops.sum(ops.square(self.attention_network.kernel))

    def attention_weights(self, history, history_mask, items):
        """`[B, L]` numpy attention a_ij of each history item for the row's target `items [B]`.

        Padding gets 0. With beta < 1 the weights of a row sum to more than 1.
        """
        return self.explain(history, history_mask, items)["weights"]

    def load_item_weights(self, source: ItemSimilarityModel) -> None:
        """Copies P, Q and b from a trained FISM (the NAIS code's `pretrain` restore)."""
        for name in ("history_embeddings", "target_embeddings", "item_bias"):
            value = getattr(source, name)
            target = getattr(self, name)
            if tuple(value.shape) != tuple(target.shape):
                raise ValueError(
                    f"Received `{name}` of shape {tuple(value.shape)} from "
                    f"{type(source).__name__}. Expected {tuple(target.shape)} "
                    "(same num_items and embedding_dim)."
                )
            target.assign(value)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "attention_size": self.attention_size,
                "attention": self.attention,
                "activation": self.activation,
                "beta": self.beta,
                "attention_l2": self.attention_l2,
            }
        )
        return config
