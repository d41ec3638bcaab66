"""The statistical tests behind ``change`` rules: is the current value worse than the baseline, beyond noise?

Each test is one-sided in the "worse" direction and returns a p-value; the evaluator also demands a
minimum sample size and a minimum effect size, and corrects for testing many scopes at once (Holm).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class TestResult:
    """Outcome of one test: p-value (one-sided, worse direction), statistic and test name."""

    p_value: float
    statistic: float
    test: str


def two_proportions(x1: float, n1: float, x0: float, n0: float, *, greater: bool = True) -> TestResult:
    """Two-proportion z-test (pooled): is x1/n1 greater (or smaller) than x0/n0?"""
    from scipy import stats  # scipy costs ~0.5 s to import; only rule evaluation needs it

    if n1 <= 0 or n0 <= 0:
        return TestResult(1.0, 0.0, "two_proportion_z")
    p1, p0 = x1 / n1, x0 / n0
    pooled = (x1 + x0) / (n1 + n0)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    if se == 0:
        return TestResult(1.0, 0.0, "two_proportion_z")
    z = (p1 - p0) / se
    p = float(stats.norm.sf(z) if greater else stats.norm.cdf(z))
    return TestResult(p, z, "two_proportion_z")


def fisher_proportions(x1: float, n1: float, x0: float, n0: float, *, greater: bool = True) -> TestResult:
    """Fisher's exact test of two proportions (small counts, where the z-test's normal approximation fails)."""
    from scipy import stats  # scipy costs ~0.5 s to import; only rule evaluation needs it

    a, b = round(x1), round(n1 - x1)
    c, d = round(x0), round(n0 - x0)
    if min(a, b, c, d) < 0 or (a + b) == 0 or (c + d) == 0:
        return TestResult(1.0, 0.0, "fisher_exact")
    result = stats.fisher_exact([[a, b], [c, d]], alternative="greater" if greater else "less")
    return TestResult(float(result.pvalue), float(result.statistic), "fisher_exact")


def proportions(x1: float, n1: float, x0: float, n0: float, *, greater: bool = True) -> TestResult:
    """Two-proportion z-test, or Fisher's exact test when an expected cell count is below 5."""
    pooled = (x1 + x0) / (n1 + n0) if n1 + n0 > 0 else 0.0
    expected = min(n1 * pooled, n1 * (1 - pooled), n0 * pooled, n0 * (1 - pooled))
    if expected < 5:
        return fisher_proportions(x1, n1, x0, n0, greater=greater)
    return two_proportions(x1, n1, x0, n0, greater=greater)


def poisson_rates(k1: float, t1: float, k0: float, t0: float, *, greater: bool = True) -> TestResult:
    """Conditional (exact binomial) test of two Poisson rates k1/t1 against k0/t0 (t = exposure)."""
    from scipy import stats  # scipy costs ~0.5 s to import; only rule evaluation needs it

    k1i, k0i = round(k1), round(k0)
    total = k1i + k0i
    if total == 0 or t1 <= 0 or t0 <= 0:
        return TestResult(1.0, 0.0, "poisson_conditional")
    # Under equal rates, k1 given the total is binomial with the exposure share of the current window.
    share = t1 / (t1 + t0)
    result = stats.binomtest(k1i, total, share, alternative="greater" if greater else "less")
    ratio = (k1 / t1) / (k0 / t0) if k0 > 0 else math.inf
    return TestResult(float(result.pvalue), ratio, "poisson_conditional")


def welch(
    mean1: float, sd1: float, n1: float, mean0: float, sd0: float, n0: float, *, greater: bool = True
) -> TestResult:
    """Welch's t-test from summary statistics (unequal variances): is mean1 greater (smaller) than mean0?"""
    from scipy import stats  # scipy costs ~0.5 s to import; only rule evaluation needs it

    if n1 < 2 or n0 < 2:
        return TestResult(1.0, 0.0, "welch_t")
    if sd1 <= 0 and sd0 <= 0:
        # No spread at all: any difference is certain, none is nothing.
        worse = mean1 > mean0 if greater else mean1 < mean0
        return TestResult(0.0 if worse else 1.0, 0.0, "welch_t")
    result = stats.ttest_ind_from_stats(
        mean1,
        max(sd1, 1e-12),
        n1,
        mean0,
        max(sd0, 1e-12),
        n0,
        equal_var=False,
        alternative="greater" if greater else "less",
    )
    return TestResult(float(result.pvalue), float(result.statistic), "welch_t")


def mann_whitney(current: Sequence[float], baseline: Sequence[float], *, greater: bool = True) -> TestResult:
    """Mann–Whitney U test on raw samples (durations are skewed; ranks are robust to outliers)."""
    from scipy import stats  # scipy costs ~0.5 s to import; only rule evaluation needs it

    if len(current) < 2 or len(baseline) < 2:
        return TestResult(1.0, 0.0, "mann_whitney_u")
    result = stats.mannwhitneyu(current, baseline, alternative="greater" if greater else "less")
    return TestResult(float(result.pvalue), float(result.statistic), "mann_whitney_u")


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (family-wise error control across the scopes of one rule)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted
