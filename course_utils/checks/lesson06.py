"""Checker of notebook 06 (ViT anatomy): ``extract_patches(images, patch_size)``.

The reference cuts ``(batch, H, W, C)`` images into non-overlapping ``p × p`` patches and
returns ``(batch, (H/p) * (W/p), p*p*C)``: patches row by row, the pixels of each patch in
(row, column, channel) order. Each typical mistake gets its own hint: patches in column
order, pixels of a patch transposed, channels in the wrong place, overlapping or missing
patches, and an image size that is not a multiple of the patch size accepted silently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course_utils.checks._core import (
    CheckResult,
    LearnerError,
    Mistakes,
    call_learner,
    first_mistake,
    run_checker,
    to_numpy,
)
from course_utils.vision.patches import extract_patches

__all__ = ["check_extract_patches"]

EXERCISE = "extract_patches"


def _ordering(
    images: np.ndarray, p: int, grid_order: str = "row", pixel_order: str = "rc", channels: str = "last"
) -> np.ndarray:
    """Patches in NumPy with the orderings of the typical mistakes (to build :func:`_mistakes`;
    the reference is :func:`course_utils.vision.patches.extract_patches`)."""
    b, h, w, c = images.shape
    x = images.reshape(b, h // p, p, w // p, p, c)  # (b, rows, pr, cols, pc, c)
    grid = (1, 3) if grid_order == "row" else (3, 1)  # column order: walk down columns first
    inside = (2, 4) if pixel_order == "rc" else (4, 2)
    axes = (0, *grid, *inside, 5) if channels == "last" else (0, *grid, 5, *inside)
    return x.transpose(axes).reshape(b, (h // p) * (w // p), p * p * c)


HINT_COLUMN_ORDER = (
    "your patches come column by column (down the first column, then the next). A ViT reads them "
    "row by row, like text: left to right along the first row of patches, then the next row "
    "(in the reshape, the patch-row index must come before the patch-column index)."
)
HINT_PIXELS_TRANSPOSED = (
    "the right pixels are in each patch, but transposed: flatten each patch row by row, "
    "(row, column, channel), the way a Conv2D kernel of shape (p, p, C, D) flattens."
)
HINT_CHANNELS = (
    "the channels are in the wrong place: inside a patch the channel must vary fastest, "
    "(row, column, channel), i.e. the channel axis stays last when you flatten."
)


def _mistakes(images: np.ndarray, p: int) -> Mistakes:
    """The patches of the typical wrong orderings, each with its hint."""
    return [
        (_ordering(images, p, grid_order="column"), HINT_COLUMN_ORDER),
        (_ordering(images, p, pixel_order="cr"), HINT_PIXELS_TRANSPOSED),
        (_ordering(images, p, channels="first"), HINT_CHANNELS),
        (_ordering(images, p, pixel_order="cr", channels="first"), HINT_CHANNELS),
    ]


def _diagnose(got: np.ndarray, images: np.ndarray, p: int) -> str | None:
    b, h, w, c = images.shape
    expected = to_numpy(extract_patches(images, p))
    if got.shape != expected.shape:
        n_expected = expected.shape[1]
        if got.ndim == 3 and got.shape[0] == b and got.shape[2] == p * p * c:
            if got.shape[1] > n_expected:
                return (
                    f"for {h}×{w} images and patch_size={p} you return {got.shape[1]} patches instead of "
                    f"{n_expected}: the patches overlap. Patches must not overlap: step by patch_size "
                    "(stride = patch size), as a ViT does."
                )
            return (
                f"for {h}×{w} images and patch_size={p} you return {got.shape[1]} patches instead of "
                f"{n_expected} = ({h}/{p}) × ({w}/{p}): some patches are missing. Cover the whole image, "
                "both along the height and along the width."
            )
        if got.ndim == 4:
            return (
                f"your output has shape {got.shape}, a grid of patches; flatten it to "
                f"(batch, num_patches, patch_size*patch_size*channels) = {expected.shape}."
            )
        return (
            f"your output has shape {got.shape}; expected (batch, num_patches, "
            f"patch_size*patch_size*channels) = {expected.shape}."
        )
    if np.allclose(got, expected):
        return None
    hint = first_mistake(got, _mistakes(images, p), atol=1e-8)
    if hint is not None:
        return hint
    if np.allclose(np.sort(got, axis=-1), np.sort(expected, axis=-1)):
        return (
            "each patch holds the right pixels but in another order: keep (row, column, channel) "
            "order inside a patch (transpose to (batch, rows, cols, p, p, C) before the final reshape)."
        )
    if np.allclose(np.sort(got.reshape(b, -1), axis=-1), np.sort(expected.reshape(b, -1), axis=-1)):
        return (
            "you return every pixel once, but the patches are mixed up: a reshape straight to "
            "(batch, num_patches, p*p*C) without a transpose cuts the image into strips, not squares. "
            "Reshape to (batch, H/p, p, W/p, p, C), transpose to (batch, H/p, W/p, p, p, C), then reshape."
        )
    return (
        "the values do not match the reference: patch (i, j) must hold images[:, i*p:(i+1)*p, j*p:(j+1)*p, "
        ":] flattened."
    )


def check_extract_patches(fn: Callable[..., Any], verbose: bool = True) -> CheckResult:
    """Check ``fn(images, patch_size)`` against the reference on several image sizes."""

    def check() -> str | None:
        rng = np.random.default_rng(0)
        # distinct values everywhere, so that any reordering shows; non-square and grey cases too
        cases = [
            ((2, 8, 8, 3), 4),
            ((2, 8, 12, 3), 4),
            ((1, 6, 6, 1), 2),
            ((3, 28, 28, 1), 7),
            ((1, 4, 4, 2), 4),
        ]
        for shape, p in cases:
            images = rng.permutation(int(np.prod(shape))).reshape(shape).astype("float32")
            got = to_numpy(call_learner(fn, images, p))
            hint = _diagnose(got, images, p)
            if hint is not None:
                return f"{hint} (test: images of shape {shape}, patch_size={p})"
        # A size that is not a multiple of the patch: the reference refuses (ValueError).
        images = np.zeros((1, 10, 10, 3), "float32")
        try:
            got = call_learner(fn, images, 4)
        except LearnerError:
            return None  # refused, as it should (a ValueError is the clearest way)
        shape = tuple(to_numpy(got).shape)
        return (
            f"for a 10×10 image and patch_size=4 your function returned shape {shape} without complaint: "
            "10 is not a multiple of 4, so pixels were dropped (or invented). Raise a ValueError instead, "
            "as vit-keras does ('image_size must be a multiple of patch_size')."
        )

    return run_checker(EXERCISE, check, verbose=verbose)
