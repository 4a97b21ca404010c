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
# # 03 · Multi-head attention
#
# The seed describes multi-head attention in one sentence: it "calculates the correlation
# (attention) between each word and all other words in the sequence. It repeats this process
# multiple times ('heads') and averages the results to create rich 'attention vectors' for
# each word." This notebook takes that sentence apart and measures every piece.
#
# *Correlation* is an analogy, not the computation. What attention computes for a query
# word and a key word is a **scaled dot product of two learned projections**,
# $q \cdot k / \sqrt{d_k}$ with $q = x_i W_q$ and $k = x_j W_k$: not normalised (its size
# grows with the vectors' lengths, unlike a correlation coefficient in $[-1, 1]$), not
# centred, and not symmetric ($W_q \ne W_k$, so word *i* may attend to *j* much more than
# *j* to *i*). A softmax over the keys then turns each query's scores into weights that are
# positive and sum to 1. The analogy helps in one way: a large score means that the query
# and the key point in similar directions (and are long), as a large correlation means that
# two signals move together. It misleads in two: the
# similarity is in a *learned* space chosen for the task (two unrelated words can score
# high), and the weights are relative (a word can take most of a query's attention with a
# low score if the others score lower still). Section 1 computes every step.
#
# The plan:
#
# 1. **Scaled dot-product attention** on a real movie review, step by step, with shapes.
# 2. **Why divide by √d_k**: the variance of the scores and the saturation of the softmax,
#    measured with and without the scaling.
# 3. **Masks**: padding masks and causal masks (Keras convention: `True` = may attend), and
#    what goes wrong without them.
# 4. **Exercise**: write `scaled_dot_product_attention(q, k, v, mask=None)`.
# 5. **Heads**: split, attend, **concatenate, project**. The heads are not averaged; we show
#    what really happens, number by number, and you write the error-prone part, cutting
#    the projections into heads and gluing them back (exercise `split_heads` / `merge_heads`).
# 6. A **from-scratch `MultiHeadAttention` layer** that loads Keras's weights unchanged and
#    gives the same numbers as `keras.layers.MultiHeadAttention` (asserted).
# 7. The seed's `key_dim=embed_dim` against `key_dim=embed_dim // num_heads`: parameters and time.
# 8. **Per-head attention** of small trained models: on a task that needs it (reversing a
#    sequence), heads specialise sharply; on review sentiment they stay close to uniform.
# 9. **Cost**: time and memory of attention against sequence length (quadratic), next to an
#    LSTM's (linear).

# %%
import inspect
import time
import tracemalloc

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import tensorflow as tf
from IPython.display import Code, display
from keras import ops
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

import course_utils
from course_utils import diagrams
from course_utils.attention import MultiHeadAttention, count_mha_parameters, padding_mask
from course_utils.attention import merge_heads as reference_merge_heads
from course_utils.attention import scaled_dot_product_attention as reference_attention
from course_utils.attention import split_heads as reference_split_heads
from course_utils.checks import check_scaled_dot_product_attention, check_split_merge_heads
from course_utils.data import load_reviews
from course_utils.display import format_table
from course_utils.layers import TokenAndPositionEmbedding
from course_utils.training import EpochLog

course_utils.start("03_multi_head_attention")
notebook_start = time.perf_counter()

# %% [markdown]
# ## 1. Attention on a real sentence, step by step
#
# Attention needs a vector per word. A trained Transformer learns them; to look at attention
# before any training, we take word vectors from the reviews themselves: the classic *latent
# semantic analysis* (a TF-IDF matrix of the training reviews, reduced to 16 dimensions with
# a truncated SVD). Words that occur in the same reviews get similar vectors. Each vector is
# scaled to length √16 = 4, the length of a vector whose 16 entries have variance 1 (the
# scale of a freshly initialised embedding).

# %%
reviews = load_reviews()
print(reviews.info)

tfidf = TfidfVectorizer(min_df=2)
doc_term = tfidf.fit_transform(reviews.x_train)
svd = TruncatedSVD(n_components=16, random_state=0).fit(doc_term)
analyzer = tfidf.build_analyzer()  # lower-cases and splits a text the way the vocabulary was built
word_index = tfidf.vocabulary_
word_vectors = svd.components_.T  # (vocabulary, 16): one row per word
word_vectors = 4.0 * word_vectors / np.linalg.norm(word_vectors, axis=1, keepdims=True)
print(f"{len(word_index):,} words, vectors of {word_vectors.shape[1]} numbers")


def embed(words: list[str]) -> np.ndarray:
    """The (len(words), 16) matrix of word vectors (zeros for a word outside the vocabulary)."""
    return np.stack([word_vectors[word_index[w]] if w in word_index else np.zeros(16) for w in words]).astype("float32")


# A short real test review whose words are all in the vocabulary.
sentence = next(words for words in map(analyzer, reviews.x_test) if 9 <= len(words) <= 12 and all(w in word_index for w in words))
print("sentence:", " ".join(sentence))
x = embed(sentence)
print("x:", x.shape, "(tokens, dimensions)")

# %% [markdown]
# A Transformer makes three versions of every token vector: a **query** (what this token is
# looking for), a **key** (what it offers to be found by) and a **value** (what it passes on).
# They are learned projections `Q = X W_q`, `K = X W_k`, `V = X W_v`. Here, with no training,
# we use the word vectors themselves for all three (`W = I`), so the scores are just word
# similarities. The four steps:
#
# 1. scores: `S = Q Kᵀ`, one number for every (query, key) pair: shape (T, T);
# 2. scale: `S / √d_k` (section 2 measures why);
# 3. softmax over the **keys** (each row): the weights of a query are positive and sum to 1;
# 4. output: `weights @ V`, for each query a weighted average of the value vectors: (T, d_v).

# %%
q = k = v = x
d_k = q.shape[-1]
scores = q @ k.T
print("1. scores  Q K^T      ", scores.shape)
scaled = scores / np.sqrt(d_k)
print("2. scaled  / sqrt(d_k)", scaled.shape, f"(sqrt({d_k}) = {np.sqrt(d_k):.0f})")
weights = np.exp(scaled - scaled.max(axis=-1, keepdims=True))  # minus the row max: same softmax, no overflow
weights = weights / weights.sum(axis=-1, keepdims=True)
print("3. weights softmax    ", weights.shape, "rows sum to", np.round(weights.sum(axis=-1)[:3], 6), "...")
output = weights @ v
print("4. output  weights @ V", output.shape)

assert output.shape == (len(sentence), d_k)
np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-6)
step_output, step_weights = reference_attention(q, k, v)  # the course's function agrees
np.testing.assert_allclose(ops.convert_to_numpy(step_weights), weights, atol=1e-6)

fig, axes = plt.subplots(1, 2, figsize=(11, 4.8), layout="constrained")  # room for both titles
for ax, matrix, title, unit in [(axes[0], scaled, "scaled scores Q Kᵀ / √d_k", "score (dimensionless)"),
                                (axes[1], weights, "attention weights (softmax of each row)", "attention weight (row sums to 1)")]:
    image = ax.imshow(matrix, cmap="viridis")
    ax.set_xticks(range(len(sentence)), sentence, rotation=60, ha="right")
    ax.set_yticks(range(len(sentence)), sentence)
    ax.set_xlabel("key (attended-to word)")
    ax.set_ylabel("query (attending word)")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, shrink=0.8, label=unit)
fig.suptitle("Attention on a real review, word vectors as Q = K = V (no learned projections yet)")
plt.show()

# %% [markdown]
# With `Q = K`, each word is most similar to itself, so the diagonal dominates; words that
# co-occur in reviews share some weight. A trained model learns `W_q` and `W_k` so that the
# weights express what helps the task instead (section 8 shows a trained model's weights).

# %% [markdown]
# ## 2. Why divide by √d_k
#
# If the entries of `q` and `k` have mean 0 and variance 1, their dot product `q·k` is a sum
# of `d_k` products of variance 1: its variance is `d_k`. With large `d_k` the scores spread
# out, the softmax puts almost all the weight on the largest score (it *saturates*), and its
# gradient, `diag(p) − p pᵀ`, goes to zero: learning stalls. Dividing by `√d_k` brings the
# variance back to 1 for every `d_k`. We measure all three quantities for random queries and
# keys (64 keys per query), with and without the scaling.

# %% tags=["slide"]
rng = np.random.default_rng(0)
dims = [4, 16, 64, 256, 1024]
n_queries, n_keys = 500, 64


