"""The interval helpers: known values, the edge cases, and errors for bad input."""

import numpy as np
import pytest

from course import stats


def test_wilson_matches_the_textbook_value():
    p = stats.proportion(26, 57)
    assert p.value == pytest.approx(26 / 57)
    # Wilson 95% for 26/57 (e.g. statsmodels proportion_confint(method="wilson")): 0.3335-0.5840
    assert p.low == pytest.approx(0.3335, abs=1e-3) and p.high == pytest.approx(0.5840, abs=1e-3)
    assert "26/57" in str(p) and "95% CI" in str(p)


def test_wilson_stays_inside_0_1_at_the_edges():
    zero, all_ = stats.proportion(0, 10), stats.proportion(10, 10)
    assert zero.low == 0 and 0 < zero.high < 0.35
    assert all_.high == pytest.approx(1) and 0.65 < all_.low < 1


@pytest.mark.parametrize("k,n", [(1, 0), (-1, 5), (6, 5)])
def test_proportion_rejects_impossible_counts(k, n):
    with pytest.raises(ValueError):
        stats.proportion(k, n)


def test_paired_bootstrap_sees_a_real_gain_and_not_noise():
    rng = np.random.default_rng(0)
    before = rng.integers(0, 2, 300)
    after = np.where(rng.random(300) < 0.3, 1, before)  # 30% of items flip to a hit
    gain = stats.paired_bootstrap(before, after)
    assert gain.diff == pytest.approx(after.mean() - before.mean())
    assert gain.low > 0 and gain.significant
    noise = stats.paired_bootstrap(before, rng.permutation(before))
    assert noise.low < 0 < noise.high and not noise.significant


def test_paired_bootstrap_is_seeded_and_handles_no_spread():
    a, b = [0, 1, 1, 0, 1], [1, 1, 1, 0, 1]
    assert stats.paired_bootstrap(a, b) == stats.paired_bootstrap(a, b)
    same = stats.paired_bootstrap([0, 1, 0], [1, 2, 1])
    assert (same.low, same.high, same.diff) == (1.0, 1.0, 1.0)


