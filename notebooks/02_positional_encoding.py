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
# # 02 · Positional encoding
#
# Lesson 01 showed why attention is attractive: every position reaches every other in one
# step, and all positions are computed at once. The price: attention itself does not know
# *where* a token is. The seed puts it this way: positional encoding "maps the relative or
# absolute position of tokens in a sequence, allowing the model to understand word order,
# which is crucial since attention mechanisms process inputs in parallel".
#
# | section | question | measured |
# |---|---|---|
# | 1 | does attention see word order? | permute a real review: the outputs just permute (to 1e-5) |
# | 2 | the paper's sinusoidal encoding | exercise `positional_encoding`; heatmap; similarity depends on the offset only; why many frequencies |
# | 3 | the learned alternative, `TokenAndPositionEmbedding` | `maxlen` on real reviews; a clear error past it; padding masks; does order help on reviews? |
# | 4 | keeping them | `.keras` save/load round trip with identical outputs, for both layers |

# %%
import inspect
import tempfile
import time
from functools import partial
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Code, display
from keras import layers

import course_utils
from course_utils import stats
from course_utils.checks import check_positional_encoding
from course_utils.data import load_reviews
from course_utils.layers import (
    SequenceTooLongError,
    SinusoidalPositionEncoding,
    TokenAndPositionEmbedding,
    sinusoidal_position_encoding,
)
from course_utils.training import batches, predict_in_batches, remember_start

course_utils.start("02_positional_encoding")
notebook_start = time.perf_counter()

# %% [markdown]
# ## 1. Self-attention without positions ignores word order
#
# We need real sentences, so we take the Rotten Tomatoes critic snippets (a few short reviews
# are all this notebook needs, so it uses them in every profile) and turn words into integer
# ids with `TextVectorization` (id 0 is padding, 1 is "unknown word").

# %%
reviews = load_reviews(profile="default")
print(reviews.info)
VOCAB, MAXLEN, EMBED = 10_000, 40, 32
vectorize = layers.TextVectorization(max_tokens=VOCAB, output_sequence_length=MAXLEN)
vectorize.adapt(reviews.x_train)
words = np.array(vectorize.get_vocabulary())

# One real review of 8 to 14 words, kept at its own length (no padding).
review = next(text for text in reviews.x_test if 8 <= len(text.split()) <= 14)
ids = vectorize([review]).numpy()
ids = ids[:, : int((ids != 0).sum())]
print(f"review: {review!r}\nids:    {ids[0].tolist()}")

# %% [markdown]
# A self-attention layer computes, for each position, a weighted average of all positions'
# values, with weights from query-key dot products. Nothing in that computation refers to
# the index of a position. So if we **shuffle the words**, every output should be the same
# vector as before, just at the shuffled place: attention is *permutation-equivariant*.
# We check it with an embedding and `keras.layers.MultiHeadAttention` (random weights; no
# training is needed for this property):

