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
# each word." This notebook takes that sentence apart and measures every piece:
#
# 1. **Scaled dot-product attention** on a real movie review, step by step, with shapes.
# 2. **Why divide by √d_k**: the variance of the scores and the saturation of the softmax,
#    measured with and without the scaling.
# 3. **Masks**: padding masks and causal masks (Keras convention: `True` = may attend), and
#    what goes wrong without them.
# 4. **Exercise**: write `scaled_dot_product_attention(q, k, v, mask=None)`.
# 5. **Heads**: split, attend, **concatenate, project**. The heads are not averaged; we show
#    what really happens, number by number.
# 6. A **from-scratch `MultiHeadAttention` layer** that loads Keras's weights unchanged and
#    gives the same numbers as `keras.layers.MultiHeadAttention` (asserted).
# 7. The seed's `key_dim=embed_dim` against `key_dim=embed_dim // num_heads`: parameters and time.
# 8. **Per-head attention** of a small trained model on a real review.
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
from course_utils.attention import MultiHeadAttention, count_mha_parameters, padding_mask
from course_utils.attention import scaled_dot_product_attention as reference_attention
from course_utils.training import EpochLog
from course_utils.checks import check_scaled_dot_product_attention
from course_utils.data import load_reviews
from course_utils.layers import TokenAndPositionEmbedding

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

fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
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
fig.tight_layout()
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
display(scaling_table.round(3))

fig, axes = plt.subplots(1, 3, figsize=(15, 4))
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

fig, axes = plt.subplots(1, 2, figsize=(13, 4.2), gridspec_kw=dict(width_ratios=[1.4, 1]))
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
# matrix for each head, so the model decides how much of each head to use and where. We
# compute it by hand from a Keras layer's weights, on the real sentence, and compare.

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
display(equality)
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
display(params_table.pivot(index=["embed_dim", "num_heads"], columns="choice", values="parameters"))
print("forward time (E=256, 8 heads, batch 8 x 128 tokens):", {k: f"{v:.1f} ms" for k, v in forward_ms.items()})

ratio = params_table.groupby(["embed_dim", "num_heads"]).parameters.agg(lambda p: p.iloc[0] / p.iloc[1])
assert all(abs(r - h) / h < 0.05 for (e, h), r in ratio.items()), ratio  # about H times the parameters
course_utils.record("mha_params_seed_keydim_E32_H2", count_mha_parameters(32, 2, 32))
course_utils.record("mha_params_paper_keydim_E32_H2", count_mha_parameters(32, 2, 16))
course_utils.record("mha_forward_ms_seed_keydim_E256_H8", forward_ms["seed: key_dim = embed_dim"])
course_utils.record("mha_forward_ms_paper_keydim_E256_H8", forward_ms["paper: key_dim = embed_dim // num_heads"])

fig, axes = plt.subplots(1, 2, figsize=(13, 4))
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
# Heat maps of random weights mean nothing, so we train a small classifier on the reviews
# whose only attention layer is **our** `MultiHeadAttention` (4 heads of 8 dimensions): token
# and position embeddings (`TokenAndPositionEmbedding` from notebook 02), one attention layer
# with a skip connection and LayerNormalization, average pooling, softmax. Padding is masked
# with `padding_mask(token_ids)`.
#
# We train it twice, because of a trap worth seeing: a Keras `Embedding` starts with tiny
# vectors (uniform in ±0.05), so queries and keys are tiny, every score is ≈ 0 and every head
# starts uniform. Variant **B** adds a `LayerNormalization` *before* the attention (as
# "pre-LN" Transformers do, notebook 04), which gives queries and keys unit scale from the
# start. We measure how far each variant's heads are from uniform with the **normalised
# entropy** of their rows: 1 = uniform, 0 = all weight on one word.

# %%
MAXLEN = course_utils.pick(default=64, full=200)  # tokens kept per review (IMDB reviews are longer)
VOCAB, EMBED, HEADS = 20000, 32, 4
vectorize = keras.layers.TextVectorization(max_tokens=VOCAB, output_sequence_length=MAXLEN)
vectorize.adapt(reviews.x_train)
vocabulary = vectorize.get_vocabulary()
x_train, x_val, x_test = (vectorize(t).numpy() for t in (reviews.x_train, reviews.x_val, reviews.x_test))