def softmax_rows(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_jacobian_norm(p: np.ndarray) -> np.ndarray:
    """Frobenius norm of the softmax Jacobian diag(p) - p p^T, per row:
    sum p^2 - 2 sum p^3 + (sum p^2)^2 under the square root."""
    p2 = (p**2).sum(axis=-1)
    return np.sqrt(np.maximum(p2 - 2 * (p**3).sum(axis=-1) + p2**2, 0.0))


rows = []
for d in dims:
    logits = rng.normal(size=(n_queries, d)) @ rng.normal(size=(n_keys, d)).T
    for scaling, s in [("none", logits), ("÷√d_k", logits / np.sqrt(d))]:
        p = softmax_rows(s)
        rows.append(dict(d_k=d, scaling=scaling, score_variance=s.var(), max_weight=p.max(axis=-1).mean(),
                         gradient_norm=softmax_jacobian_norm(p).mean()))
scaling_table = pd.DataFrame(rows)
display(format_table(scaling_table, names={"d_k": "d_k"}))

fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))  # 11 in: the notebook's width
for scaling, style in [("none", "o-"), ("÷√d_k", "s-")]:
    part = scaling_table[scaling_table.scaling == scaling]
    axes[0].plot(part.d_k, part.score_variance, style, label=f"scaling: {scaling}")
    axes[1].plot(part.d_k, part.max_weight, style, label=f"scaling: {scaling}")
    axes[2].plot(part.d_k, part.gradient_norm, style, label=f"scaling: {scaling}")
axes[0].set(xscale="log", yscale="log", ylabel="variance of the scores", title="Score variance grows like d_k")
axes[1].set(xscale="log", ylabel="mean largest weight in a row", title=f"Softmax saturation ({n_keys} keys; uniform = {1/n_keys:.3f})")
axes[2].set(xscale="log", ylabel="mean ‖softmax Jacobian‖ (Frobenius)", title="Gradient through the softmax")
for ax in axes:
    ax.set_xlabel("d_k (query/key dimension)")
    ax.legend()
fig.tight_layout()
plt.show()

raw = scaling_table[scaling_table.scaling == "none"].set_index("d_k")
fixed = scaling_table[scaling_table.scaling == "÷√d_k"].set_index("d_k")
assert np.allclose(raw.score_variance / raw.index, 1.0, atol=0.2), "unscaled variance should be about d_k"
assert np.allclose(fixed.score_variance, 1.0, atol=0.2), "scaled variance should be about 1"
assert raw.max_weight[1024] > 0.85 and fixed.max_weight[1024] < 0.3
assert raw.gradient_norm[1024] < 0.5 * fixed.gradient_norm[1024]
course_utils.record("score_variance_unscaled_dk1024", raw.score_variance[1024])
course_utils.record("score_variance_scaled_dk1024", fixed.score_variance[1024])
course_utils.record("max_weight_unscaled_dk1024", raw.max_weight[1024])
course_utils.record("max_weight_scaled_dk1024", fixed.max_weight[1024])
course_utils.record("softmax_gradient_norm_unscaled_dk1024", raw.gradient_norm[1024])
course_utils.record("softmax_gradient_norm_scaled_dk1024", fixed.gradient_norm[1024]);

# %% [markdown]
# The measurements follow the argument: without scaling the score variance is about `d_k`;
# at `d_k = 1024` the largest weight takes most of each row and the softmax gradient is a
# fraction of its scaled value. With the scaling all three stay flat whatever `d_k` is.
# (Keras's `MultiHeadAttention` multiplies the query by `1/√key_dim` before the dot product:
# the same thing.)

# %% [markdown]
# ## 3. Masks: padding and causal
#
# A mask says which keys each query may attend to. In Keras (`attention_mask` of
# `MultiHeadAttention`) **`True` means "may attend"**; blocked scores are replaced by a large
# negative number (−10⁹) before the softmax, so they get a weight of exactly 0 and the other
# weights still sum to 1. (Careful when you read PyTorch code: `torch.nn.MultiheadAttention`'s
# boolean `attn_mask` uses the opposite convention, `True` = *not* allowed.)
#
# **Padding mask.** Reviews have different lengths; a batch pads them with a padding token to
# one length. Without a mask, real words attend to the padding, and a review's result depends
# on how much padding its batch needed. We pad the same real review to 16 and to 32 tokens
# (the padding vector is zero, as a padding token's embedding may be):

# %%
review = sentence
n_real = len(review)


def padded(words: list[str], length: int) -> np.ndarray:
    out = np.zeros((length, 16), dtype="float32")
    out[: len(words)] = embed(words)
    return out


def mask_for(length: int) -> np.ndarray:
    """(1, length): True for the real tokens. Broadcasts over the queries."""
    return (np.arange(length) < n_real)[None, :]


alone, _ = reference_attention(embed(review), embed(review), embed(review))
padded_results = {}
for length in (16, 32):
    xp = padded(review, length)
    padded_results[length, "no mask"] = reference_attention(xp, xp, xp)
    padded_results[length, "padding mask"] = reference_attention(xp, xp, xp, mask_for(length))


def real_part(result) -> np.ndarray:
    return ops.convert_to_numpy(result[0])[:n_real]


leak = {length: ops.convert_to_numpy(padded_results[length, "no mask"][1])[:n_real, n_real:].sum(axis=-1).mean() for length in (16, 32)}
drift = {key: np.abs(real_part(padded_results[key]) - ops.convert_to_numpy(alone)).max() for key in padded_results}
for length in (16, 32):
    print(f"padded to {length}: without mask {leak[length]:.0%} of each real word's attention goes to padding, "
          f"outputs differ from the unpadded review by up to {drift[length, 'no mask']:.3f}; "
          f"with the mask: {drift[length, 'padding mask']:.1e}")
assert leak[32] > leak[16] > 0.05
assert drift[16, "no mask"] > 0.05 and drift[32, "padding mask"] < 1e-5 and drift[16, "padding mask"] < 1e-5
course_utils.record("padding_attention_leak_without_mask_len32", leak[32])

from matplotlib.colors import LogNorm

fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw=dict(width_ratios=[1.4, 1]))
no_mask_weights = ops.convert_to_numpy(padded_results[32, "no mask"][1])[:n_real]
image = axes[0].imshow(np.maximum(no_mask_weights, 1e-4), cmap="viridis", aspect="auto", norm=LogNorm(vmin=1e-3, vmax=1))
axes[0].axvline(n_real - 0.5, color="white", linestyle="--")
axes[0].set(xlabel="key position (right of the dashed line: padding)", ylabel="query (real word)",
            title="padded to 32, no mask (log colour scale)")
axes[0].set_yticks(range(n_real), review)
fig.colorbar(image, ax=axes[0], label="attention weight")
for offset, length in [(-0.2, 16), (0.2, 32)]:
    share = ops.convert_to_numpy(padded_results[length, "no mask"][1])[:n_real, n_real:].sum(axis=-1)
    axes[1].barh(np.arange(n_real) + offset, share, height=0.4, label=f"padded to {length}, no mask")
axes[1].set_yticks(range(n_real), review)
axes[1].invert_yaxis()
axes[1].set(xlabel="share of the word's attention on padding (with the mask: 0)", title="Attention lost to padding")
axes[1].legend(fontsize=8)
fig.suptitle("Without a padding mask, real words spend attention on padding")
fig.tight_layout()
plt.show()

# %% [markdown]
# **Causal mask.** A model that generates text must not look at the future: query `i` may
# attend to keys `0..i` only, a lower-triangular mask `(T, T)` that broadcasts over the batch
# and the heads (Keras: `use_causal_mask=True`). The test: change the last three words; with
# the causal mask, the outputs of the earlier positions do not move.

# %% tags=["slide"]
T = len(sentence)
causal = np.tril(np.ones((T, T), dtype=bool))
changed = embed(sentence[:-3] + ["boring", "dull", "mess"])
outputs = {}
for name, mask in [("no mask", None), ("causal mask", causal)]:
    before, causal_weights = reference_attention(x, x, x, mask)
    after, _ = reference_attention(changed, changed, changed, mask)
    outputs[name] = np.abs(ops.convert_to_numpy(before)[: T - 3] - ops.convert_to_numpy(after)[: T - 3]).max()
    print(f"{name}: changing the last 3 words moves the first {T - 3} outputs by up to {outputs[name]:.2e}")
assert outputs["causal mask"] < 1e-6 and outputs["no mask"] > 1e-3

fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
axes[0].imshow(causal, cmap="Greys_r")
axes[0].set(title="causal mask (white = may attend)", xlabel="key position", ylabel="query position")
image = axes[1].imshow(ops.convert_to_numpy(causal_weights), cmap="viridis")
axes[1].set_xticks(range(T), sentence, rotation=60, ha="right")
axes[1].set_yticks(range(T), sentence)
axes[1].set(title="attention weights with the causal mask", xlabel="key (attended-to word)", ylabel="query")
fig.colorbar(image, ax=axes[1], label="attention weight")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 4. Exercise: `scaled_dot_product_attention`
#
# Write the function the sections above used, for any number of leading axes (batch, heads):
#
# * `q`: `(..., T_q, d_k)`, `k`: `(..., T_k, d_k)`, `v`: `(..., T_k, d_v)`;
# * `mask`: `None` or booleans broadcastable to `(..., T_q, T_k)`, `True` = may attend;
# * return `(output, weights)`: `(..., T_q, d_v)` and `(..., T_q, T_k)`.
#
# Use `keras.ops` (imported as `ops`): `ops.matmul`, `ops.swapaxes(k, -1, -2)` (transposes the
# last two axes only), `ops.sqrt`, `ops.where(mask, scores, -1e9)`, `ops.softmax(x, axis=-1)`.
# NumPy works too. The checker runs it on 2-D, batched, padded and causal cases and names the
# usual mistakes (missing scaling, √d_k vs d_k, softmax axis, transposition, masks).

# %%
def scaled_dot_product_attention(q, k, v, mask=None):
    raise NotImplementedError  # your code here


# %%
check_scaled_dot_product_attention(scaled_dot_product_attention);

# %% [markdown]
# The rest of the notebook uses the course's version,
# `course_utils.attention.scaled_dot_product_attention` (solution in `solutions/`).

# %% [markdown]
# ## 5. Multi-head attention: split, attend, concatenate, project
#
# *A note on versions.* `MultiHeadAttention` arrived as a built-in Keras layer in
# TensorFlow 2.4 (`tf.keras.layers.MultiHeadAttention`), which is why older tutorials,
# including the source of this course, say "TensorFlow 2.4+ is required". In Keras 3 it
# is `keras.layers.MultiHeadAttention`, with the same arguments and weights.
#
# One attention computes one kind of similarity. Multi-head attention runs `H` of them side by
# side, each with its own projections `W_q[h]`, `W_k[h]`, `W_v[h]` (in Keras: kernels of shape
# `(E, H, key_dim)`, `key_dim` **per head**). Then the heads' outputs, `H` matrices of shape
# `(T, value_dim)`, are **concatenated** to `(T, H·value_dim)` and **projected** by one learned
# matrix `W_o` of shape `(H·value_dim, E)` back to the model width `E`.
#
# The seed says the heads are "averaged". They are not: a concatenation followed by a matrix
# product is a **sum of per-head projections**, `Σ_h head_h W_o[h]`, with a different learned
# matrix for each head, so the model decides how much of each head to use and where. The
# whole layer in one picture (`H` = 4 heads of size `d`; Keras calls `d` `key_dim`):

# %%
diagrams.multi_head_figure(num_heads=4)
plt.show()

# %% [markdown]
# We compute it by hand from a Keras layer's weights, on the real sentence, and compare,
# one head at a time (the exercise below does all heads at once):

# %%
E, H, KEY_DIM = 16, 4, 4
keras_mha = keras.layers.MultiHeadAttention(num_heads=H, key_dim=KEY_DIM)
x_batch = x[None]  # (1, T, E): a batch of one sentence
keras_out, keras_scores = keras_mha(x_batch, x_batch, return_attention_scores=True)
Wq, bq, Wk, bk, Wv, bv, Wo, bo = keras_mha.get_weights()
print("W_q", Wq.shape, " W_k", Wk.shape, " W_v", Wv.shape, " W_o", Wo.shape, " (E, H, key_dim) / (H, value_dim, E)")

heads = []
for h in range(H):
    q_h, k_h, v_h = x @ Wq[:, h] + bq[h], x @ Wk[:, h] + bk[h], x @ Wv[:, h] + bv[h]  # (T, key_dim) each
    out_h, w_h = reference_attention(q_h, k_h, v_h)
    np.testing.assert_allclose(ops.convert_to_numpy(w_h), ops.convert_to_numpy(keras_scores)[0, h], atol=1e-5)
    heads.append(ops.convert_to_numpy(out_h))
concatenated = np.concatenate(heads, axis=-1)  # (T, H * value_dim)
by_hand = concatenated @ Wo.reshape(H * KEY_DIM, E) + bo  # one projection back to E
print("heads:", [h_.shape for h_ in heads], "-> concatenated", concatenated.shape, "-> projected", by_hand.shape)
concat_diff = np.abs(by_hand - ops.convert_to_numpy(keras_out)[0]).max()
print(f"concatenate + project vs keras.layers.MultiHeadAttention: max abs difference {concat_diff:.1e}")
assert concat_diff < 1e-5

contributions = np.stack([heads[h] @ Wo[h] for h in range(H)])  # (H, T, E): each head's share of the output
summed = contributions.sum(axis=0) + bo
averaged = contributions.mean(axis=0) + bo
average_diff = np.abs(averaged - ops.convert_to_numpy(keras_out)[0]).max()
print(f"sum of per-head projections: max abs difference {np.abs(summed - by_hand).max():.1e}; "
      f"average of them: {average_diff:.3f} (not what the layer computes)")
assert np.allclose(summed, by_hand, atol=1e-5) and average_diff > 1e-2
course_utils.record("concat_project_vs_keras_max_abs_diff", concat_diff)

token = 0
fig, ax = plt.subplots(figsize=(11, 4))
for h in range(H):
    ax.plot(contributions[h, token], "o-", alpha=0.6, label=f"head {h}: head_{h} · W_o[{h}]")
ax.plot(ops.convert_to_numpy(keras_out)[0, token], "k-", linewidth=2.5, label="Keras output = sum of heads + bias")
ax.plot(averaged[token], "r--", linewidth=1.5, label="average of heads + bias (not the output)")
ax.set(xlabel="output dimension (0..E-1)", ylabel="value", title=f"Output for the word '{sentence[token]}': each head's projected contribution")
ax.legend(fontsize=8, ncol=2)
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Exercise: `split_heads` and `merge_heads`
#
# The loop above projected each head with its own slice `W_q[:, h]`. Real implementations
# make **one** wide projection, `x @ W_q.reshape(E, H * d)` (one large matrix product instead
# of `H` small ones), then cut its `H·d` features into `H` heads, run the attention of all
# heads at once (the 4-D case of the first exercise), and glue the heads' outputs back side
# by side: that *is* the concatenation. The bookkeeping is where the bugs live:
#
# * `split_heads(x, num_heads)`: `(batch, T, H·d)` → `(batch, H, T, d)`, where head `h`
#   gets the features `h·d … (h+1)·d − 1` of every position;
# * `merge_heads(x)`: `(batch, H, T, d)` → `(batch, T, H·d)`, the inverse:
#   `merge_heads(split_heads(x, H))` must give `x` back.
#
# Use `ops.reshape`, `ops.transpose` (with the full order of the axes) and `ops.shape`.
# The trap: one `reshape` straight to `(batch, H, T, d)` has the right shape and the wrong
# numbers (it cuts the flat data in the wrong places, mixing positions with heads). The
# checker names that and the other usual mistakes (axis order, heads interleaved, heads
# averaged instead of concatenated, a merge that does not undo the split).

# %%
def split_heads(x, num_heads):
    """(batch, T, H*d) -> (batch, H, T, d)."""
    raise NotImplementedError  # your code here


def merge_heads(x):
    """(batch, H, T, d) -> (batch, T, H*d), the inverse of split_heads."""
    raise NotImplementedError  # your code here


# %%
check_split_merge_heads(split_heads, merge_heads);

# %% [markdown]
# With the course's reference (`course_utils.attention.split_heads` / `merge_heads`; yours
# in `solutions/`), all four heads in one go give the same numbers as the loop and as Keras:

# %% tags=["slide"]
wide = {name: x_batch @ kernel.reshape(E, H * KEY_DIM) + bias.reshape(-1)  # one (1, T, H*key_dim) product each
        for name, kernel, bias in [("q", Wq, bq), ("k", Wk, bk), ("v", Wv, bv)]}