# %%
embedding = layers.Embedding(VOCAB, EMBED)
attention = layers.MultiHeadAttention(num_heads=2, key_dim=EMBED // 2)
permutation = np.random.default_rng(0).permutation(ids.shape[1])
print("shuffled:", " ".join(words[ids[0, permutation]]))


def self_attention(vectors):
    return np.asarray(attention(vectors, vectors))


def equivariance_error(vectors_of) -> float:
    """max |A(shuffled words) - shuffled(A(words))|, relative to the largest output value.

    ``vectors_of(ids)`` turns word ids into the vectors attention sees. Positions, if any, are
    added by ``vectors_of`` for positions 0, 1, 2, ... whatever word sits there: shuffling
    moves the words, not the positions. (Relative, because freshly initialised Keras
    embeddings are small, |values| < 0.05, and so are the outputs.)
    """
    attended = self_attention(vectors_of(ids))
    shuffled_then_attended = self_attention(vectors_of(ids[:, permutation]))
    return float(np.abs(shuffled_then_attended - attended[:, permutation]).max() / np.abs(attended).max())


embedding.build()
learned_positions = TokenAndPositionEmbedding(MAXLEN, VOCAB, EMBED)
learned_positions.build(ids.shape)
learned_positions.token_emb.set_weights(embedding.get_weights())  # the same word vectors, plus learned positions
position_schemes = {
    "no positions": lambda id_array: np.asarray(embedding(id_array)),
    "+ sinusoidal positions": lambda id_array: np.asarray(embedding(id_array)) + sinusoidal_position_encoding(id_array.shape[1], EMBED),
    "+ learned positions (initial)": lambda id_array: np.asarray(learned_positions(id_array)),
}
errors = {name: equivariance_error(vectors_of) for name, vectors_of in position_schemes.items()}
for name, error in errors.items():
    print(f"{name:30s} max |A(Px) - P A(x)| / max |A(x)| = {error:.2e}")

# %%
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.bar(list(errors), list(errors.values()), color=["tab:gray", "tab:orange", "tab:purple"])
ax.set_yscale("log")
ax.axhline(1e-5, color="black", ls="--", lw=1, label="1e-5")
ax.set(title="Shuffle the words: do the outputs just move with them?", ylabel="max |A(Px) − P·A(x)| / max |A(x)|")
ax.legend(); plt.tight_layout(); plt.show()

# %% tags=["slide"]
course_utils.record("equivariance_error_no_positions", errors["no positions"])
course_utils.record("equivariance_error_sinusoidal", errors["+ sinusoidal positions"])
course_utils.record("equivariance_error_learned", errors["+ learned positions (initial)"])
assert errors["no positions"] < 1e-5  # permutation-equivariant up to float32 round-off
# with positions: far above round-off (at least 1e-4, and 100x the no-position error)
assert min(errors["+ sinusoidal positions"], errors["+ learned positions (initial)"]) > max(1e-4, 100 * errors["no positions"])

# %% [markdown]
# A consequence: a classifier that averages the attention outputs (as the seed's model does
# with `GlobalAveragePooling1D`) gives **exactly the same answer** for a review and the same
# words in reverse order, unless positions are added.

# %%
reversed_ids = ids[:, ::-1]
print("reversed:", " ".join(words[reversed_ids[0]]))


def pooled(id_array, vectors_of):
    return self_attention(vectors_of(id_array)).mean(axis=1)  # average over the words


def reversal_gap(vectors_of) -> float:
    """max |pooled(reversed review) - pooled(review)|, relative to the largest pooled value."""
    original = pooled(ids, vectors_of)
    return float(np.abs(pooled(reversed_ids, vectors_of) - original).max() / np.abs(original).max())


reverse_gap = {name: reversal_gap(vectors_of) for name, vectors_of in position_schemes.items()}
for name, gap in reverse_gap.items():
    print(f"{name:30s} max |pooled(reversed) - pooled(review)| / max |pooled(review)| = {gap:.1e}")
course_utils.record("reversed_review_pooled_difference", reverse_gap)
assert reverse_gap["no positions"] < 1e-5
assert min(reverse_gap["+ sinusoidal positions"], reverse_gap["+ learned positions (initial)"]) > max(1e-4, 100 * reverse_gap["no positions"])

# %% [markdown]
# With positions the symmetry is broken. With *initial* learned positions only slightly:
# fresh Keras embeddings are tiny (|values| < 0.05), so fresh attention is nearly uniform
# and its output barely depends on where anything is. Training makes the position vectors
# matter as much as the task needs (section 3 measures how much that is for reviews).

# %% [markdown]
# ## 2. The sinusoidal encoding of "Attention Is All You Need"
#
# The paper adds to each token's vector a fixed vector that depends only on its position
# `pos`, with sines in the even dimensions and cosines in the odd ones:
#
# $$PE_{(pos,\,2i)} = \sin\!\left(\frac{pos}{10000^{2i/d}}\right), \qquad
#   PE_{(pos,\,2i+1)} = \cos\!\left(\frac{pos}{10000^{2i/d}}\right)$$
#
# for $pos = 0, 1, \dots$ and $d$ the vector size (`depth`). Each pair of dimensions
# $(2i, 2i+1)$ is a point turning around a circle, like a clock hand, at its own speed:
# wavelengths from $2\pi$ positions (first pair) to about $2\pi \cdot 10000$ (last pair).
#
# ### Exercise: `positional_encoding(length, depth)`
# Return a NumPy array of shape (length, depth) following the formula exactly: positions
# start at 0, sin and cos are **interleaved** (column 0 sin, column 1 cos, column 2 sin, ...),
# and both columns of a pair use the same frequency $1/10000^{2i/d}$ where $2i$ is the even
# column. It must also work for an **odd** depth: the formula holds column by column, so
# the last column (even) is a sine whose cosine partner falls outside the array.

# %%
def positional_encoding(length, depth):
    """The sinusoidal position encoding, shape (length, depth)."""
    raise NotImplementedError  # your code here


# %%
check_positional_encoding(positional_encoding);

# %% [markdown]
# The rest of the notebook uses the course's implementation,
# `course_utils.layers.sinusoidal_position_encoding` (the checker compares yours with it).
# Here it is for 100 positions and 64 dimensions, and a few of its columns over position:

# %% tags=["slide"]
pe = sinusoidal_position_encoding(100, 64)
fig, (ax_map, ax_lines) = plt.subplots(1, 2, figsize=(12, 4))
image = ax_map.imshow(pe, aspect="auto", cmap="RdBu", vmin=-1, vmax=1)
ax_map.set(title="Sinusoidal encoding (100 positions × 64 dims)", xlabel="dimension (even: sin, odd: cos)", ylabel="position")
fig.colorbar(image, ax=ax_map, label="value")
for column in (0, 1, 10, 30):
    kind = "sin" if column % 2 == 0 else "cos"
    wavelength = 2 * np.pi * 10000 ** ((column - column % 2) / 64)
    ax_lines.plot(pe[:, column], ".-" if column < 2 else "-", label=f"dim {column} ({kind}, wavelength {wavelength:.1f} positions)")
ax_lines.set(title="Each pair of dimensions turns at its own speed", xlabel="position", ylabel="value", ylim=(-1.1, 2.0), yticks=[-1, -0.5, 0, 0.5, 1])  # room above for the legend
ax_lines.legend(fontsize=8, loc="upper right", ncol=2); plt.tight_layout(); plt.show()

# %% [markdown]
# ### Similarity depends on the offset, not on the absolute position
#
# The dot product of the encodings of positions $p$ and $p+k$ is
# $\sum_i \sin(\omega_i p)\sin(\omega_i (p+k)) + \cos(\omega_i p)\cos(\omega_i (p+k)) = \sum_i \cos(\omega_i k)$:
# it depends on the offset $k$ only. We check it from three different starting positions:

# %%
long_pe = sinusoidal_position_encoding(1024, 64).astype("float64")
offsets = np.arange(0, 400)
starts = [0, 100, 500]
similarity = {p: long_pe[p + offsets] @ long_pe[p] for p in starts}
offset_spread = max(np.abs(similarity[p] - similarity[0]).max() for p in starts)

fig, ax = plt.subplots(figsize=(7, 4))
for p, style in zip(starts, ["-", "--", ":"]):
    ax.plot(offsets, similarity[p], style, lw=2, label=f"from position p = {p}")
ax.set(title="Dot product PE(p) · PE(p + k), depth 64", xlabel="offset k (positions)", ylabel="dot product")
ax.legend(); plt.tight_layout(); plt.show()
print(f"largest difference between the three curves: {offset_spread:.1e}")

# %% [markdown]
# Even more useful for attention: moving by $k$ positions is the **same linear map** for every
# position. Each pair $(\sin \omega p, \cos \omega p)$ is rotated by the angle $\omega k$, so
# $PE(p+k) = PE(p)\, R_k$ with a block-diagonal rotation $R_k$ that does not depend on $p$.
# A layer can therefore learn to look "3 words back" with one fixed matrix. Checked for a few
# offsets over all positions:

# %%
def shift_matrix(k: int, depth: int) -> np.ndarray:
    """R_k: rotates each (sin, cos) pair by omega_i * k."""
    rotation = np.zeros((depth, depth))
    for i in range(0, depth, 2):
        angle = k / 10000 ** (i / depth)
        rotation[i : i + 2, i : i + 2] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    return rotation


shift_error = max(np.abs(long_pe[:-k] @ shift_matrix(k, 64) - long_pe[k:]).max() for k in (1, 3, 50))
print(f"max |PE(p) R_k - PE(p+k)| over p, k in (1, 3, 50): {shift_error:.1e}")
course_utils.record("similarity_offset_spread", offset_spread)
course_utils.record("shift_matrix_max_error", shift_error)
assert offset_spread < 1e-4 and shift_error < 1e-4  # float32 encodings, exact up to round-off

# %% [markdown]
# ### Why several frequencies?
#
# A single pair of dimensions cannot tell positions apart: a fast one (wavelength $2\pi$)
# keeps coming back close to where it was (after 44 positions, for example, since
# $44 \approx 7 \cdot 2\pi$); a slow one moves so little between neighbours that they look
# identical. Together, the pairs work
# like the hands of a clock: the fast ones resolve neighbours, the slow ones tell far
# positions apart. We measure, for 512 positions, the distance between the two *closest*
# distinct positions (encodings scaled to unit length):

# %%
def closest_pair(encoding: np.ndarray) -> tuple[float, int, int]:
    """Smallest distance between the encodings of two different positions, and the positions."""
    unit = encoding / np.linalg.norm(encoding, axis=1, keepdims=True)
    distances = np.linalg.norm(unit[:, None, :] - unit[None, :, :], axis=-1)
    np.fill_diagonal(distances, np.inf)
    i, j = np.unravel_index(np.argmin(distances), distances.shape)
    return float(distances[i, j]), int(min(i, j)), int(max(i, j))


pe512 = sinusoidal_position_encoding(512, 64).astype("float64")
variants = {"fastest pair only": pe512[:, :2], "slowest pair only": pe512[:, 62:], "all 32 pairs": pe512}
closest = {name: closest_pair(encoding) for name, encoding in variants.items()}
for name, (distance, i, j) in closest.items():
    print(f"{name:18s} closest positions {i:3d} and {j:3d}: distance {distance:.2e}")

fig, ax = plt.subplots(figsize=(7, 3.5))
ax.bar(["fastest pair only\n(dims 0-1)", "slowest pair only\n(dims 62-63)", "all 32 pairs\n(dims 0-63)"],
       [c[0] for c in closest.values()], color=["tab:red", "tab:blue", "tab:green"])
ax.set_yscale("log")
ax.set(title="How distinct are the 512 positions?", ylabel="closest two positions: distance\n(unit-length encodings, log)")
plt.tight_layout(); plt.show()
course_utils.record("closest_positions_distance", {name: c[0] for name, c in closest.items()})
assert closest["all 32 pairs"][0] > 10 * max(closest["fastest pair only"][0], closest["slowest pair only"][0])

# %% [markdown]
# ## 3. Learned positions: `TokenAndPositionEmbedding`
#
# The seed (following the Keras text-classification example) does not use sines at all: it
# **learns** one vector per position, exactly as it learns one vector per word, and adds them:
#
# ```python
# class TokenAndPositionEmbedding(layers.Layer):          # the seed, Keras 2 style
#     def __init__(self, maxlen, vocab_size, embed_dim):
#         super(TokenAndPositionEmbedding, self).__init__()
#         self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
#         self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)
#     def call(self, x):
#         maxlen = tf.shape(x)[-1]                             # the elided "positional encoding logic"
#         positions = tf.range(start=0, limit=maxlen, delta=1)
#         positions = self.pos_emb(positions)
#         x = self.token_emb(x)
#         return x + positions
# ```
#
# This is the pattern of every custom Keras layer: `__init__` creates the sublayers (here two
# `Embedding` tables, whose weights are made when the layer first sees an input), and `call`
# defines the **forward pass**, what the layer computes from its input each time the model
# runs: look up the token vectors, look up the vectors of positions `0 .. length-1`, add.
#
# The course's version (`course_utils.layers`) keeps that logic and adds what a Keras 3 layer
# needs: it passes `**kwargs` (name, dtype) to the base class, computes with `keras.ops`,
# has `get_config` and is registered serializable (so a saved model can be loaded), emits a
# **padding mask** when asked (`mask_zero=True`), and refuses sequences longer than `maxlen`
# with a clear error:

# %%
display(Code(inspect.getsource(TokenAndPositionEmbedding), language="python"))

# %% [markdown]
# ### What `maxlen` is
#
# `maxlen` is the sequence length **after padding**: every batch is padded (with id 0) or
# truncated to it, and the layer learns exactly `maxlen` position vectors. Choosing it is a
# trade-off on the real data: too short cuts reviews, too long wastes computation on padding
# (attention's cost grows with the square of the length). The Rotten Tomatoes snippets:

# %%
count_tokens = layers.TextVectorization(vocabulary=vectorize.get_vocabulary())  # same words, no padding or truncation
word_counts = (count_tokens(reviews.x_train).numpy() != 0).sum(axis=1)
truncated = float((word_counts > MAXLEN).mean())
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.hist(word_counts, bins=np.arange(0, word_counts.max() + 2), color="tab:gray")
ax.axvline(MAXLEN, color="tab:red", label=f"maxlen = {MAXLEN}")
ax.set(title=f"Review lengths (training set, {len(word_counts):,} reviews)", xlabel="tokens per review (words)", ylabel="reviews")
ax.legend(); plt.tight_layout(); plt.show()
print(f"median {np.median(word_counts):.0f} tokens, longest {word_counts.max()}; {truncated:.2%} of the reviews are longer than maxlen = {MAXLEN} and get truncated")
course_utils.record("reviews_truncated_at_maxlen_fraction", truncated);

# %% [markdown]
# ### A sequence longer than `maxlen`
#
# There is no learned vector for position `maxlen` or beyond. A plain `Embedding` lookup past
# its table raises an obscure error on a CPU and, on a GPU, silently returns zeros (TensorFlow
# documents this for `tf.gather`): the model would run and give wrong answers. The course's
# layer checks the length first:

# %%
too_long = np.ones((1, MAXLEN + 5), dtype="int32")
try:
    layers.Embedding(MAXLEN, EMBED)(np.arange(MAXLEN + 5)[None])  # what a bare position lookup does
except Exception as error:  # noqa: BLE001 - we want to show the message
    detail = str(error)[str(error).find("indices"):].split("[Op")[0]  # the useful part of TensorFlow's message
    print("plain Embedding:", type(error).__name__, detail)
try:
    TokenAndPositionEmbedding(MAXLEN, VOCAB, EMBED)(too_long)
    raise AssertionError("a sequence longer than maxlen must be refused")
except SequenceTooLongError as error:
    print("TokenAndPositionEmbedding:", error)

# %% [markdown]
# The sinusoidal encoding has no such limit (it is a formula), which the paper mentions as a
# possible advantage; whether a model trained on short sequences then *works* on longer ones
# is another question.
#
# ### Padding and masks
#
# `TextVectorization(output_sequence_length=...)` pads with id-0 tokens **at the end** (and
# cuts long texts at the end); `keras.utils.pad_sequences` pads at the start by default (the
# next subsection measures what that changes). Without a mask, attention attends to the
# padding and the average pooling counts it, so the same review gives a different answer depending on how
# much padding the batch has. With `mask_zero=True` the layer emits a mask (`ids != 0`) that
# `MultiHeadAttention` and `GlobalAveragePooling1D` use to ignore the padding. One trap:
# a skip connection written `x + attended` is a plain operation that **drops the mask**;
# `layers.Add()([x, attended])` is a layer that passes it on.

# %%
def small_classifier(position: str, mask_zero: bool = True, length: int | None = MAXLEN) -> keras.Model:
    """Embedding with positions, one self-attention layer with a skip connection, pooling, sigmoid."""
    inputs = keras.Input((length,), dtype="int32")
    if position == "learned":
        x = TokenAndPositionEmbedding(MAXLEN, VOCAB, EMBED, mask_zero=mask_zero)(inputs)
    else:
        x = layers.Embedding(VOCAB, EMBED, mask_zero=mask_zero)(inputs)
        if position == "sinusoidal":
            x = SinusoidalPositionEncoding()(x)
    attended = layers.MultiHeadAttention(num_heads=2, key_dim=EMBED // 2)(x, x)
    x = layers.LayerNormalization()(layers.Add()([x, attended]))  # Add keeps the mask, `x + attended` would not
    x = layers.Dropout(0.2)(layers.GlobalAveragePooling1D()(x))
    return keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x), name=f"{position}_positions")


