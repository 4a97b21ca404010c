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
# # 07 · ViT transfer learning
#
# Notebook 06 measured the seed's warning: trained from scratch on a few thousand images, a
# ViT loses to a small CNN. The seed's way out: "for smaller datasets, use transfer learning
# with pre-trained transformers". Its recipe:
#
# ```python
# from vit_keras import vit
# vit_model = vit.vit_b32(
#         image_size = 224,
#         activation = 'softmax',
#         pretrained = True,
#         include_top = False,      # essential for custom classification
#         pretrained_top = False,
#         classes = None)
# ```
#
# then custom layers on top (Flatten, BatchNormalization, Dense, Dropout), compile, and train
# on images from `tf.data` or `ImageDataGenerator`. This notebook runs that recipe in Keras 3
# and measures what it buys:
#
# 1. **The backbone**: `course_utils.vision.load_backbone` makes the seed's call when Google's
#    weights are in the cache, else it uses the course's own pretrained tiny ViT; it says
#    which in one line. What `include_top=False` means, number by number.
# 2. **The task**: five Fashion-MNIST classes that the tiny ViT never saw.
# 3. **The input pipeline** with `tf.data` (resize, `vit.preprocess_inputs` on float32,
#    batching, prefetch); why not `ImageDataGenerator`.
# 4. **Exercise**: `build_transfer_model(backbone, num_classes)`.
# 5. **Experiment**: test accuracy against labelled images per class (5, 10, 25, 100) for a
#    ViT trained from scratch, feature extraction (frozen backbone) and fine-tuning.
# 6. **tensorflow-addons**: what ViT code used it for, what replaced it, and the two numeric
#    traps, measured.
# 7. With `COURSE_PROFILE=full` and Google's weights: the same recipe on flower photos.

# %%
import time

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from vit_keras import vit

import course_utils
from course_utils import vision
from course_utils.checks import check_transfer_model
from course_utils.data import FASHION_CLASSES, is_cached, load_fashion_mnist

course_utils.start("07_vit_transfer_learning")
notebook_start = time.perf_counter()

# %% [markdown]
# ## 1. The backbone
#
# Google's ViT-B/32 weights (ImageNet-21k, then ImageNet-2012; about 340 MB) are fetched by
# `make fetch NAME=vit-b32` into the course cache, where their sha256 is recorded and checked
# later; `load_backbone` then links them to where vit-keras looks (the Keras cache folder)
# and makes the seed's call. Without them, and in the default profile (ViT-B/32 costs about
# 4.4 GFLOPs per 224×224 image, too much for a few CPU minutes), it returns the course's tiny
# ViT: the same vit-keras architecture at 28×28, pretrained by `python -m
# course_utils.pretrain` on five Fashion-MNIST classes.

# %%
backbone, info = vision.load_backbone(image_size=224, google=course_utils.pick(default=False, full=True))
print(info)
course_utils.record("backbone", info.name);

# %% [markdown]
# `include_top=False` removes the classification layer (`head`) and keeps what comes before
# it: the class token's final vector (section 4 of notebook 06), 64 numbers for the tiny ViT,
# 768 for ViT-B/32. Those numbers are the *features* a new head learns from. Check on the
# tiny ViT: its pretrained classifier is exactly the `head` Dense layer applied to the
# features of the topless model.

# %% tags=["slide"]
data = load_fashion_mnist()
print(data.info)
classifier = vision.load_tiny_vit(include_top=True)  # the 5-class source classifier, as pretrained
features_model = vision.load_tiny_vit(include_top=False)  # the same weights, top removed
sample = vision.prepare_images(data.x_test[:64, ..., np.newaxis], 28)
features = features_model(sample, training=False)
logits_again = classifier.get_layer("head")(features)
top_gap = float(np.max(np.abs(logits_again - classifier(sample, training=False))))
print(f"features {tuple(features.shape)}; head(features) vs the classifier's logits: max abs difference {top_gap:.1e}")
assert tuple(features.shape) == (64, 64) and top_gap < 1e-5

