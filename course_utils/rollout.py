"""Attention rollout and attention maps for vit-keras ViTs (notebook 08).

``vit_keras.visualize.attention_map(model=..., image=...)`` is *attention rollout*
(Abnar & Zuidema, 2020, "Quantifying Attention Flow in Transformers"). This module
rebuilds it in small, checkable steps, so that the notebook can show each step and
assert that the result equals the library's map:

1. :func:`attention_matrices` -- every block's attention weights, found as vit-keras finds
   them (by type, among the model's top-level layers), for images prepared as it prepares
   them (resize, then pixels to [-1, 1]).
2. :func:`attention_rollout` -- average the heads, add the identity (the residual path),
   renormalise the rows, multiply the layers: ``R = A_L ... A_2 A_1``.
3. :func:`cls_mask` -- the class token's row of ``R`` over the patches, as a grid scaled
   to a maximum of 1; :func:`overlay` -- resized to the image and multiplied with it,
   which is what ``attention_map`` returns (image x mask, not the heatmap).

Plus what the notebook measures with them: raw per-layer/per-head class-token maps
(:func:`cls_attention_maps`), map similarity (:func:`map_similarity`) and the size of the
attention and MLP branches against the residual stream (:func:`branch_norms`), i.e. how
much of the computation rollout leaves out.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "attention_matrices",
    "attention_entropy",
    "attention_rollout",
    "branch_norms",
    "cls_attention_maps",
    "cls_mask",
    "map_similarity",
    "occlude_patches",
    "overlay",
    "prepare_like_attention_map",
    "residual_branches",
    "rollout_attention_map",
    "to_rgb_uint8",
    "transformer_blocks",
    "value_norms",
    "written_values",
    "whole_matrix_rollout",
]


# --------------------------------------------------------------------------------------
# Attention rollout
# --------------------------------------------------------------------------------------


def attention_rollout(attentions) -> np.ndarray:
    """Attention rollout of one image: ``(layers, heads, T, T)`` -> ``(T, T)``.

    ``attentions[l, h, i, j]`` is how much token ``i`` attends to token ``j`` in head ``h``
    of layer ``l`` (each row sums to 1). Steps, as in vit-keras:

    * average the heads: one ``(T, T)`` matrix per layer;
    * add the identity: the residual connection carries each token's own vector past the
      attention, and rollout counts it as half of the mixing;
    * renormalise every row to sum to 1 again (divide by 2);
    * multiply the layers, the last one on the left: ``R = A_L @ ... @ A_2 @ A_1``.
      ``R[i, j]`` is how much of input token ``j`` flows into output token ``i``.

    The class token's row, ``R[0, 1:]``, is the attention map over the patches.
    """
    attentions = np.asarray(attentions)
    if attentions.ndim != 4 or attentions.shape[-1] != attentions.shape[-2]:
        raise ValueError(f"expected (layers, heads, T, T), got shape {attentions.shape}")
    tokens = attentions.shape[-1]
    per_layer = attentions.mean(axis=1) + np.eye(tokens)  # (layers, T, T), float64
    per_layer = per_layer / per_layer.sum(axis=-1, keepdims=True)
    rollout = per_layer[0]
    for layer in per_layer[1:]:
        rollout = layer @ rollout
    return rollout


def whole_matrix_rollout(attentions) -> np.ndarray:
    """Rollout with vit-keras's renormalisation: each layer's matrix divided by its *total*
    sum instead of each row by its own sum.

    After adding the identity every row sums to 2, so the total is ``2T``: each layer is
    the row-renormalised one divided by ``T``, and the product is :func:`attention_rollout`
    divided by ``T ** layers``, a constant that the map's final division by its maximum
    removes.
    """
    attentions = np.asarray(attentions)
    tokens = attentions.shape[-1]
    per_layer = attentions.mean(axis=1) + np.eye(tokens)
    per_layer = per_layer / per_layer.sum(axis=(1, 2))[:, np.newaxis, np.newaxis]
    rollout = per_layer[0]
    for layer in per_layer[1:]:
        rollout = layer @ rollout
    return rollout


def cls_mask(rollout: np.ndarray) -> np.ndarray:
    """The class token's row of a rollout over the patches, as a square grid with maximum 1."""
    patches = np.asarray(rollout)[0, 1:]
    grid = int(round(np.sqrt(patches.size)))
    if grid * grid != patches.size:
        raise ValueError(f"{patches.size} patches do not form a square grid")
    mask = patches.reshape(grid, grid)
    return mask / mask.max()