def build_small_classifier(norm_before_attention: bool) -> keras.Model:
    token_ids = keras.Input(shape=(MAXLEN,), dtype="int32")
    embedded = TokenAndPositionEmbedding(MAXLEN, VOCAB, EMBED, mask_zero=True, name="embedding")(token_ids)
    attention_input = embedded
    if norm_before_attention:
        attention_input = keras.layers.LayerNormalization(epsilon=1e-6, name="norm_before")(embedded)
    attended = MultiHeadAttention(num_heads=HEADS, key_dim=EMBED // HEADS, name="own_mha")(
        attention_input, attention_input, attention_mask=padding_mask(token_ids))
    hidden = keras.layers.LayerNormalization(epsilon=1e-6)(embedded + attended)
    pooled = keras.layers.GlobalAveragePooling1D()(hidden)
    probabilities = keras.layers.Dense(2, activation="softmax")(keras.layers.Dropout(0.1)(pooled))
    model = keras.Model(token_ids, probabilities)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def head_weights_of(model: keras.Model, ids: np.ndarray) -> np.ndarray:
    """Attention weights (batch, heads, T, T) of the model's own_mha layer on token ids."""
    x_in = model.get_layer("embedding")(ids)
    if any(layer.name == "norm_before" for layer in model.layers):
        x_in = model.get_layer("norm_before")(x_in)
    _, weights = model.get_layer("own_mha")(x_in, x_in, attention_mask=padding_mask(ids), return_attention_scores=True)
    return ops.convert_to_numpy(weights)


