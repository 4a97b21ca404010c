"""check_extract_patches: passes the reference, names each typical mistake.

Every wrong implementation below is a mistake a learner makes; each test asserts that the
checker fails it *and* that the hint names that mistake.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from course_utils.checks import check_extract_patches
from course_utils.vision.patches import extract_patches


def correct_numpy(images, patch_size):
    """A plain NumPy answer, with the size check."""
    b, h, w, c = images.shape
    if h % patch_size or w % patch_size:
        raise ValueError("size is not a multiple of patch_size")
    x = images.reshape(b, h // patch_size, patch_size, w // patch_size, patch_size, c)
    return x.transpose(0, 1, 3, 2, 4, 5).reshape(b, -1, patch_size * patch_size * c)


def tf_image_patches(images, patch_size):
    """tf.image.extract_patches with sizes = strides = patch: the right order ((row, col, channel)),
    but with padding="VALID" it silently drops a border that does not fill a patch."""
    patches = tf.image.extract_patches(
        images,
        sizes=[1, patch_size, patch_size, 1],
        strides=[1, patch_size, patch_size, 1],
        rates=[1, 1, 1, 1],
        padding="VALID",
    )
    b, rows, cols, depth = patches.shape
    return tf.reshape(patches, (b, rows * cols, depth))


def correct_tf_image(images, patch_size):
    if images.shape[1] % patch_size or images.shape[2] % patch_size:
        raise ValueError("size is not a multiple of patch_size")
    return tf_image_patches(images, patch_size)


def column_order(images, patch_size):
    b, h, w, c = images.shape
    x = ops.reshape(images, (b, h // patch_size, patch_size, w // patch_size, patch_size, c))
    x = ops.transpose(x, (0, 3, 1, 2, 4, 5))  # patch-column index first
    return ops.reshape(x, (b, -1, patch_size * patch_size * c))


def pixels_transposed(images, patch_size):
    b, h, w, c = images.shape
    x = ops.reshape(images, (b, h // patch_size, patch_size, w // patch_size, patch_size, c))
    x = ops.transpose(x, (0, 1, 3, 4, 2, 5))  # (col, row) inside each patch
    return ops.reshape(x, (b, -1, patch_size * patch_size * c))


def channels_first_inside(images, patch_size):
    b, h, w, c = images.shape
    x = ops.reshape(images, (b, h // patch_size, patch_size, w // patch_size, patch_size, c))
    x = ops.transpose(x, (0, 1, 3, 5, 2, 4))  # channel before the pixels
    return ops.reshape(x, (b, -1, patch_size * patch_size * c))


def reshape_only(images, patch_size):  # strips of pixels, not square patches
    b, h, w, c = images.shape
    return ops.reshape(images, (b, (h // patch_size) * (w // patch_size), patch_size * patch_size * c))


def overlapping(images, patch_size):  # stride 1 instead of stride = patch size
    patches = tf.image.extract_patches(
        images,
        sizes=[1, patch_size, patch_size, 1],
        strides=[1, 1, 1, 1],
        rates=[1, 1, 1, 1],
        padding="VALID",
    )
    b, rows, cols, depth = patches.shape
    return tf.reshape(patches, (b, rows * cols, depth))


def missing_last_row(images, patch_size):  # range(0, h - p, p) forgets the last row of patches
    b, h, w, c = images.shape
    patches = [
        images[:, i : i + patch_size, j : j + patch_size, :].reshape(b, -1)
        for i in range(0, h - patch_size, patch_size)
        for j in range(0, w, patch_size)
    ]
    return np.stack(patches, axis=1)


def crops_silently(images, patch_size):  # right on multiples, drops the border otherwise
    b, h, w, c = images.shape
    h2, w2 = h - h % patch_size, w - w % patch_size
    return correct_numpy(np.asarray(images)[:, :h2, :w2, :], patch_size)


def returns_grid(images, patch_size):
    b, h, w, c = images.shape
    x = ops.reshape(images, (b, h // patch_size, patch_size, w // patch_size, patch_size, c))
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
    return ops.reshape(x, (b, h // patch_size, w // patch_size, -1))


def crashes(images, patch_size):
    return images[0][99]  # IndexError


def untouched(images, patch_size):
    raise NotImplementedError  # your code here


@pytest.mark.parametrize("fn", [extract_patches, correct_numpy, correct_tf_image])
def test_correct_implementations_pass(fn):
    result = check_extract_patches(fn, verbose=False)
    assert result.passed, result.hint


@pytest.mark.parametrize(
    "fn, words",
    [
        (column_order, "column by column"),
        (pixels_transposed, "transposed"),
        (channels_first_inside, "channels are in the wrong place"),
        (reshape_only, "strips"),
        (overlapping, "overlap"),
        (missing_last_row, "missing"),
        (crops_silently, "not a multiple"),
        (tf_image_patches, "not a multiple"),
        (returns_grid, "flatten"),
        (crashes, "IndexError"),
    ],
)
def test_each_mistake_gets_its_hint(fn, words):
    result = check_extract_patches(fn, verbose=False)
    assert not result.passed
    assert result.attempted
    assert words in result.hint, result.hint


def test_untouched_exercise_is_not_attempted():
    result = check_extract_patches(untouched, verbose=False)
    assert not result.passed and not result.attempted
    assert "not attempted" in str(result)


def test_reference_matches_a_manual_cut():
    images = np.arange(2 * 8 * 12 * 3, dtype="float32").reshape(2, 8, 12, 3)
    patches = np.asarray(extract_patches(images, 4))
    assert patches.shape == (2, 6, 48)
    # patch 4 = row 1, column 1 of the 2×3 grid (row by row)
    np.testing.assert_array_equal(patches[:, 4], images[:, 4:8, 4:8, :].reshape(2, -1))
    with pytest.raises(ValueError, match="multiple"):
        extract_patches(np.zeros((1, 10, 10, 3), "float32"), 4)