def test_paired_bootstrap_rejects_mismatched_input():
    with pytest.raises(ValueError, match="same length"):
        stats.paired_bootstrap([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="at least 2"):
        stats.paired_bootstrap([1], [0])


def test_paired_metric_diff_for_a_correlation():
    rng = np.random.default_rng(1)
    gold = rng.random(120)
    good = gold + rng.normal(0, 0.1, 120)
    bad = gold + rng.normal(0, 1.0, 120)
    d = stats.paired_metric_diff(gold, bad, good)
    assert d.after > d.before and d.low > 0
    assert stats.paired_metric_diff(gold, good, bad).high < 0


def test_bootstrap_ci_brackets_the_mean():
    v = np.arange(50, dtype=float)
    low, high = stats.bootstrap_ci(v)
    assert low < v.mean() < high
    assert stats.bootstrap_ci([2.0, 2.0, 2.0]) == (2.0, 2.0)


# ---------------------------------------------------------------- cluster bootstrap

def _clustered(n_groups=60, size=4, correlated=True, seed=0):
    """0/1 hits of n_groups groups of `size` items; correlated: a group is all hit or all miss."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(n_groups), size)
    if correlated:
        hits = np.repeat(rng.random(n_groups) < 0.7, size).astype(float)
    else:
        hits = (rng.random(n_groups * size) < 0.7).astype(float)
    return hits, groups


def test_cluster_interval_is_wider_when_items_of_a_group_agree():
    hits, groups = _clustered(correlated=True)
    item_low, item_high = stats.bootstrap_ci(hits)
    low, high = stats.cluster_bootstrap_ci(hits, groups)
    # 60 groups of 4 identical items carry the information of 60 items, not 240: about 2x wider
    assert (high - low) > 1.6 * (item_high - item_low)
    assert low < hits.mean() < high


def test_cluster_interval_matches_the_item_one_when_groups_do_not_matter():
    hits, groups = _clustered(correlated=False)
    item_low, item_high = stats.bootstrap_ci(hits)
    low, high = stats.cluster_bootstrap_ci(hits, groups)
    assert (high - low) == pytest.approx(item_high - item_low, rel=0.2)


def test_cluster_proportion_counts_and_names_its_groups():
    hits, groups = _clustered(correlated=True)
    p = stats.cluster_proportion(hits, groups, unit="premises")
    wilson = stats.proportion(int(hits.sum()), len(hits))
    assert (p.k, p.n, p.groups) == (int(hits.sum()), 240, 60) and p.value == wilson.value
    assert (p.high - p.low) > 1.6 * (wilson.high - wilson.low)
    assert "from 60 premises" in str(p) and "premises resampled" in str(p)
    # every item a hit: the bootstrap has no spread; Wilson over the 2 groups, not over 4 items
    all_hits = stats.cluster_proportion([1, 1, 1, 1], ["a", "a", "b", "b"])
    assert (all_hits.low, all_hits.high) == (stats.proportion(2, 2).low, stats.proportion(2, 2).high)
    assert all_hits.low < stats.proportion(4, 4).low < 1


def test_paired_cluster_bootstrap_is_wider_for_correlated_gains():
    rng = np.random.default_rng(2)
    groups = np.repeat(np.arange(50), 4)
    before = rng.integers(0, 2, 200).astype(float)
    flip_group = np.repeat(rng.random(50) < 0.3, 4)  # a premise the training fixes, fixes all 4
    after = np.where(flip_group, 1.0, before)
    item = stats.paired_bootstrap(before, after)
    cluster = stats.paired_cluster_bootstrap(before, after, groups, unit="premises")
    assert cluster.diff == pytest.approx(item.diff) and cluster.groups == 50
    assert (cluster.high - cluster.low) > 1.3 * (item.high - item.low)
    assert "from 50 premises" in str(cluster)
    independent = stats.paired_cluster_bootstrap(before, after, rng.permutation(groups))
    assert (independent.high - independent.low) == pytest.approx(item.high - item.low, rel=0.25)


def test_cluster_bootstrap_is_the_few_lines_the_notebooks_show():
    """Resample group ids with group_draws, average the drawn items: what 05/06 write out."""
    hits, groups = _clustered(n_groups=20, correlated=True, seed=3)
    names, code = np.unique(groups.astype(str), return_inverse=True)
    draws = stats.group_draws(len(names), 9999, seed=0)
    sums, sizes = np.bincount(code, weights=hits), np.bincount(code)
    means = sums[draws].sum(axis=1) / sizes[draws].sum(axis=1)
    assert stats.cluster_bootstrap_ci(hits, groups) == tuple(np.percentile(means, [2.5, 97.5]))


def test_paired_metric_diff_by_groups_is_wider_for_shared_premises():
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(40), 4)
    labels = np.tile([1, 1, 0, 0], 40)  # 2 entailed and 2 contradicted hypotheses per premise
    premise_effect = np.repeat(rng.normal(0, 1, 40), 4)  # how easy the premise is, for both models
    before = labels * premise_effect + rng.normal(0, 0.3, 160)
    after = before + labels * np.repeat(rng.normal(0.3, 0.5, 40), 4)  # training helps per premise
    item = stats.paired_metric_diff(labels, before, after, metric=average_precision_score)
    cluster = stats.paired_metric_diff(labels, before, after, metric=average_precision_score,
                                       groups=groups, unit="premises")
    assert (cluster.before, cluster.after) == (item.before, item.after) and cluster.groups == 40
    assert cluster.low < cluster.diff < cluster.high
    assert (cluster.high - cluster.low) > 1.2 * (item.high - item.low)


@pytest.mark.parametrize("groups,match", [([0, 0, 1], "3 ids for 4 items"), ([7, 7, 7, 7], "at least 2 groups")])
def test_cluster_bootstrap_rejects_bad_groups(groups, match):
    with pytest.raises(ValueError, match=match):
        stats.cluster_proportion([1, 0, 1, 1], groups)
    with pytest.raises(ValueError, match=match):
        stats.paired_cluster_bootstrap([1, 0, 1, 1], [1, 1, 1, 1], groups)


def test_cluster_proportion_rejects_non_binary_hits():
    with pytest.raises(ValueError, match="0 or 1"):
        stats.cluster_proportion([0.5, 1, 0, 1], [0, 0, 1, 1])