# %% [markdown]
# ### The vit-keras family: B16, B32, L16, L32
#
# `vit_keras.vit` offers four pretrained sizes, named as in the ViT paper: **B**ase (12
# layers, width 768, 12 heads) or **L**arge (24 layers, width 1024, 16 heads), with patches
# of **16** or **32** pixels. The seed's arguments: `image_size` (a multiple of the patch
# size; vit-keras interpolates the pretrained position embeddings to the new grid),
# `pretrained` (load Google's weights), `include_top` (keep the classification layer),
# `pretrained_top` (also load Google's ImageNet head, only with `include_top=True` and its
# 1,000 classes), `classes` and `activation` (of the head; unused when `include_top=False`).
# Hugging Face hosts the same models (e.g. `google/vit-base-patch16-224`) for PyTorch, JAX
# and TensorFlow; vit-keras is the Keras-native route the seed takes.
#
# The patch size sets the sequence length, and attention's cost grows with its square. We
# count tokens and parameters from vit-keras's own configurations, with a formula we first
# check against the tiny ViT's `count_params()` (building the Large models just to count
# would need over a gigabyte of memory each).

# %%
def vit_parameters(image_size, patch_size, num_layers, hidden_size, mlp_dim, classes=0, channels=3):
    """Parameters of a vit-keras ViT (classes=0: include_top=False)."""
    h, tokens = hidden_size, (image_size // patch_size) ** 2 + 1  # patches + class token
    embedding = patch_size * patch_size * channels * h + h  # the Conv2D patch embedding
    per_block = (2 * h  # LayerNorm before attention
                 + 4 * (h * h + h)  # query, key, value and output projections
                 + 2 * h  # LayerNorm before the MLP
                 + (h * mlp_dim + mlp_dim) + (mlp_dim * h + h))  # the two MLP Dense layers
    head = h * classes + classes if classes else 0
    return embedding + h + tokens * h + num_layers * per_block + 2 * h + head  # + class token, positions, final LN


tiny = vision.TINY_VIT_CONFIG
formula = vit_parameters(tiny["image_size"], tiny["patch_size"], tiny["num_layers"], tiny["hidden_size"],
                         tiny["mlp_dim"], classes=len(vision.SOURCE_CLASSES))
assert formula == classifier.count_params(), (formula, classifier.count_params())
print(f"formula check on the tiny ViT: {formula:,} parameters = count_params() {classifier.count_params():,}")
for name, config, patch in [("B16", vit.CONFIG_B, 16), ("B32", vit.CONFIG_B, 32), ("L16", vit.CONFIG_L, 16), ("L32", vit.CONFIG_L, 32)]:
    tokens = (224 // patch) ** 2 + 1
    params = vit_parameters(224, patch, config["num_layers"], config["hidden_size"], config["mlp_dim"])
    print(f"vit_{name.lower()}: {config['num_layers']:>2} layers, width {config['hidden_size']:>4}, "
          f"{tokens:>3} tokens at 224×224 ({tokens ** 2:>6,} attention scores per head), "
          f"{params / 1e6:5.1f} M parameters without the top")

# %% [markdown]
# ## 2. The task: five classes the backbone never saw
#
# The tiny ViT was pretrained on T-shirt/top, Trouser, Pullover, Sandal and Bag (the
# *source* classes; the model card `course_utils/weights/vit-tiny-fmnist5.md` has the
# details). We transfer it to the five others, the *target* classes. Why this split (from
# the card):

# %%
card = vision.read_card()
print(card["data"]["why_these_classes"])
print(f"\npretraining: {card['data']['train_images']:,} images, {card['training']['epochs']} epochs, "
      f"{card['training']['seconds']:.0f} s, test accuracy {card['results']['test_accuracy']:.2%} on the source classes")

x_pool, y_pool = vision.select_classes(data.x_train, data.y_train, vision.TARGET_CLASSES)  # labels 0..4
x_target_test, y_target_test = vision.select_classes(data.x_test, data.y_test, vision.TARGET_CLASSES)
target_names = [FASHION_CLASSES[c] for c in vision.TARGET_CLASSES]
source_names = [FASHION_CLASSES[c] for c in vision.SOURCE_CLASSES]

# What does the source classifier make of the target classes? (It can only answer with a source class.)
source_guess = np.argmax(vision.predict_in_batches(classifier, vision.prepare_images(x_target_test[..., np.newaxis], 28)), axis=-1)
print("\nthe pretrained classifier's answers on target test images (share of each target class):")
print(" " * 12 + "".join(f"{name[:11]:>12}" for name in source_names))
for t, name in enumerate(target_names):
    shares = np.bincount(source_guess[y_target_test == t], minlength=5) / np.sum(y_target_test == t)
    print(f"{name:>12}" + "".join(f"{share:12.0%}" for share in shares))
most_common = {name: source_names[np.bincount(source_guess[y_target_test == t], minlength=5).argmax()]
               for t, name in enumerate(target_names)}
assert most_common["Coat"] == "Pullover" and most_common["Shirt"] in ("Pullover", "T-shirt/top")
assert most_common["Sneaker"] == most_common["Ankle boot"] == "Sandal"

fig, axes = plt.subplots(2, 5, figsize=(9, 4))
for t, name in enumerate(target_names):
    for row in range(2):
        axes[row, t].imshow(x_pool[np.flatnonzero(y_pool == t)[row]], cmap="gray")
        axes[row, t].set_xticks([])
        axes[row, t].set_yticks([])
    axes[0, t].set_title(name, fontsize=10)
fig.suptitle("Target classes (Fashion-MNIST training images, 28×28 pixels)", fontsize=10)
plt.show()

# %% [markdown]
# The source classifier answers with its nearest source class: coats mostly as Pullover,
# shirts as Pullover or T-shirt, sneakers and ankle boots as Sandal (asserted above). It has
# features for sleeves, collars and soles, but no notion of the target classes: transfer
# learning has to build that on top of its features.
#
# ## 3. The input pipeline: `tf.data`
#
# The seed feeds the model with `ImageDataGenerator` or `tf.data`. `ImageDataGenerator` is
# legacy in Keras 3: Keras 3.15 no longer exports it (checked below). The `tf.data` pipeline
# does the same job, in graph code that overlaps with training:
#
# 1. from arrays (or files: `keras.utils.image_dataset_from_directory`),
# 2. shuffle (training only),
# 3. prepare each image: grey to RGB, **cast to float32**, resize to the backbone's input
#    size (28 for the tiny ViT, 224 for ViT-B/32), then `vit.preprocess_inputs` (pixels
#    from 0..255 to -1..1, what Google's ViTs were trained on),
# 4. batch, and prefetch the next batch while the model works on this one.

# %%
def vit_pipeline(images, labels, image_size, batch_size=32, shuffle=False, seed=0):
    """uint8 grey images (N, H, W) and int labels -> batches of ViT inputs, (batch, size, size, 3) in [-1, 1]."""
    ds = tf.data.Dataset.from_tensor_slices((images[..., np.newaxis], labels))
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)

    def prepare(image, label):
        image = tf.cast(image, tf.float32)  # first: preprocess_inputs divides in place
        image = tf.image.grayscale_to_rgb(image)
        image = tf.image.resize(image, (image_size, image_size))
        return vit.preprocess_inputs(image), label

    ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


ours_batch, _ = next(iter(vit_pipeline(x_pool[:8], y_pool[:8], image_size=info.image_size)))
course_batch, _ = next(iter(vision.make_dataset(x_pool[:8], y_pool[:8], image_size=info.image_size, batch_size=32)))
print(f"a batch: {tuple(ours_batch.shape)} {ours_batch.dtype}, values in [{float(tf.reduce_min(ours_batch)):.2f}, "
      f"{float(tf.reduce_max(ours_batch)):.2f}]")
assert np.array_equal(ours_batch, course_batch)  # course_utils.vision.make_dataset is this pipeline
print(f"ImageDataGenerator exported by Keras {keras.__version__}: {hasattr(keras.preprocessing.image, 'ImageDataGenerator')}")
assert not hasattr(keras.preprocessing.image, "ImageDataGenerator")

# The float32 rule, measured: on uint8 tensors preprocess_inputs fails, on a float NumPy array it
# overwrites the caller's array (it divides in place).
try:
    vit.preprocess_inputs(tf.constant(x_pool[:2]))
    uint8_fails = False
except (TypeError, tf.errors.InvalidArgumentError, ValueError):
    uint8_fails = True
pixels = x_pool[:2].astype("float32")
vit.preprocess_inputs(pixels)
in_place = float(pixels.max()) <= 1.0
print(f"preprocess_inputs on a uint8 tensor fails: {uint8_fails}; on a float32 NumPy array it changed the array in place: {in_place}")
assert uint8_fails and in_place

# %% [markdown]
# ## 4. Exercise: `build_transfer_model(backbone, num_classes)`
#
# Write the seed's transfer model as a function:
#
# * `backbone` is a vit-keras ViT. If it still has its classification top (a last layer named
#   `head`, as with `include_top=True`), remove it: the model up to the layer `ExtractToken`
#   (`keras.Model(backbone.input, backbone.get_layer("ExtractToken").output)`) is what
#   `include_top=False` gives.
# * Freeze it (`trainable = False`) and call it with `training=False`, so that its dropout
#   stays off even when you unfreeze it later for fine-tuning.
# * Add the seed's head: `Flatten`, `BatchNormalization`, `Dense` (e.g. 64 units, `"gelu"`),
#   `Dropout`, then `Dense(num_classes)`.
# * Compile with Adam, `metrics=["accuracy"]` and a loss that matches your last layer:
#   `SparseCategoricalCrossentropy()` after a softmax, or `(from_logits=True)` without one.
#
# The checker builds small ViTs with and without their top and names the usual mistakes
# (backbone not frozen, top not removed, wrong number of outputs, softmax with a from-logits
# loss). The experiment below uses the course's reference, `course_utils.vision.build_transfer_model`,
# so that the notebook runs whether or not you have solved it.

# %%
def build_transfer_model(backbone, num_classes):
    """A frozen ViT backbone (top removed) + Flatten, BatchNormalization, Dense, Dropout, Dense(num_classes); compiled."""
    raise NotImplementedError  # your code here


# %%
check_transfer_model(build_transfer_model);

# %% [markdown]
# ## 5. Experiment: accuracy against labelled images per class
#
# Three ways to get a 5-class classifier from *n* labelled images per target class, with the
# same architecture (the tiny ViT and the seed's head) and the same images:
#
# * **from scratch**: random weights, everything trained (Adam, learning rate 1e-3);
# * **feature extraction**: the pretrained backbone frozen, only the head trained (Adam, 1e-3);
# * **fine-tuning**: continue from the feature-extraction model with everything unfrozen and
#   a 10× lower learning rate (1e-4), so that the pretrained features are adjusted, not
#   destroyed (the usual second stage of the recipe).
#
# A frozen backbone in inference mode gives every image the same features at every step. So
# feature extraction computes them once and trains the head alone on them: the same
# computation as training the whole frozen model (checked below), at a fraction of the cost,
# which lets the head train for 150 steps. Fine-tuning then trains the whole model for
# `steps` = 30 more steps, and from scratch gets 2 × `steps` = 60 whole-model steps (batches
# of 32). Each size is drawn twice (different labelled images; the 10 per class contain the
# 5) and tested on 1,000 target test images (200 per class). These are the default profile's
# numbers; `COURSE_PROFILE=full` trains longer, draws more and tests on more images. Every model is compiled once and
# restarted from the same starting point before each run (`vision.remember_start`): recompiling
# would trace the training step again, seconds per model on a CPU.

# %%
sizes = course_utils.pick(default=[5, 10, 25, 100], full=[5, 10, 25, 100, 400])
draws = course_utils.pick(default=2, full=5)
steps = course_utils.pick(default=30, full=100)
head_steps = course_utils.pick(default=150, full=500)
test_per_class = course_utils.pick(default=200, full=1000)
batch_size = 32

rng = np.random.default_rng(0)
test_index = np.concatenate([rng.choice(np.flatnonzero(y_target_test == c), test_per_class, replace=False) for c in range(5)])
test_images = vision.prepare_images(x_target_test[test_index, ..., np.newaxis], 28)
test_labels = y_target_test[test_index]


def compile_with(model, learning_rate):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(),  # the head ends with a softmax
                  metrics=["accuracy"])
    return model