padded_short = vectorize([review]).numpy()[:, :16]  # the review padded to 16
padded_long = vectorize([review]).numpy()  # ... and to 40
padding_effect = {}
for mask_zero in (True, False):
    model = small_classifier("learned", mask_zero=mask_zero, length=None)
    padding_effect[mask_zero] = float(np.abs(np.asarray(model(padded_short)) - np.asarray(model(padded_long))).max())
    print(f"mask_zero={mask_zero!s:5}: |p(padded to 16) - p(padded to 40)| = {padding_effect[mask_zero]:.2e}")
print("mask:", np.asarray(TokenAndPositionEmbedding(MAXLEN, VOCAB, EMBED, mask_zero=True).compute_mask(padded_short)).astype(int)[0])
course_utils.record("padding_effect_with_mask", padding_effect[True])
course_utils.record("padding_effect_without_mask", padding_effect[False])
assert padding_effect[True] < 1e-6 < padding_effect[False]

# %% [markdown]
# ### Does word order help on movie reviews?
#
# The seed calls word order "crucial". For *this* task we can measure it: the same small
# classifier with no positions, learned positions and sinusoidal positions, trained for the
# same number of epochs on the same training reviews, tested on other reviews (the counts
# are printed above and below).
#
# The three classifiers of a seed train **side by side**, as one Keras model with three
# outputs: Keras adds up the three losses, and since the classifiers share no weight, each
# one's gradient, and so its Adam update, is exactly that of its own loss, as if it were
# trained alone, on the same batches in the same order. It is the same experiment at less
# cost: one training step per batch instead of three, traced once for all seeds
# (`course_utils.training.remember_start` gives each seed its own start: each classifier's initial
# weights as if built alone under the seed, so all three start from the same word vectors, Adam at
# step 0, and the seed's dropout masks and batch order).
#
# `fit` gets its batches from `course_utils.training.batches`: the arrays as a `tf.data`
# pipeline, shuffled anew every epoch in an order set by the seed, without tf.data's
# autotuning. Given the arrays themselves, Keras builds such a pipeline with autotuning on, and
# on a 2-core CPU its background thread made some epochs start 1.6-2.5 s late (measured in
# notebook 04); slicing arrays in memory has nothing to tune.

