"""The result of an evaluation: mean metrics plus per-user values for significance tests."""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass
class RankingResult:
    """Metrics of one model under one protocol.

    Attributes:
        metrics: metric name (`"ndcg@10"`, `"recall@10"`...) -> mean over `users`, as a
            plain float fraction (not %).
        per_user: metric name -> `[len(users)]` values aligned with `users` (empty when
            evaluated with `return_per_user=False`).
        users: the evaluated user ids.
        protocol: a short description of the protocol.
    """

    metrics: dict[str, float]
    per_user: dict[str, np.ndarray]
    users: np.ndarray
    protocol: str

    def as_percent(self) -> dict[str, float]:
        """Metrics x 100, as the papers print them."""
        return {name: 100.0 * value for name, value in self.metrics.items()}

    def __str__(self) -> str:
        names = list(self.metrics)
        if not names:
            return f"{self.protocol}; {len(self.users):,} users; no metrics"
        width = max(12, *(len(name) + 2 for name in names))
        header = "".join(f"{name:>{width}}" for name in names)
        values = "".join(f"{100.0 * self.metrics[name]:>{width}.3f}" for name in names)
        return f"{self.protocol}; {len(self.users):,} users; values in %\n{header}\n{values}"
