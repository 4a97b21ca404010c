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
# # 04 · A Transformer text classifier
#
# The seed's model for text classification, built and trained on real movie reviews:
#
# ```
# token ids ─> TokenAndPositionEmbedding ─> TransformerBlock ─> GlobalAveragePooling1D
#           ─> Dropout ─> Dense ─> Dropout ─> Dense(2, softmax)
# ```
#
# 1. Text to padded token ids with `keras.layers.TextVectorization`, and what `maxlen` is.
# 2. The `TransformerBlock`: attention, feed-forward network, and the "weird connections"
#    (skip connections and LayerNormalization): what they do, measured.
# 3. **Exercise**: write the `TransformerBlock` class.
# 4. Training, and in the same run on the same split: a TF-IDF + logistic-regression
#    baseline, a bidirectional LSTM, and a model without attention. A table of accuracy,
#    parameters and seconds per epoch, and learning curves.
# 5. The trained model's attention on real test reviews; misclassified reviews and a short,
#    measured error analysis.
# 6. `.keras` save and load with identical predictions.
# 7. When a pretrained Transformer (BERT, Hugging Face) is the better choice.

# %%
import inspect
import re
import time

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Code, display
from keras import layers, ops
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import course_utils
from course_utils.checks import check_transformer_block
from course_utils.data import load_reviews
from course_utils.layers import TokenAndPositionEmbedding
from course_utils.layers import TransformerBlock as CourseTransformerBlock
from course_utils.text_models import build_lstm_classifier, build_text_classifier
from course_utils.training import EpochLog
from course_utils.paths import build_dir

course_utils.start("04_transformer_text_classifier")
notebook_start = time.perf_counter()

# %% [markdown]
# ## 1. The data, and text as padded token ids
#
# The course's movie reviews (default profile: 12,752 Rotten Tomatoes critic snippets,
# "fresh" = positive, "rotten" = negative; `COURSE_PROFILE=full`: IMDB's 50,000 reviews), in
# a fixed, seeded train / validation / test split. We choose epochs on the validation set
# and look at the test set once, at the end.

# %%
reviews = load_reviews()
print(reviews.info)
y_train, y_val, y_test = reviews.y_train, reviews.y_val, reviews.y_test
positive_fraction = reviews.info.extra.get("positive_fraction", float(np.mean(y_train)))
majority_accuracy = float(np.mean(y_test == int(np.mean(y_train) >= 0.5)))  # always predict the training majority
print(f"positive reviews: {positive_fraction:.1%} of the data; always answering the majority class "
      f"scores {majority_accuracy:.1%} on the test set")
for text, label in zip(reviews.x_train[:3], y_train[:3]):
    print(f"  [{reviews.class_names[label]}] {text}")
course_utils.record("positive_fraction", positive_fraction)
course_utils.record("majority_class_test_accuracy", majority_accuracy);

# %% [markdown]
# A network reads numbers, not words. `keras.layers.TextVectorization` lower-cases the text,
# strips punctuation, splits it into words, and maps each word to its index in a vocabulary
# learned from the training set (`adapt`): 0 is reserved for **padding**, 1 for words outside
# the vocabulary (`[UNK]`). With `output_sequence_length=maxlen` every review becomes exactly
# `maxlen` ids: shorter ones are padded with zeros at the end, longer ones are cut.
#
# **`maxlen` is the length after padding**: the fixed sequence length the model is built for
# (the seed's `TokenAndPositionEmbedding(maxlen, ...)` learns one position vector for each of
# the `maxlen` positions). Choose it from the data: long enough to keep (almost) every
# review whole, short enough not to waste computation on padding (attention costs grow like
# `maxlen²`, notebook 03).

# %%
VOCAB = 20000
MAXLEN = course_utils.pick(default=64, full=200)
EPOCHS = course_utils.pick(default=3, full=3)
BATCH = 64

counter = layers.TextVectorization(max_tokens=VOCAB)  # no fixed length: to count tokens
counter.adapt(reviews.x_train)
token_counts = (counter(reviews.x_train).numpy() != 0).sum(axis=1)
truncated = float(np.mean(token_counts > MAXLEN))
print(f"tokens per training review: median {np.median(token_counts):.0f}, 99th percentile "
      f"{np.percentile(token_counts, 99):.0f}, max {token_counts.max()}; maxlen = {MAXLEN} cuts {truncated:.2%} of them")

fig, ax = plt.subplots(figsize=(9, 3.5))
ax.hist(token_counts, bins=np.arange(0, token_counts.max() + 2), color="C0")
ax.axvline(MAXLEN, color="red", linestyle="--", label=f"maxlen = {MAXLEN}")
ax.set(xlabel="tokens per review", ylabel="training reviews", title="Review lengths and the chosen maxlen")
ax.legend()
fig.tight_layout()
plt.show()
assert truncated < course_utils.pick(default=0.01, full=0.5), "maxlen should keep (almost) every review whole"
course_utils.record("maxlen", MAXLEN)
course_utils.record("epochs", EPOCHS)
course_utils.record("fraction_truncated_at_maxlen", truncated)