# %%
x_train, x_val, x_test = (vectorize(texts).numpy() for texts in (reviews.x_train, reviews.x_val, reviews.x_test))
epochs = course_utils.pick(default=3, full=6)
seeds = course_utils.pick(default=[7, 8, 9], full=[7, 8, 9, 10, 11])
positions = ("none", "learned", "sinusoidal")

classifiers = {position: small_classifier(position) for position in positions}
ids_in = keras.Input((MAXLEN,), dtype="int32")
side_by_side = keras.Model(ids_in, {position: model(ids_in) for position, model in classifiers.items()})
side_by_side.compile(optimizer="adam", loss={position: "binary_crossentropy" for position in positions},
                     metrics={position: ["accuracy"] for position in positions},
                     steps_per_execution=32)  # 32 training steps per call into TensorFlow: the same steps, less overhead
# each classifier built under the seed on its own: the three start from the same word vectors
restart = remember_start(side_by_side, build={model: partial(small_classifier, position) for position, model in classifiers.items()})
correct, first_seed_weights = {position: [] for position in positions}, None
for seed in seeds:
    restart(seed)  # this seed's initial weights, Adam at step 0, this seed's dropout masks and batch order
    train_batches = batches(x_train, dict.fromkeys(positions, reviews.y_train), 64, shuffle_seed=seed)  # reshuffled every epoch
    val_batches = batches(x_val, dict.fromkeys(positions, reviews.y_val), len(x_val))  # one batch
    history = side_by_side.fit(train_batches, validation_data=val_batches, epochs=epochs, verbose=0)
    for position, model in classifiers.items():
        probability = predict_in_batches(model, x_test)[:, 0]
        correct[position].append((probability > 0.5) == reviews.y_test)  # per test review
        val = ", ".join(f"{a:.3f}" for a in history.history[f"val_{position}_accuracy"])
        print(f"seed {seed}, {position:10s} validation accuracy per epoch: {val}; test accuracy {correct[position][-1].mean():.3f}")
    if seed == seeds[0]:
        first_seed_weights = {position: model.get_weights() for position, model in classifiers.items()}
