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
# # 03 · Multi-head attention: solutions
#
# The completed exercise of notebook 03, checked by its checker, then used on a real review
# with a padding mask.

# %%
import numpy as np
from keras import ops

import course_utils
from course_utils.attention import scaled_dot_product_attention as reference_attention
from course_utils.checks import check_scaled_dot_product_attention

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
course_utils.record("exercise_passed", bool(result.passed))
print("own attention == reference on a padded batch; padded keys get weight 0")