# 1. from scratch: the same model with random weights, everything trainable
random_backbone = vision.build_tiny_vit(include_top=False, name="vit-random-init")
from_scratch = vision.build_transfer_model(random_backbone, 5)
random_backbone.trainable = True
compile_with(from_scratch, 1e-3)

# 2. feature extraction: the pretrained backbone, frozen; its head trained alone on cached features
frozen_backbone = vision.load_tiny_vit(include_top=False)
feature_extraction = vision.build_transfer_model(frozen_backbone, 5)  # frozen backbone + the seed's head ("classifier")
head_only = compile_with(keras.Sequential([keras.Input((64,)), feature_extraction.get_layer("classifier")]), 1e-3)

# 3. fine-tuning: a second copy, unfrozen, low learning rate; each run starts from feature extraction's result
tuned_backbone = vision.load_tiny_vit(include_top=False)
fine_tuning = vision.build_transfer_model(tuned_backbone, 5)
tuned_backbone.trainable = True
compile_with(fine_tuning, 1e-4)

restart = {name: vision.remember_start(model)
           for name, model in (("from scratch", from_scratch), ("head", head_only), ("fine-tuning", fine_tuning))}
methods = {"from scratch": from_scratch, "feature extraction": feature_extraction, "fine-tuning": fine_tuning}
for name, model in methods.items():
    trainable = sum(int(np.prod(w.shape)) for w in (head_only if name == "feature extraction" else model).trainable_weights)
    print(f"{name:>18}: {trainable:>7,} trainable of {model.count_params():,} parameters")