for position, weights in first_seed_weights.items():  # the first seed's trained models are studied below
    classifiers[position].set_weights(weights)
print(f"({epochs} epochs on {len(x_train):,} training reviews, tested on {len(x_test):,})")

# %%
majority = max(reviews.y_test.mean(), 1 - reviews.y_test.mean())
accuracy = {position: np.array([c.mean() for c in runs]) for position, runs in correct.items()}
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.bar(list(accuracy), [100 * a.mean() for a in accuracy.values()], yerr=[100 * a.std(ddof=1) for a in accuracy.values()],
       color=["tab:gray", "tab:purple", "tab:orange"], alpha=0.7, label=f"mean ± sd over {len(seeds)} seeds")
for k, a in enumerate(accuracy.values()):
    ax.plot([k] * len(a), 100 * a, "k.", label="one seed" if k == 0 else None)
ax.axhline(100 * majority, color="black", ls="--", lw=1, label=f"majority class ({majority:.1%})")
ax.set(title="Same classifier, three position schemes", xlabel="positions", ylabel="test accuracy (%)", ylim=(50, 85))
ax.legend(loc="lower right", fontsize=8); plt.tight_layout(); plt.show()

# %% [markdown]
# The three models of a seed are scored on the same test reviews and get many of the same
# reviews wrong, so the noise of their *difference* is much smaller than that of two
# independent accuracies. A paired test looks only at the reviews where exactly one of the
# two is right: the **McNemar test** ([McNemar, 1947](https://doi.org/10.1007/BF02295996);
# `course_utils.stats`, also used in notebook 04). Training noise is measured by the seeds.