q_heads, k_heads, v_heads = (reference_split_heads(wide[name], H) for name in "qkv")  # (1, H, T, key_dim)
all_heads_out, _ = reference_attention(q_heads, k_heads, v_heads)  # every head at once
merged = ops.convert_to_numpy(reference_merge_heads(all_heads_out))[0]  # (T, H * key_dim)
print("wide q", wide["q"].shape, "-> split", tuple(q_heads.shape), "-> attention", tuple(all_heads_out.shape), "-> merged", merged.shape)
split_merge_diff = max(np.abs(merged - concatenated).max(),
                       np.abs(merged @ Wo.reshape(H * KEY_DIM, E) + bo - ops.convert_to_numpy(keras_out)[0]).max())
print(f"split, attend, merge, project vs the per-head loop and Keras: max abs difference {split_merge_diff:.1e}")
assert split_merge_diff < 1e-5
course_utils.record("split_merge_vs_keras_max_abs_diff", split_merge_diff);

# %% [markdown]
# ## 6. A multi-head attention layer from scratch
#
# `course_utils.attention.MultiHeadAttention` is the layer written with `keras.ops` only. Its
# weights have the order and shapes of Keras's (so `set_weights(keras_mha.get_weights())`
# works unchanged) and its call has Keras's signature,
# `(query, value, key=None, attention_mask=None, return_attention_scores=False)`. The whole
# computation is three projections, the function of the exercise, and one projection back:

# %%
display(Code(inspect.getsource(MultiHeadAttention.call), language="python"))
display(Code(inspect.getsource(MultiHeadAttention._project), language="python"))

# %% [markdown]
# Now the test that matters: same weights, same inputs, same numbers as Keras, for
# self-attention and cross-attention (queries from one sequence, keys and values from
# another, of a different width), with padding and causal masks, and with `key_dim` ≠
# `embed_dim // num_heads` and `value_dim` ≠ `key_dim`. The unit tests
# (`tests/test_attention.py`) also draw random configurations.

# %%
def compare_with_keras(num_heads, key_dim, value_dim, query, value, mask=None, causal=False):
    theirs = keras.layers.MultiHeadAttention(num_heads=num_heads, key_dim=key_dim, value_dim=value_dim)
    ours = MultiHeadAttention(num_heads=num_heads, key_dim=key_dim, value_dim=value_dim)
    theirs(query, value)  # build both on these shapes
    ours(query, value)
    ours.set_weights(theirs.get_weights())  # Keras's weights, unchanged
    out_k, w_k = theirs(query, value, attention_mask=mask, use_causal_mask=causal, return_attention_scores=True)
    out_o, w_o = ours(query, value, attention_mask=mask, use_causal_mask=causal, return_attention_scores=True)
    return (np.abs(ops.convert_to_numpy(out_o) - ops.convert_to_numpy(out_k)).max(),
            np.abs(ops.convert_to_numpy(w_o) - ops.convert_to_numpy(w_k)).max())


rng = np.random.default_rng(1)
seq = rng.normal(size=(3, 10, 32)).astype("float32")  # batch of 3, 10 tokens, width 32
other = rng.normal(size=(3, 7, 20)).astype("float32")  # another sequence: 7 tokens, width 20
pad = np.ones((3, 10, 10), dtype=bool)
pad[0, :, 6:] = False  # sequence 0: its last 4 tokens are padding
pad_cross = np.ones((3, 10, 7), dtype=bool)
pad_cross[1, :, 5:] = False
configurations = [
    ("self, seed's key_dim=E", dict(num_heads=2, key_dim=32, value_dim=None, query=seq, value=seq)),
    ("self, key_dim=E//H", dict(num_heads=4, key_dim=8, value_dim=None, query=seq, value=seq)),
    ("self, padding mask", dict(num_heads=4, key_dim=8, value_dim=None, query=seq, value=seq, mask=pad)),
    ("self, causal mask", dict(num_heads=2, key_dim=16, value_dim=None, query=seq, value=seq, causal=True)),
    ("self, key_dim 5, value_dim 3", dict(num_heads=3, key_dim=5, value_dim=3, query=seq, value=seq, mask=pad)),
    ("cross, padding mask", dict(num_heads=2, key_dim=6, value_dim=9, query=seq, value=other, mask=pad_cross)),
]
equality = pd.DataFrame(
    [dict(configuration=name, **dict(zip(["max |Δ output|", "max |Δ weights|"], compare_with_keras(**cfg))))
     for name, cfg in configurations]
)
display(format_table(equality))
max_diff = float(equality[["max |Δ output|", "max |Δ weights|"]].to_numpy().max())
assert max_diff <= 1e-5, equality
course_utils.record("own_mha_vs_keras_max_abs_diff", max_diff)

fig, ax = plt.subplots(figsize=(10, 3.5))
ax.barh(equality.configuration, equality["max |Δ output|"] + 1e-12, label="output (an exact 0 is drawn at 1e-12)")
ax.axvline(1e-5, color="red", linestyle="--", label="tolerance 1e-5")
ax.axvline(np.finfo("float32").eps, color="grey", linestyle=":", label="float32 machine epsilon")
ax.set(xscale="log", xlabel="max absolute difference from keras.layers.MultiHeadAttention", title="Own MultiHeadAttention vs Keras, same weights")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# The differences are at the level of float32 rounding (Keras scales the query before the dot
# product, we scale the scores after it: the same number up to rounding).

# %% [markdown]
# ## 7. The seed's `key_dim=embed_dim` against `key_dim=embed_dim // num_heads`
#
# In Keras, `key_dim` is the size of **each head**. The paper splits the model width among
# the heads (`d_k = d_model / h`: 512 / 8 = 64), so `H` heads cost about as much as one
# full-width head. The seed's (and the Keras example's) `MultiHeadAttention(num_heads,
# key_dim=embed_dim)` makes **every** head full width: `H` times the projection parameters
# and the projection work. Both project back to `embed_dim`, so the rest of the model does
# not notice. Counts for a few sizes (the formula is checked against Keras's `count_params`):

