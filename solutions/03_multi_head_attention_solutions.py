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
# # 03 · Multi-head attention: solutions
#
# The completed exercises of notebook 03, each checked by its checker: scaled dot-product
# attention (then used on a batch with a padding mask), and `split_heads` / `merge_heads`
# (then used with the first to rebuild `keras.layers.MultiHeadAttention`).

# %%
import keras
import numpy as np
from keras import ops

import course_utils
from course_utils.attention import scaled_dot_product_attention as reference_attention
from course_utils.checks import check_scaled_dot_product_attention, check_split_merge_heads

course_utils.start("03_multi_head_attention_solutions")


# %% [markdown]
# ## Exercise: `scaled_dot_product_attention(q, k, v, mask=None)`
#
# Scores `q kᵀ` (transposing only the last two axes of `k`, so batch and head axes in front
# are untouched), scaled by `1/√d_k`; blocked scores set to −10⁹ before the softmax over the
# keys (the last axis); output `weights @ v`.

# %%
def scaled_dot_product_attention(q, k, v, mask=None):
    d_k = ops.shape(k)[-1]
    scores = ops.matmul(q, ops.swapaxes(k, -1, -2)) / ops.sqrt(ops.cast(d_k, "float32"))
    if mask is not None:
        scores = ops.where(mask, scores, -1e9)  # True = may attend (Keras convention)
    weights = ops.softmax(scores, axis=-1)  # over the keys: each row sums to 1
    return ops.matmul(weights, v), weights


# %%
result = check_scaled_dot_product_attention(scaled_dot_product_attention)
assert result.passed, result.hint

# %% [markdown]
# ## Used on a batch: two real-length sequences, one padded
#
# The same function handles a batch with a padding mask `(batch, 1, T)`; it agrees with the
# course's reference, and the padded keys get no weight.

# %%
rng = np.random.default_rng(0)
x = rng.normal(size=(2, 6, 8)).astype("float32")
mask = np.ones((2, 1, 6), dtype=bool)
mask[0, 0, 4:] = False  # the first sequence has 2 padding tokens
mine_out, mine_weights = scaled_dot_product_attention(x, x, x, mask)
ref_out, ref_weights = reference_attention(x, x, x, mask)
np.testing.assert_allclose(ops.convert_to_numpy(mine_out), ops.convert_to_numpy(ref_out), atol=1e-5)
assert np.all(ops.convert_to_numpy(mine_weights)[0, :, 4:] < 1e-12)
print("own attention == reference on a padded batch; padded keys get weight 0")

# %% [markdown]
# ## Exercise: `split_heads(x, num_heads)` and `merge_heads(x)`
#
# Split: reshape `(batch, T, H·d)` to `(batch, T, H, d)` (the `T` axis stays where it is, and
# head `h` gets the features `h·d … (h+1)·d − 1`), then transpose to `(batch, H, T, d)`.
# Merge: the same two steps backwards.

# %%
def split_heads(x, num_heads):
    batch, length, width = ops.shape(x)
    x = ops.reshape(x, (batch, length, num_heads, width // num_heads))  # (batch, T, H, d)
    return ops.transpose(x, (0, 2, 1, 3))  # (batch, H, T, d)


def merge_heads(x):
    batch, heads, length, size = ops.shape(x)
    x = ops.transpose(x, (0, 2, 1, 3))  # (batch, T, H, d)
    return ops.reshape(x, (batch, length, heads * size))  # the heads side by side


# %%
split_result = check_split_merge_heads(split_heads, merge_heads)
assert split_result.passed, split_result.hint

# %% [markdown]
# ## Both exercises together: `keras.layers.MultiHeadAttention`, rebuilt
#
# One wide projection per Q, K, V (Keras's kernels `(E, H, d)` reshaped to `(E, H·d)`),
# split, attention of all heads at once with the first exercise, merge, output projection:
# the same numbers as Keras.

# %%
E, H, D = 12, 3, 4
x = rng.normal(size=(2, 5, E)).astype("float32")
keras_mha = keras.layers.MultiHeadAttention(num_heads=H, key_dim=D)
expected = ops.convert_to_numpy(keras_mha(x, x))
Wq, bq, Wk, bk, Wv, bv, Wo, bo = keras_mha.get_weights()
q, k, v = (split_heads(x @ W.reshape(E, H * D) + b.reshape(-1), H) for W, b in [(Wq, bq), (Wk, bk), (Wv, bv)])
heads_out, _ = scaled_dot_product_attention(q, k, v)
rebuilt = ops.convert_to_numpy(merge_heads(heads_out)) @ Wo.reshape(H * D, E) + bo
rebuilt_diff = float(np.abs(rebuilt - expected).max())
print(f"split, attend, merge, project vs keras.layers.MultiHeadAttention: max abs difference {rebuilt_diff:.1e}")
assert rebuilt_diff < 1e-5
course_utils.record("exercise_passed", bool(result.passed and split_result.passed))
course_utils.record("rebuilt_mha_vs_keras_max_abs_diff", rebuilt_diff);