vectorize = layers.TextVectorization(max_tokens=VOCAB, output_sequence_length=MAXLEN)
vectorize.adapt(reviews.x_train)
vocabulary = vectorize.get_vocabulary()
x_train, x_val, x_test = (vectorize(texts).numpy() for texts in (reviews.x_train, reviews.x_val, reviews.x_test))
print(f"vocabulary: {len(vocabulary):,} entries; x_train {x_train.shape} (reviews, maxlen)")
print("example:", reviews.x_test[0])
print("   ids:", x_test[0][:24], "...")
print("  back:", " ".join(vocabulary[i] for i in x_test[0] if i != 0))
assert x_train.shape[1] == MAXLEN and x_train.dtype.kind == "i"

# %% [markdown]
# ## 2. The model's parts
#
# **`TokenAndPositionEmbedding`** (notebook 02): a learned vector for each token id plus a
# learned vector for each position `0 .. maxlen-1`, added. Its Keras 3 version lives in
# `course_utils.layers`:

# %%
display(Code(inspect.getsource(TokenAndPositionEmbedding.call), language="python"))

# %% [markdown]
# **`TransformerBlock`**: self-attention (notebook 03) lets every token gather information
# from the others; a small feed-forward network (`Dense(ff_dim, relu)` then
# `Dense(embed_dim)`) then transforms each token on its own. Around each of the two there is
# one of the seed's "weird connections":
#
# ```
# out1 = LayerNorm1(x    + Dropout(Attention(x, x)))     # skip connection, then normalise
# out  = LayerNorm2(out1 + Dropout(FFN(out1)))           # skip connection, then normalise
# ```
#
# * **Skip (residual) connection** `x + f(x)`: the sublayer only has to learn a *change* to
#   its input, and the input (each token's own information) always has a direct path to the
#   output; gradients flow back along the same path. Without it, each block must rebuild
#   everything from its own output.
# * **LayerNormalization** rescales each token vector to mean 0, variance 1 (then a learned
#   scale and shift), so the numbers stay in the same range however many blocks are stacked.
#   Applied *after* the addition, as here, this is **post-LN**, the 2017 paper's and the
#   seed's layout. Most recent Transformers (GPT-2 onward, ViT) use **pre-LN**,
#   `x + f(LayerNorm(x))`, which leaves the skip path untouched from input to output.
#
# A measurement of what the skip connections do: stacks of 1 to 16 freshly initialised
# blocks on random token vectors (32 tokens of width 32, unit variance), in three layouts:
# the seed's post-LN block, the same block without its skip connections, and pre-LN. Two
# numbers at the output: the mean cosine similarity **between different tokens** (1 = all
# tokens have become the same vector: the sequence's content is lost) and the cosine
# similarity of each token **with its own input** (0 = the input is forgotten).

# %%
class BlockWithoutSkips(CourseTransformerBlock):
    """The seed's block with both skip connections removed (for this experiment only)."""

    def call(self, inputs, training=None, mask=None):
        out1 = self.layernorm1(self.dropout1(self.att(inputs, inputs), training=training))
        return self.layernorm2(self.dropout2(self.ffn(out1), training=training))


class PreLNBlock(CourseTransformerBlock):
    """Pre-LN: normalise, transform, add; the skip path is never normalised."""

    def call(self, inputs, training=None, mask=None):
        normed = self.layernorm1(inputs)
        h = inputs + self.dropout1(self.att(normed, normed), training=training)
        return h + self.dropout2(self.ffn(self.layernorm2(h)), training=training)


def unit_rows(a: np.ndarray) -> np.ndarray:
    return a / np.linalg.norm(a, axis=-1, keepdims=True)


tokens_in = np.random.default_rng(0).normal(size=(16, 32, 32)).astype("float32")
rows = []
for depth in [1, 2, 4, 8, 16]:
    for layout, cls in [("post-LN (seed)", CourseTransformerBlock), ("no skip connections", BlockWithoutSkips), ("pre-LN", PreLNBlock)]:
        keras.utils.set_random_seed(depth)
        h = tokens_in
        for _ in range(depth):
            h = cls(32, 2, 32)(h, training=False)
        out = unit_rows(ops.convert_to_numpy(h))
        similarity = np.einsum("btd,bsd->bts", out, out)
        between_tokens = (similarity.sum(axis=(1, 2)) - 32) / (32 * 31)  # mean off-diagonal cosine
        rows.append(dict(depth=depth, layout=layout, between_tokens=between_tokens.mean(),
                         with_own_input=(out * unit_rows(tokens_in)).sum(-1).mean()))
skips = pd.DataFrame(rows)
display(skips.pivot(index="depth", columns="layout", values=["between_tokens", "with_own_input"]).round(3))

