"""A Keras callback that evaluates ranking metrics every N epochs and logs them."""

from __future__ import annotations

import keras

from tfrec.data.interactions import Interactions
from tfrec.evaluation.full_ranking import evaluate_full_ranking
from tfrec.evaluation.sampled import evaluate_sampled

PROTOCOLS = ("full", "sampled")


class RankingEvaluationCallback(keras.callbacks.Callback):
    """Evaluates the model during `fit` and writes the metrics into the epoch logs.

    The metrics (e.g. `logs["ndcg@10"]`, plain Python floats, fractions) reach the
    `History`, the progress bar and every later callback (CSVLogger, TensorBoard,
    EarlyStopping(monitor="ndcg@10", mode="max")): put this callback first in the list.
    `self.history` keeps `(epoch, metrics)` for every evaluation. Works on every backend:
    it only needs scores it can turn into numpy.

    Args:
        interactions: the data to evaluate on.
        protocol: `"full"` (protocol A: full ranking, training items excluded; see
            `evaluate_full_ranking`) or `"sampled"` (protocol C: test item + stored
            negatives, pessimistic ties; see `evaluate_sampled`).
        ks: cut-offs.
        every_n_epochs: evaluate after every N-th epoch.
        split: the split with the relevant items for the full protocol ("test" or
            "validation"); the sampled protocol always uses "test".
        prefix: prepended to the metric names in the logs, e.g. "val_".
        score_fn: the scores to evaluate. Default: `model.score_users(user_ids)` for the
            full protocol, `model.score_items(user_ids, item_ids)` for the sampled one.
        evaluate_at_end: also evaluate after the final epoch when it is not a multiple of
            N (in its logs when it is the last of `epochs`, else, e.g. after early
            stopping, at `on_train_end`, in `self.history` only).
        verbose: print the metrics (in %) when evaluated.

    Example:
    >>> callback = RankingEvaluationCallback(data, ks=(10,), every_n_epochs=5)
    >>> history = model.fit(dataset, epochs=50, callbacks=[callback])
    >>> history.history["ndcg@10"]
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
            raise ValueError(
                f"Received: `every_n_epochs={every_n_epochs}`. Expected an integer >= 1."
            )
        if protocol == "sampled" and split != "test":
            raise ValueError(
                f"Received: `split={split!r}` with `protocol='sampled'`. Expected 'test' (the "
                "stored negatives belong to the test item)."
            )
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
        self._last_epoch = -1
        self._last_evaluated = -1

    def evaluate(self) -> dict[str, float]:
        """The metrics of the model now, named `prefix + name`, as plain floats."""
        if self.protocol == "full":
            result = evaluate_full_ranking(
                self.score_fn or self._model_scores("score_users"),
                self.interactions,
                ks=self.ks,
                split=self.split,
                return_per_user=False,
            )
        else:
            result = evaluate_sampled(
                self.score_fn or self._model_scores("score_items"), self.interactions, ks=self.ks
            )
        return {self.prefix + name: float(value) for name, value in result.metrics.items()}

    def on_train_begin(self, logs=None):
        self._last_epoch = -1
        self._last_evaluated = -1

    def on_epoch_end(self, epoch, logs=None):
        self._last_epoch = epoch
        epochs = (self.params or {}).get("epochs")
        last = self.evaluate_at_end and epochs is not None and epoch + 1 == epochs
        if (epoch + 1) % self.every_n_epochs == 0 or last:
            metrics = self._record(epoch)
            if logs is not None:
                logs.update(metrics)

    def on_train_end(self, logs=None):
        # Training stopped before the planned last epoch (e.g. EarlyStopping).
        if self.evaluate_at_end and self._last_epoch > self._last_evaluated:
            self._record(self._last_epoch)

    def _record(self, epoch: int) -> dict[str, float]:
        metrics = self.evaluate()
        self.history.append((epoch, metrics))
        self._last_evaluated = epoch
        if self.verbose:
            shown = ", ".join(f"{name} {100 * value:.3f}%" for name, value in metrics.items())
            print(f"epoch {epoch + 1}: {shown}")
        return metrics

    def _model_scores(self, method: str):
        function = getattr(self.model, method, None)
        if function is None:
            raise ValueError(
                f"Received a model without `{method}`. Expected a tfrec model, or pass "
                f"`score_fn` to RankingEvaluationCallback."
            )

        def scores(*ids):
            return function(*(keras.ops.convert_to_tensor(x) for x in ids))

        return scores