test_features = vision.predict_in_batches(frozen_backbone, test_images)  # (1000, 64), computed once


def accuracy_of(scores):
    return float(np.mean(np.argmax(scores, axis=-1) == test_labels))


def copy_weights(source, target):
    """Start fine-tuning where feature extraction ended (same architecture, weight by weight)."""
    for target_weight, source_weight in zip(target.weights, source.weights):
        assert target_weight.shape == source_weight.shape
        target_weight.assign(source_weight)


# %%
results = {name: np.zeros((draws, len(sizes))) for name in methods}
for draw in range(draws):
    draw_rng = np.random.default_rng(100 + draw)
    class_order = [draw_rng.permutation(np.flatnonzero(y_pool == c)) for c in range(5)]
    for j, n in enumerate(sizes):
        index = np.concatenate([order[:n] for order in class_order])
        images, labels = x_pool[index], y_pool[index]
        train_ds = vision.make_dataset(images, labels, 28, batch_size, shuffle=True, seed=draw).repeat()
        start = time.perf_counter()

        restart["from scratch"]()
        from_scratch.fit(train_ds, steps_per_epoch=2 * steps, epochs=1, shuffle=False, verbose=0)
        results["from scratch"][draw, j] = accuracy_of(vision.predict_in_batches(from_scratch, test_images))

        restart["head"]()
        features = vision.predict_in_batches(frozen_backbone, vision.prepare_images(images[..., np.newaxis], 28))
        feature_ds = tf.data.Dataset.from_tensor_slices((features, labels)).shuffle(len(labels), seed=draw).batch(batch_size).repeat()
        head_only.fit(feature_ds, steps_per_epoch=head_steps, epochs=1, shuffle=False, verbose=0)
        head_scores = vision.predict_in_batches(head_only, test_features)
        results["feature extraction"][draw, j] = accuracy_of(head_scores)
        if draw == 0 and j == 0:  # the head on cached features is the whole frozen model
            whole_model_gap = float(np.max(np.abs(vision.predict_in_batches(feature_extraction, test_images) - head_scores)))
            print(f"frozen model on images vs head on cached features: max abs difference {whole_model_gap:.1e}")
            assert whole_model_gap < 1e-5

        restart["fine-tuning"]()  # fresh optimizer state...
        copy_weights(feature_extraction, fine_tuning)  # ...and feature extraction's weights
        fine_tuning.fit(train_ds, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0)
        results["fine-tuning"][draw, j] = accuracy_of(vision.predict_in_batches(fine_tuning, test_images))

        print(f"draw {draw + 1}/{draws}, {n:>3} images per class: " + ", ".join(
            f"{name} {results[name][draw, j]:.1%}" for name in methods) + f"  ({time.perf_counter() - start:.1f} s)")