fig, axes = plt.subplots(1, 2, figsize=(13, 4))
for layout, part in skips.groupby("layout", sort=False):
    axes[0].plot(part.depth, part.between_tokens, "o-", label=layout)
    axes[1].plot(part.depth, part.with_own_input, "o-", label=layout)
axes[0].set(ylabel="mean cosine between different tokens", title="Do tokens stay distinguishable? (1 = all identical)")
axes[1].set(ylabel="mean cosine of a token with its input", title="Does the input survive? (0 = forgotten)")
for ax in axes:
    ax.set(xscale="log", xlabel="number of stacked blocks (fresh initialisation)")
    ax.set_xticks([1, 2, 4, 8, 16], ["1", "2", "4", "8", "16"])
    ax.legend()
fig.tight_layout()
plt.show()

at = skips.set_index(["layout", "depth"])
assert at.loc[("no skip connections", 2), "between_tokens"] > 0.9  # collapsed after two blocks
assert at.loc[("post-LN (seed)", 2), "between_tokens"] < 0.6 and at.loc[("post-LN (seed)", 1), "with_own_input"] > 0.5
assert abs(at.loc[("no skip connections", 1), "with_own_input"]) < 0.2
assert at.loc[("pre-LN", 8), "with_own_input"] > at.loc[("post-LN (seed)", 8), "with_own_input"]
course_utils.record("skip_experiment", skips.round(3).to_dict(orient="list"));

# %% [markdown]
# Without skip connections, one block already forgets its input (cosine ≈ 0) and after two
# blocks every token is the same vector: attention averages tokens, and nothing brings the
# individual token back. Training such a stack has to start from outputs that no longer
# depend on which token is where, with a training signal that must pass through every block
# to reach the embeddings; deep stacks like that are very hard to train. The skip
# connections keep each token's own vector in the sum, so a stack stays informative, and its
# gradients have a direct path back to the embeddings. The table also shows the limit of
# post-LN: normalising the sum at every block slowly dilutes the input too (deep post-LN
# stacks need learning-rate warm-up to train), while pre-LN keeps more of it at depth 8 and
# 16: the reason later models moved the LayerNorm. The seed's classifier has one block, where post-LN is no problem.

# %% [markdown]
# ## 3. Exercise: write the `TransformerBlock`
#
# Write the seed's block as a Keras layer:
#
# * `__init__(self, embed_dim, num_heads, ff_dim, rate=0.1, **kwargs)`: call
#   `super().__init__(**kwargs)`, then create `self.att = layers.MultiHeadAttention(num_heads=num_heads,
#   key_dim=embed_dim)`, `self.ffn` (a `keras.Sequential` of `Dense(ff_dim, activation="relu")`
#   and `Dense(embed_dim)`), `self.layernorm1`, `self.layernorm2`
#   (`LayerNormalization(epsilon=1e-6)`), `self.dropout1`, `self.dropout2` (`Dropout(rate)`);
# * `call(self, inputs, training=None)`: self-attention (query = value = `inputs`), dropout,
#   first skip connection and LayerNorm, feed-forward, dropout, second skip connection and
#   LayerNorm. Pass `training=training` to the dropouts.
#
# The checker builds your block, copies the reference block's weights into it and compares
# in inference mode; it recognises a missing skip connection, pre-LN instead of post-LN,
# dropout active at inference, and a feed-forward network that does not return to `embed_dim`.

# %%
class TransformerBlock(layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1, **kwargs):
        super().__init__(**kwargs)
        raise NotImplementedError  # your code here

    def call(self, inputs, training=None):
        raise NotImplementedError  # your code here


# %%
check_transformer_block(TransformerBlock);

# %% [markdown]
# The rest of the notebook uses the course's block, `course_utils.layers.TransformerBlock`
# (the same code, plus `get_config` for saving, padding-mask support and a `key_dim` option;
# solution in `solutions/`). Its forward pass, with the seed's two "weird connections"
# (`inputs + attn_output`, `out1 + ffn_output`), to compare with yours once the checker passes:

# %%
display(Code(inspect.getsource(CourseTransformerBlock.call), language="python"))

# %% [markdown]
# ## 4. Training the seed's classifier, and three baselines in the same run
#
# The seed's sizes: `embed_dim=32` (each token's vector), `num_heads=2`, `ff_dim=32` (the
# feed-forward network's hidden width), `maxlen` as chosen above, a 20,000-word vocabulary.
# `course_utils.text_models.build_text_classifier` assembles it:

# %%
display(Code(inspect.getsource(build_text_classifier), language="python"))