def overlay(mask: np.ndarray, image: np.ndarray) -> np.ndarray:
    """What ``attention_map`` returns: the mask resized (bilinear) to the image, times the
    image, as uint8. Dark where the image is dark, whatever the mask says."""
    import cv2

    resized = cv2.resize(np.asarray(mask, dtype="float64"), (image.shape[1], image.shape[0]))[..., np.newaxis]
    return (resized * image).astype("uint8")


# --------------------------------------------------------------------------------------
# Reading the attention weights out of a vit-keras model
# --------------------------------------------------------------------------------------


def to_rgb_uint8(grey: np.ndarray) -> np.ndarray:
    """Grey uint8 images ``(..., H, W)`` -> ``(..., H, W, 3)``: attention_map needs RGB."""
    grey = np.asarray(grey)
    if grey.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels 0-255, got {grey.dtype}")
    return np.repeat(grey[..., np.newaxis], 3, axis=-1)


def transformer_blocks(model) -> list:
    """The vit-keras Transformer blocks among the model's *top-level* layers, as
    ``attention_map`` looks for them. A ViT nested inside another model as one layer has
    none at the top level: use the inner ViT itself."""
    from vit_keras import layers

    blocks = [layer for layer in model.layers if isinstance(layer, layers.TransformerBlock)]
    if not blocks:
        raise ValueError(
            f"model {model.name!r} has no vit-keras TransformerBlock among its top-level layers; "
            "if the ViT is nested in it as one layer, pass that inner ViT model instead"
        )
    return blocks


def prepare_like_attention_map(model, images: np.ndarray) -> np.ndarray:
    """uint8 RGB images ``(N, H, W, 3)`` -> the model's input, exactly as ``attention_map``
    prepares one image: cv2 resize to the model's input size, then ``vit.preprocess_inputs``."""
    import cv2
    from vit_keras import vit

    height, width = model.input_shape[1], model.input_shape[2]
    resized = np.stack([cv2.resize(image, (height, width)) for image in images])
    return vit.preprocess_inputs(resized.astype("float32"))


def attention_matrices(model, images: np.ndarray) -> np.ndarray:
    """Every block's attention weights: ``(layers, N, heads, T, T)`` for uint8 RGB ``images``.

    vit-keras blocks return ``(output, attention weights)``; a second model with the same
    input reads the weights of every block (in order).
    """
    import keras

    images = np.asarray(images)
    if images.ndim == 3:
        images = images[np.newaxis]
    blocks = transformer_blocks(model)
    probe = keras.Model(inputs=model.inputs, outputs=[block.output[1] for block in blocks])
    weights = probe.predict(prepare_like_attention_map(model, images), verbose=0)
    return np.stack(weights if isinstance(weights, (list, tuple)) else [weights])