mean = {name: values.mean(axis=0) for name, values in results.items()}
gain = {name: mean[name] - mean["from scratch"] for name in ("feature extraction", "fine-tuning")}
course_utils.record("transfer", {"images_per_class": sizes, "draws": draws, "steps": steps, "head_steps": head_steps,
                                 "test_images": len(test_labels),
                                 **{name: values.tolist() for name, values in mean.items()},
                                 "gain_over_scratch": {name: g.tolist() for name, g in gain.items()}});

# %% tags=["slide"]
fig, ax = plt.subplots(figsize=(7, 4.2))
for (name, values), marker in zip(results.items(), ["s", "o", "^"]):
    line, = ax.plot(sizes, 100 * mean[name], marker=marker, label=f"{name} (mean of {draws} draws)")
    for draw_values in values:
        ax.scatter(sizes, 100 * draw_values, color=line.get_color(), alpha=0.35, s=14)
ax.axhline(20, color="grey", linestyle="--", linewidth=0.8, label="chance (5 classes)")
ax.set_xscale("log")
ax.set_xticks(sizes, [str(n) for n in sizes])
ax.minorticks_off()
ax.set_ylim(0, 100)
ax.set_xlabel("labelled training images per target class (log scale)")
ax.set_ylabel(f"test accuracy (%, {len(test_labels):,} test images)")
ax.set_title("Tiny ViT on 5 unseen Fashion-MNIST classes: pretrained vs from scratch", fontsize=10)
ax.legend(loc="lower right", fontsize=8)
plt.show()