# %% [markdown]
# Every model trains for the same number of epochs with Adam on the same split, keeping the
# weights of its best validation epoch (`EarlyStopping(restore_best_weights=True)`); one
# line per epoch. The baselines:
#
# * **TF-IDF + logistic regression** (scikit-learn): word and word-pair counts, weighted, and
#   a linear classifier: the classic strong baseline for sentiment;
# * **BiLSTM(32)**: an LSTM reading the review in both directions, the same embedding size
#   and head, padding masked;
# * **bag of embeddings**: the same embeddings averaged, no attention and no positions: what
#   is the attention block adding?
#
# We also train the seed's model once more with the padding masked
# (`TokenAndPositionEmbedding(mask_zero=True)`): the seed's code lets tokens attend to the
# padding and averages it in the pooling.

# %%
def build_bag_of_embeddings(embed_dim: int = 32) -> keras.Model:
    token_ids = keras.Input(shape=(MAXLEN,), dtype="int32")
    x = layers.Embedding(VOCAB, embed_dim, mask_zero=True)(token_ids)
    x = layers.GlobalAveragePooling1D()(x)  # the mask makes it average the real words only
    x = layers.Dropout(0.1)(x)
    x = layers.Dense(20, activation="relu")(x)
    outputs = layers.Dense(2, activation="softmax")(layers.Dropout(0.1)(x))
    model = keras.Model(token_ids, outputs, name="bag_of_embeddings")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def train(name: str, model: keras.Model) -> dict:
    """Fit on the training set, keep the best validation epoch, evaluate on the test set once."""
    log = EpochLog(name)
    best = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=EPOCHS, restore_best_weights=True)
    history = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=EPOCHS, batch_size=BATCH,
                        verbose=0, callbacks=[log, best])
    return dict(model=name, test_accuracy=model.evaluate(x_test, y_test, verbose=0)[1], parameters=model.count_params(),
                seconds_per_epoch=float(np.median(log.seconds)), best_epoch=int(np.argmax(history.history["val_accuracy"])) + 1,
                history=history.history, keras_model=model)


runs = {}
builders = {
    "Transformer (seed)": lambda: build_text_classifier(MAXLEN, VOCAB, embed_dim=32, num_heads=2, ff_dim=32),
    "Transformer, padding masked": lambda: build_text_classifier(MAXLEN, VOCAB, embed_dim=32, num_heads=2, ff_dim=32, mask_zero=True),
    "BiLSTM(32)": lambda: build_lstm_classifier(MAXLEN, VOCAB, embed_dim=32, units=32),
    "bag of embeddings (no attention)": build_bag_of_embeddings,
}
for name, build in builders.items():
    keras.utils.set_random_seed(42)  # the same initial randomness for every model
    runs[name] = train(name, build())

start = time.perf_counter()
tfidf = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True), LogisticRegression(max_iter=1000))
tfidf.fit(reviews.x_train, y_train)
tfidf_seconds = time.perf_counter() - start
runs["TF-IDF 1-2 grams + logistic regression"] = dict(
    model="TF-IDF 1-2 grams + logistic regression", test_accuracy=tfidf.score(reviews.x_test, y_test),
    parameters=int(tfidf[-1].coef_.size + tfidf[-1].intercept_.size), seconds_per_epoch=tfidf_seconds, best_epoch=None,
    val_accuracy=tfidf.score(reviews.x_val, y_val))

# %% tags=["slide"]
table = pd.DataFrame([{k: v for k, v in run.items() if k not in ("history", "keras_model")} for run in runs.values()]).set_index("model")
table = table.drop(columns="val_accuracy").sort_values("test_accuracy", ascending=False)
display(table.style.format({"test_accuracy": "{:.1%}", "parameters": "{:,}", "seconds_per_epoch": "{:.1f}"}))
print("seconds_per_epoch: median epoch time on this machine; for TF-IDF + LR, the whole fit.")

transformer_accuracy = runs["Transformer (seed)"]["test_accuracy"]
assert transformer_accuracy > majority_accuracy + 0.10, "the Transformer should clearly beat the majority class"
for name, run in runs.items():
    assert run["test_accuracy"] > majority_accuracy + 0.05, f"{name} should beat the majority class"
course_utils.record("accuracy_table", table.reset_index().to_dict(orient="records"))
course_utils.record("transformer_test_accuracy", transformer_accuracy)
n_test = len(y_test)  # gaps counted in test reviews, so that a tie is exactly 0
gaps = {name: (round(transformer_accuracy * n_test) - round(run["test_accuracy"] * n_test)) / n_test
        for name, run in runs.items() if name != "Transformer (seed)"}
course_utils.record("transformer_minus_baseline", gaps)
for name, gap in gaps.items():
    print(f"Transformer (seed) vs {name}: {100 * gap:+.1f} points")

# %% tags=["slide"]
fig, axes = plt.subplots(1, 2, figsize=(13, 4.2))
for i, (name, run) in enumerate((n, r) for n, r in runs.items() if "history" in r):
    epochs = np.arange(1, len(run["history"]["accuracy"]) + 1)
    axes[0].plot(epochs, run["history"]["val_accuracy"], "o-", color=f"C{i}", label=f"{name} (validation)")
    axes[0].plot(epochs, run["history"]["accuracy"], ":", color=f"C{i}", alpha=0.7)
    axes[1].plot(epochs, run["history"]["val_loss"], "o-", color=f"C{i}", label=name)