# %%
order_gains = {}
for position in ("learned", "sinusoidal"):
    tests = [stats.mcnemar(with_positions, without) for with_positions, without in zip(correct[position], correct["none"])]
    gains = [t["gap"] for t in tests]
    order_gains[position] = dict(mean=float(np.mean(gains)), sd=float(np.std(gains, ddof=1)), per_seed=gains,
                                 mcnemar_p=[t["p_value"] for t in tests])
    print(f"{position} minus no positions: {100 * np.mean(gains):+.1f} ± {100 * np.std(gains, ddof=1):.1f} points "
          f"(mean ± sd over {len(seeds)} seeds; per seed " + ", ".join(f"{100 * g:+.1f}" for g in gains)
          + "; McNemar p " + ", ".join(f"{t['p_value']:.2f}" for t in tests) + ")")
course_utils.record("review_test_accuracy", {position: float(a.mean()) for position, a in accuracy.items()})
course_utils.record("review_test_accuracy_sd_over_seeds", {position: float(a.std(ddof=1)) for position, a in accuracy.items()})
course_utils.record("review_order_gain", order_gains)
course_utils.record("review_seeds", seeds)
assert all(a.min() > majority + 0.05 for a in accuracy.values())  # all learn the task, in every seed

# %% [markdown]
# Compare each gain from positions with its spread over the seeds, and look at the McNemar
# p-values (printed above): a gain smaller than its seed-to-seed spread, or significant in
# one seed and not in the others, is not a reliable effect of positions. For the
# sentiment of 20-word snippets, *which* words occur carries most of the signal, so a bag of
# words (or attention without positions) already does most of the work. Order is crucial
# for tasks such as translation, question answering, or telling "not good, just great" from
# "not great, just good"; it is not equally important for every task, and measuring is the
# way to know.
#
# What did the learned position vectors learn in that training? Cosine similarity between
# every pair of positions, learned (after training) beside sinusoidal:

# %%
learned_layer = next(layer for layer in classifiers["learned"].layers if isinstance(layer, TokenAndPositionEmbedding))
learned_table = learned_layer.pos_emb.embeddings.numpy()


def cosine_similarity_matrix(table: np.ndarray) -> np.ndarray:
    unit = table / np.linalg.norm(table, axis=1, keepdims=True)
    return unit @ unit.T


offset = np.abs(np.arange(MAXLEN)[:, None] - np.arange(MAXLEN)[None, :])
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
neighbour_similarity = {}
for ax, (name, label, table) in zip(axes, [("learned", f"learned (trained {epochs} epochs)", learned_table),
                                           ("sinusoidal", "sinusoidal", sinusoidal_position_encoding(MAXLEN, EMBED))]):
    sims = cosine_similarity_matrix(table)
    neighbour_similarity[name] = {"offset 1": float(sims[offset == 1].mean()), "offset >= 10": float(sims[offset >= 10].mean())}
    image = ax.imshow(sims, cmap="RdBu", vmin=-1, vmax=1)
    ax.set(title=f"{label} position vectors", xlabel="position", ylabel="position")
    fig.colorbar(image, ax=ax, label="cosine similarity")
plt.tight_layout(); plt.show()
for name, values in neighbour_similarity.items():
    print(f"{name:28s} mean cosine similarity: neighbours {values['offset 1']:.3f}, 10+ apart {values['offset >= 10']:.3f}")
course_utils.record("position_similarity", neighbour_similarity);
# The text below: after this short training the learned vectors have little of the sinusoids' smooth structure.
assert neighbour_similarity["learned"]["offset 1"] < 0.5 < neighbour_similarity["sinusoidal"]["offset 1"]

# %% [markdown]
# The sinusoidal vectors have their smooth structure by construction. The learned ones start
# random, and after a few epochs on short reviews they have picked up little or none (compare the
# neighbour and far similarities printed above): on a task where order barely matters, there
# is little pressure to learn it. Trained on more data and on tasks that need order, learned
# position vectors do become smooth; BERT and the Vision Transformer (lesson 06) use learned
# positions.
#
# ### Padding at the start or at the end?
#
# `TextVectorization` pads at the end, so a review's first word always sits at position 0.
# `keras.utils.pad_sequences`, which the seed's keras.io example uses to prepare its reviews
# ([docs](https://www.tensorflow.org/api_docs/python/tf/keras/utils/pad_sequences)), defaults to
# `padding="pre"` and `truncating="pre"`: it pads **and cuts at the start**, so the same
# review's words sit at positions that depend on its length, and a long review loses its
# beginning, not its end. Without positions that makes no difference (attention plus
# average pooling sees the same set of vectors). With positions every real word gets
# another position vector, and a mask cannot undo it: the mask hides the padding, it does
# not move the words. Measured on the same review, padded both ways:

