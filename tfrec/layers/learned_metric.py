"""Learned PSD Mahalanobis distance (MML's metric matrices W_U, W_I, W_UI)."""

from __future__ import annotations

import math

import keras
from keras import ops

PARAMETERIZATIONS = ("full", "diagonal", "euclidean")
DIAGONAL_TRANSFORMS = ("softplus", "square")


@keras.saving.register_keras_serializable(package="tfrec")
class LearnedMetric(keras.layers.Layer):
    """Squared Mahalanobis distance `d_W(x, y) = (x - y)^T W (x - y)` with W kept PSD.

    MML (paper Eqs. 5-6) learns one metric matrix per relation (user-user, item-item,
    user-item) and requires it to be positive semi-definite, without saying how (spec
    mml.md §2). Here PSD holds by construction, whatever the optimizer does:

    - `"full"` (default): `W = L L^T` with a trainable `L` `[k, k]` initialised to the
      identity, so training starts from the squared Euclidean distance.
    - `"diagonal"`: `W = diag(w)` with `w = softplus(v)` (`v` starts at `ln(e - 1)`, so
      `w = 1`) or `w = v^2` (`v` starts at 1), per `diagonal_transform`.
    - `"euclidean"`: `W = I`, no weights (MML's EUC-MML ablation).

    Every form is "project, then squared Euclidean": `d_W(x, y) = |P(x) - P(y)|^2` with
    `P(x) = x L` (full) or `x * sqrt(w)` (diagonal). `pairwise` therefore scores a whole
    catalogue with one matrix product after projecting both sides.

    Args:
        embedding_dim: k. `None` infers it from the last axis of the first input at build.
        parameterization: `"full"`, `"diagonal"` or `"euclidean"`.
        diagonal_transform: `"softplus"` or `"square"` (only used by `"diagonal"`).

    Call arguments:
        a, b: tensors with the same last dimension k, broadcastable (e.g. `[B, 1, k]` and
            `[B, W, k]` -> `[B, W]`).

    Example:
    >>> metric = LearnedMetric(2)
    >>> metric(ops.array([[0.0, 1.0]]), ops.array([[3.0, 5.0]]))  # L = I: 9 + 16
    [25.0]
    """

    def __init__(
        self,
        embedding_dim: int | None = None,
        parameterization: str = "full",
        diagonal_transform: str = "softplus",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if parameterization not in PARAMETERIZATIONS:
            raise ValueError(
                f"Received: `parameterization={parameterization!r}`. Expected one of "
                f"{PARAMETERIZATIONS}."
            )
        if diagonal_transform not in DIAGONAL_TRANSFORMS:
            raise ValueError(
                f"Received: `diagonal_transform={diagonal_transform!r}`. Expected one of "
                f"{DIAGONAL_TRANSFORMS}."
            )
        if embedding_dim is not None and (
            isinstance(embedding_dim, bool)
            or int(embedding_dim) != embedding_dim
            or embedding_dim < 1
        ):
            raise ValueError(
                f"Received: `embedding_dim={embedding_dim!r}`. Expected None or an integer >= 1."
            )
        self.embedding_dim = None if embedding_dim is None else int(embedding_dim)
        self.parameterization = parameterization
        self.diagonal_transform = diagonal_transform
        self.factor = None

    def build(self, a_shape=None, b_shape=None):
        if self.embedding_dim is None:
            if a_shape is None or a_shape[-1] is None:
                raise ValueError(
                    "LearnedMetric needs `embedding_dim` or an input with a known last "
                    f"dimension; received input shape {a_shape}."
                )
            self.embedding_dim = int(a_shape[-1])
        k = self.embedding_dim
        if self.parameterization == "full":
            self.factor = self.add_weight(
                shape=(k, k), initializer=keras.initializers.Identity(), name="factor"
            )
        elif self.parameterization == "diagonal":
            start = math.log(math.e - 1.0) if self.diagonal_transform == "softplus" else 1.0
            self.factor = self.add_weight(
                shape=(k,), initializer=keras.initializers.Constant(start), name="factor"
            )
        self.built = True

    def diagonal_weights(self):
        """`w` of the diagonal form (`[k]`), i.e. `diag(W)`."""
        if self.diagonal_transform == "softplus":
            return ops.softplus(self.factor)
        return ops.square(self.factor)

    def project(self, x):
        """`P(x)`: `[..., k]` -> `[..., k]` with `d_W(x, y) = |P(x) - P(y)|^2`."""
        if self.parameterization == "full":
            return ops.matmul(x, self.factor)
        if self.parameterization == "diagonal":
            if self.diagonal_transform == "square":
                return x * ops.abs(self.factor)  # sqrt(v^2), with a finite gradient at v = 0
            return x * ops.sqrt(self.diagonal_weights())
        return x

    def matrix(self):
        """W as a `[k, k]` tensor (PSD by construction)."""
        k = self.embedding_dim
        if self.parameterization == "full":
            return ops.matmul(self.factor, ops.transpose(self.factor))
        if self.parameterization == "diagonal":
            return ops.diag(self.diagonal_weights())
        return ops.eye(k)

    def call(self, a, b):
        return ops.sum(ops.square(self.project(ops.subtract(a, b))), axis=-1)

    def pairwise(self, a, b):
        """Every row of `a` `[n, k]` against every row of `b` `[m, k]` -> `[n, m]`.

        Projects both sides, then `|p|^2 - 2 p q^T + |q|^2` (one matrix product), clamped
        at 0 against rounding.
        """
        a, b = self.project(a), self.project(b)
        a_norms = ops.sum(ops.square(a), axis=-1, keepdims=True)
        b_norms = ops.sum(ops.square(b), axis=-1)
        cross = ops.matmul(a, ops.transpose(b))
        return ops.maximum(a_norms - 2.0 * cross + b_norms[None, :], 0.0)

    def compute_output_shape(self, a_shape, b_shape=None):
        return tuple(a_shape[:-1])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "embedding_dim": self.embedding_dim,
                "parameterization": self.parameterization,
                "diagonal_transform": self.diagonal_transform,
            }
        )
        return config