print(f"{'images/class':>12}" + "".join(f"{name:>20}" for name in methods))
for j, n in enumerate(sizes):
    print(f"{n:>12}" + "".join(f"{mean[name][j]:>20.1%}" for name in methods))
for name, g in gain.items():
    print(f"{name} minus from scratch (points): " + ", ".join(f"{n}/class {100 * v:+.1f}" for n, v in zip(sizes, g)))

# the claim of this section, checked at the two smallest sizes
for name, g in gain.items():
    assert g[0] > 0 and g[1] > 0, (name, g)
for name in methods:
    assert mean[name].min() > 0.3  # all well above chance (20 %)

# %% [markdown]
# **Reading the result.** With 5 or 10 labelled images per class, both ways of reusing the
# pretrained ViT beat training it from scratch (the asserts check that the gain is positive;
# the printed gains give its size): features learned on *other* clothes carry over to classes the model never
# saw. Fine-tuning starts from the feature-extraction model, so the difference between the
# two is what `steps` (30 by default) of adapting the whole backbone add on top of a trained
# head. Two limits of this comparison, stated plainly: from scratch gets 2 × `steps` (60 by
# default) whole-model steps, which at 100 images per class is only 4 epochs (it would gain from longer training, as in notebook
# 05; the comparison is at small, similar compute, the situation of a CPU and few labels);
# and the pretraining is small (27,000 images of 5 classes, 64 features). With ViT-B/32's
# ImageNet-21k features (full profile, section 7) the frozen features are far more general,
# which is why feature extraction is the seed's first step.
#
# ## 6. tensorflow-addons: what ViT code used it for, and what replaced it
#
# The seed says vit-keras "requires tensorflow-addons". It did, in 2021: TensorFlow had no
# GELU activation and no AdamW optimizer, and ViT code took both from tensorflow-addons
# (`tfa.activations.gelu` in the MLP blocks and in custom heads, `tfa.optimizers.AdamW` to
# train, as the original keras.io ViT example did). tensorflow-addons is end-of-life (last
# release 0.23.0, TensorFlow ≤ 2.15; its import fails on Keras 3), and vit-keras 0.2.0 no
# longer needs it. The replacements are built into Keras 3:
#
# | tensorflow-addons | Keras 3 |
# |---|---|
# | `tfa.activations.gelu(x)` (default `approximate=True`) | `keras.activations.gelu(x, approximate=...)` (default `approximate=False`) |
# | `tfa.optimizers.AdamW(weight_decay=wd, learning_rate=lr)` | `keras.optimizers.AdamW(weight_decay=wd / lr, learning_rate=lr)` |
#
# Same names, two numeric traps. Both are measured here with Keras 3 alone; the side-by-side
# comparison with the real tensorflow-addons runs in the course's legacy environment (TF 2.15
# + tensorflow-addons 0.23 + vit-keras 0.1.2), see [docs/legacy.md](../docs/legacy.md).
#
# **Trap 1: GELU's default.** tfa's `gelu` defaults to the tanh approximation, Keras 3's to
# the exact erf form, so `activation="gelu"` in a port of a tfa model computes a slightly
# different function (vit-keras itself asks for the exact one explicitly, in both versions).