def normalised_entropy(weights: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Mean over reviews and real query rows of entropy / log(n_real), per head."""
    per_review = []
    for w, row_ids in zip(weights, ids):
        n = int((row_ids != 0).sum())
        p = w[:, :n, :n]
        per_review.append((-(p * np.log(p + 1e-12)).sum(axis=-1) / np.log(n)).mean(axis=-1))
    return np.mean(per_review, axis=0)


majority = max(reviews.y_test.mean(), 1 - reviews.y_test.mean())
probe = x_test[(x_test != 0).sum(axis=-1) >= 5][:300]  # test reviews of at least 5 tokens
small_models, small_rows = {}, []
for name, norm_before in [("A: attention on the embeddings", False), ("B: LayerNorm before attention", True)]:
    keras.utils.set_random_seed(42)
    model = build_small_classifier(norm_before)
    model.fit(x_train, reviews.y_train, validation_data=(x_val, reviews.y_val), epochs=3, batch_size=64,
              verbose=0, callbacks=[EpochLog(name[:1])])
    entropy = normalised_entropy(head_weights_of(model, probe), probe)
    small_models[name] = model
    small_rows.append(dict(model=name, test_accuracy=model.evaluate(x_test, reviews.y_test, verbose=0)[1],
                           **{f"entropy head {h}": e for h, e in enumerate(entropy)}, mean_entropy=entropy.mean()))
small_table = pd.DataFrame(small_rows).set_index("model")
display(small_table.round(4))
print(f"majority class: {majority:.1%}")
assert (small_table.test_accuracy > majority + 0.05).all(), "both should clearly beat the majority class"
assert small_table.mean_entropy.iloc[1] < small_table.mean_entropy.iloc[0], "B's heads should be less uniform"
course_utils.record("small_classifier_test_accuracy", small_table.test_accuracy.to_dict())
course_utils.record("small_classifier_head_entropy", small_table.mean_entropy.to_dict());

# %% [markdown]
# Now each head of model B on a real test review (a correctly classified one). Because the
# weights stay close to uniform, the colour shows each weight **relative to uniform**
# (weight × number of tokens): 1 = exactly uniform, red = more attention than uniform.

# %%
from matplotlib.colors import TwoSlopeNorm

model_b = small_models["B: LayerNorm before attention"]
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
fig, axes = plt.subplots(1, HEADS, figsize=(4.2 * HEADS, 5), layout="constrained")
for h, ax in enumerate(axes):
    image = ax.imshow(relative[h], cmap="RdBu_r", norm=TwoSlopeNorm(vcenter=1.0, vmin=1 - spread, vmax=1 + spread))
    ax.set_xticks(range(n_tokens), words, rotation=70, ha="right", fontsize=8)
    ax.set_yticks(range(n_tokens), words, fontsize=8)
    ax.set(title=f"head {h}", xlabel="key (attended-to word)")
axes[0].set_ylabel("query (attending word)")
fig.colorbar(image, ax=axes, shrink=0.7, label="weight × tokens (1 = uniform; colours clipped)")
fig.suptitle("Each head of trained model B on a real test review")
plt.show()

received = head_weights.mean(axis=1) * n_tokens  # (heads, keys): attention each word receives, relative to uniform
for h in range(HEADS):
    top = np.argsort(received[h])[::-1][:3]
    print(f"head {h}: most attended on average " + ", ".join(f"'{words[i]}' ({received[h, i]:.2f}x uniform)" for i in top))
print(f"largest single weight in these maps: {relative.max():.2f}x uniform; smallest: {relative.min():.2f}x")
course_utils.record("example_review_max_weight_relative_to_uniform", relative.max());

# %% [markdown]
# What the numbers say (table above): both variants classify about equally well, but model
# A's heads are practically uniform (normalised entropy ≈ 1): its attention computes a plain
# average of the words, a *bag of words*, and the classifier does well with that. Model B's
# heads do move away from uniform, each in its own way (compare the four maps: the diagonal,
# single words that draw a row's attention), yet they remain close to uniform: on snippets of
# about 20 words, a bag of words is already a strong classifier (notebook 04 compares the
# Transformer with TF-IDF, an LSTM and a model without attention). So read a heat map as
# "what this layer mixed", not as "what the model needs": notebook 08 measures the limits of
# attention maps.

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
#   `keras.layers.LSTM(64)`, both compiled with `tf.function`;
# * **memory**: the peak memory of the same computations written in NumPy, measured with
#   `tracemalloc` (which sees every NumPy allocation): the attention weights against the
#   LSTM's hidden states.

# %%
lengths_T = [128, 256, 512, 1024, 2048, 4096]
WIDTH, BATCH = 64, 1
lstm = keras.layers.LSTM(WIDTH)
attention_fn = tf.function(lambda z: reference_attention(z, z, z)[0], reduce_retracing=True)
lstm_fn = tf.function(lambda z: lstm(z), reduce_retracing=True)


def best_times(functions: dict, inputs: dict, passes: int = 4, repeats: int = 3) -> dict:
    """Best wall time of each function on each input: {(name, T): seconds}.

    Every function is traced and warmed up on every input first; then `passes` rounds go
    through all the inputs, `repeats` runs each, and the fastest run counts (the one least
    disturbed by other programs; timeit's advice).
    """
    for fn in functions.values():
        for z in inputs.values():
            fn(z).numpy()  # trace and warm up for this length
    best = {(name, T): np.inf for name in functions for T in inputs}
    for _ in range(passes):
        for T, z in inputs.items():
            for name, fn in functions.items():
                for _ in range(repeats):
                    start = time.perf_counter()
                    fn(z).numpy()
                    best[name, T] = min(best[name, T], time.perf_counter() - start)
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
    rows.append(dict(T=T, attention_ms=1000 * seconds["attention", T], lstm_ms=1000 * seconds["lstm", T],
                     attention_mib=peak_bytes(numpy_attention, z) / 2**20,
                     lstm_mib=peak_bytes(numpy_lstm, z, kernel, recurrent, bias) / 2**20))
cost = pd.DataFrame(rows)
display(cost.round(2))


def slope(column: str) -> float:
    """Growth exponent over the three longest lengths (log-log fit): 1 = linear, 2 = quadratic."""
    top = cost.tail(3)
    return float(np.polyfit(np.log(top["T"]), np.log(top[column]), 1)[0])


slopes = {column: slope(column) for column in ["attention_ms", "lstm_ms", "attention_mib", "lstm_mib"]}
print("growth exponents (3 longest lengths):", {k: round(v, 2) for k, v in slopes.items()})

fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
axes[0].plot(cost["T"], cost.attention_ms, "o-", label=f"self-attention (exponent {slopes['attention_ms']:.2f})")
axes[0].plot(cost["T"], cost.lstm_ms, "s-", label=f"LSTM(64) (exponent {slopes['lstm_ms']:.2f})")
axes[0].set(ylabel="forward time (ms), best of 12", title=f"Time, batch {BATCH}, width {WIDTH}, this CPU")
axes[1].plot(cost["T"], cost.attention_mib, "o-", label=f"attention weights (exponent {slopes['attention_mib']:.2f})")
axes[1].plot(cost["T"], cost.lstm_mib, "s-", label=f"LSTM hidden states (exponent {slopes['lstm_mib']:.2f})")
axes[1].set(ylabel="peak memory (MiB, tracemalloc)", title="Memory of the forward pass (NumPy twins)")
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

faster = cost[cost.attention_ms < cost.lstm_ms]["T"].tolist()
print(f"attention's forward pass is faster than the LSTM's at T = {faster} on this CPU")
assert 1.8 <= slopes["attention_mib"] <= 2.2 and 0.8 <= slopes["lstm_mib"] <= 1.2  # quadratic vs linear memory
assert slopes["attention_ms"] > slopes["lstm_ms"], "attention time should grow faster than the LSTM's"
assert 0.6 <= slopes["lstm_ms"] <= 1.4 and slopes["attention_ms"] >= 1.4, slopes  # about linear vs close to quadratic
assert len(faster) >= len(lengths_T) / 2, "the prose below says attention's forward pass is faster over most of the range"
course_utils.record("attention_cost", cost.round(3).to_dict(orient="list"))
course_utils.record("attention_cost_exponents", {k: round(v, 3) for k, v in slopes.items()})
course_utils.record("attention_faster_than_lstm_at_T", faster);

# %% [markdown]
# What the numbers say. **Memory**: the attention weights grow exactly like `T²` (doubling the
# length quadruples them), the LSTM's hidden states like `T`. **Time**: the LSTM's exponent is
# about 1; attention's is below 2 at short lengths, where fixed costs dominate, and near 2 at
# the longest lengths, where the `T × T` products dominate (a little above 2 when the `T × T`
# matrix no longer fits in the CPU's caches and memory traffic adds up). Yet on this CPU attention's
# forward pass was faster than the LSTM's over most or all of the range (the list above says
# where in your run): it is a few large matrix products that use every core, while the LSTM
# runs `T` small steps one after the other, which no number of cores can shorten. (Notebook
# 01's full *training* steps, batch 8, with projections and a feed-forward layer, crossed over
# at a shorter length: the backward pass also goes through the `T × T` weights, and a batch
# of 8 gives each of the LSTM's small steps more work.) A GPU widens
# that gap further (large matrix products are what it is built for). The quadratic growth
# still wins in the end: at thousands of tokens the `T × T` matrices dominate memory, which is
# why long-context models use sparse, sliding-window or memory-efficient ("flash") attention.
# At the lengths of our reviews (tens of tokens) attention is cheap.

# %% [markdown]
# ## Summary
#
# Printed from the values recorded above (`build/results/03_multi_head_attention.json`):

# %%
results = course_utils.results.load_all_results()["03_multi_head_attention"]
exponents = results["attention_cost_exponents"]
small = "; ".join(f"{name}: {results['small_classifier_test_accuracy'][name]:.1%} / {entropy:.3f}"
                  for name, entropy in results["small_classifier_head_entropy"].items())
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
* One-layer classifiers on our own MHA, test accuracy / mean normalised head entropy (1 = uniform):
  {small}.
* Cost growth exponents (3 longest lengths, up to T = {max(results['attention_cost']['T'])}): attention time {exponents['attention_ms']:.2f},
  LSTM time {exponents['lstm_ms']:.2f}; attention memory {exponents['attention_mib']:.2f}, LSTM memory {exponents['lstm_mib']:.2f};
  attention's forward pass was faster than the LSTM's at T = {results['attention_faster_than_lstm_at_T']}.""")
