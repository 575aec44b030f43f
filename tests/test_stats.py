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