# %%
x = np.linspace(-6, 6, 12001).astype("float32")
exact = keras.ops.convert_to_numpy(keras.activations.gelu(x))  # Keras 3 default: approximate=False
tanh_form = keras.ops.convert_to_numpy(keras.activations.gelu(x, approximate=True))  # tfa's default
difference = np.abs(exact - tanh_form)
worst = float(x[np.argmax(difference)])
print(f"GELU exact vs tanh approximation: max abs difference {difference.max():.2e} at x = {worst:+.2f}")
assert 1e-4 < difference.max() < 1e-3
course_utils.record("gelu_exact_vs_tanh_max_abs_diff", float(difference.max()))

fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(x, exact - tanh_form)
ax.set_xlabel("x")
ax.set_ylabel("exact − tanh approximation")
ax.set_title("GELU: Keras 3 default minus tensorflow-addons default", fontsize=10)
plt.show()

# %% [markdown]
# **Trap 2: AdamW's weight decay is scaled by the learning rate in Keras.** Decoupled weight
# decay shrinks every weight a little at each step. tensorflow-addons shrinks by
# `weight_decay × w`; Keras 3 by `learning_rate × weight_decay × w`. Measured: one Keras AdamW
# step on a weight whose gradient is zero (so Adam's own update is zero and only the decay
# acts).

# %%
learning_rate, tfa_weight_decay = 1e-3, 1e-4  # e.g. a tensorflow-addons recipe: AdamW(weight_decay=1e-4, learning_rate=1e-3)


def decay_after_one_step(weight_decay):
    # float64: a change of 1e-7 would drown in float32's rounding of 1.0 (about 6e-8)
    weight = keras.Variable(np.ones(3), dtype="float64")
    optimizer = keras.optimizers.AdamW(learning_rate=learning_rate, weight_decay=weight_decay)
    optimizer.apply_gradients([(keras.ops.zeros(3, dtype="float64"), weight)])
    return 1.0 - float(weight.numpy()[0])  # how much of the weight was removed


same_number = decay_after_one_step(tfa_weight_decay)
converted = decay_after_one_step(tfa_weight_decay / learning_rate)
print(f"tensorflow-addons AdamW(weight_decay={tfa_weight_decay}) removes {tfa_weight_decay:.1e} of each weight per step")
print(f"Keras 3 AdamW(weight_decay={tfa_weight_decay}) removes {same_number:.1e} (= learning_rate × weight_decay: "
      f"{tfa_weight_decay / same_number:.0f}× weaker)")
print(f"Keras 3 AdamW(weight_decay={tfa_weight_decay / learning_rate:g}) removes {converted:.1e}: the tensorflow-addons behaviour")
assert abs(same_number - learning_rate * tfa_weight_decay) < 1e-9
assert abs(converted - tfa_weight_decay) < 1e-7
course_utils.record("adamw_decay_per_step", {"tfa_weight_decay": tfa_weight_decay, "learning_rate": learning_rate,
                                             "keras_same_number": same_number, "keras_converted": converted});

# %% [markdown]
# With a learning-rate schedule the two also differ over time: Keras 3 decays less as the
# learning rate decays (what the AdamW paper does), while in tensorflow-addons you had to
# schedule `weight_decay` yourself. The course's pretraining uses Keras 3's AdamW
# (`weight_decay=0.05`, so 5e-5 per step at the peak learning rate 1e-3).
#
# ## 7. Full profile: the seed's recipe on flower photos with Google's ViT-B/32
#
# With `COURSE_PROFILE=full`, Google's ViT-B/32 weights and the flower photos in the cache
# (`make fetch NAME=vit-b32`, `make fetch NAME=flowers`), this section runs the seed's recipe
# at full size: 224×224 photos of 5 flower classes (3,670 photos, 80/20 split), the
# `vit_b32(include_top=False)` backbone frozen, the same head; then fine-tuning at a
# learning rate of 1e-5. On a 2-core CPU this takes a long time (minutes per epoch); with a
# GPU, seconds.

