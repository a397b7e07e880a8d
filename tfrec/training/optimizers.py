"""Optimizers with the numerical constants of the authors' TensorFlow 1 code."""

from __future__ import annotations

import keras

OPTIMIZERS = ("adam", "adagrad", "sgd")


def make_optimizer(name: str, learning_rate: float, **kwargs) -> keras.optimizers.Optimizer:
    """Returns a Keras optimizer configured like its TF1 counterpart.

    - `"adam"`: TF1 `AdamOptimizer` uses epsilon 1e-8 (Keras 3 defaults to 1e-7); the
      bias-corrected update is otherwise the same (spec maml.md §7).
    - `"adagrad"`: TF1 `AdagradOptimizer` starts the accumulator at 0.1 and has no epsilon;
      Keras 3 adds epsilon inside the square root, so it is set to 1e-12 (spec cml.md §7).
      NAIS/FISM use an initial accumulator of 1e-8: pass `initial_accumulator_value`.
    - `"sgd"`: plain gradient descent (ACF §5.1).

    Extra keyword arguments override these constants.
    """
    if name == "adam":
        options = {"epsilon": 1e-8}
        options.update(kwargs)
        return keras.optimizers.Adam(learning_rate, **options)
    if name == "adagrad":
        options = {"initial_accumulator_value": 0.1, "epsilon": 1e-12}
        options.update(kwargs)
        return keras.optimizers.Adagrad(learning_rate, **options)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, **kwargs)
    raise ValueError(f"Received: `optimizer={name!r}`. Expected one of {OPTIMIZERS}.")