axes[0].axhline(runs["TF-IDF 1-2 grams + logistic regression"]["val_accuracy"], color="black", linestyle="--", label="TF-IDF + LR (validation)")
axes[0].axhline(np.mean(y_val == int(np.mean(y_train) >= 0.5)), color="grey", linestyle=":", label="majority class")
axes[0].set(xlabel="epoch", ylabel="accuracy", title="Learning curves (solid: validation, dotted: training)")
axes[1].set(xlabel="epoch", ylabel="validation loss (cross-entropy)", title="Validation loss")
axes[0].legend(fontsize=7)
axes[1].legend(fontsize=7)
for ax in axes:
    ax.set_xticks(range(1, EPOCHS + 1))
fig.tight_layout()
plt.show()

# %% [markdown]
# What the table and the curves say, in this run's numbers (computed, not typed):

# %%
def compare(a: str, b: str) -> str:
    """'a beats / trails / ties b by x points', from the number of correctly classified test reviews."""
    correct_a, correct_b = (round(runs[m]["test_accuracy"] * len(y_test)) for m in (a, b))
    gap = 100 * (correct_a - correct_b) / len(y_test)
    if correct_a == correct_b:
        return f"{a} ties {b} ({correct_a} of {len(y_test)} test reviews right each)"
    return f"{a} {'beats' if gap > 0 else 'trails'} {b} by {abs(gap):.1f} points"


keras_runs = {name: run for name, run in runs.items() if "history" in run}
spread = table.test_accuracy.max() - table.test_accuracy.min()
seed_history = runs["Transformer (seed)"]["history"]
overfit = seed_history["accuracy"][-1] - seed_history["val_accuracy"][-1]
print(f"* all five models lie within {100 * spread:.1f} points of each other ({table.test_accuracy.min():.1%} .. {table.test_accuracy.max():.1%}),"
      f" {100 * (transformer_accuracy - majority_accuracy):.0f} points above the majority class;")
print(f"* {compare('TF-IDF 1-2 grams + logistic regression', 'Transformer (seed)')}, with a {tfidf_seconds:.1f} s fit and no training loop;")
attention_gain = gaps["bag of embeddings (no attention)"]
print(f"* {compare('Transformer (seed)', 'bag of embeddings (no attention)')}: "
      + ("attention adds little on these snippets;" if abs(attention_gain) < 0.02 else "the attention block makes a difference here;"))
print(f"* {compare('Transformer (seed)', 'BiLSTM(32)')}; {compare('Transformer (seed)', 'Transformer, padding masked')};")
print(f"* the seed Transformer's last-epoch training accuracy exceeds its validation accuracy by {100 * overfit:.0f} points (overfitting);")
print("* seconds per epoch: " + ", ".join(f"{name} {run['seconds_per_epoch']:.1f}" for name, run in keras_runs.items()))
# Binomial noise: one accuracy near p on n test reviews varies by sqrt(p (1 - p) / n); a gap between two, by about sqrt(2) times that.
noise_of_gap = np.sqrt(2 * transformer_accuracy * (1 - transformer_accuracy) / n_test)
print(f"* the standard error of a gap between two accuracies on {n_test:,} test reviews is about {100 * noise_of_gap:.1f} points: "
      "smaller gaps are within the noise of one run.")
course_utils.record("standard_error_of_accuracy_gap", noise_of_gap)
assert spread < 0.08 and overfit > 0.05
assert gaps["Transformer, padding masked"] > -2 * noise_of_gap  # the text below: masking does not buy accuracy here
course_utils.record("accuracy_spread_all_models", spread);

# %% [markdown]
# How to read this:
#
# * On sentiment of 20-word snippets, *which* words occur carries most of the signal. That is
#   what TF-IDF and the bag of embeddings capture, and why they are hard to beat here: the
#   Transformer and the LSTM can use word order, but 9,000 short reviews are not enough data to
#   learn much from it. Attention pays off with longer texts, word order that matters
#   (negation, contrast: section 5), and above all more data or pretraining (section 7).
# * The training accuracy (dotted) races ahead of the validation accuracy: the 640,000
#   embedding parameters memorise 9,000 short reviews within two or three epochs, which is why
#   each model keeps its best validation epoch.
# * Masking the padding is the correct thing to do (the same review then gets the same
#   answer however much padding its batch has, notebook 02), but it does not buy accuracy
#   here: compare its gap with the standard error printed above. Without the mask, every review
#   of a given length carries the same padding, so the model can learn to live with it.
# * Seconds per epoch are this machine's: with 64 positions the attention block is a few
#   matrix products, while the LSTM walks 64 steps in each direction (notebooks 01 and 03
#   measure how that changes with the length).