def rollout_attention_map(model, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The course's ``attention_map``: ``(mask, image x mask)`` for one uint8 RGB image."""
    attentions = attention_matrices(model, image)[:, 0]  # (layers, heads, T, T)
    mask = cls_mask(attention_rollout(attentions))
    return mask, overlay(mask, image)


def cls_attention_maps(attentions: np.ndarray) -> np.ndarray:
    """Raw class-token attention over the patches, per layer and head, without rollout:
    ``(layers, heads, T, T)`` -> ``(layers, heads, grid, grid)``."""
    attentions = np.asarray(attentions)
    patches = attentions[:, :, 0, 1:]
    grid = int(round(np.sqrt(patches.shape[-1])))
    return patches.reshape(*patches.shape[:2], grid, grid)


# --------------------------------------------------------------------------------------
# Measuring what a map shows and what it leaves out
# --------------------------------------------------------------------------------------


def map_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation between two maps (any shapes with the same number of values):
    1 = the same pattern up to scale and offset, 0 = unrelated."""
    a = np.asarray(a, dtype="float64").ravel()
    b = np.asarray(b, dtype="float64").ravel()
    return float(np.corrcoef(a, b)[0, 1])


def attention_entropy(weights: np.ndarray) -> np.ndarray:
    """How concentrated each head's attention is: ``(layers, N, heads, T, T)`` -> ``(layers, heads)``.

    The entropy of each patch's attention over the patches (class token left out, the patch
    part renormalised), divided by its maximum ``log(patches)``, averaged over images and
    query patches: 1 = spread evenly over all patches, 0 = all on one patch. It complements
    the mean attention *distance* (how far a head looks): a head can look far but at few patches.
    """
    patch = np.asarray(weights, dtype="float64")[..., 1:, 1:]
    patch = patch / patch.sum(axis=-1, keepdims=True)
    entropy = -(patch * np.log(np.clip(patch, 1e-12, None))).sum(axis=-1) / np.log(patch.shape[-1])
    return entropy.mean(axis=(1, 3))


def residual_branches(model, images: np.ndarray) -> list[dict[str, np.ndarray]]:
    """Per block, the residual stream and what each branch adds to it, for uint8 RGB images.

    A vit-keras block computes ``x1 = x + Attention(LN(x))`` and ``out = x1 + MLP(LN(x1))``
    (dropout is off at inference). Returns one dict per block with ``"input"`` (x),
    ``"attention"`` (Attention(LN(x))), ``"mid"`` (x1), ``"mlp"`` (MLP(LN(x1))) and
    ``"output"`` (out), each ``(N, T, hidden)``, computed with the block's own sublayers.
    """
    import keras

    images = np.asarray(images)
    blocks = transformer_blocks(model)
    probe = keras.Model(inputs=model.inputs, outputs=[block.input for block in blocks])
    inputs = probe.predict(prepare_like_attention_map(model, images), verbose=0)
    inputs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    branches = []
    for block, x in zip(blocks, inputs):
        attended, _ = block.att(block.layernorm1(x))
        attended = keras.ops.convert_to_numpy(attended)
        mid = x + attended
        mlp_out = keras.ops.convert_to_numpy(block.mlpblock(block.layernorm2(mid), training=False))
        branches.append(
            {"input": x, "attention": attended, "mid": mid, "mlp": mlp_out, "output": mid + mlp_out}
        )
    return branches


def branch_norms(model, images: np.ndarray) -> dict[str, np.ndarray]:
    """Per block, the size of what each branch adds to the residual stream, relative to it
    (mean over images and tokens of vector norms, one value per block):

    * ``"attention"``: ``|Attention(LN(x))| / |x|`` -- rollout's identity term assumes the
      attention branch and the skip path weigh the same (ratio 1);
    * ``"mlp"``: ``|MLP(LN(x1))| / |x1|`` -- the MLP is not in rollout at all.
    """

    def ratio(branch, stream):
        return float(np.mean(np.linalg.norm(branch, axis=-1) / np.linalg.norm(stream, axis=-1)))

    branches = residual_branches(model, images)
    return {
        "attention": np.array([ratio(b["attention"], b["input"]) for b in branches]),
        "mlp": np.array([ratio(b["mlp"], b["mid"]) for b in branches]),
    }


def value_norms(model, images: np.ndarray) -> np.ndarray:
    """How much each token can write through each head: ``(layers, N, heads, T)``.

    Head ``h`` of a block adds ``sum_j a_ij * f_h(x_j)`` to token ``i``, where
    ``f_h(x_j) = LN(x_j) W_V[h] W_O[h]`` is token ``j``'s value vector mapped to the output.
    The attention weight ``a_ij`` is only half of that product: a token with a tiny
    ``|f_h(x_j)|`` contributes little however much attention it gets (Kobayashi et al., 2020,
    "Attention is not only a weight"). Rollout uses the weights alone.
    """
    branches = residual_branches(model, images)
    return np.stack(
        [
            _value_norms_of_block(block, branch["input"])
            for block, branch in zip(transformer_blocks(model), branches)
        ]
    )


def _value_norms_of_block(block, x: np.ndarray) -> np.ndarray:
    return np.linalg.norm(written_values(block, x), axis=-1)  # (N, heads, T)


def written_values(block, x: np.ndarray) -> np.ndarray:
    """``f_h(x_j) = LN(x_j) W_V[h] W_O[h]`` for every head and token: ``(N, heads, T, hidden)``.
    The block's attention branch is ``sum_j a_ij f_h(x_j)`` summed over heads, plus the
    output bias (and the value bias passes through W_O, included here)."""
    import keras

    att = block.att
    values = keras.ops.convert_to_numpy(att.value_dense(block.layernorm1(x)))  # (N, T, hidden)
    batch, tokens, hidden = values.shape
    heads, head_dim = att.num_heads, hidden // att.num_heads
    values = values.reshape(batch, tokens, heads, head_dim)
    w_out = keras.ops.convert_to_numpy(att.combine_heads.kernel).reshape(heads, head_dim, hidden)
    return np.einsum("nthd,hde->nhte", values, w_out)  # each token's value, per head, in model space


def occlude_patches(images: np.ndarray, patches: np.ndarray, patch_size: int, fill: int = 0) -> np.ndarray:
    """Copies of ``images`` (N, H, W, C) with the given patches set to ``fill``.

    ``patches``: (N, k) patch indices per image, counted row by row as the ViT numbers them
    (patch ``p`` is grid row ``p // grid``, column ``p % grid``).
    """
    out = np.array(images, copy=True)
    grid = out.shape[2] // patch_size
    for image, chosen in zip(out, np.asarray(patches)):
        for patch in chosen:
            row, col = divmod(int(patch), grid)
            image[row * patch_size : (row + 1) * patch_size, col * patch_size : (col + 1) * patch_size] = fill
    return out
