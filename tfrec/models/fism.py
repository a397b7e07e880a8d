"""FISM as implemented in the NAIS authors' code: a plain (or normalised) sum of item factors."""

from __future__ import annotations

import keras
from keras import ops

from tfrec.models.item_similarity_model import ItemSimilarityModel


@keras.saving.register_keras_serializable(package="tfrec")
class FISM(ItemSimilarityModel):
    """Factored Item Similarity Model (Kabbur et al., KDD 2013), NAIS-code variant.

    NAIS code `FISM.py` (spec iris.md §2; IRIS paper Eq. 2):

        y(u, j) = sigmoid(n_u^(-alpha) * (sum_(i in R_u \\ {j}) p_i)^T q_j + b_j)

    with the target j removed from the history by the input pipeline
    (`HistorySampler(exclude_target=True)`), trained pointwise with the log loss on one
    positive and K sampled negatives per training pair (`ItemSimilarityModel`). With the
    code's default alpha = 0 there is no normalisation by history length. Unlike the FISM
    paper there are no user biases (the code has item biases only).

    Defaults are the code's: e = 16, alpha = 0, regs [lambda, gamma] = [1e-7, 1e-7],
    truncated-normal(0.01) factors, zero biases. Train with
    `tfrec.training.optimizers.make_optimizer("adagrad", 0.01, initial_accumulator_value=1e-8)`.

    Args:
        num_items: size of the item id space (padding id = `num_items`).
        embedding_dim, alpha, history_l2, target_l2, log_loss_epsilon, initializer_stddev,
            embeddings_trainable: see `ItemSimilarityModel`.

    Example:

    ```python
    model = FISM(data.num_items, embedding_dim=16)
    model.compile(optimizer=make_optimizer("adagrad", 0.01, initial_accumulator_value=1e-8))
    model.fit(HistoryDataset(HistorySampler(data.train, num_negatives=4)), epochs=10)
    ```
    """

    def __init__(self, num_items: int, embedding_dim: int = 16, **kwargs):
        super().__init__(num_items, embedding_dim, **kwargs)
        self.build()

    def history_weights(
        self, history_embeddings, history_mask, target_embeddings, history=None, items=None
    ):
        # Every history item weighs 1 for every target (padding 0).
        return ops.expand_dims(history_mask, 1)
