"""check_attention_rollout: the reference passes, each typical mistake gets its own hint.

The wrong implementations below are written the way a learner would write them (loops,
in-place steps), not built from the checker's own variants.
"""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.checks import check_attention_rollout, lesson08


def correct(attentions):
    layers, heads, tokens, _ = attentions.shape
    rollout = np.eye(tokens)
    for layer in range(layers):
        a = attentions[layer].mean(axis=0) + np.eye(tokens)
        a = a / a.sum(axis=-1, keepdims=True)
        rollout = a @ rollout
    return rollout


def correct_as_vit_keras(attentions):
    """vit-keras's loop: start from the last layer, multiply earlier layers on the right."""
    a = attentions.mean(axis=1) + np.eye(attentions.shape[-1])
    a = a / a.sum(axis=-1, keepdims=True)
    v = a[-1]
    for n in range(1, len(a)):
        v = np.matmul(v, a[-1 - n])
    return v


def correct_float32_keras_ops(attentions):
    """Keras ops in float32: passes (within the tolerance) and returns a tensor, not NumPy."""
    import keras

    a = keras.ops.mean(keras.ops.convert_to_tensor(attentions), axis=1)
    a = a + keras.ops.eye(attentions.shape[-1])
    a = a / keras.ops.sum(a, axis=-1, keepdims=True)
    rollout = a[0]
    for layer in range(1, attentions.shape[0]):
        rollout = keras.ops.matmul(a[layer], rollout)
    return rollout


def heads_max(attentions):
    a = attentions.max(axis=1) + np.eye(attentions.shape[-1])
    a = a / a.sum(axis=-1, keepdims=True)
    rollout = a[0]
    for layer in a[1:]:
        rollout = layer @ rollout
    return rollout


def heads_summed(attentions):
    a = attentions.sum(axis=1) + np.eye(attentions.shape[-1])
    a = a / a.sum(axis=-1, keepdims=True)
    rollout = a[0]
    for layer in a[1:]:
        rollout = layer @ rollout
    return rollout


def first_head_only(attentions):
    a = attentions[:, 0] + np.eye(attentions.shape[-1])
    a = a / a.sum(axis=-1, keepdims=True)
    rollout = a[0]
    for layer in a[1:]:
        rollout = layer @ rollout
    return rollout


def no_identity(attentions):
    a = attentions.mean(axis=1)
    a = a / a.sum(axis=-1, keepdims=True)
    rollout = a[0]
    for layer in a[1:]:
        rollout = layer @ rollout
    return rollout


def not_renormalised(attentions):
    a = attentions.mean(axis=1) + np.eye(attentions.shape[-1])
    rollout = a[0]
    for layer in a[1:]:
        rollout = layer @ rollout
    return rollout


def whole_matrix_normalised(attentions):
    a = attentions.mean(axis=1) + np.eye(attentions.shape[-1])
    a = a / a.sum(axis=(1, 2))[:, None, None]
    rollout = a[0]
    for layer in a[1:]:
        rollout = layer @ rollout
    return rollout


def columns_normalised(attentions):
    a = attentions.mean(axis=1) + np.eye(attentions.shape[-1])
    a = a / a.sum(axis=1, keepdims=True)
    rollout = a[0]
    for layer in a[1:]:
        rollout = layer @ rollout
    return rollout


def wrong_order(attentions):
    a = attentions.mean(axis=1) + np.eye(attentions.shape[-1])
    a = a / a.sum(axis=-1, keepdims=True)
    rollout = a[0]
    for layer in a[1:]:
        rollout = rollout @ layer  # A_1 @ A_2 @ ... @ A_L
    return rollout


def elementwise(attentions):
    a = attentions.mean(axis=1) + np.eye(attentions.shape[-1])
    a = a / a.sum(axis=-1, keepdims=True)
    rollout = a[0]
    for layer in a[1:]:
        rollout = layer * rollout
    return rollout


def per_layer_only(attentions):
    a = attentions.mean(axis=1) + np.eye(attentions.shape[-1])
    return a / a.sum(axis=-1, keepdims=True)


def per_head(attentions):
    a = attentions + np.eye(attentions.shape[-1])
    return a / a.sum(axis=-1, keepdims=True)


def cls_row_only(attentions):
    return correct(attentions)[0, 1:]


def forgot_return(attentions):
    correct(attentions)


def crashes(attentions):
    return attentions @ np.ones(3)


def not_attempted(attentions):
    raise NotImplementedError  # your code here


def test_reference_and_equivalent_solutions_pass():
    for fn in (
        correct,
        correct_as_vit_keras,
        correct_float32_keras_ops,
        lesson08.attention_rollout_reference,
    ):
        result = check_attention_rollout(fn, verbose=False)
        assert result.passed, (fn.__name__, result.hint)


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (heads_max, lesson08.HINT_HEADS_MAX),
        (heads_summed, lesson08.HINT_HEADS_SUM),
        (first_head_only, lesson08.HINT_ONE_HEAD),
        (no_identity, lesson08.HINT_NO_IDENTITY),
        (not_renormalised, lesson08.HINT_NO_RENORM),
        (whole_matrix_normalised, lesson08.HINT_WHOLE_MATRIX),
        (columns_normalised, lesson08.HINT_COLUMNS),
        (wrong_order, lesson08.HINT_ORDER),
        (elementwise, lesson08.HINT_ELEMENTWISE),
        (per_layer_only, lesson08.HINT_NOT_MULTIPLIED),
        (forgot_return, lesson08.HINT_RETURNED_NONE),
    ],
)
def test_each_mistake_gets_its_hint(fn, hint):
    result = check_attention_rollout(fn, verbose=False)
    assert not result.passed and result.attempted
    assert result.hint.startswith(hint), (fn.__name__, result.hint)


def test_shape_mistakes_name_the_shape():
    result = check_attention_rollout(per_head, verbose=False)
    assert not result.passed and "heads axis" in result.hint and "(3, 4, 5, 5)" in result.hint
    result = check_attention_rollout(cls_row_only, verbose=False)
    assert not result.passed and "class token's row" in result.hint
    assert "(4,)" in result.hint  # first test case: T = 5, so 4 patches


def test_unknown_mistake_gets_the_generic_hint():
    def rows_fine_values_wrong(attentions):
        return np.full((attentions.shape[-1],) * 2, 1.0 / attentions.shape[-1])

    result = check_attention_rollout(rows_fine_values_wrong, verbose=False)
    assert not result.passed and result.hint.startswith("the shape is right and the rows sum to 1")

    def rows_wrong(attentions):
        return 3 * correct(attentions) + 1

    result = check_attention_rollout(rows_wrong, verbose=False)
    assert not result.passed and "rows of your result sum to" in result.hint


def test_exceptions_become_hints_and_untouched_exercise_is_not_attempted():
    result = check_attention_rollout(crashes, verbose=False)
    assert not result.passed and result.hint.startswith("your function raised an error: ValueError")
    assert "(layers, heads, T, T)" in result.hint
    result = check_attention_rollout(not_attempted, verbose=False)
    assert not result.attempted and not result.passed


def test_the_test_cases_tell_every_mistake_apart():
    """No two diagnosed mistakes (nor a mistake and the reference) coincide on any case."""
    for case in lesson08._test_cases():
        outputs = [lesson08.attention_rollout_reference(case)] + [w for w, _ in lesson08._mistakes(case)]
        for i in range(len(outputs)):
            for j in range(i + 1, len(outputs)):
                assert not np.allclose(outputs[i], outputs[j], rtol=1e-3), (i, j, case.shape)
