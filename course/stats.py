"""Honest small-sample numbers: a proportion with its 95% interval, a paired before/after gain.

Every figure the course prints from a few dozen or a few hundred items comes with its count
(k/n) and an interval, so a learner can tell a real change from noise. The item-level helpers
wrap scipy.

Items that share a premise (4 triplets built from one premise) or a query are not independent
tests: a premise the model reads wrongly tends to fail all its triplets together. Their
interval comes from a **cluster bootstrap**: resample the groups (premises) with replacement,
keep every item of each drawn group, recompute the statistic. scipy's bootstrap resamples
items only, so these few lines use numpy (`group_draws` is the whole resampling scheme, the
same one notebooks 05 and 06 write out in their own cells).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Proportion:
    """k successes out of n, with a 95% interval: Wilson over independent items, or a cluster
    bootstrap when `groups` is set (the n items come from that many groups, e.g. premises)."""

    k: int
    n: int
    low: float
    high: float
    groups: int | None = None
    unit: str = "groups"

    @property
    def value(self) -> float:
        return self.k / self.n

    def __str__(self) -> str:
        if self.groups is None:
            return f"{self.value:.3f} ({self.k}/{self.n}, 95% CI {self.low:.3f}-{self.high:.3f})"
        return (f"{self.value:.3f} ({self.k}/{self.n} from {self.groups} {self.unit}, 95% CI "
                f"{self.low:.3f}-{self.high:.3f}, {self.unit} resampled)")


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
    groups: int | None = None  # set when groups of items (premises, queries) were resampled
    unit: str = "groups"

    @property
    def diff(self) -> float:
        return self.after - self.before

    @property
    def significant(self) -> bool:
        """True when the interval excludes 0: the change is larger than resampling noise."""
        return self.low > 0 or self.high < 0

    def __str__(self) -> str:
        n = f"n={self.n}" if self.groups is None else f"n={self.n} from {self.groups} {self.unit}"
        how = "" if self.groups is None else f", {self.unit} resampled"
        return (f"{self.before:.3f} -> {self.after:.3f}: {self.diff:+.3f} "
                f"({n}, 95% CI {self.low:+.3f} to {self.high:+.3f}{how})")


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
                       n_resamples: int = 2000, seed: int = 0, groups=None,
                       unit: str = "groups") -> PairedDiff:
    """metric(gold, after) - metric(gold, before) with a paired bootstrap over items.

    For scores that are not per-item means, such as STS Spearman or a pair task's average
    precision: the same resampled pairs are scored by both models. `metric` defaults to
    Spearman's rank correlation. With `groups` (one id per item, e.g. the premise of each NLI
    pair) whole groups are resampled instead of single items (a cluster bootstrap).
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
    point = PairedDiff(float(metric(g, b)), float(metric(g, a)), len(g), 0.0, 0.0)
    if groups is not None:
        members, _ = _group_members(groups, len(g))
        diffs = []
        for draw in group_draws(len(members), n_resamples, seed):
            i = np.concatenate([members[j] for j in draw])
            diffs.append(metric(g[i], a[i]) - metric(g[i], b[i]))
        low, high = _percentile_interval(diffs, confidence)
        return replace(point, low=low, high=high, groups=len(members), unit=unit)
    res = bootstrap((g, b, a), lambda g_, b_, a_: metric(g_, a_) - metric(g_, b_), paired=True,
                    vectorized=False, confidence_level=confidence, n_resamples=n_resamples,
                    method="percentile", random_state=seed)
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return replace(point, low=low, high=high)


# ---------------------------------------------------------------- clustered items

def group_draws(n_groups: int, n_resamples: int = 9999, seed: int = 0) -> np.ndarray:
    """(n_resamples, n_groups) group indices drawn with replacement: row r lists the groups
    (premises, queries) of resample r. Every cluster-bootstrap helper below draws these."""
    return np.random.default_rng(seed).integers(0, n_groups, size=(n_resamples, n_groups))


