# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3.11 (transformers-course)
#     language: python
#     name: transformers-course
# ---

# %% [markdown]
# # 08 · ViT attention maps: solutions
#
# The completed exercise of notebook 08, checked by its checker, and then used for what it
# is for: the map of `vit_keras.visualize.attention_map`.

# %%
import keras
import numpy as np
from vit_keras import visualize

import course_utils
from course_utils import rollout
from course_utils.checks import check_attention_rollout
from course_utils.data import load_fashion_mnist
from course_utils.vision import load_tiny_vit

course_utils.start("08_vit_attention_maps_solutions")
keras.utils.disable_interactive_logging()  # attention_map predicts with a progress bar


# %% [markdown]
# ## Exercise: `attention_rollout(attentions)`
#
# Average the heads, add the identity (the residual path), renormalise the rows, and chain
# the layers with the last one on the left: `R = A_L @ ... @ A_1`.

# %%
def attention_rollout(attentions):
    """(layers, heads, T, T) attention weights of one image -> (T, T) rollout matrix."""
    attentions = np.asarray(attentions, dtype="float64")
    tokens = attentions.shape[-1]
    rollout_matrix = np.eye(tokens)
    for layer_attention in attentions:  # layer 1 first
        a = layer_attention.mean(axis=0)  # average the heads -> (T, T)
        a = a + np.eye(tokens)  # the residual connection
        a = a / a.sum(axis=-1, keepdims=True)  # rows sum to 1 again
        rollout_matrix = a @ rollout_matrix  # the later layer on the left
    return rollout_matrix


# %%
result = check_attention_rollout(attention_rollout)
assert result.passed, result.hint

# %% [markdown]
# The class token's row of the rollout, scaled to a maximum of 1, resized to the image and
# multiplied with it, is exactly what `attention_map` returns:

# %%
model = load_tiny_vit()
image = rollout.to_rgb_uint8(load_fashion_mnist().x_test[0])  # an ankle boot, square uint8 RGB
attentions = rollout.attention_matrices(model, image)[:, 0]  # (layers, heads, T, T)
mask = rollout.cls_mask(attention_rollout(attentions))
ours = rollout.overlay(mask, image)
library = visualize.attention_map(model=model, image=image)
largest = int(np.abs(ours.astype(int) - library.astype(int)).max())
course_utils.record("solution_vs_vit_keras_max_abs_diff_levels", largest)
print(f"solution vs vit_keras.visualize.attention_map: largest difference {largest} uint8 levels")
assert largest <= 1
