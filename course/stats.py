"""Honest small-sample numbers: a proportion with its 95% interval, a paired before/after gain.

Every figure the course prints from a few dozen or a few hundred items comes with its count
(k/n) and an interval, so a learner can tell a real change from noise. Both helpers wrap
scipy; nothing here is hand-written statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Proportion:
    """k successes out of n, with a 95% Wilson interval."""

    k: int
    n: int
    low: float
    high: float

    @property
    def value(self) -> float:
        return self.k / self.n

    def __str__(self) -> str:
        return f"{self.value:.3f} ({self.k}/{self.n}, 95% CI {self.low:.3f}-{self.high:.3f})"


def proportion(k: int, n: int, confidence: float = 0.95) -> Proportion:
    """k/n with its Wilson interval (good at small n and near 0 or 1, unlike the normal one)."""
    from scipy.stats import binomtest

    k, n = int(k), int(n)
    if n <= 0:
        raise ValueError(f"a proportion needs at least one item, got n={n}")
    if not 0 <= k <= n:
        raise ValueError(f"k must lie between 0 and n={n}, got k={k}")
    ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    return Proportion(k, n, float(ci.low), float(ci.high))


@dataclass(frozen=True)
class PairedDiff:
    """Mean of (after - before) over the same items, with a paired-bootstrap 95% interval."""

    before: float
    after: float
    n: int
    low: float
    high: float

    @property
    def diff(self) -> float:
        return self.after - self.before

    @property
    def significant(self) -> bool:
        """True when the interval excludes 0: the change is larger than resampling noise."""
        return self.low > 0 or self.high < 0

    def __str__(self) -> str:
        return (f"{self.before:.3f} -> {self.after:.3f}: {self.diff:+.3f} "
                f"(n={self.n}, 95% CI {self.low:+.3f} to {self.high:+.3f})")


def paired_bootstrap(before, after, confidence: float = 0.95, n_resamples: int = 9999,
                     seed: int = 0) -> PairedDiff:
    """Mean per-item gain of `after` over `before` (0/1 hits, reciprocal ranks, ...) with a bootstrap CI.

    Items are resampled as pairs, so the interval reflects how the *same* items changed.
    """
    from scipy.stats import bootstrap

    b, a = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    if b.shape != a.shape or b.ndim != 1:
        raise ValueError(f"before and after must be 1-D and the same length, got {b.shape} and {a.shape}")
    if len(b) < 2:
        raise ValueError(f"a paired bootstrap needs at least 2 items, got {len(b)}")
    d = a - b
    if np.all(d == d[0]):  # no spread: every resample gives the same mean
        low = high = float(d[0])
    else:
        res = bootstrap((b, a), lambda x, y, axis=-1: np.mean(y - x, axis=axis), paired=True,
                        vectorized=True, confidence_level=confidence, n_resamples=n_resamples,
                        method="percentile", random_state=seed)
        low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return PairedDiff(float(b.mean()), float(a.mean()), len(b), low, high)


def bootstrap_ci(values, statistic=np.mean, confidence: float = 0.95, n_resamples: int = 9999,
                 seed: int = 0) -> tuple[float, float]:
    """A percentile-bootstrap interval of `statistic` over items (a mean score, a correlation's inputs)."""
    from scipy.stats import bootstrap

    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        raise ValueError(f"a bootstrap interval needs at least 2 items, got {len(v)}")
    if np.all(v == v[0]):
        return float(v[0]), float(v[0])
    res = bootstrap((v,), statistic, vectorized=False, confidence_level=confidence,
                    n_resamples=n_resamples, method="percentile", random_state=seed)
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def paired_metric_diff(gold, before, after, metric=None, confidence: float = 0.95,
                       n_resamples: int = 2000, seed: int = 0) -> PairedDiff:
    """metric(gold, after) - metric(gold, before) with a paired bootstrap over items.

    For scores that are not per-item means, such as STS Spearman: the same resampled pairs
    are scored by both models. `metric` defaults to Spearman's rank correlation.
    """
    from scipy.stats import bootstrap, spearmanr

    if metric is None:
        def metric(g, s):
            return spearmanr(g, s).statistic
    g, b, a = (np.asarray(x, dtype=float) for x in (gold, before, after))
    if not (g.shape == b.shape == a.shape) or g.ndim != 1:
        raise ValueError(f"gold, before and after must be 1-D and the same length, got {g.shape}, {b.shape}, {a.shape}")
    if len(g) < 3:
        raise ValueError(f"a paired bootstrap of a correlation needs at least 3 items, got {len(g)}")
    res = bootstrap((g, b, a), lambda g_, b_, a_: metric(g_, a_) - metric(g_, b_), paired=True,
                    vectorized=False, confidence_level=confidence, n_resamples=n_resamples,
                    method="percentile", random_state=seed)
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return PairedDiff(float(metric(g, b)), float(metric(g, a)), len(g), low, high)