# %%
real_ids = [row[row != 0].tolist() for row in x_test]  # the test reviews without padding
post_padded = keras.utils.pad_sequences(real_ids, maxlen=MAXLEN, padding="post", truncating="post")
pre_padded = keras.utils.pad_sequences(real_ids, maxlen=MAXLEN)  # the defaults: padding="pre", truncating="pre"
assert (post_padded == x_test).all(), "TextVectorization pads (and truncates) at the end"
assert (pre_padded[:, -1] != 0).all(), "pad_sequences's defaults pad at the start: every review ends at the last position"
n_words = ids.shape[1]
review_post = keras.utils.pad_sequences([ids[0].tolist()], maxlen=MAXLEN, padding="post")
review_pre = keras.utils.pad_sequences([ids[0].tolist()], maxlen=MAXLEN)
print("post-padded:", review_post[0].tolist())
print("pre-padded: ", review_pre[0].tolist())

# The same review through TokenAndPositionEmbedding (fresh) and a fresh classifier, with and without a mask.
direction_effect = {}
for mask_zero in (True, False):
    keras.utils.set_random_seed(11)
    embedder = TokenAndPositionEmbedding(MAXLEN, VOCAB, EMBED, mask_zero=mask_zero)
    words_post = np.asarray(embedder(review_post))[0, :n_words]  # the real words, at positions 0 .. n-1
    words_pre = np.asarray(embedder(review_pre))[0, -n_words:]  # the same words, at positions MAXLEN-n .. MAXLEN-1
    model = small_classifier("learned", mask_zero=mask_zero)
    vector_change = float(np.abs(words_post - words_pre).max() / np.abs(words_post).max())
    output_change = float(np.abs(np.asarray(model(review_post)) - np.asarray(model(review_pre))).max())
    direction_effect[f"mask_zero={mask_zero}"] = {"word vectors (relative)": vector_change, "classifier output": output_change}
    print(f"mask_zero={mask_zero!s:5}: the real words' vectors differ by up to {vector_change:.0%} (relative), "
          f"a fresh classifier's output by {output_change:.1e}")
mask_post, mask_pre = (np.asarray(TokenAndPositionEmbedding(MAXLEN, VOCAB, EMBED, mask_zero=True).compute_mask(r))[0] for r in (review_post, review_pre))
assert mask_post[:n_words].all() and mask_pre[-n_words:].all() and mask_post.sum() == mask_pre.sum() == n_words  # the mask follows the padding

# %% [markdown]
# And the trained classifiers of the previous subsection (trained on end-padded reviews),
# fed the test reviews padded at the start:

# %%
padding_direction = {}
for position, model in classifiers.items():
    p_post, p_pre = (predict_in_batches(model, x)[:, 0] for x in (post_padded, pre_padded))
    padding_direction[position] = {
        "max |p_post - p_pre|": float(np.abs(p_post - p_pre).max()),
        "accuracy post-padded": float(((p_post > 0.5) == reviews.y_test).mean()),
        "accuracy pre-padded": float(((p_pre > 0.5) == reviews.y_test).mean()),
    }
    print(f"{position:10s}: max |p(post) - p(pre)| = {padding_direction[position]['max |p_post - p_pre|']:.1e}; test accuracy "
          f"{padding_direction[position]['accuracy post-padded']:.3f} end-padded vs {padding_direction[position]['accuracy pre-padded']:.3f} start-padded")
course_utils.record("padding_direction_fresh", direction_effect)
course_utils.record("padding_direction_trained", padding_direction);

# %%
# Without positions the direction cannot matter; with positions it does, mask or not.
assert padding_direction["none"]["max |p_post - p_pre|"] < 1e-5
assert min(padding_direction["learned"]["max |p_post - p_pre|"], padding_direction["sinusoidal"]["max |p_post - p_pre|"]) > 1e-2
assert all(effect["word vectors (relative)"] > 0.1 and effect["classifier output"] > 1e-6 for effect in direction_effect.values())

# %% [markdown]
# The mask marks the right tokens either way, but with positions the real words move: a
# model must be fed its inputs padded the way it was trained. What a mismatch costs depends
# on the model (the accuracies above: single predictions can flip even where the accuracy
# barely moves). Neither direction is wrong in itself; mixing them is.
#
# ## 4. Keeping them: `.keras` save and load
#
# Because both layers implement `get_config` and are registered
# (`@keras.saving.register_keras_serializable(package="course")`), a trained model saves to
# one `.keras` file and loads back (with the default `safe_mode=True`: no code is stored in
# the file, the registered classes are looked up by name) with **identical** outputs:

# %%
round_trip = {}
with tempfile.TemporaryDirectory() as folder:
    for position in ("learned", "sinusoidal"):
        path = Path(folder) / f"{position}.keras"
        classifiers[position].save(path)
        loaded = keras.models.load_model(path)
        before = np.asarray(classifiers[position](x_test, training=False))
        after = np.asarray(loaded(x_test, training=False))
        round_trip[position] = float(np.abs(after - before).max())
        kinds = [type(layer).__name__ for layer in loaded.layers]
        print(f"{position:10s}: {path.stat().st_size / 1024:.0f} KiB, layers {kinds[:3]}..., max |after - before| = {round_trip[position]}")
course_utils.record("keras_round_trip_max_abs_diff", round_trip)
assert round_trip == {"learned": 0.0, "sinusoidal": 0.0}

