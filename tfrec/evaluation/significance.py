"""Paired significance tests over users (MAML and ACF report two-tailed paired t-tests)."""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.stats

from tfrec.evaluation.ranking_result import RankingResult


@dataclasses.dataclass(frozen=True)
class PairedTest:
    """The outcome of `paired_t_test`.

    Attributes:
        metric: the compared metric, e.g. "ndcg@10".
        mean_difference: mean over the common users of (a - b); positive when a is better.
        statistic: the t statistic of `scipy.stats.ttest_rel(a, b)`.
        p_value: its two-tailed p-value (NaN when every difference is equal).
        num_users: the number of users evaluated by both results.
    """

    metric: str
    mean_difference: float
    statistic: float
    p_value: float
    num_users: int


def paired_t_test(a: RankingResult, b: RankingResult, metric: str) -> PairedTest:
    """Two-tailed paired t-test of `metric` between `a` and `b` over their common users.

    The protocol of MAML (Liu et al., ACM MM 2019, p < 0.05) and ACF: each user is one
    pair of per-user values; users evaluated by only one of the results are left out.

    Example:
    >>> test = paired_t_test(evaluate_full_ranking(...), evaluate_full_ranking(...), "ndcg@10")
    >>> test.p_value < 0.05
    """
    for result in (a, b):
        if metric not in result.per_user:
            available = sorted(result.per_user) or "none (evaluated with return_per_user=False)"
            raise ValueError(
                f"Received: `metric={metric!r}`. Expected a metric with per-user values: "
                f"{available}."
            )
    common, index_a, index_b = np.intersect1d(a.users, b.users, return_indices=True)
    if len(common) < 2:
        raise ValueError(
            f"Received results with {len(common)} common users. Expected at least two users "
            "evaluated by both (the same split and users)."
        )
    values_a = np.asarray(a.per_user[metric])[index_a]
    values_b = np.asarray(b.per_user[metric])[index_b]
    statistic, p_value = scipy.stats.ttest_rel(values_a, values_b)
    return PairedTest(
        metric=metric,
        mean_difference=float(np.mean(values_a - values_b)),
        statistic=float(statistic),
        p_value=float(p_value),
        num_users=len(common),
    )
