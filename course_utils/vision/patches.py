"""Patches, the ViT's "words" (notebook 06): :func:`extract_patches` is the reference of exercise 06."""

from __future__ import annotations

__all__ = ["extract_patches"]


def extract_patches(images, patch_size: int):
    """Cut images into non-overlapping square patches, flattened: the ViT's "words".

    ``images``: ``(batch, H, W, C)`` with H and W multiples of ``patch_size``.
    Returns ``(batch, (H // p) * (W // p), p * p * C)``: patches row by row (left to right,
    then top to bottom, like reading text), the pixels of each patch in (row, column,
    channel) order, which is how a Conv2D kernel of shape ``(p, p, C, D)`` flattens.
    """
    from keras import ops

    batch, height, width, channels = ops.shape(images)
    if height % patch_size or width % patch_size:
        raise ValueError(f"image size {height}×{width} is not a multiple of patch_size={patch_size}")
    rows, cols = height // patch_size, width // patch_size
    # (batch, rows, p, cols, p, C): split each spatial axis into (patch index, pixel in patch)
    x = ops.reshape(images, (batch, rows, patch_size, cols, patch_size, channels))
    # (batch, rows, cols, p, p, C): bring the two patch indices together, pixels after them
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
    return ops.reshape(x, (batch, rows * cols, patch_size * patch_size * channels))
