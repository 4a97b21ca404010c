"""What a trained ViT learned (notebooks 06 and 08): position-embedding similarity and
mean attention distance, the ViT paper's figure 7. (The attention weights themselves:
:func:`course_utils.rollout.attention_matrices`.)
"""

from __future__ import annotations

import numpy as np

__all__ = ["mean_attention_distance", "position_similarity"]


def position_similarity(position_embeddings: np.ndarray, grid: int) -> np.ndarray:
    """Cosine similarity between the position embeddings of every pair of patches.

    ``position_embeddings``: ``(1 + grid*grid, D)`` (class token first, as vit-keras) or
    ``(grid*grid, D)``. Returns ``(grid, grid, grid, grid)``: ``[i, j]`` is the map of patch
    (row i, column j) against every patch: the ViT paper's figure 7 (center).
    """
    pe = np.asarray(position_embeddings, dtype="float64").reshape(-1, position_embeddings.shape[-1])
    if len(pe) == grid * grid + 1:
        pe = pe[1:]  # drop the class token's position
    unit = pe / np.linalg.norm(pe, axis=1, keepdims=True)
    return (unit @ unit.T).reshape(grid, grid, grid, grid)


def mean_attention_distance(weights: np.ndarray, grid: int, patch_size: int) -> np.ndarray:
    """Mean attention distance in pixels per (layer, head), averaged over images and query patches.

    ``weights``: ``(layers, batch, heads, T, T)`` with T = 1 + grid*grid. For each patch
    query, the distance to every patch key weighted by attention (the class token row and
    column are left out, the patch part renormalised): the "receptive field" of the ViT paper's
    figure 7 (right). A CNN's 3×3 kernel has a fixed, small one; a ViT learns its own.
    """
    rows, cols = np.divmod(np.arange(grid * grid), grid)
    centres = np.stack([rows, cols], axis=1) * patch_size
    dist = np.linalg.norm(centres[:, None, :] - centres[None, :, :], axis=-1)  # (P, P) pixels
    patch = weights[..., 1:, 1:]
    patch = patch / patch.sum(axis=-1, keepdims=True)
    return (patch * dist).sum(axis=-1).mean(axis=(1, 3))  # (layers, heads)
