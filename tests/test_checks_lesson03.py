"""check_scaled_dot_product_attention: passes the reference, names each typical mistake.

Every wrong implementation below is a mistake a learner makes; the test asserts that the
checker fails it *and* that the hint names that mistake.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from keras import ops

from course_utils.attention import scaled_dot_product_attention
from course_utils.checks import check_scaled_dot_product_attention


def _scores(q, k):
    return ops.matmul(q, ops.swapaxes(k, -1, -2))


def _finish(scores, v, mask, axis=-1):
    if mask is not None:
        scores = ops.where(mask, scores, -1e9)
    weights = ops.softmax(scores, axis=axis)
    return ops.matmul(weights, v), weights


def correct_numpy(q, k, v, mask=None):
    """A plain NumPy answer (learners may write NumPy instead of keras.ops)."""
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -1e9)
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores) / np.exp(scores).sum(axis=-1, keepdims=True)
    return weights @ v, weights


def no_scaling(q, k, v, mask=None):
    return _finish(_scores(q, k), v, mask)


def scale_by_dk(q, k, v, mask=None):
    return _finish(_scores(q, k) / q.shape[-1], v, mask)


def softmax_wrong_axis(q, k, v, mask=None):
    return _finish(_scores(q, k) / np.sqrt(q.shape[-1]), v, mask, axis=-2)


def softmax_axis_1(q, k, v, mask=None):  # right for 3-D batches only by accident? no: axis 1 = queries
    return _finish(_scores(q, k) / np.sqrt(q.shape[-1]), v, mask, axis=1)


def k_not_transposed(q, k, v, mask=None):
    return _finish(ops.matmul(q, k) / np.sqrt(q.shape[-1]), v, mask)


def k_dot_T(q, k, v, mask=None):  # .T reverses every axis: breaks as soon as there is a batch
    return _finish(ops.matmul(q, np.asarray(k).T) / np.sqrt(q.shape[-1]), v, mask)


def mask_ignored(q, k, v, mask=None):
    return _finish(_scores(q, k) / np.sqrt(q.shape[-1]), v, None)


def mask_inverted(q, k, v, mask=None):
    return _finish(_scores(q, k) / np.sqrt(q.shape[-1]), v, None if mask is None else ~mask)


def mask_after_softmax(q, k, v, mask=None):
    weights = ops.softmax(_scores(q, k) / np.sqrt(q.shape[-1]), axis=-1)
    if mask is not None:
        weights = weights * ops.cast(mask, weights.dtype)
    return ops.matmul(weights, v), weights


def weights_not_returned(q, k, v, mask=None):
    return scaled_dot_product_attention(q, k, v, mask)[0]


def weights_none(q, k, v, mask=None):
    return scaled_dot_product_attention(q, k, v, mask)[0], None


def swapped(q, k, v, mask=None):
    output, weights = scaled_dot_product_attention(q, k, v, mask)
    return weights, output


def logits_returned(q, k, v, mask=None):
    output, _ = scaled_dot_product_attention(q, k, v, mask)
    return output, _scores(q, k) / np.sqrt(q.shape[-1])


def output_wrong(q, k, v, mask=None):
    output, weights = scaled_dot_product_attention(q, k, v, mask)
    return output * 2.0, weights


def crashes(q, k, v, mask=None):
    return q["not an index"]


def untouched(q, k, v, mask=None):
    raise NotImplementedError  # your code here


@pytest.mark.parametrize("fn", [scaled_dot_product_attention, correct_numpy], ids=["reference", "numpy"])
def test_correct_implementations_pass(fn):
    result = check_scaled_dot_product_attention(fn, verbose=False)
    assert result.passed and result.attempted, result.hint


@pytest.mark.parametrize(
    "fn, words",
    [
        (no_scaling, "not scaled"),
        (scale_by_dk, "divided the scores by d_k"),
        (softmax_wrong_axis, "over the queries"),
        (softmax_axis_1, "over the queries"),
        (k_not_transposed, "k is not transposed"),
        (k_dot_T, "swapaxes(k, -1, -2)"),
        (mask_ignored, "mask is ignored"),
        (mask_inverted, "mask is inverted"),
        (mask_after_softmax, "after the softmax"),
        (weights_not_returned, "return two things"),
        (weights_none, "weights are not returned"),
        (swapped, "swapped"),
        (logits_returned, "sum to 1"),
        (output_wrong, "output = weights @ v"),
        (crashes, "raised an error"),
    ],
    ids=lambda x: getattr(x, "__name__", None),
)
def test_each_mistake_gets_its_hint(fn, words):
    result = check_scaled_dot_product_attention(fn, verbose=False)
    assert not result.passed
    assert result.attempted
    assert words in result.hint, result.hint


def k_dot_T_in_keras(q, k, v, mask=None):  # the learner's typical k.T, failing inside TensorFlow
    scores = ops.matmul(q, k.T) / np.sqrt(q.shape[-1])
    return _finish(scores, v, mask)


def test_error_inside_tensorflow_names_the_learners_line_and_the_case():
    hint = check_scaled_dot_product_attention(k_dot_T_in_keras, verbose=False).hint
    assert hint.startswith("If this comes from transposing k"), hint  # the advice comes first
    assert "in case 'batch of 2, no mask' (q (2, 4, 6), k (2, 7, 6), v (2, 7, 3))" in hint, hint
    line = inspect.getsourcelines(k_dot_T_in_keras)[1] + 1
    assert f"(your line {line}: scores = ops.matmul(q, k.T) / np.sqrt(q.shape[-1]))" in hint, hint
    # TensorFlow's internals stay out: no op-name decoration, no line of TensorFlow's code.
    assert "function_node" not in hint and "_status_to_exception" not in hint and "[Op:" not in hint, hint
    assert len(hint) < 600, hint


def test_untouched_exercise_is_not_attempted_and_does_not_raise():
    result = check_scaled_dot_product_attention(untouched, verbose=False)
    assert not result.passed and not result.attempted
    assert "NotImplementedError" in result.hint


def test_checker_prints_its_result(capsys):
    check_scaled_dot_product_attention(scaled_dot_product_attention)
    assert "[passed]" in capsys.readouterr().out