def _group_members(groups, n_items: int) -> tuple[list[np.ndarray], np.ndarray]:
    """(item indices of each group, group code of each item); checks one id per item."""
    ids = list(groups)
    if len(ids) != n_items:
        raise ValueError(f"groups has {len(ids)} ids for {n_items} items: pass one group id "
                         "(e.g. the premise or query of each item) per item, in the same order.")
    names, codes = np.unique(np.asarray([str(i) for i in ids]), return_inverse=True)
    members = [np.flatnonzero(codes == c) for c in range(len(names))]
    if len(members) < 2:
        raise ValueError(f"a cluster bootstrap needs at least 2 groups, got {len(members)}: with "
                         "one group there is nothing to resample. Check the group ids.")
    return members, codes


def _percentile_interval(values, confidence: float) -> tuple[float, float]:
    tail = 100 * (1 - confidence) / 2
    low, high = np.nanpercentile(np.asarray(values, dtype=float), [tail, 100 - tail])
    return float(low), float(high)


def _cluster_mean_interval(values: np.ndarray, groups, confidence: float, n_resamples: int,
                           seed: int) -> tuple[float, float, int]:
    """Percentile interval of the item mean when whole groups are resampled; (low, high, groups)."""
    members, codes = _group_members(groups, len(values))
    if np.all(values == values[0]):  # no spread: every resample gives the same mean
        return float(values[0]), float(values[0]), len(members)
    sums = np.bincount(codes, weights=values, minlength=len(members))
    sizes = np.bincount(codes, minlength=len(members))
    draws = group_draws(len(members), n_resamples, seed)
    means = sums[draws].sum(axis=1) / sizes[draws].sum(axis=1)  # the mean over the drawn items
    return (*_percentile_interval(means, confidence), len(members))


def cluster_bootstrap_ci(values, groups, confidence: float = 0.95, n_resamples: int = 9999,
                         seed: int = 0) -> tuple[float, float]:
    """A percentile interval of the mean of per-item `values`, resampling whole `groups`."""
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or len(v) < 2:
        raise ValueError(f"a bootstrap interval needs a 1-D list of at least 2 items, got shape {v.shape}")
    low, high, _ = _cluster_mean_interval(v, groups, confidence, n_resamples, seed)
    return low, high


def cluster_proportion(hits, groups, unit: str = "groups", confidence: float = 0.95,
                       n_resamples: int = 9999, seed: int = 0) -> Proportion:
    """k/n of per-item 0/1 `hits` (a triplet accuracy) with a cluster-bootstrap interval:
    `groups` gives each item's group (its premise), and whole groups are resampled. When every
    item is a hit (or a miss) the bootstrap has no spread; the interval is then Wilson's for the
    groups counted as items (all of them hits, or none)."""
    h = np.asarray(hits, dtype=float)
    if h.ndim != 1 or len(h) < 2:
        raise ValueError(f"a proportion's bootstrap needs a 1-D list of at least 2 hits, got shape {h.shape}")
    if not np.isin(h, (0.0, 1.0)).all():
        raise ValueError("hits must be 0 or 1 per item (True/False works too); for other per-item "
                         "values use cluster_bootstrap_ci.")
    low, high, n_groups = _cluster_mean_interval(h, groups, confidence, n_resamples, seed)
    if low == high:  # every item a hit (or every one a miss): no resample can differ, so fall
        # back to Wilson on the groups, as if each group were one item: 1.000 with 0.994-1.000
        # from 688 triplets would claim a certainty that 172 premises do not give
        edge = proportion(round(low * n_groups), n_groups, confidence)
        low, high = edge.low, edge.high
    return Proportion(int(h.sum()), len(h), low, high, n_groups, unit)


def paired_cluster_bootstrap(before, after, groups, unit: str = "groups", confidence: float = 0.95,
                             n_resamples: int = 9999, seed: int = 0) -> PairedDiff:
    """Mean per-item gain of `after` over `before` with a paired cluster bootstrap: each
    resample draws whole groups (premises, queries) and keeps both models' values of their items."""
    b, a = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    if b.shape != a.shape or b.ndim != 1:
        raise ValueError(f"before and after must be 1-D and the same length, got {b.shape} and {a.shape}")
    if len(b) < 2:
        raise ValueError(f"a paired bootstrap needs at least 2 items, got {len(b)}")
    low, high, n_groups = _cluster_mean_interval(a - b, groups, confidence, n_resamples, seed)
    return PairedDiff(float(b.mean()), float(a.mean()), len(b), low, high, n_groups, unit)