# %%
run_flowers = course_utils.pick(default=False, full=True) and info.kind == "google" and is_cached("flowers")
if run_flowers:
    flowers = vision.flowers_transfer(backbone, image_size=224, feature_epochs=2, fine_tune_epochs=1)
    print(f"flowers ({', '.join(flowers['classes'])}): {flowers['train_images']:,} train, "
          f"{flowers['validation_images']:,} validation images; validation accuracy "
          f"{flowers['feature_extraction_val_accuracy']:.1%} after feature extraction, "
          f"{flowers['fine_tuning_val_accuracy']:.1%} after fine-tuning ({flowers['seconds']:.0f} s)")
    assert flowers["feature_extraction_val_accuracy"] > 0.5  # 5 classes: chance is 20 %
    course_utils.record("flowers", flowers)
else:
    reasons = [reason for reason, missing in (
        ("the profile is not full (COURSE_PROFILE=full)", course_utils.PROFILE != "full"),
        ("the backbone is not Google's ViT-B/32 (make fetch NAME=vit-b32)", info.kind != "google"),
        ("the flower photos are not in the cache (make fetch NAME=flowers)", not is_cached("flowers"))) if missing]
    print("Flower photos with ViT-B/32: skipped, because " + "; ".join(reasons) + ".")
course_utils.record("flowers_ran", bool(run_flowers));

# %% [markdown]
# ## Summary
#
# Printed from the values recorded above (`build/results/07_vit_transfer_learning.json`):

# %%
recorded = course_utils.results.load_all_results()["07_vit_transfer_learning"]
t = recorded["transfer"]
names = ["from scratch", "feature extraction", "fine-tuning"]
table = "\n".join(
    f"  {n:>3} per class: " + ", ".join(f"{name} {t[name][j]:.1%}" for name in names)
    for j, n in enumerate(t["images_per_class"])
)
decay = recorded["adamw_decay_per_step"]
flowers_line = (
    f"* Flowers with ViT-B/32: {recorded['flowers']['feature_extraction_val_accuracy']:.1%} (feature extraction), "
    f"{recorded['flowers']['fine_tuning_val_accuracy']:.1%} (fine-tuning) validation accuracy."
    if recorded["flowers_ran"] else "* Flowers with ViT-B/32: not run (full profile with Google's weights and the photos only)."
)
print(f"""Measured in this run ({recorded['_meta']['profile']} profile, {time.perf_counter() - notebook_start:.0f} s after the first cell):
* Backbone: {recorded['backbone']} (pretrained on 5 source classes: {card['results']['test_accuracy']:.2%} test accuracy there,
  {card['training']['seconds']:.0f} s of training).
* Transfer to 5 unseen classes (test accuracy, mean of {t['draws']} draws, {t['test_images']:,} test images;
  {t['head_steps']} head steps of feature extraction, then {t['steps']} whole-model steps of fine-tuning; {2 * t['steps']} from scratch):
{table}
* Gain over from scratch at {t['images_per_class'][0]} per class: feature extraction {100 * t['gain_over_scratch']['feature extraction'][0]:+.1f} points,
  fine-tuning {100 * t['gain_over_scratch']['fine-tuning'][0]:+.1f}; at {t['images_per_class'][-1]} per class: {100 * t['gain_over_scratch']['feature extraction'][-1]:+.1f} and {100 * t['gain_over_scratch']['fine-tuning'][-1]:+.1f}.
* GELU, Keras 3 default (exact) vs tensorflow-addons default (tanh): up to {recorded['gelu_exact_vs_tanh_max_abs_diff']:.1e} apart.
* AdamW with weight_decay={decay['tfa_weight_decay']} at lr={decay['learning_rate']}: Keras 3 removes {decay['keras_same_number']:.1e} per step,
  tensorflow-addons {decay['tfa_weight_decay']:.0e}; Keras needs weight_decay={decay['tfa_weight_decay'] / decay['learning_rate']:g} to match ({decay['keras_converted']:.1e}).
{flowers_line}""")
