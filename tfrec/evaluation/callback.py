"""A Keras callback that evaluates ranking metrics every N epochs and logs them."""

from __future__ import annotations

import keras

from tfrec.data.interactions import Interactions
from tfrec.evaluation.full_ranking import evaluate_full_ranking
from tfrec.evaluation.sampled import evaluate_sampled

PROTOCOLS = ("full", "sampled")


class RankingEvaluationCallback(keras.callbacks.Callback):
    """Evaluates the model during `fit` and writes the metrics into the epoch logs.

    The metrics (e.g. `logs["ndcg@10"]`, plain floats, as fractions) reach the `History`,
    progress bar and any later callback (CSVLogger, TensorBoard, EarlyStopping on a
    validation split). Works on every backend: it only needs numpy scores.

    Args:
        interactions: the data to evaluate on.
        protocol: `"full"` (full ranking, training items excluded) or `"sampled"` (1 + N).
        ks: cut-offs.
        every_n_epochs: evaluate after every N-th epoch (and after the last one when
            `evaluate_at_end`).
        split: the split with the relevant items for the full protocol ("test" or
            "validation"); the metrics are logged as `prefix + name`.
        prefix: prepended to the metric names, e.g. "val_".
        score_fn: override the scores (default: `model.score_users_numpy` for the full
            protocol, `model.score_items` for the sampled one).
        evaluate_at_end: evaluate after the final epoch even when it is not a multiple of N.
        verbose: print the metrics when evaluated.
    """

    def __init__(
        self,
        interactions: Interactions,
        *,
        protocol: str = "full",
        ks=(10,),
        every_n_epochs: int = 1,
        split: str = "test",
        prefix: str = "",
        score_fn=None,
        evaluate_at_end: bool = True,
        verbose: int = 1,
    ):
        super().__init__()
        if protocol not in PROTOCOLS:
            raise ValueError(f"Received: `protocol={protocol!r}`. Expected one of {PROTOCOLS}.")
        if every_n_epochs < 1:
            raise ValueError(f"Received: `every_n_epochs={every_n_epochs}`. Expected >= 1.")
        self.interactions = interactions
        self.protocol = protocol
        self.ks = tuple(ks)
        self.every_n_epochs = every_n_epochs
        self.split = split
        self.prefix = prefix
        self.score_fn = score_fn
        self.evaluate_at_end = evaluate_at_end
        self.verbose = verbose
        self.history: list[tuple[int, dict[str, float]]] = []
        self._last_evaluated = -1
        self._epochs = None

    def on_train_begin(self, logs=None):
        self._epochs = self.params.get("epochs") if self.params else None

    def evaluate(self) -> dict[str, float]:
        if self.protocol == "full":
            score_fn = self.score_fn or self.model.score_users_numpy
            result = evaluate_full_ranking(
                score_fn, self.interactions, ks=self.ks, split=self.split
            )
        else:
            score_fn = self.score_fn or self.model.score_items
            result = evaluate_sampled(score_fn, self.interactions, ks=self.ks)
        return {self.prefix + name: float(value) for name, value in result.metrics.items()}

    def on_epoch_end(self, epoch, logs=None):
        last = self._epochs is not None and epoch + 1 == self._epochs
        if (epoch + 1) % self.every_n_epochs and not (last and self.evaluate_at_end):
            return
        metrics = self.evaluate()
        self.history.append((epoch, metrics))
        self._last_evaluated = epoch
        if logs is not None:
            logs.update(metrics)
        if self.verbose:
            shown = ", ".join(f"{name} {100 * value:.3f}%" for name, value in metrics.items())
            print(f"epoch {epoch + 1}: {shown}")
