"""Paired significance tests over users (MAML and ACF report two-tailed paired t-tests)."""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.stats

from tfrec.evaluation.ranking_result import RankingResult


@dataclasses.dataclass(frozen=True)
class PairedTest:
    metric: str
    mean_difference: float
    statistic: float
    p_value: float
    num_users: int


def paired_t_test(a: RankingResult, b: RankingResult, metric: str) -> PairedTest:
    """Two-tailed paired t-test of `metric` between `a` and `b` over their common users.

    `mean_difference` is mean(a - b): positive when `a` is better.
    """
    for result in (a, b):
        if metric not in result.per_user:
            raise ValueError(
                f"Received: `metric={metric!r}`. Expected one of {sorted(result.per_user)}."
            )
    common, index_a, index_b = np.intersect1d(a.users, b.users, return_indices=True)
    if len(common) < 2:
        raise ValueError("A paired test needs at least two users evaluated by both results.")
    values_a = a.per_user[metric][index_a]
    values_b = b.per_user[metric][index_b]
    statistic, p_value = scipy.stats.ttest_rel(values_a, values_b)
    return PairedTest(
        metric=metric,
        mean_difference=float(np.mean(values_a - values_b)),
        statistic=float(statistic),
        p_value=float(p_value),
        num_users=len(common),
    )
