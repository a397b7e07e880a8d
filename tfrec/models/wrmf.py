"""WRMF (Hu, Koren, Volinsky, ICDM 2008): implicit-feedback matrix factorisation by weighted
ALS, the inner-product embedding baseline of the MML paper (spec bpr_and_baselines.md §7).

    minimise  sum_(u,i) c_ui (r_ui - p_u^T q_i)^2 + lambda (|P|^2 + |Q|^2),  c_ui = 1 + a r_ui

ALS is not gradient descent on mini-batches, so this is not a Keras model: it wraps the
`implicit` library's `AlternatingLeastSquares` (benfred/implicit, CPU conjugate-gradient
solver; a well-kept implementation, used instead of a hand-written ALS) and offers what the
evaluators and the NMI protocol read: `score_users_numpy`, `item_embedding`-like access to
Q, and saving. Its factors are numpy arrays on any Keras backend.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from tfrec.utils.atomic import atomic_path


class _Table:
    """`.embeddings` of a numpy factor matrix (what `item_clustering_nmi` reads)."""

    def __init__(self, values: np.ndarray):
        self.embeddings = values


class WRMF:
    """Weighted ALS matrix factorisation for implicit feedback.

    Args:
        num_users, num_items: sizes of the id spaces.
        embedding_dim: k (the MML tables: 32, as every embedding model there).
        regularization: lambda.
        alpha: confidence weight a of a positive (c = 1 + a r).
        iterations: ALS sweeps (users then items).
        seed: seeds the factor initialisation.

    Example:
    >>> model = WRMF(data.num_users, data.num_items, 32).fit(data.train)
    >>> evaluate_full_ranking(model.score_users_numpy, data, ks=(50,))
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        embedding_dim: int = 32,
        regularization: float = 0.01,
        alpha: float = 1.0,
        iterations: int = 15,
        seed: int = 0,
    ):
        for name, value in (
            ("num_users", num_users),
            ("num_items", num_items),
            ("embedding_dim", embedding_dim),
            ("iterations", iterations),
        ):
            if int(value) < 1:
                raise ValueError(f"Received: `{name}={value}`. Expected an integer >= 1.")
        if regularization < 0 or alpha <= 0:
            raise ValueError(
                f"Received: `regularization={regularization}`, `alpha={alpha}`. Expected "
                "regularization >= 0 and alpha > 0."
            )
        self.num_users, self.num_items = int(num_users), int(num_items)
        self.embedding_dim = int(embedding_dim)
        self.regularization = float(regularization)
        self.alpha = float(alpha)
        self.iterations = int(iterations)
        self.seed = int(seed)
        self.user_factors = np.zeros((self.num_users, self.embedding_dim), np.float32)
        self.item_factors = np.zeros((self.num_items, self.embedding_dim), np.float32)

    def fit(self, train: sp.spmatrix, *, show_progress: bool = False) -> WRMF:
        """Runs the ALS sweeps on the binarised `[num_users, num_items]` training matrix."""
        from implicit.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        matrix = sp.csr_matrix(train, dtype=np.float32, copy=True)
        if matrix.shape != (self.num_users, self.num_items):
            raise ValueError(
                f"Received a training matrix of shape {matrix.shape}. Expected "
                f"{(self.num_users, self.num_items)}."
            )
        # implicit (0.7) weights an interaction by alpha * value and a non-interaction by 1,
        # while Hu et al.'s confidence is c = 1 + a r with r = 1: passing the value 1 + a with
        # implicit's alpha = 1 gives exactly c = 1 + a (tested against the normal equations).
        matrix.data[:] = 1.0 + self.alpha
        # implicit parallelises itself; a BLAS thread pool on top of it only slows it down
        # (its own warning), so BLAS is held to one thread while building and fitting.
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(
                factors=self.embedding_dim,
                regularization=self.regularization,
                alpha=1.0,
                iterations=self.iterations,
                random_state=self.seed,
                use_gpu=False,
            )
            model.fit(matrix, show_progress=show_progress)
        self.user_factors = np.asarray(model.user_factors, np.float32)
        self.item_factors = np.asarray(model.item_factors, np.float32)
        return self

    @property
    def item_embedding(self) -> _Table:
        return _Table(self.item_factors)

    @property
    def user_embedding(self) -> _Table:
        return _Table(self.user_factors)

    def score_users_numpy(self, user_ids) -> np.ndarray:
        """`[b, num_items]` scores p_u^T q_i."""
        return self.user_factors[np.asarray(user_ids)] @ self.item_factors.T

    def get_config(self) -> dict:
        return {
            "num_users": self.num_users,
            "num_items": self.num_items,
            "embedding_dim": self.embedding_dim,
            "regularization": self.regularization,
            "alpha": self.alpha,
            "iterations": self.iterations,
            "seed": self.seed,
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Writes the factors and the configuration to one `.npz`, atomically."""
        path = Path(path)
        with atomic_path(path) as temporary, open(temporary, "wb") as handle:
            np.savez(
                handle,
                user_factors=self.user_factors,
                item_factors=self.item_factors,
                config=json.dumps(self.get_config()),
            )
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> WRMF:
        with np.load(path) as stored:
            model = cls(**json.loads(str(stored["config"])))
            model.user_factors = stored["user_factors"]
            model.item_factors = stored["item_factors"]
        return model
