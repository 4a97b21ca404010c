"""course_utils.stats: paired tests of two classifiers on the same test items."""

from math import comb

import numpy as np
import pytest

from course_utils import stats


def _pairs(only_a: int, only_b: int, both_right: int, both_wrong: int):
    a = np.array([1] * only_a + [0] * only_b + [1] * both_right + [0] * both_wrong, dtype=bool)
    b = np.array([0] * only_a + [1] * only_b + [1] * both_right + [0] * both_wrong, dtype=bool)
    return a, b


def test_mcnemar_exact_p_value_from_the_binomial_distribution():
    a, b = _pairs(only_a=10, only_b=2, both_right=50, both_wrong=8)
    result = stats.mcnemar(a, b)
    # two-sided exact test: 2 * P(X >= 10), X ~ Binomial(12, 1/2)
    expected = 2 * sum(comb(12, k) for k in range(10, 13)) / 2**12
    assert result["p_value"] == pytest.approx(expected, rel=1e-9)
    assert (result["only_a"], result["only_b"], result["both_wrong"], result["n"]) == (10, 2, 8, 70)
    assert result["gap"] == pytest.approx((60 - 52) / 70)
    assert result["shared_error_fraction"] == pytest.approx(8 / 20)


def test_mcnemar_is_symmetric_and_identical_models_are_not_different():
    a, b = _pairs(only_a=7, only_b=3, both_right=30, both_wrong=5)
    assert stats.mcnemar(a, b)["p_value"] == pytest.approx(stats.mcnemar(b, a)["p_value"])
    assert stats.mcnemar(a, b)["gap"] == pytest.approx(-stats.mcnemar(b, a)["gap"])
    same = stats.mcnemar(a, a)
    assert same["p_value"] == 1.0 and same["gap"] == 0.0


def test_paired_standard_error_is_smaller_than_the_independent_one_when_errors_are_shared():
    a, b = _pairs(only_a=30, only_b=20, both_right=700, both_wrong=250)
    paired = stats.paired_standard_error(a, b)
    pa, pb, n = a.mean(), b.mean(), a.size
    independent = np.sqrt(pa * (1 - pa) / n + pb * (1 - pb) / n)
    d = a.astype(float) - b.astype(float)
    assert paired == pytest.approx(d.std(ddof=1) / np.sqrt(n))
    assert paired < 0.5 * independent  # most errors shared: pairing removes most of the noise


def test_paired_bootstrap_interval_matches_the_normal_approximation_on_a_large_sample():
    rng = np.random.default_rng(1)
    a = rng.random(4000) < 0.8
    b = np.where(rng.random(4000) < 0.9, a, ~a)  # b agrees with a on 90 % of the items
    boot = stats.paired_bootstrap(a, b, resamples=2000, seed=3)
    se = stats.paired_standard_error(a, b)
    assert boot["gap"] == pytest.approx(a.mean() - b.mean())
    assert boot["low"] < boot["gap"] < boot["high"]
    assert boot["se"] == pytest.approx(se, rel=0.1)
    assert boot["high"] - boot["low"] == pytest.approx(2 * 1.96 * se, rel=0.12)
    assert stats.paired_bootstrap(a, b, resamples=500, seed=3) == stats.paired_bootstrap(
        a, b, resamples=500, seed=3
    )


def test_paired_bootstrap_of_identical_models_is_exactly_zero():
    a, _ = _pairs(only_a=5, only_b=5, both_right=20, both_wrong=10)
    boot = stats.paired_bootstrap(a, a, resamples=300)
    assert boot["gap"] == boot["low"] == boot["high"] == boot["se"] == 0.0


def test_mean_sd_and_as_correct():
    assert stats.mean_sd([1.0, 2.0, 3.0]) == pytest.approx((2.0, 1.0))
    assert stats.as_correct([0, 1, 1], [0, 0, 1]).tolist() == [True, False, True]


@pytest.mark.parametrize(
    "a, b, match",
    [
        ([1, 0, 1], [1, 0], "same length"),
        ([], [], "non-empty"),
        ([[1, 0]], [[1, 0]], "1-D"),
        ([1, 2, 0], [1, 0, 0], "True/False"),
    ],
)
def test_clear_errors_for_wrong_inputs(a, b, match):
    with pytest.raises(ValueError, match=match):
        stats.mcnemar(a, b)


def test_clear_errors_for_wrong_settings():
    with pytest.raises(ValueError, match="at least 2 values"):
        stats.mean_sd([0.7])
    with pytest.raises(ValueError, match="level"):
        stats.paired_bootstrap([1, 0], [0, 1], level=95)
    with pytest.raises(ValueError, match="same shape"):
        stats.as_correct([0, 1], [0, 1, 1])