# %% [markdown]
# ## 5. What the trained model attends to, and where it fails
#
# The attention weights of the trained seed model's block on a few real test reviews. The
# seed's model does not mask the padding, so part of each word's attention goes to the padding
# positions: we measure that share, and plot the real words only, each weight relative to
# uniform over the whole `maxlen` sequence (1 = the weight every position would get if
# attention were uniform).

# %%
seed_model = runs["Transformer (seed)"]["keras_model"]
embedding, block = seed_model.get_layer("embedding"), seed_model.get_layer("transformer_block")


def attention_of(ids: np.ndarray) -> np.ndarray:
    """(batch, heads, maxlen, maxlen) attention weights of the trained block."""
    return ops.convert_to_numpy(block.attention_scores(embedding(ids)))


probabilities = seed_model.predict(x_test, verbose=0)
predicted = probabilities.argmax(axis=-1)
lengths = (x_test != 0).sum(axis=-1)
all_weights = attention_of(x_test[:500])
pad_share = np.mean([all_weights[i, :, : lengths[i], lengths[i]:].sum(-1).mean() for i in range(500)])
uniform_pad_share = np.mean(1 - lengths[:500] / MAXLEN)  # what uniform attention would give the padding
head_correlation = np.corrcoef(all_weights[:, 0].ravel(), all_weights[:, 1].ravel())[0, 1]
row_entropy = np.mean([(-(w := all_weights[i, :, : lengths[i]]) * np.log(w + 1e-12)).sum(-1).mean() / np.log(MAXLEN) for i in range(500)])
print(f"on 500 test reviews: {pad_share:.0%} of a real word's attention goes to padding (uniform attention: "
      f"{uniform_pad_share:.0%}); mean normalised entropy of the rows {row_entropy:.3f} (1 = uniform over all {MAXLEN} "
      f"positions); correlation between the two heads' weights {head_correlation:.2f}")
course_utils.record("attention_head_correlation", head_correlation)
course_utils.record("attention_share_on_padding", pad_share)
course_utils.record("attention_normalised_entropy", row_entropy)

examples = [i for i in range(len(x_test)) if 8 <= lengths[i] <= 14 and predicted[i] == y_test[i]][:3]
fig, axes = plt.subplots(len(examples), 2, figsize=(11, 4.2 * len(examples)), layout="constrained")
for row, i in enumerate(examples):
    n = int(lengths[i])
    words = [vocabulary[t] for t in x_test[i, :n]]
    weights = attention_of(x_test[i : i + 1])[0, :, :n, :n] * MAXLEN  # relative to uniform over maxlen
    for head in range(2):
        ax = axes[row, head]
        image = ax.imshow(weights[head], cmap="magma", vmin=0)
        ax.set_xticks(range(n), words, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(n), words, fontsize=8)
        ax.set_title(f"review {i} ({reviews.class_names[y_test[i]]}, p={probabilities[i, y_test[i]]:.2f}), head {head}", fontsize=9)
    fig.colorbar(image, ax=axes[row], shrink=0.8, label="weight × maxlen (1 = uniform)")
fig.suptitle("Attention of the trained seed model on real test reviews (real words only)")
plt.show()
for i in examples:
    print(f"review {i}: {reviews.x_test[i]}")

# %% [markdown]
# Read these maps with the numbers printed above. The seed's model was never told which
# positions are padding, so part of every word's attention goes there (less than uniform
# attention would give it: the model has learned to look away from the padding partly, not
# fully). Over the real words, the maps are mostly *columns*: a few words draw attention from
# every query, whatever the query is, and the rows differ mainly in how much they give to
# the padding. With `key_dim=embed_dim` and no pressure to differ, the two heads learn
# nearly the same pattern (their correlation above). This is attention acting as a learned,
# weighted bag of words, consistent with the table; it is not a parse of the sentence.
#
# **Misclassified reviews.** The test reviews the Transformer gets wrong with the highest
# confidence:

# %%
wrong = np.flatnonzero(predicted != y_test)
confidence = probabilities[np.arange(len(y_test)), predicted]
for i in wrong[np.argsort(-confidence[wrong])][:8]:  # the most confident mistakes first
    print(f"true {reviews.class_names[y_test[i]]:8s} predicted {reviews.class_names[predicted[i]]:8s} "
          f"(p={confidence[i]:.2f}): {reviews.x_test[i]}")

# %% [markdown]
# A short error analysis, measured rather than guessed: the error rate for reviews with a
# contrast word (*but, though, although, yet, however*), with a negation (*not, no, never,
# n't, nothing*), and by length; and whether the TF-IDF model fails on the same reviews.

