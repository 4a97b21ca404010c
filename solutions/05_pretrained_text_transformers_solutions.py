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
# # 05 · A pretrained Transformer for text: solutions
#
# The completed exercise of notebook 05, `mean_pool`, checked by its checker, then used on
# the real encoder: pooled by hand, it gives the model's sentence embeddings.

# %%
import numpy as np
from keras import ops

import course_utils
from course_utils import bert
from course_utils.checks import check_mean_pool

course_utils.start("05_pretrained_text_transformers_solutions")


# %% [markdown]
# ## Exercise: `mean_pool(token_vectors, attention_mask)`
#
# Multiply by the mask so that padding adds nothing, divide by the number of *real* tokens
# (not by T), then divide each row by its L2 norm.

# %%
def mean_pool(token_vectors, attention_mask):
    mask = ops.cast(attention_mask, "float32")[:, :, None]  # (batch, T, 1): 1 = real token
    mean = ops.sum(token_vectors * mask, axis=1) / ops.sum(mask, axis=1)  # (batch, D)
    return mean / ops.norm(mean, axis=-1, keepdims=True)  # unit rows: dot product = cosine


result = check_mean_pool(mean_pool)
assert result.passed, result.hint

# %% [markdown]
# On the pretrained encoder: the token vectors of three texts of different lengths (so two
# of them are padded), pooled with this function, equal the sentence embeddings of
# `course_utils.bert.sentence_embeddings` (which pools inside the model).

# %%
loaded = bert.shared_encoder()
texts = ["A gripping, beautifully acted film.", "Dull.", "Far too long, and the jokes never land; still, the cast is a joy."]
batch = bert.tokenize(texts, loaded.tokenizer)
token_vectors = loaded.encoder(batch, training=False)  # (3, T, 384)
print("padding per text:", (batch["attention_mask"] == 0).sum(axis=1))
ours = ops.convert_to_numpy(mean_pool(token_vectors, batch["attention_mask"]))
reference = bert.sentence_embeddings(texts)
difference = float(np.abs(ours - reference).max())
print(f"largest difference from sentence_embeddings: {difference:.1e}")
assert (batch["attention_mask"] == 0).any() and difference < 1e-5
course_utils.record("max_abs_diff_vs_sentence_embeddings", difference)