# %% [markdown]
# ## Summary
#
# Printed from the values recorded above (`build/results/02_positional_encoding.json`):

# %%
results = course_utils.results.load_all_results()["02_positional_encoding"]
acc = results["review_test_accuracy"]
gaps = results["reversed_review_pooled_difference"]
print(f"""Measured in this run ({results['_meta']['profile']} profile, {time.perf_counter() - notebook_start:.0f} s after the first cell):
* Self-attention on a real review, words shuffled: max |A(Px) - P A(x)| / max |A(x)| = {results['equivariance_error_no_positions']:.1e} without positions
  (permutation-equivariant), {results['equivariance_error_sinusoidal']:.1e} with sinusoidal and {results['equivariance_error_learned']:.1e} with (initial) learned positions.
  Pooled output, review vs reversed review (relative): {gaps['no positions']:.1e} without positions, {gaps['+ sinusoidal positions']:.1e} (sinusoidal), {gaps['+ learned positions (initial)']:.1e} (learned).
* Sinusoidal encoding: PE(p)·PE(p+k) is the same from every p to {results['similarity_offset_spread']:.1e}; PE(p+k) = PE(p) R_k to {results['shift_matrix_max_error']:.1e}.
  Closest two of 512 positions (unit-length encodings): fastest pair alone {results['closest_positions_distance']['fastest pair only']:.1e},
  slowest pair alone {results['closest_positions_distance']['slowest pair only']:.1e}, all 32 pairs {results['closest_positions_distance']['all 32 pairs']:.2f}.
* maxlen = {MAXLEN} truncates {results['reviews_truncated_at_maxlen_fraction']:.2%} of the training reviews; a longer sequence raises SequenceTooLongError.
  With the padding mask the same review padded to 16 or 40 gives outputs {results['padding_effect_with_mask']:.1e} apart; without it {results['padding_effect_without_mask']:.1e}.
* Reviews, test accuracy (mean over {len(results['review_seeds'])} seeds): no positions {acc['none']:.3f}, learned {acc['learned']:.3f}, sinusoidal {acc['sinusoidal']:.3f}
  (minus none, mean ± sd over seeds: learned {100 * results['review_order_gain']['learned']['mean']:+.1f} ± {100 * results['review_order_gain']['learned']['sd']:.1f} points,
  sinusoidal {100 * results['review_order_gain']['sinusoidal']['mean']:+.1f} ± {100 * results['review_order_gain']['sinusoidal']['sd']:.1f}).
  Learned position vectors after training, mean cosine similarity of neighbours {results['position_similarity']['learned']['offset 1']:.3f}
  (sinusoidal {results['position_similarity']['sinusoidal']['offset 1']:.3f}).
* Padding at the start instead of the end (models trained end-padded), max |change of p|: no positions {results['padding_direction_trained']['none']['max |p_post - p_pre|']:.1e},
  learned {results['padding_direction_trained']['learned']['max |p_post - p_pre|']:.2f}, sinusoidal {results['padding_direction_trained']['sinusoidal']['max |p_post - p_pre|']:.2f};
  test accuracy end-padded vs start-padded: learned positions {results['padding_direction_trained']['learned']['accuracy post-padded']:.3f} vs {results['padding_direction_trained']['learned']['accuracy pre-padded']:.3f},
  sinusoidal {results['padding_direction_trained']['sinusoidal']['accuracy post-padded']:.3f} vs {results['padding_direction_trained']['sinusoidal']['accuracy pre-padded']:.3f}.
* .keras save/load round trip, max |after - before|: learned {results['keras_round_trip_max_abs_diff']['learned']}, sinusoidal {results['keras_round_trip_max_abs_diff']['sinusoidal']}.""")

# %% [markdown]
# ## References
#
# - Vaswani et al. (2017), *Attention Is All You Need*, section 3.5 (sinusoidal positions):
#   [arXiv:1706.03762](https://arxiv.org/abs/1706.03762).
# - Devlin et al. (2019), *BERT*, learned position embeddings: [arXiv:1810.04805](https://arxiv.org/abs/1810.04805);
#   Dosovitskiy et al. (2021), *An Image is Worth 16x16 Words* (ViT): [arXiv:2010.11929](https://arxiv.org/abs/2010.11929).
# - The seed's Keras example, *Text classification with Transformer* (`TokenAndPositionEmbedding`,
#   `pad_sequences`): [keras.io/examples/nlp/text_classification_with_transformer](https://keras.io/examples/nlp/text_classification_with_transformer/).
# - Keras: [`TextVectorization`](https://keras.io/api/layers/preprocessing_layers/text/text_vectorization/),
#   [`Embedding`](https://keras.io/api/layers/core_layers/embedding/),
#   [`MultiHeadAttention`](https://keras.io/api/layers/attention_layers/multi_head_attention/),
#   [`pad_sequences`](https://www.tensorflow.org/api_docs/python/tf/keras/utils/pad_sequences),
#   [masking and padding guide](https://keras.io/guides/understanding_masking_and_padding/),
#   [saving and serialization](https://keras.io/guides/serialization_and_saving/).
# - TensorFlow's [`tf.gather`](https://www.tensorflow.org/api_docs/python/tf/gather) (out-of-range indices: an error on CPU, zeros on GPU).