# %%
def words_of(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


def has_contrast(text: str) -> bool:
    return bool(words_of(text) & {"but", "though", "although", "yet", "however"})


def has_negation(text: str) -> bool:
    words = words_of(text)
    return bool(words & {"not", "no", "never", "nothing"}) or any(w.endswith("n't") for w in words)


groups = {
    "all test reviews": np.ones(len(y_test), dtype=bool),
    "contrast word": np.array([has_contrast(t) for t in reviews.x_test]),
    "negation": np.array([has_negation(t) for t in reviews.x_test]),
    "short (≤ 12 tokens)": lengths <= 12,
    "long (≥ 30 tokens)": lengths >= 30,
}
tfidf_wrong = tfidf.predict(reviews.x_test) != y_test
errors = pd.DataFrame([dict(group=g, reviews=int(m.sum()), transformer_error=float(np.mean(predicted[m] != y_test[m])),
                            tfidf_error=float(np.mean(tfidf_wrong[m]))) for g, m in groups.items()]).set_index("group")
display(errors.style.format({"transformer_error": "{:.1%}", "tfidf_error": "{:.1%}"}))
both = float(np.mean(tfidf_wrong[predicted != y_test]))
print(f"of the Transformer's {len(wrong)} mistakes, {both:.0%} are also mistakes of TF-IDF + LR")
course_utils.record("error_rates_by_group", errors.to_dict(orient="index"))
course_utils.record("share_of_transformer_errors_also_tfidf_errors", both)

fig, ax = plt.subplots(figsize=(10, 3.8))
positions = np.arange(len(errors))
ax.bar(positions - 0.2, errors.transformer_error, width=0.4, label="Transformer (seed)")
ax.bar(positions + 0.2, errors.tfidf_error, width=0.4, label="TF-IDF + LR")
ax.set_xticks(positions, [f"{g}\n(n={n})" for g, n in zip(errors.index, errors.reviews)], fontsize=8)
ax.set(ylabel="test error rate", title="Where the models fail")
ax.legend()
fig.tight_layout()
plt.show()

# %%
ratios = {}
for group in ["contrast word", "negation"]:
    ratios[group] = {model: errors.loc[group, column] / errors.loc["all test reviews", column]
                     for model, column in [("Transformer", "transformer_error"), ("TF-IDF", "tfidf_error")]}
    print(f"{group}: the Transformer's error rate is {ratios[group]['Transformer']:.2f}x its overall rate "
          f"(TF-IDF: {ratios[group]['TF-IDF']:.2f}x)")
course_utils.record("error_rate_ratio_to_overall", ratios)
# What the text below states: contrast and negation are harder than average for both models,
# and the two models share most of their mistakes (chance overlap would be TF-IDF's error rate).
assert all(ratio > 1 for group in ratios.values() for ratio in group.values()), ratios
assert both > 0.5 > errors.loc["all test reviews", "tfidf_error"]

# %% [markdown]
# What the error analysis says: the two very different models share most of their mistakes
# (the share printed above), so the hard reviews are hard for the data, not for one
# architecture. The confident mistakes above are typical: mixed verdicts (praise for one
# aspect, a negative overall label), comparisons ("more enjoyable than its predecessor"),
# idioms and irony ("by-the-numbers"), and snippets whose label is the critic's overall
# verdict rather than the tone of the quoted sentence. On the Rotten Tomatoes snippets, reviews
# with a contrast word or a negation have a higher error rate than average (ratios above 1):
# that is where word order and scope decide the meaning, which neither a bag of words nor a
# small Transformer trained on 9,000 snippets has learned; a pretrained model (section 7) has.

# %% [markdown]
# ## 6. Saving and loading: `.keras`
#
# The course's layers are registered serializable and implement `get_config`, so the whole
# model (architecture, weights, optimizer state) saves to one `.keras` file and loads back
# without the code that built it. We check that the loaded model predicts exactly the same
# numbers, then use it on new sentences. (The `TextVectorization` layer is saved with its
# vocabulary in a model of its own if you want one file for raw text; Keras stores the
# vocabulary one word per line, and one training review has a Unicode "next line" character
# (U+0085) glued to a word, so the vocabulary holds `ambition\x85`, which splits into two lines
# and fails to load as a "repeated term": we keep the vectorizer in the notebook instead.)

# %%
models_dir = build_dir() / "models"
models_dir.mkdir(parents=True, exist_ok=True)
path = models_dir / "04_transformer_classifier.keras"
seed_model.save(path)
reloaded = keras.models.load_model(path)
assert isinstance(reloaded.get_layer("transformer_block"), CourseTransformerBlock)
before, after = seed_model.predict(x_test, verbose=0), reloaded.predict(x_test, verbose=0)
np.testing.assert_array_equal(before, after)
print(f"saved {path.name} ({path.stat().st_size / 1e6:.1f} MB); predictions after loading identical: "
      f"max abs difference {np.abs(before - after).max()}")

for sentence in ["A gripping, beautifully acted film.", "Dull, predictable and far too long."]:
    p = reloaded.predict(vectorize(np.array([sentence])), verbose=0)[0]  # new text: vectorize, then the loaded model
    print(f"p(positive) = {p[1]:.2f}: {sentence}")
course_utils.record("keras_round_trip_max_abs_diff", float(np.abs(before - after).max()));

# %% [markdown]
# ## 7. When a pretrained Transformer is the better choice
#
# The seed notes that pretrained Transformers such as **BERT**, shared on the **Hugging Face**
# hub, are widely used, "especially with limited data". The reason is visible above: our
# model learns every word vector from 9,000 short reviews, so it knows only the words it saw,
# overfits after an epoch or two, and does no better than a bag of words. A pretrained model
# has already learned language (word meanings, syntax, negation, context) from billions of
# words; fine-tuning it on a few thousand labelled reviews transfers that knowledge. With
# little labelled data, or when word order and context decide the label, it is the better
# choice; a small model trained from scratch (or TF-IDF) remains the right tool when the data
# is plentiful and simple, or when latency, memory or a CPU budget rule out a 110-million
# parameter model.
#
# In code, with the libraries' own documented entry points (not run here):
#
# ```python
# # KerasHub (Keras 3): BERT with a new 2-class head, fine-tuned on raw strings
# import keras_hub
# classifier = keras_hub.models.BertTextClassifier.from_preset("bert_base_en_uncased", num_classes=2)
# classifier.fit(x=train_texts, y=train_labels, batch_size=16, epochs=2)
#
# # Hugging Face transformers
# from transformers import AutoModelForSequenceClassification, AutoTokenizer
# tokenizer = AutoTokenizer.from_pretrained("distilbert-base-uncased")
# model = AutoModelForSequenceClassification.from_pretrained("distilbert-base-uncased", num_labels=2)
# ```
#
# The course does not run these: each needs a download of hundreds of megabytes
# (`bert_base_en_uncased` has 110 million parameters, about 440 MB of weights) and fine-tuning
# it on a 2-core CPU takes far longer than a notebook's budget, while the course runs
# offline. What it does instead: it trains small models from scratch here, measures them
# honestly against strong classic baselines, and teaches **transfer learning** where it can
# run offline, with the course's own pretrained Vision Transformer (notebooks 06 and 07),
# the same recipe you would apply to BERT: a pretrained backbone, a new head, feature
# extraction, then fine-tuning.

# %% [markdown]
# ## Summary
#
# Printed from the values recorded above (`build/results/04_transformer_text_classifier.json`):

# %%
results = course_utils.results.load_all_results()["04_transformer_text_classifier"]
skip = pd.DataFrame(results["skip_experiment"]).set_index(["layout", "depth"])
lines = [f"{row['model']:<42s} {row['test_accuracy']:6.1%} {row['parameters']:>10,} {row['seconds_per_epoch']:8.1f}"
         for row in results["accuracy_table"]]
print(f"""Measured in this run ({results['_meta']['profile']} profile, {time.perf_counter() - notebook_start:.0f} s after the first cell):
* Data: {results['positive_fraction']:.1%} positive reviews; majority class {results['majority_class_test_accuracy']:.1%} on the test set;
  maxlen {results['maxlen']} cuts {results['fraction_truncated_at_maxlen']:.2%} of the training reviews.
* Skip connections: without them, two fresh blocks make all tokens alike (cosine {skip.loc[('no skip connections', 2), 'between_tokens']:.2f});
  with them (post-LN) {skip.loc[('post-LN (seed)', 2), 'between_tokens']:.2f}; at depth 8, input kept: post-LN {skip.loc[('post-LN (seed)', 8), 'with_own_input']:.2f}, pre-LN {skip.loc[('pre-LN', 8), 'with_own_input']:.2f}.
* Test accuracy, parameters, seconds per epoch ({results['epochs']} epochs, best validation epoch kept):
  {'model':<42s} {'acc':>6s} {'params':>10s} {'s/epoch':>8s}
  """ + "\n  ".join(lines) + """
* The Transformer minus each baseline (points): """ + ", ".join(f"{k} {100 * v:+.1f}" for k, v in results["transformer_minus_baseline"].items()) + f"""
  (standard error of such a gap: about {100 * results['standard_error_of_accuracy_gap']:.1f} points)
* Trained attention: {results['attention_share_on_padding']:.0%} of a real word's attention on padding (seed model, no mask);
  normalised entropy {results['attention_normalised_entropy']:.3f} (1 = uniform).
* {results['share_of_transformer_errors_also_tfidf_errors']:.0%} of the Transformer's test errors are also TF-IDF errors; error rate relative to the overall rate
  (Transformer / TF-IDF): contrast word {results['error_rate_ratio_to_overall']['contrast word']['Transformer']:.2f}x / {results['error_rate_ratio_to_overall']['contrast word']['TF-IDF']:.2f}x, negation {results['error_rate_ratio_to_overall']['negation']['Transformer']:.2f}x / {results['error_rate_ratio_to_overall']['negation']['TF-IDF']:.2f}x.
* .keras round trip: max abs difference of predictions {results['keras_round_trip_max_abs_diff']}.""")