# %%
rows = []
for embed_dim, num_heads in [(32, 2), (64, 4), (256, 8), (768, 12)]:
    for label, key_dim in [("seed: key_dim = embed_dim", embed_dim), ("paper: key_dim = embed_dim // num_heads", embed_dim // num_heads)]:
        rows.append(dict(embed_dim=embed_dim, num_heads=num_heads, key_dim=key_dim, choice=label,
                         parameters=count_mha_parameters(embed_dim, num_heads, key_dim)))
params_table = pd.DataFrame(rows)
for embed_dim, num_heads, key_dim in [(32, 2, 32), (32, 2, 16)]:  # the formula equals Keras's count
    layer = keras.layers.MultiHeadAttention(num_heads=num_heads, key_dim=key_dim)
    layer(np.zeros((1, 4, embed_dim), "float32"), np.zeros((1, 4, embed_dim), "float32"))
    assert layer.count_params() == count_mha_parameters(embed_dim, num_heads, key_dim)

# Forward time of one layer, both ways (E=256, 8 heads, batch 8 of 128 tokens), best of 7.
timing_input = tf.constant(np.random.default_rng(2).normal(size=(8, 128, 256)).astype("float32"))
forward_ms = {}
for label, key_dim in [("seed: key_dim = embed_dim", 256), ("paper: key_dim = embed_dim // num_heads", 32)]:
    layer = keras.layers.MultiHeadAttention(num_heads=8, key_dim=key_dim)
    forward = tf.function(lambda inputs, layer=layer: layer(inputs, inputs))
    forward(timing_input)  # trace and warm up
    times = []
    for _ in range(7):
        start = time.perf_counter()
        forward(timing_input).numpy()
        times.append(time.perf_counter() - start)
    forward_ms[label] = 1000 * min(times)
display(format_table(params_table.pivot(index=["embed_dim", "num_heads"], columns="choice", values="parameters")))
print("forward time (E=256, 8 heads, batch 8 x 128 tokens):", {k: f"{v:.1f} ms" for k, v in forward_ms.items()})

ratio = params_table.groupby(["embed_dim", "num_heads"]).parameters.agg(lambda p: p.iloc[0] / p.iloc[1])
assert all(abs(r - h) / h < 0.05 for (e, h), r in ratio.items()), ratio  # about H times the parameters
course_utils.record("mha_params_seed_keydim_E32_H2", count_mha_parameters(32, 2, 32))
course_utils.record("mha_params_paper_keydim_E32_H2", count_mha_parameters(32, 2, 16))
course_utils.record("mha_forward_ms_seed_keydim_E256_H8", forward_ms["seed: key_dim = embed_dim"])
course_utils.record("mha_forward_ms_paper_keydim_E256_H8", forward_ms["paper: key_dim = embed_dim // num_heads"])

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
sizes = [f"E={e}, H={h}" for e, h in ratio.index]
for offset, (label, part) in zip([-0.2, 0.2], params_table.groupby("choice", sort=False)):
    axes[0].bar(np.arange(len(sizes)) + offset, part.parameters, width=0.4, label=label)
axes[0].set_xticks(range(len(sizes)), sizes)
axes[0].set(yscale="log", ylabel="parameters of one attention layer", title="Parameters: the seed's choice costs H times more")
axes[0].legend(fontsize=8)
axes[1].bar(list(forward_ms), list(forward_ms.values()), color=["C0", "C1"])
axes[1].set(ylabel="forward time (ms)", title="One layer, E=256, 8 heads, 8×128 tokens (this CPU)")
axes[1].tick_params(axis="x", labelsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# Both choices work; notebook 04 keeps the seed's `key_dim=embed_dim` for fidelity (with
# `embed_dim=32` and 2 heads the difference is 8,416 against 4,224 parameters, next to a
# 640,000-parameter embedding) and `course_utils.layers.TransformerBlock` takes a `key_dim`
# argument for the paper's choice.

# %% [markdown]
# ## 8. What the heads of a trained model look at
#
# Heat maps of random weights mean nothing, so we train, on two tasks, the same kind of
# model: token and position embeddings (`TokenAndPositionEmbedding`, notebook 02), a
# `LayerNormalization`, **our** `MultiHeadAttention` (4 heads of 8 dimensions), a skip
# connection and a second `LayerNormalization`, then a `Dense` output.
#
# 1. **Reversing a sequence** (the example of the UvA deep-learning tutorial on
#    Transformers, linked at the end): the input is 12 random digits, the target the same
#    digits in reverse order, so output position *i* must copy input position *T−1−i*. Only
#    the attention can bring that digit there, and it must find it **by its position**: a
#    task that needs attention to look at one specific place.
# 2. **Sentiment of real reviews**, where no single place is needed.
#
# How far a head is from uniform is measured by the **normalised entropy** of its rows
# (1 = uniform over the keys, 0 = all weight on one key); for reversal also by the weight
# each head puts on the mirrored key (uniform would give 1/12).
#
# A trap worth seeing first: a Keras `Embedding` starts with tiny vectors (uniform in
# ±0.05), so without the `LayerNormalization` before the attention, queries and keys are
# tiny, every score is ≈ 0 and every head starts uniform. The normalisation (as in the
# "pre-LN" blocks of notebook 04) gives them unit scale from the start.

# %%
SEQ_LEN, DIGITS, EMBED, HEADS = 12, 10, 32, 4


def build_attention_model(maxlen: int, vocab: int, outputs: int, norm_before_attention: bool = True,
                          mask_zero: bool = False, skip: str = "layer", pool: bool = False) -> keras.Model:
    """Embeddings -> [LayerNorm] -> own MultiHeadAttention -> skip + LayerNorm -> [mean pool] -> Dense.

    ``skip="layer"`` writes the skip connection as ``keras.layers.Add()``, which passes the
    padding mask on to the pooling; ``skip="plus"`` writes it as a plain ``+``, which drops it.
    """
    token_ids = keras.Input(shape=(None,), dtype="int32")
    embedded = TokenAndPositionEmbedding(maxlen, vocab, EMBED, mask_zero=mask_zero, name="embedding")(token_ids)
    attention_input = embedded
    if norm_before_attention:
        attention_input = keras.layers.LayerNormalization(epsilon=1e-6, name="norm_before")(embedded)
    attended = MultiHeadAttention(num_heads=HEADS, key_dim=EMBED // HEADS, name="own_mha")(
        attention_input, attention_input, attention_mask=padding_mask(token_ids) if mask_zero else None)
    summed = keras.layers.Add()([embedded, attended]) if skip == "layer" else embedded + attended
    hidden = keras.layers.LayerNormalization(epsilon=1e-6)(summed)
    if pool:
        hidden = keras.layers.Dropout(0.1)(keras.layers.GlobalAveragePooling1D()(hidden))
    return keras.Model(token_ids, keras.layers.Dense(outputs, activation="softmax")(hidden))


def head_weights_of(model: keras.Model, ids: np.ndarray) -> np.ndarray:
    """Attention weights (batch, heads, T, T) of the model's own_mha layer on token ids."""
    x_in = model.get_layer("embedding")(ids)
    if any(layer.name == "norm_before" for layer in model.layers):
        x_in = model.get_layer("norm_before")(x_in)
    _, weights = model.get_layer("own_mha")(x_in, x_in, attention_mask=padding_mask(ids), return_attention_scores=True)
    return ops.convert_to_numpy(weights)


def normalised_entropy(weights: np.ndarray, ids: np.ndarray, pad_id: int | None = 0) -> np.ndarray:
    """Mean over sequences and real query rows of entropy / log(n_real), per head."""
    per_sequence = []
    for w, row_ids in zip(weights, ids):
        n = int((row_ids != pad_id).sum()) if pad_id is not None else len(row_ids)
        p = w[:, :n, :n]
        per_sequence.append((-(p * np.log(p + 1e-12)).sum(axis=-1) / np.log(n)).mean(axis=-1))
    return np.mean(per_sequence, axis=0)


def mirror_share(weights: np.ndarray) -> np.ndarray:
    """Per head: mean weight that query i puts on key T-1-i (the digit it must copy)."""
    positions = np.arange(weights.shape[-1])
    return weights[:, :, positions, positions[::-1]].mean(axis=(0, 2))


def digit_sequences(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n sequences of SEQ_LEN random digits (ids 1..10; 0 stays free for padding) and their reversals."""
    digits = rng.integers(1, DIGITS + 1, size=(n, SEQ_LEN))
    return digits, digits[:, ::-1] - 1  # targets: the class 0..9 of the mirrored digit


# %% [markdown]
# **Reversal.** 20,000 training sequences seen once (batch 128), tested on 1,000 new ones;
# the heads are measured before and after training.

# %%
reversal_rng = np.random.default_rng(8)
digits_train, reversed_train = digit_sequences(20_000, reversal_rng)
digits_test, reversed_test = digit_sequences(1_000, reversal_rng)
keras.utils.set_random_seed(8)
reverser = build_attention_model(SEQ_LEN, DIGITS + 1, DIGITS)
reverser.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
reversal_heads = {"fresh": head_weights_of(reverser, digits_test[:300])}
reverser.fit(digits_train, reversed_train, epochs=1, batch_size=128, verbose=0, callbacks=[EpochLog("reversal")])
reversal_heads["trained"] = head_weights_of(reverser, digits_test[:300])
reversal_accuracy = float(reverser.evaluate(digits_test, reversed_test, verbose=0)[1])
reversal_table = pd.DataFrame({f"{stage}: {measure}": values
                               for stage, w in reversal_heads.items()
                               for measure, values in [("weight on mirrored key", mirror_share(w)),
                                                       ("normalised entropy", normalised_entropy(w, digits_test[:300], pad_id=None))]})
reversal_table.index = [f"head {h}" for h in range(HEADS)]
display(format_table(reversal_table, formats={column: "{:.3f}" for column in reversal_table.columns}))
print(f"reversal: {reversal_accuracy:.1%} of the test digits in the right place (chance 10 %); uniform weight = 1/{SEQ_LEN} = {1 / SEQ_LEN:.3f}")

# %% tags=["slide"]
example = reversal_heads["trained"][0]  # (heads, T, T) for the first test sequence
fig, axes = plt.subplots(1, HEADS, figsize=(3.4 * HEADS, 3.6), layout="constrained")
for h, ax in enumerate(axes):
    image = ax.imshow(example[h], cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(SEQ_LEN), digits_test[0] - 1, fontsize=7)
    ax.set_yticks(range(SEQ_LEN), range(SEQ_LEN), fontsize=7)
    ax.set(title=f"head {h}: {mirror_share(reversal_heads['trained'])[h]:.0%} on the mirror", xlabel="key (input digit)")
axes[0].set_ylabel("query (output position)")
fig.colorbar(image, ax=axes, shrink=0.8, label="attention weight")
fig.suptitle("Trained to reverse: every head looks at the mirrored position (the anti-diagonal)")
plt.show()

# %%
trained_mirror = mirror_share(reversal_heads["trained"])
trained_entropy = normalised_entropy(reversal_heads["trained"], digits_test[:300], pad_id=None)
fresh_entropy = normalised_entropy(reversal_heads["fresh"], digits_test[:300], pad_id=None)
course_utils.record("reversal_test_accuracy", reversal_accuracy)
course_utils.record("reversal_mirror_share_per_head", trained_mirror.round(4).tolist())
course_utils.record("reversal_head_entropy_trained", trained_entropy.round(4).tolist())
course_utils.record("reversal_head_entropy_fresh", fresh_entropy.round(4).tolist())
assert reversal_accuracy > 0.95, "one pass over 20,000 sequences should learn to reverse"
assert (fresh_entropy > 0.9).all(), "fresh heads start close to uniform"
# Specialised: every head puts at least 4x the uniform weight (1/12) on the mirrored key,
# and its rows are far from uniform.
assert (trained_mirror > 4 / SEQ_LEN).all() and (trained_entropy < 0.6).all(), reversal_table

# %% [markdown]
# **Reviews.** The same kind of model on the movie reviews, with a padding mask and average
# pooling over the real tokens (a review-level answer), 3 epochs. First the trap from above,
# measured on fresh models: the heads' entropy with and without the normalisation before
# the attention.

# %%
MAXLEN = course_utils.pick(default=64, full=200)  # tokens kept per review (IMDB reviews are longer)
VOCAB = 20000
vectorize = keras.layers.TextVectorization(max_tokens=VOCAB, output_sequence_length=MAXLEN)
vectorize.adapt(reviews.x_train)
vocabulary = vectorize.get_vocabulary()
x_train, x_val, x_test = (vectorize(t).numpy() for t in (reviews.x_train, reviews.x_val, reviews.x_test))
probe = x_test[(x_test != 0).sum(axis=-1) >= 5][:300]  # test reviews of at least 5 tokens


def review_classifier(norm_before_attention: bool = True, skip: str = "layer") -> keras.Model:
    return build_attention_model(MAXLEN, VOCAB, 2, norm_before_attention, mask_zero=True, skip=skip, pool=True)


fresh_review_entropy = {}
for label, norm_before in [("without LayerNorm before attention", False), ("with LayerNorm before attention", True)]:
    keras.utils.set_random_seed(42)
    fresh_review_entropy[label] = float(normalised_entropy(head_weights_of(review_classifier(norm_before), probe), probe).mean())
    print(f"fresh model {label}: mean normalised head entropy {fresh_review_entropy[label]:.5f}")

# %%
course_utils.record("fresh_review_head_entropy", fresh_review_entropy)
assert fresh_review_entropy["without LayerNorm before attention"] > fresh_review_entropy["with LayerNorm before attention"]

# %%
majority = max(reviews.y_test.mean(), 1 - reviews.y_test.mean())
keras.utils.set_random_seed(42)
model_b = review_classifier()
model_b.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model_b.fit(x_train, reviews.y_train, validation_data=(x_val, reviews.y_val), epochs=3, batch_size=64,
            verbose=0, callbacks=[EpochLog("reviews")])
review_accuracy = float(model_b.evaluate(x_test, reviews.y_test, verbose=0)[1])
review_entropy = normalised_entropy(head_weights_of(model_b, probe), probe)
print(f"reviews: test accuracy {review_accuracy:.1%} (majority class {majority:.1%}); "
      f"normalised entropy per head {np.round(review_entropy, 3).tolist()}")
print(f"reversal: normalised entropy per head {np.round(trained_entropy, 3).tolist()}")

# %%
course_utils.record("review_classifier_test_accuracy", review_accuracy)
course_utils.record("review_classifier_head_entropy", review_entropy.round(4).tolist())
assert review_accuracy > majority + 0.05, "the review model should clearly beat the majority class"
assert review_entropy.min() > trained_entropy.max() + 0.2, "review heads stay far closer to uniform than reversal heads"

# %% [markdown]
# **The padding mask survives the skip connection.** The model writes its skip connection as
# `keras.layers.Add()`, which passes the padding mask on, so the average pooling counts the
# real tokens only. A plain `embedded + attended` (the same weights) drops the mask, and the
# pooling then averages the padding too. The test: every test review of at most 16 tokens,
# padded to 16 and to `MAXLEN`, must get the same probabilities.

# %%
short_reviews = x_test[(x_test != 0).sum(axis=-1) <= 16]
model_plus = review_classifier(skip="plus")
model_plus.set_weights(model_b.get_weights())  # `+` has no weights: the same model, written differently
padding_shift = {name: float(np.abs(m.predict(short_reviews[:, :16], verbose=0) - m.predict(short_reviews, verbose=0)).max())
                 for name, m in [("layers.Add()", model_b), ("plain +", model_plus)]}
for name, shift in padding_shift.items():
    print(f"skip written as {name:13s}: max over {len(short_reviews):,} short reviews |p(padded to 16) - p(padded to {MAXLEN})| = {shift:.1e}")

# %%
course_utils.record("padding_shift_by_skip", padding_shift)
assert padding_shift["layers.Add()"] < 1e-5 < 1e-3 < padding_shift["plain +"]

# %% [markdown]
# Now each head of the review model on a real test review (a correctly classified one).
# Because the weights stay close to uniform, the colour shows each weight **relative to
# uniform** (weight × number of tokens): 1 = exactly uniform, red = more attention than uniform.

# %%
from matplotlib.colors import TwoSlopeNorm

predictions = model_b.predict(x_test, verbose=0).argmax(axis=-1)
lengths = (x_test != 0).sum(axis=-1)
pick_index = next(i for i in range(len(x_test)) if 10 <= lengths[i] <= 16 and predictions[i] == reviews.y_test[i]
                  and (x_test[i, : lengths[i]] != 1).all())  # id 1 = out-of-vocabulary
n_tokens = int(lengths[pick_index])
words = [vocabulary[t] for t in x_test[pick_index, :n_tokens]]
print(f"review ({reviews.class_names[reviews.y_test[pick_index]]}): {reviews.x_test[pick_index]}")

head_weights = head_weights_of(model_b, x_test[pick_index : pick_index + 1])[0, :, :n_tokens, :n_tokens]
assert np.allclose(head_weights.sum(axis=-1), 1.0, atol=1e-5)  # the padding got no weight
relative = head_weights * n_tokens
spread = min(0.95, max(0.05, float(np.abs(relative - 1).max())))
# Two heads per row, so that the figure fits the notebook's width and the word ticks stay readable.
columns = min(HEADS, 2)
fig, axes = plt.subplots(-(-HEADS // columns), columns, figsize=(11, 4.6 * -(-HEADS // columns)), layout="constrained",
                         squeeze=False)
for h, ax in enumerate(axes.flat):
    image = ax.imshow(relative[h], cmap="RdBu_r", norm=TwoSlopeNorm(vcenter=1.0, vmin=1 - spread, vmax=1 + spread))
    ax.set_xticks(range(n_tokens), words, rotation=70, ha="right", fontsize=8)
    ax.set_yticks(range(n_tokens), words, fontsize=8)
    ax.set(title=f"head {h}", xlabel="key (attended-to word)")
for ax in axes[:, 0]:
    ax.set_ylabel("query (attending word)")
fig.colorbar(image, ax=axes, shrink=0.7, label="weight × tokens (1 = uniform; colours clipped)")
fig.suptitle("Each head of the trained review model on a real test review")
plt.show()

received = head_weights.mean(axis=1) * n_tokens  # (heads, keys): attention each word receives, relative to uniform
for h in range(HEADS):
    top = np.argsort(received[h])[::-1][:3]
    print(f"head {h}: most attended on average " + ", ".join(f"'{words[i]}' ({received[h, i]:.2f}x uniform)" for i in top))
print(f"largest single weight in these maps: {relative.max():.2f}x uniform; smallest: {relative.min():.2f}x")
course_utils.record("example_review_max_weight_relative_to_uniform", relative.max());

# %% [markdown]
# What the numbers say (printed above, and in the summary). Trained to reverse, every head
# puts a large share of its weight (asserted: at least 4 times the uniform 1/12; the table
# gives each head's share) on the one key the task needs, the mirrored position, and its
# entropy fell far below the near-uniform start: heads specialise when the task requires
# it, and the anti-diagonal in the heat maps is exactly the rule "output *i* copies input
# *T−1−i*". (Here all four heads learned the same job, as nothing asks them to differ;
# many heads of trained Transformers can be removed with little loss, Michel et al. 2019.)
# On the reviews the same kind of model classifies well while its heads stay close to
# uniform (entropy near 1): on snippets of about 20 words, a weighted *bag of words* is
# already a strong classifier (notebook 04 compares the Transformer with TF-IDF, an LSTM and
# a model without attention), and nothing pushes a head to look anywhere in particular. So
# read a heat map as "what this layer mixed", not as "what the model needs": notebook 08
# measures the limits of attention maps.

# %% [markdown]
# ## 9. The cost of attention against sequence length
#
# Every query meets every key, so attention computes and stores a `T × T` weight matrix per
# head: time and memory grow like `T²`. An LSTM reads the tokens one after the other: `T`
# sequential steps, each of constant cost, so linear time, and it needs to keep only one
# state per step (for training). Notebook 01 measured full training steps; here we measure
# the forward pass of each alone, on this CPU (one sequence, width 64). Each time is the
# best of 12 runs spread over 4 passes through all the lengths, so that a burst of load from
# other programs on the machine cannot spoil every run of one length:
#
# * **time**: `scaled_dot_product_attention` (self-attention, no projections) and
#   `keras.layers.LSTM(64)`, both compiled with `tf.function`, on two clocks: the **wall
#   time** you wait for (`time.perf_counter`), and the **CPU time**, the processor time that
#   all threads of this process used (`time.process_time`): the work done;
# * **memory**: the peak memory of the same computations written in NumPy, measured with
#   `tracemalloc` (which sees every NumPy allocation): the attention weights against the
#   LSTM's hidden states.
#
# Why two clocks (as in notebook 01)? On a busy machine a run waits while other programs use
# the CPU. On a notebook server that caps each user's CPU with a quota of CPU time per 100-ms
# period (Linux's CFS bandwidth control, behind JupyterHub and Kubernetes CPU limits), a long
# run that uses up its quota waits, not working, for the next period: long runs slow down
# more than short ones, which bends the wall-time curve upwards. CPU time counts neither wait.
# So the growth exponents (how the work grows with `T`) are fitted on CPU time, and "which
# one answers sooner" on wall time.

# %%
lengths_T = [128, 256, 512, 1024, 2048, 4096]
WIDTH, BATCH = 64, 1
lstm = keras.layers.LSTM(WIDTH)
attention_fn = tf.function(lambda z: reference_attention(z, z, z)[0], reduce_retracing=True)
lstm_fn = tf.function(lambda z: lstm(z), reduce_retracing=True)


def best_times(functions: dict, inputs: dict, passes: int = 4, repeats: int = 3) -> dict:
    """Best wall time and best CPU time of each function on each input: {(clock, name, T): seconds}.

    Every function is traced and warmed up on every input first; then `passes` rounds go
    through all the inputs, `repeats` runs each, and the fastest run counts (the one least
    disturbed by other programs; timeit's advice), for each clock separately.
    """
    for fn in functions.values():
        for z in inputs.values():
            fn(z).numpy()  # trace and warm up for this length
    best = {}
    for _ in range(passes):
        for T, z in inputs.items():
            for name, fn in functions.items():
                for _ in range(repeats):
                    wall, cpu = time.perf_counter(), time.process_time()
                    fn(z).numpy()
                    for clock, spent in [("wall", time.perf_counter() - wall), ("cpu", time.process_time() - cpu)]:
                        best[clock, name, T] = min(best.get((clock, name, T), np.inf), spent)
    return best


def numpy_attention(z: np.ndarray) -> np.ndarray:
    s = z @ np.swapaxes(z, -1, -2) / np.sqrt(z.shape[-1])  # (batch, T, T)
    s = np.exp(s - s.max(axis=-1, keepdims=True))
    return (s / s.sum(axis=-1, keepdims=True)) @ z


def numpy_lstm(z: np.ndarray, kernel: np.ndarray, recurrent: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """An LSTM forward pass that keeps every hidden state (as training needs)."""
    batch, steps, _ = z.shape
    units = recurrent.shape[0]
    h, c = np.zeros((batch, units), "float32"), np.zeros((batch, units), "float32")
    states = np.empty((batch, steps, units), "float32")
    for t in range(steps):  # one step after the other: nothing to parallelise over t
        gates = z[:, t] @ kernel + h @ recurrent + bias
        i, f, g, o = np.split(gates, 4, axis=-1)
        c = 1 / (1 + np.exp(-f)) * c + 1 / (1 + np.exp(-i)) * np.tanh(g)
        h = 1 / (1 + np.exp(-o)) * np.tanh(c)
        states[:, t] = h
    return states


def peak_bytes(fn, *args) -> int:
    tracemalloc.start()
    fn(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


sequences = {T: np.random.default_rng(T).normal(size=(BATCH, T, WIDTH)).astype("float32") for T in lengths_T}
seconds = best_times({"attention": attention_fn, "lstm": lstm_fn}, {T: tf.constant(z) for T, z in sequences.items()})
kernel, recurrent, bias = (w.astype("float32") for w in lstm.get_weights())
rows = []
for T, z in sequences.items():
    rows.append(dict(T=T, attention_ms=1000 * seconds["wall", "attention", T], lstm_ms=1000 * seconds["wall", "lstm", T],
                     attention_cpu_ms=1000 * seconds["cpu", "attention", T], lstm_cpu_ms=1000 * seconds["cpu", "lstm", T],
                     attention_mib=peak_bytes(numpy_attention, z) / 2**20,
                     lstm_mib=peak_bytes(numpy_lstm, z, kernel, recurrent, bias) / 2**20))
cost = pd.DataFrame(rows)
display(format_table(cost, names={"T": "tokens T", "attention_ms": "attention wall (ms)", "lstm_ms": "LSTM wall (ms)",
                                  "attention_cpu_ms": "attention CPU (ms)", "lstm_cpu_ms": "LSTM CPU (ms)",
                                  "attention_mib": "attention peak (MiB)", "lstm_mib": "LSTM peak (MiB)"}))


def slope(column: str) -> float:
    """Growth exponent over the three longest lengths (log-log fit): 1 = linear, 2 = quadratic."""
    top = cost.tail(3)
    return float(np.polyfit(np.log(top["T"]), np.log(top[column]), 1)[0])


slopes = {column: slope(column) for column in ["attention_cpu_ms", "lstm_cpu_ms", "attention_mib", "lstm_mib"]}
print("growth exponents (3 longest lengths):", {k: round(v, 2) for k, v in slopes.items()})

fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
axes[0].plot(cost["T"], cost.attention_ms, "o-", label="self-attention")
axes[0].plot(cost["T"], cost.lstm_ms, "s-", label="LSTM(64)")
axes[0].set(ylabel="forward wall time (ms), best of 12", title=f"Wall time (latency), batch {BATCH}, width {WIDTH}")
axes[1].plot(cost["T"], cost.attention_cpu_ms, "o-", label=f"self-attention (exponent {slopes['attention_cpu_ms']:.2f})")
axes[1].plot(cost["T"], cost.lstm_cpu_ms, "s-", label=f"LSTM(64) (exponent {slopes['lstm_cpu_ms']:.2f})")
axes[1].set(ylabel="forward CPU time (ms), best of 12", title="CPU time (work), all threads")
axes[2].plot(cost["T"], cost.attention_mib, "o-", label=f"attention weights (exponent {slopes['attention_mib']:.2f})")
axes[2].plot(cost["T"], cost.lstm_mib, "s-", label=f"LSTM hidden states (exponent {slopes['lstm_mib']:.2f})")
axes[2].set(ylabel="peak memory (MiB, tracemalloc)", title="Memory of the forward pass (NumPy twins)")
for ax in axes:
    guide = cost["T"] / cost["T"].iloc[-1]  # guides through each curve's last point
    ax.plot(cost["T"], ax.lines[0].get_ydata()[-1] * guide**2, "k:", linewidth=1, label="∝ T² (through the last point)")
    ax.plot(cost["T"], ax.lines[1].get_ydata()[-1] * guide, "k--", linewidth=1, label="∝ T (through the last point)")
    ax.set(xscale="log", yscale="log", xlabel="sequence length T (tokens)")
    ax.set_xticks(lengths_T, [str(t) for t in lengths_T])
    ax.minorticks_off()
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

faster = cost[cost.attention_ms < cost.lstm_ms]["T"].tolist()  # latency: wall time
print(f"attention's forward pass is faster (wall time) than the LSTM's at T = {faster} on this CPU")
assert 1.8 <= slopes["attention_mib"] <= 2.2 and 0.8 <= slopes["lstm_mib"] <= 1.2  # quadratic vs linear memory
assert slopes["attention_cpu_ms"] > slopes["lstm_cpu_ms"], "attention's work should grow faster than the LSTM's"
assert 0.6 <= slopes["lstm_cpu_ms"] <= 1.4 and slopes["attention_cpu_ms"] >= 1.4, slopes  # about linear vs close to quadratic
assert len(faster) >= len(lengths_T) / 2, "the prose below says attention's forward pass is faster over most of the range"
course_utils.record("attention_cost", cost.round(3).to_dict(orient="list"))
course_utils.record("attention_cost_exponents", {k: round(v, 3) for k, v in slopes.items()})
course_utils.record("attention_faster_than_lstm_at_T", faster);

# %% [markdown]
# What the numbers say. **Memory**: the attention weights grow exactly like `T²` (doubling the
# length quadruples them), the LSTM's hidden states like `T`. **Work** (CPU time): the LSTM's
# exponent is about 1; attention's is below 2 at short lengths, where fixed costs dominate,
# and near 2 at the longest lengths, where the `T × T` products dominate (a little above 2
# when the `T × T` matrix no longer fits in the CPU's caches and memory traffic adds up).
# (CPU time can exceed wall time: it adds up every thread, those that compute in parallel
# and those that wait actively for the next piece of work.) **Latency** (wall time): yet on
# this CPU attention's forward pass was faster than the LSTM's over most or all of the range
# (the list above says where in your run): it is a few large matrix products that use every
# core, while the LSTM runs `T` small steps one after the other, which no number of cores can
# shorten. (Notebook 01's full *training* steps, batch 8, with projections and a feed-forward
# layer, crossed over at a shorter length: the backward pass also goes through the `T × T`
# weights, and a batch of 8 gives each of the LSTM's small steps more work.)
#
# Does a GPU change the picture? Not automatically; we cannot measure one here, so we quote
# a measurement made for this course on an NVIDIA H200 (Keras 3.15.1 on its PyTorch
# backend, cuDNN LSTM; notebook 01 gives the numbers): with notebook 01's narrow models
# (width 64) the LSTM's training step was faster at every length from 16 to 16,384 tokens;
# only with a wide model (width 512, 8 heads) was attention faster, from 256 to 2,048
# tokens. Per layer, self-attention does *more* arithmetic than a recurrent layer,
# $O(T^2 d + T d^2)$ against $O(T d^2)$ (Vaswani et al., Table 1): it wins by parallelism
# only, when the model is wide enough to fill the hardware and `T` is not much larger than
# `d`. And the quadratic growth wins in the end: at thousands of tokens the `T × T` matrices
# dominate time and memory, which is why long-context models use sparse, sliding-window or
# memory-efficient ("flash") attention. At the lengths of our reviews (tens of tokens)
# attention is cheap.

# %% [markdown]
# ## Summary
#
# Printed from the values recorded above (`build/results/03_multi_head_attention.json`):

# %%
results = course_utils.results.load_all_results()["03_multi_head_attention"]
exponents = results["attention_cost_exponents"]
def per_head(values: list[float], fmt: str = ".2f") -> str:
    return " / ".join(format(v, fmt) for v in values)


print(f"""Measured in this run ({results['_meta']['profile']} profile, {time.perf_counter() - notebook_start:.0f} s after the first cell):
* sqrt(d_k) scaling, d_k = 1024: score variance {results['score_variance_unscaled_dk1024']:.0f} unscaled vs {results['score_variance_scaled_dk1024']:.2f} scaled;
  largest softmax weight {results['max_weight_unscaled_dk1024']:.2f} vs {results['max_weight_scaled_dk1024']:.2f};
  softmax gradient norm {results['softmax_gradient_norm_unscaled_dk1024']:.3f} vs {results['softmax_gradient_norm_scaled_dk1024']:.3f}.
* Without a padding mask, {results['padding_attention_leak_without_mask_len32']:.0%} of a real word's attention went to padding (review padded to 32).
* Heads are concatenated and projected (= a sum of per-head projections), not averaged: by hand vs Keras
  max abs difference {results['concat_project_vs_keras_max_abs_diff']:.1e}.
* Own MultiHeadAttention vs keras.layers.MultiHeadAttention (same weights; 6 configurations with masks,
  cross-attention, key_dim != E/H, value_dim != key_dim): max abs difference {results['own_mha_vs_keras_max_abs_diff']:.1e}.
* key_dim, E=32, 2 heads: the seed's key_dim=embed_dim has {results['mha_params_seed_keydim_E32_H2']:,} parameters, embed_dim//heads {results['mha_params_paper_keydim_E32_H2']:,};
  forward pass at E=256, 8 heads: {results['mha_forward_ms_seed_keydim_E256_H8']:.1f} ms vs {results['mha_forward_ms_paper_keydim_E256_H8']:.1f} ms.
* split_heads, attend, merge_heads, project vs the per-head loop and Keras: max abs difference {results['split_merge_vs_keras_max_abs_diff']:.1e}.
* Heads of a trained one-layer model (4 heads; normalised entropy, 1 = uniform):
  reversal of 12 digits: {results['reversal_test_accuracy']:.1%} of digits right; weight on the mirrored key per head {per_head(results['reversal_mirror_share_per_head'])}
  (uniform 1/12 = 0.08), entropy {per_head(results['reversal_head_entropy_trained'])} (fresh: {per_head(results['reversal_head_entropy_fresh'])});
  reviews: test accuracy {results['review_classifier_test_accuracy']:.1%}, entropy {per_head(results['review_classifier_head_entropy'], '.3f')}.
  Skip connection as layers.Add() vs plain +: short reviews padded to 16 or to maxlen move the output by up to
  {results['padding_shift_by_skip']['layers.Add()']:.1e} vs {results['padding_shift_by_skip']['plain +']:.1e}.
* Cost growth exponents (3 longest lengths, up to T = {max(results['attention_cost']['T'])}): attention CPU time {exponents['attention_cpu_ms']:.2f},
  LSTM CPU time {exponents['lstm_cpu_ms']:.2f}; attention memory {exponents['attention_mib']:.2f}, LSTM memory {exponents['lstm_mib']:.2f};
  attention's forward pass was faster (wall time) than the LSTM's at T = {results['attention_faster_than_lstm_at_T']}.""")

# %% [markdown]
# ## References
#
# - Vaswani et al. (2017), *Attention Is All You Need*: scaled dot-product and multi-head
#   attention (section 3.2), cost per layer (Table 1): [arXiv:1706.03762](https://arxiv.org/abs/1706.03762).
# - Xiong et al. (2020), *On Layer Normalization in the Transformer Architecture* (pre-LN):
#   [arXiv:2002.04745](https://arxiv.org/abs/2002.04745).
# - Michel, Levy & Neubig (2019), *Are Sixteen Heads Really Better than One?*:
#   [arXiv:1905.10650](https://arxiv.org/abs/1905.10650).
# - Dao et al. (2022), *FlashAttention*: [arXiv:2205.14135](https://arxiv.org/abs/2205.14135).
# - Deerwester et al. (1990), *Indexing by Latent Semantic Analysis*:
#   [doi:10.1002/(SICI)1097-4571(199009)41:6<391::AID-ASI1>3.0.CO;2-9](https://doi.org/10.1002/(SICI)1097-4571(199009)41:6%3C391::AID-ASI1%3E3.0.CO;2-9).
# - UvA deep-learning tutorials, *Transformers and Multi-Head Attention* (the reversal task):
#   [uvadlc-notebooks.readthedocs.io](https://uvadlc-notebooks.readthedocs.io/en/latest/tutorial_notebooks/tutorial6/Transformers_and_MHAttention.html).
# - Keras [`MultiHeadAttention`](https://keras.io/api/layers/attention_layers/multi_head_attention/);
#   TensorFlow 2.4 release notes (the layer's arrival): [github.com/tensorflow/tensorflow/releases/tag/v2.4.0](https://github.com/tensorflow/tensorflow/releases/tag/v2.4.0);
#   PyTorch [`nn.MultiheadAttention`](https://pytorch.org/docs/stable/generated/torch.nn.MultiheadAttention.html) (its opposite mask convention).
# - scikit-learn [`TfidfVectorizer`](https://scikit-learn.org/stable/modules/generated/sklearn.feature_extraction.text.TfidfVectorizer.html),
#   [`TruncatedSVD`](https://scikit-learn.org/stable/modules/generated/sklearn.decomposition.TruncatedSVD.html);
#   Python [`tracemalloc`](https://docs.python.org/3/library/tracemalloc.html), [`timeit`](https://docs.python.org/3/library/timeit.html) (best of several runs),
#   [`time.process_time`](https://docs.python.org/3/library/time.html#time.process_time) (CPU time of all the process's threads).
# - Linux [CFS bandwidth control](https://docs.kernel.org/scheduler/sched-bwc.html) (CPU quota per period, 100 ms by default),
#   which enforces Kubernetes [CPU limits](https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/).
