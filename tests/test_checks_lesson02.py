"""check_positional_encoding: the reference passes, each typical mistake gets its own hint."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.checks import check_positional_encoding, lesson02
from course_utils.layers import sinusoidal_position_encoding


def correct(length, depth):
    pe = np.zeros((length, depth))
    positions = np.arange(length)[:, None]
    even = np.arange(0, depth, 2)  # 2i
    angles = positions / 10000 ** (even / depth)
    pe[:, 0::2] = np.sin(angles)
    pe[:, 1::2] = np.cos(angles[:, : depth // 2])  # odd depth: one sine more than cosines
    return pe


def swapped(length, depth):
    pe = np.zeros((length, depth))
    angles = np.arange(length)[:, None] / 10000 ** (np.arange(0, depth, 2) / depth)
    pe[:, 0::2] = np.cos(angles)
    pe[:, 1::2] = np.sin(angles[:, : depth // 2])
    return pe


def halves(length, depth):
    """The layout of the TensorFlow tutorial: all sines, then all cosines."""
    angles = np.arange(length)[:, None] / 10000 ** (np.arange(0, depth, 2) / depth)
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=-1)


def exponent_pair_index(length, depth):
    pe = np.zeros((length, depth))
    i = np.arange(depth // 2)
    angles = np.arange(length)[:, None] / 10000 ** (i / depth)  # i instead of 2i
    pe[:, 0::2] = np.sin(angles)
    pe[:, 1::2] = np.cos(angles)
    return pe


def exponent_column_index(length, depth):
    j = np.arange(depth)
    angles = np.arange(length)[:, None] / 10000 ** (j / depth)  # each column its own frequency
    return np.where(j % 2 == 0, np.sin(angles), np.cos(angles))


def exponent_doubled(length, depth):
    j = np.arange(depth)
    angles = np.arange(length)[:, None] / 10000 ** (2 * j / depth)
    return np.where(j % 2 == 0, np.sin(angles), np.cos(angles))


def exponent_not_divided_by_depth(length, depth):
    j = np.arange(depth)
    angles = np.arange(length)[:, None] / 10000.0 ** (j - j % 2)
    return np.where(j % 2 == 0, np.sin(angles), np.cos(angles))


def multiplied(length, depth):
    j = np.arange(depth)
    angles = np.arange(length)[:, None] * 10000 ** ((j - j % 2) / depth)
    return np.where(j % 2 == 0, np.sin(angles), np.cos(angles))


def positions_from_one(length, depth):
    j = np.arange(depth)
    angles = np.arange(1, length + 1)[:, None] / 10000 ** ((j - j % 2) / depth)
    return np.where(j % 2 == 0, np.sin(angles), np.cos(angles))


def transposed(length, depth):
    return correct(length, depth).T


def odd_depth_drops_a_column(length, depth):
    """Builds depth // 2 pairs: one column short for odd depth."""
    angles = np.arange(length)[:, None] / 10000 ** (np.arange(0, depth - 1, 2) / depth)
    pe = np.zeros((length, 2 * (depth // 2)))
    pe[:, 0::2] = np.sin(angles)
    pe[:, 1::2] = np.cos(angles)
    return pe


def odd_depth_raises(length, depth):
    pe = np.zeros((length, depth))
    angles = np.arange(length)[:, None] / 10000 ** (np.arange(0, depth, 2) / depth)
    pe[:, 0::2] = np.sin(angles)
    pe[:, 1::2] = np.cos(angles)  # shape mismatch when depth is odd
    return pe


def odd_depth_wrong_denominator(length, depth):
    even_depth = depth - depth % 2
    j = np.arange(depth)
    angles = np.arange(length)[:, None] / 10000 ** ((j - j % 2) / even_depth)
    return np.where(j % 2 == 0, np.sin(angles), np.cos(angles))


def odd_depth_not_implemented(length, depth):
    if depth % 2:
        raise NotImplementedError("odd depth")
    return correct(length, depth)


def returns_none(length, depth):
    correct(length, depth)


def not_attempted(length, depth):
    raise NotImplementedError  # your code here


def test_reference_is_the_layer_module_encoding():
    for length, depth in lesson02.EVEN_CASES + lesson02.ODD_CASES:
        np.testing.assert_allclose(
            lesson02.positional_encoding_reference(length, depth),
            sinusoidal_position_encoding(length, depth),
            atol=1e-5,
        )


def test_reference_follows_the_paper_formula():
    pe = lesson02.positional_encoding_reference(20, 8)
    np.testing.assert_allclose(pe[0], [0, 1, 0, 1, 0, 1, 0, 1], atol=1e-12)
    pos, i, d = 7, 2, 8  # PE(7, 2i) and PE(7, 2i+1) with i = 2
    np.testing.assert_allclose(pe[pos, 2 * i], np.sin(pos / 10000 ** (2 * i / d)))
    np.testing.assert_allclose(pe[pos, 2 * i + 1], np.cos(pos / 10000 ** (2 * i / d)))


def test_correct_passes():
    result = check_positional_encoding(correct, verbose=False)
    assert result.passed and result.attempted


def test_tensor_output_passes():
    import keras

    result = check_positional_encoding(
        lambda length, depth: keras.ops.convert_to_tensor(correct(length, depth)), verbose=False
    )
    assert result.passed


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (swapped, lesson02.HINT_SWAPPED),
        (halves, lesson02.HINT_HALVES),
        (exponent_pair_index, lesson02.HINT_EXPONENT_PAIR_INDEX),
        (exponent_column_index, lesson02.HINT_EXPONENT_COLUMN),
        (exponent_doubled, lesson02.HINT_EXPONENT_DOUBLED),
        (exponent_not_divided_by_depth, lesson02.HINT_EXPONENT_NO_DEPTH),
        (multiplied, lesson02.HINT_MULTIPLIED),
        (positions_from_one, lesson02.HINT_POSITIONS_FROM_ONE),
        (transposed, lesson02.HINT_TRANSPOSED),
        (returns_none, lesson02.HINT_RETURNED_NONE),
    ],
)
def test_each_mistake_gets_its_hint(wrong, hint):
    result = check_positional_encoding(wrong, verbose=False)
    assert not result.passed and result.attempted
    assert result.hint == hint


def test_odd_depth_missing_column():
    result = check_positional_encoding(odd_depth_drops_a_column, verbose=False)
    assert not result.passed
    assert result.hint == lesson02.HINT_ODD_SHAPE.format(depth=7, got_cols=6, last=6)


def test_odd_depth_error_is_named():
    result = check_positional_encoding(odd_depth_raises, verbose=False)
    assert not result.passed and result.attempted
    assert result.hint.startswith(
        "works for even depth, but positional_encoding(10, 7) (odd depth) raised an error: ValueError"
    )
    assert "pe[:, 1::2] = np.cos(angles)" in result.hint


def test_odd_depth_not_implemented_is_a_failure_not_unattempted():
    result = check_positional_encoding(odd_depth_not_implemented, verbose=False)
    assert not result.passed and result.attempted
    assert "(odd depth) raised an error: odd depth" in result.hint


def test_odd_depth_wrong_values():
    result = check_positional_encoding(odd_depth_wrong_denominator, verbose=False)
    assert not result.passed
    assert result.hint.startswith("works for even depth, but for odd depth=7 the values differ")


def test_not_attempted_is_reported_without_failing():
    result = check_positional_encoding(not_attempted, verbose=False)
    assert not result.attempted and not result.passed
    assert "not attempted" in str(result)


def test_other_wrong_values_get_the_generic_hint():
    result = check_positional_encoding(lambda length, depth: 0.5 * correct(length, depth), verbose=False)
    assert not result.passed
    assert result.hint.startswith("the shape is right but the values differ from the paper's formula")


def test_learner_exception_becomes_a_hint():
    def broken(length, depth):
        return np.sin(np.arange(length)[:, None] / 10000 ** (np.arange(depth)[:, None] / depth)).reshape(
            length, depth
        )

    result = check_positional_encoding(broken, verbose=False)
    assert not result.passed and result.attempted
    assert result.hint.startswith("your function raised an error: ValueError")
