# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3.11 (transformers-course)
#     language: python
#     name: transformers-course
# ---

# %% [markdown]
# # 06 · ViT anatomy: solutions
#
# The completed exercise of notebook 06, checked by its checker, then used as the ViT's patch
# embedding: with the pretrained tiny ViT's `embedding` kernel it gives the same tokens.

# %%
import numpy as np
from keras import ops

import course_utils
from course_utils import vision
from course_utils.checks import check_extract_patches
from course_utils.data import load_fashion_mnist

course_utils.start("06_vit_anatomy_solutions")


# %% [markdown]
# ## Exercise: `extract_patches(images, patch_size)`
#
# Split each spatial axis into (patch index, pixel inside the patch), bring the two patch
# indices together (rows of patches first: reading order), then flatten each patch in
# (row, column, channel) order.

# %%
def extract_patches(images, patch_size):
    """(batch, H, W, C) -> (batch, num_patches, patch_size * patch_size * C), row by row."""
    batch, height, width, channels = ops.shape(images)
    if height % patch_size or width % patch_size:
        raise ValueError(f"image size {height}×{width} is not a multiple of patch_size={patch_size}")
    rows, cols = height // patch_size, width // patch_size
    x = ops.reshape(images, (batch, rows, patch_size, cols, patch_size, channels))
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))  # (batch, rows, cols, p, p, C)
    return ops.reshape(x, (batch, rows * cols, patch_size * patch_size * channels))


# %%
result = check_extract_patches(extract_patches)
assert result.passed, result.hint

# %% [markdown]
# ## Used as the patch embedding of the pretrained tiny ViT
#
# Flattened patches times the `embedding` Conv2D's kernel (reshaped to `(48, 64)`), plus its
# bias, equal the layer's output on real test images.

# %%
data = load_fashion_mnist()
images = vision.prepare_images(data.x_test[:32, ..., np.newaxis], 28)
embedding = vision.load_tiny_vit().get_layer("embedding")
kernel, bias = embedding.get_weights()
mine = ops.matmul(extract_patches(images, 4), kernel.reshape(-1, kernel.shape[-1])) + bias
theirs = ops.reshape(embedding(images), (32, 49, 64))
difference = float(np.max(np.abs(ops.convert_to_numpy(mine - theirs))))
print(f"own extract_patches + Dense == vit-keras embedding (Conv2D): max abs difference {difference:.1e}")
assert difference < 1e-5
course_utils.record("exercise_passed", bool(result.passed))
course_utils.record("patch_embedding_max_abs_diff", difference);
