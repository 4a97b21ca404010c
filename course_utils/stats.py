"""Paired comparisons of two classifiers scored on the same test items, and seed summaries.

Two models evaluated on the same test set make many of the same mistakes, so the noise of
their accuracy *gap* is not that of two independent samples. Pair the items instead:

* :func:`mcnemar` - exact McNemar test: of the items where exactly one model is right, is the
  split between "only A right" and "only B right" compatible with a fair coin?
* :func:`paired_bootstrap` - resample test items (the same items for both models) and read a
  confidence interval of the gap off the resampled gaps.
* :func:`paired_standard_error` - the standard error of the gap from the paired differences.
* :func:`mean_sd` - the mean and sample standard deviation of a number over seeds.

References: McNemar (1947), https://doi.org/10.1007/BF02295996; Dietterich (1998), "Approximate
statistical tests for comparing supervised classification learning algorithms",
https://doi.org/10.1162/089976698300017197; Efron & Tibshirani (1993), *An Introduction to the
Bootstrap*, https://doi.org/10.1201/9780429246593.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as _scipy_stats

__all__ = ["as_correct", "mcnemar", "paired_bootstrap", "paired_standard_error", "mean_sd"]


def as_correct(predicted, truth) -> np.ndarray:
    """Per-item correctness (bool array) from predicted and true labels of the same items."""
    predicted, truth = np.asarray(predicted), np.asarray(truth)
    if predicted.shape != truth.shape:
        raise ValueError(
            f"predicted {predicted.shape} and truth {truth.shape} must have the same shape "
            "(one label per test item)"
        )
    return predicted == truth


def _pair(correct_a, correct_b) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(correct_a), np.asarray(correct_b)
    if a.ndim != 1 or a.shape != b.shape or a.size == 0:
        raise ValueError(
            f"correct_a {a.shape} and correct_b {b.shape} must be 1-D, non-empty and of the same "
            "length: one True/False per test item, the same items in the same order for both models"
        )
    if not (np.isin(a, (0, 1)).all() and np.isin(b, (0, 1)).all()):
        raise ValueError(
            "correct_a and correct_b must hold True/False (or 1/0) per test item; "
            "use as_correct(predicted, truth) to get them"
        )
    return a.astype(bool), b.astype(bool)


def mcnemar(correct_a, correct_b) -> dict:
    """Exact (binomial) McNemar test of "A and B are equally accurate" on the same items.

    Returns a dict: ``gap`` (accuracy of A minus B), ``only_a`` and ``only_b`` (items only A /
    only B gets right), ``both_wrong``, ``shared_error_fraction`` (of the items either model
    gets wrong, the share both get wrong) and the two-sided ``p_value``.
    """
    a, b = _pair(correct_a, correct_b)
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    both_wrong = int(np.sum(~a & ~b))
    discordant = only_a + only_b
    p_value = 1.0 if discordant == 0 else float(_scipy_stats.binomtest(only_a, discordant, 0.5).pvalue)
    any_wrong = int(np.sum(~a | ~b))
    return dict(
        gap=float(a.mean() - b.mean()),
        only_a=only_a,
        only_b=only_b,
        both_wrong=both_wrong,
        shared_error_fraction=both_wrong / any_wrong if any_wrong else 0.0,
        p_value=p_value,
        n=int(a.size),
    )


def paired_standard_error(correct_a, correct_b) -> float:
    """Standard error of the accuracy gap A - B from the per-item differences (paired)."""
    a, b = _pair(correct_a, correct_b)
    d = a.astype(float) - b.astype(float)
    return float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else float("nan")


def paired_bootstrap(correct_a, correct_b, resamples: int = 2000, level: float = 0.95, seed: int = 0) -> dict:
    """Percentile bootstrap interval of the accuracy gap A - B, resampling items (both models together).

    Returns a dict: ``gap``, ``low``, ``high`` (the ``level`` interval), ``se`` (standard
    deviation of the resampled gaps) and ``resamples``.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95), got {level}")
    a, b = _pair(correct_a, correct_b)
    d = a.astype(np.int8) - b.astype(np.int8)  # +1 only A right, -1 only B right, 0 same
    rng = np.random.default_rng(seed)
    gaps = np.empty(resamples)
    for start in range(0, resamples, 250):  # chunks: bounded memory for large test sets
        stop = min(resamples, start + 250)
        index = rng.integers(0, d.size, size=(stop - start, d.size))
        gaps[start:stop] = d[index].mean(axis=1)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(gaps, [tail, 100 - tail])
    return dict(
        gap=float(d.mean()),
        low=float(low),
        high=float(high),
        se=float(gaps.std(ddof=1)),
        resamples=int(resamples),
    )


def mean_sd(values) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1) of a number measured over seeds."""
    v = np.asarray(values, dtype=float).ravel()
    if v.size < 2:
        raise ValueError(f"need at least 2 values (seeds) for a standard deviation, got {v.size}")
    return float(v.mean()), float(v.std(ddof=1))
