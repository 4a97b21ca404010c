"""check_split_merge_heads: passes the reference (keras.ops and NumPy), names each typical mistake.

Each wrong pair below is a mistake a learner makes; the test asserts that the checker fails
it *and* that the hint names that mistake. The reference itself is checked against what
``keras.layers.MultiHeadAttention`` computes per head.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

from course_utils.attention import merge_heads, split_heads
from course_utils.checks import check_split_merge_heads


def split_numpy(x, num_heads):
    b, t, e = x.shape
    return np.asarray(x).reshape(b, t, num_heads, e // num_heads).transpose(0, 2, 1, 3)


def merge_numpy(x):
    b, h, t, d = x.shape
    return np.asarray(x).transpose(0, 2, 1, 3).reshape(b, t, h * d)


def split_reshape_only(x, num_heads):
    b, t, e = x.shape
    return ops.reshape(x, (b, num_heads, t, e // num_heads))


def split_no_transpose(x, num_heads):
    b, t, e = x.shape
    return ops.reshape(x, (b, t, num_heads, e // num_heads))


def split_heads_first(x, num_heads):
    b, t, e = x.shape
    return ops.transpose(ops.reshape(x, (b, t, num_heads, e // num_heads)), (2, 0, 1, 3))


def split_t_d_swapped(x, num_heads):
    b, t, e = x.shape
    return ops.transpose(ops.reshape(x, (b, t, num_heads, e // num_heads)), (0, 2, 3, 1))


def split_interleaved(x, num_heads):
    b, t, e = x.shape
    return ops.transpose(ops.reshape(x, (b, t, e // num_heads, num_heads)), (0, 3, 1, 2))


def merge_reshape_only(x):
    b, h, t, d = x.shape
    return ops.reshape(x, (b, t, h * d))


def merge_no_reshape(x):
    return ops.transpose(x, (0, 2, 1, 3))


def merge_interleaved(x):  # consistent with split_interleaved, but not the inverse of the real split
    b, h, t, d = x.shape
    return ops.reshape(ops.transpose(x, (0, 2, 3, 1)), (b, t, d * h))


def merge_averaged(x):
    return ops.mean(x, axis=1)


def merge_scrambled(x):  # right shape, no recognised pattern: the round-trip message
    b, h, t, d = x.shape
    return ops.reshape(ops.transpose(x, (0, 2, 1, 3)), (b, t, h * d))[:, ::-1]


@pytest.mark.parametrize(
    "split,merge", [(split_heads, merge_heads), (split_numpy, merge_numpy)], ids=["keras.ops", "numpy"]
)
def test_correct_pairs_pass(split, merge):
    result = check_split_merge_heads(split, merge, verbose=False)
    assert result.passed, result.hint


@pytest.mark.parametrize(
    "split,merge,expected",
    [
        (split_reshape_only, merge_heads, "reshapes straight to (batch, H, T, d)"),
        (split_no_transpose, merge_heads, "the transpose is missing"),
        (split_heads_first, merge_heads, "the batch axis must stay first"),
        (split_t_d_swapped, merge_heads, "T and d are swapped"),
        (split_interleaved, merge_interleaved, "features h, h+H"),
        (split_heads, merge_reshape_only, "merge_heads reshapes (batch, H, T, d) straight"),
        (split_heads, merge_no_reshape, "reshape to (batch, T, H*d)"),
        (split_heads, merge_interleaved, "interleaved"),
        (split_heads, merge_averaged, "averages the heads"),
        (split_heads, merge_scrambled, "does not undo split_heads"),
    ],
)
def test_each_mistake_is_named(split, merge, expected):
    result = check_split_merge_heads(split, merge, verbose=False)
    assert not result.passed
    assert expected in result.hint, result.hint


def test_untouched_exercise_is_not_attempted():
    def untouched(*args):
        raise NotImplementedError

    result = check_split_merge_heads(untouched, untouched, verbose=False)
    assert not result.passed and not result.attempted


def test_missing_return_and_exception_are_hints():
    result = check_split_merge_heads(lambda x, h: None, merge_heads, verbose=False)
    assert not result.passed and "return" in result.hint
    result = check_split_merge_heads(lambda x, h: 1 / 0, merge_heads, verbose=False)
    assert not result.passed and "ZeroDivisionError" in result.hint


def test_reference_matches_keras_heads():
    """split_heads of one wide projection = Keras's per-head projections; merge_heads then
    the output kernel = Keras's output (so the exercise is the real layer's bookkeeping)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 6, 10)).astype("float32")
    mha = keras.layers.MultiHeadAttention(num_heads=3, key_dim=4)
    out = np.asarray(mha(x, x))
    wq, bq, wk, bk, wv, bv, wo, bo = mha.get_weights()
    e, h, d = wq.shape
    q = split_heads(x @ wq.reshape(e, h * d) + bq.reshape(-1), h)
    k = split_heads(x @ wk.reshape(e, h * d) + bk.reshape(-1), h)
    v = split_heads(x @ wv.reshape(e, h * d) + bv.reshape(-1), h)
    np.testing.assert_allclose(np.asarray(q)[:, 1], x @ wq[:, 1] + bq[1], atol=1e-5)
    weights = ops.softmax(ops.matmul(q, ops.swapaxes(k, -1, -2)) / np.sqrt(d), axis=-1)
    merged = merge_heads(ops.matmul(weights, v))
    np.testing.assert_allclose(np.asarray(merged) @ wo.reshape(h * d, e) + bo, out, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(merge_heads(split_heads(x[..., :9], 3))), x[..., :9])
