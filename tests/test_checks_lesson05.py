"""check_mean_pool: passes correct answers, names each typical mistake with its hint."""

from __future__ import annotations

import numpy as np
import pytest
from keras import ops

from course_utils.checks import check_mean_pool
from course_utils.layers import mean_pool as reference


def correct_numpy(token_vectors, attention_mask):
    mask = attention_mask[:, :, None].astype(token_vectors.dtype)
    mean = (token_vectors * mask).sum(axis=1) / mask.sum(axis=1)
    return mean / np.linalg.norm(mean, axis=-1, keepdims=True)


def correct_keras_ops(token_vectors, attention_mask):
    mask = ops.cast(attention_mask, "float32")[:, :, None]
    mean = ops.sum(token_vectors * mask, axis=1) / ops.sum(mask, axis=1)
    return mean / ops.norm(mean, axis=-1, keepdims=True)


def _masked(v, m):
    return v * m[:, :, None]


def padding_averaged_in(v, m):
    mean = v.mean(axis=1)
    return mean / np.linalg.norm(mean, axis=-1, keepdims=True)


def mask_inverted(v, m):
    inv = 1 - m
    mean = _masked(v, inv).sum(axis=1) / inv.sum(axis=1, keepdims=True).clip(1e-9)
    return mean / np.linalg.norm(mean, axis=-1, keepdims=True)


def not_normalised(v, m):
    return _masked(v, m).sum(axis=1) / m.sum(axis=1, keepdims=True)


def divided_by_T(v, m):
    return _masked(v, m).sum(axis=1) / v.shape[1]


def sum_only(v, m):
    return _masked(v, m).sum(axis=1)


def normalised_over_batch(v, m):
    mean = not_normalised(v, m)
    return mean / np.linalg.norm(mean, axis=0, keepdims=True)


def wrong_axis(v, m):
    return _masked(v, m).mean(axis=-1)


def plain_mean(v, m):
    return v.mean(axis=1)


def returns_none(v, m):
    mean = not_normalised(v, m)
    mean / np.linalg.norm(mean, axis=-1, keepdims=True)


def crashes(v, m):
    return v @ m  # shapes do not fit


def untouched(v, m):
    raise NotImplementedError


@pytest.mark.parametrize(
    "fn", [reference, correct_numpy, correct_keras_ops], ids=["reference", "numpy", "keras_ops"]
)
def test_correct_implementations_pass(fn):
    result = check_mean_pool(fn, verbose=False)
    assert result.passed and result.attempted, result.hint


@pytest.mark.parametrize(
    "fn, words",
    [
        (padding_averaged_in, "padding is averaged in: you took the mean over all T"),
        (mask_inverted, "mask is inverted"),
        (not_normalised, "not normalised: divide each row by its L2 norm"),
        (divided_by_T, "divided the masked sum by T"),
        (sum_only, "did not divide by their number"),
        (normalised_over_batch, "over the batch"),
        (wrong_axis, "averaged over the vector axis"),
        (plain_mean, "padding is averaged in and the rows are not normalised"),
        (returns_none, "returned None"),
        (crashes, "raised an error"),
    ],
    ids=lambda x: getattr(x, "__name__", None),
)
def test_each_mistake_gets_its_hint(fn, words):
    result = check_mean_pool(fn, verbose=False)
    assert not result.passed and result.attempted
    assert words in result.hint, result.hint


def test_untouched_exercise_is_not_attempted():
    result = check_mean_pool(untouched, verbose=False)
    assert not result.passed and not result.attempted


def test_reference_ignores_padding_content():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(2, 4, 3)).astype("float32")
    m = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], dtype="int32")
    changed = v.copy()
    changed[0, 2:] = 100.0  # padding content must not matter
    a, b = np.asarray(reference(v, m)), np.asarray(reference(changed, m))
    np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(a, axis=-1), 1.0, atol=1e-6)
    np.testing.assert_allclose(a[0], correct_numpy(v[:1, :2], np.ones((1, 2)))[0], atol=1e-6)
