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
# # 02 · Positional encoding: solutions
#
# The completed exercise of notebook 02, checked by its checker, then compared with the
# course's `SinusoidalPositionEncoding` layer.

# %%
import numpy as np

import course_utils
from course_utils.checks import check_positional_encoding
from course_utils.layers import SinusoidalPositionEncoding

course_utils.start("02_positional_encoding_solutions")


# %% [markdown]
# ## Exercise: `positional_encoding(length, depth)`
#
# Compute one angle per (position, column): `pos / 10000 ** (2i / depth)`, where `2i` is the
# even column of the pair (`column - column % 2`), so that columns `2i` and `2i+1` share a
# frequency. Then take the sine in even columns and the cosine in odd ones. Working column
# by column makes an odd depth need no special case: the last column is even, so a sine.

# %%
def positional_encoding(length, depth):
    """The sinusoidal position encoding, shape (length, depth)."""
    positions = np.arange(length)[:, np.newaxis]  # (length, 1), starting at 0
    columns = np.arange(depth)[np.newaxis, :]  # (1, depth)
    even_column = columns - columns % 2  # 2i for both columns of a pair
    angles = positions / 10000 ** (even_column / depth)  # (length, depth)
    return np.where(columns % 2 == 0, np.sin(angles), np.cos(angles))


# %%
result = check_positional_encoding(positional_encoding)
assert result.passed, result.hint

# %% [markdown]
# ## The same numbers from the layer
#
# `SinusoidalPositionEncoding` adds the encoding to a batch of vectors; on zeros it returns
# the encoding itself, for an even and an odd depth.

# %%
differences = {}
for length, depth in [(50, 32), (20, 7)]:
    layer_output = np.asarray(SinusoidalPositionEncoding()(np.zeros((1, length, depth), "float32")))[0]
    differences[f"{length}x{depth}"] = float(np.abs(positional_encoding(length, depth) - layer_output).max())
print("own positional_encoding vs SinusoidalPositionEncoding, max abs difference:", differences)
assert max(differences.values()) < 1e-5
course_utils.record("exercise_passed", bool(result.passed))
course_utils.record("own_vs_layer_max_abs_diff", differences);
