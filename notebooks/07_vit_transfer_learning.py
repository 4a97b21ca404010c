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
# 5. **Experiment**: test accuracy against labelled images per class (5 and 50; 5 to 400 with
#    `COURSE_PROFILE=full`) for a ViT trained from scratch, feature extraction (frozen
#    backbone) and fine-tuning (at 5 only in the default profile, at every size with
#    `COURSE_PROFILE=full`).
# 6. **tensorflow-addons**: what ViT code used it for, what replaced it, and the two numeric
#    traps, measured.
# 7. With `COURSE_PROFILE=full` and Google's weights: the same recipe on flower photos.

# %%
import inspect
import time

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from IPython.display import Code, display
from vit_keras import vit

import course_utils
from course_utils import stats
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
# and makes the seed's call. Without them, and in the default profile, it returns the
# course's tiny ViT: the same vit-keras architecture at 28×28, pretrained by `python -m
# course_utils.pretrain` on five Fashion-MNIST classes. ViT-B/32 is too big for a few CPU
# minutes: one 224×224 image costs about 4.4 G **multiply-accumulates** (MACs, one multiply
# and one add each), that is about 8.8 GFLOPs when each multiply and each add counts as one
# floating-point operation; papers and tools use both conventions, so always check which
# one a "FLOPs" figure means. (Counted below, with the parameters of the vit-keras family.)

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
# count tokens, parameters and multiply-accumulates from vit-keras's own configurations, with
# formulas: the parameter formula is first checked against the tiny ViT's `count_params()`
# (building the Large models just to count would need over a gigabyte of memory each). The
# multiply-accumulates of one image are those of the patch embedding (one `Dense` on every
# patch), of the query, key, value and output projections and the two MLP layers on every
# token, and of attention's two products (scores `QKᵀ`, then the weighted sum of `V`);
# LayerNorms, softmax, GELU and biases add well under 1 % and are left out.

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


def vit_macs(image_size, patch_size, num_layers, hidden_size, mlp_dim, channels=3):
    """Multiply-accumulates to encode one image (matrix products only; include_top=False)."""
    h, patches = hidden_size, (image_size // patch_size) ** 2
    tokens = patches + 1
    embedding = patches * (patch_size * patch_size * channels) * h
    per_block = (tokens * 4 * h * h  # query, key, value, output projections
                 + 2 * tokens * tokens * h  # scores Q K^T and the weighted sum of V (all heads together)
                 + tokens * 2 * h * mlp_dim)  # the two MLP layers
    return embedding + num_layers * per_block


tiny = vision.TINY_VIT_CONFIG
formula = vit_parameters(tiny["image_size"], tiny["patch_size"], tiny["num_layers"], tiny["hidden_size"],
                         tiny["mlp_dim"], classes=len(vision.SOURCE_CLASSES))
assert formula == classifier.count_params(), (formula, classifier.count_params())
print(f"formula check on the tiny ViT: {formula:,} parameters = count_params() {classifier.count_params():,}")
family_macs = {}
for name, config, patch in [("B16", vit.CONFIG_B, 16), ("B32", vit.CONFIG_B, 32), ("L16", vit.CONFIG_L, 16), ("L32", vit.CONFIG_L, 32)]:
    tokens = (224 // patch) ** 2 + 1
    params = vit_parameters(224, patch, config["num_layers"], config["hidden_size"], config["mlp_dim"])
    macs = vit_macs(224, patch, config["num_layers"], config["hidden_size"], config["mlp_dim"])
    family_macs[name] = macs
    print(f"vit_{name.lower()}: {config['num_layers']:>2} layers, width {config['hidden_size']:>4}, "
          f"{tokens:>3} tokens at 224×224 ({tokens ** 2:>6,} attention scores per head), "
          f"{params / 1e6:5.1f} M parameters without the top, {macs / 1e9:5.1f} G multiply-accumulates "
          f"(= {2 * macs / 1e9:5.1f} GFLOPs) per image")
assert 4.3e9 < family_macs["B32"] < 4.5e9  # the "about 4.4 G multiply-accumulates" of the text above
course_utils.record("vit_b32_macs_per_image", family_macs["B32"]);

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
# The first 1,000 target test images (about 200 per class) are enough to see its habits.
guess_images, guess_labels = x_target_test[:1000], y_target_test[:1000]
source_guess = np.argmax(vision.predict_in_batches(classifier, vision.prepare_images(guess_images[..., np.newaxis], 28)), axis=-1)
print(f"\nthe pretrained classifier's answers on {len(guess_labels):,} target test images (share of each target class):")
print(" " * 12 + "".join(f"{name[:11]:>12}" for name in source_names))
for t, name in enumerate(target_names):
    shares = np.bincount(source_guess[guess_labels == t], minlength=5) / np.sum(guess_labels == t)
    print(f"{name:>12}" + "".join(f"{share:12.0%}" for share in shares))
most_common = {name: source_names[np.bincount(source_guess[guess_labels == t], minlength=5).argmax()]
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
# deprecated legacy code in Keras 3: the Keras 3 namespace `keras.preprocessing.image` no
# longer has it, while TensorFlow's `tf.keras.preprocessing.image.ImageDataGenerator` still
# imports and returns Keras's legacy class, whose own docstring says "DEPRECATED." (all
# checked below). Old code keeps running through `tf.keras`; new code should use `tf.data`
# (or [`keras.utils.image_dataset_from_directory`](https://keras.io/api/data_loading/image/)
# for folders of files): it does the same job, in graph code that overlaps with training:
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
in_keras_3 = hasattr(keras.preprocessing.image, "ImageDataGenerator")
in_tf_keras = hasattr(tf.keras.preprocessing.image, "ImageDataGenerator")
print(f"ImageDataGenerator in keras.preprocessing.image (Keras {keras.__version__}): {in_keras_3}; "
      f"in tf.keras.preprocessing.image (TensorFlow {tf.__version__}): {in_tf_keras}")
if in_tf_keras:
    legacy_class = tf.keras.preprocessing.image.ImageDataGenerator
    print(f"  tf.keras's ImageDataGenerator is {legacy_class.__module__}.{legacy_class.__qualname__}; "
          f"its docstring: {legacy_class.__doc__!r}")
    assert "legacy" in legacy_class.__module__ and "DEPRECATED" in legacy_class.__doc__  # kept for old programs
assert not in_keras_3 and in_tf_keras
course_utils.record("image_data_generator_namespaces", {"keras.preprocessing.image": in_keras_3,
                                                        "tf.keras.preprocessing.image": in_tf_keras})

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
# * Freeze it (`trainable = False`) and call it with `training=False`, the usual Keras
#   recipe for a backbone in inference mode (what that flag really does inside `fit` in
#   Keras 3 is measured at the end of section 5).
# * Add the seed's head: `Flatten`, `BatchNormalization`, `Dense` (e.g. 64 units, `"gelu"`),
#   `Dropout`, then `Dense(num_classes)`.
# * Compile with Adam, `metrics=["accuracy"]` and a loss that matches your last layer:
#   `SparseCategoricalCrossentropy()` after a softmax, or `(from_logits=True)` without one.
#
# About the seed's `Flatten`: on a vit-keras backbone it does nothing. `include_top=False`
# already returns one vector per image, the class token's `(batch, 64)` (768 for ViT-B/32),
# and flattening a `(batch, 64)` tensor returns it unchanged (checked below). The layer comes
# from the [keras.io ViT example](https://keras.io/examples/vision/image_classification_with_vision_transformer/),
# which has no class token and flattens *all* patch tokens, `(batch, 144, 64)` into
# `(batch, 9216)`, before its MLP head. It is harmless here; keep it or drop it. The head
# itself follows the ViT paper's fine-tuning practice in spirit (the paper replaces the
# pre-training MLP head by a single zero-initialised linear layer; the seed adds a small MLP).
#
# The checker builds small ViTs with and without their top and names the usual mistakes
# (backbone not frozen, top not removed, wrong number of outputs, softmax with a from-logits
# loss). The experiment below uses the course's reference, `course_utils.vision.build_transfer_model`,
# so that the notebook runs whether or not you have solved it.

# %%
flattened = keras.layers.Flatten()(features)  # the class-token features of section 1, (64, 64)
print(f"Flatten on the class-token features: {tuple(features.shape)} -> {tuple(flattened.shape)}, "
      f"max abs change {float(np.max(np.abs(flattened - features))):.1e}")
assert tuple(flattened.shape) == tuple(features.shape) and np.array_equal(flattened, features)

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
# feature extraction computes them once and trains the head alone on them, at a fraction of
# the cost: the frozen model's predictions equal the head's on the cached features (checked
# below). (Training the whole frozen model with `fit` would not be quite the same: Keras 3
# would switch the backbone's dropout on, see the end of this section.)
#
# **Each arm trains until its validation loss stops improving**, not for a fixed number of
# steps: with a fixed budget, the comparison would measure the budget (an earlier version of
# this notebook gave from scratch 60 steps, and its accuracy *dropped* from 25 to 100 images
# per class, because 60 steps are under 4 epochs of 500 images). Every `check_every` steps
# (batches of 32) Keras evaluates the validation loss on a fixed validation set of labelled
# target images, kept apart from every training draw; training stops after `patience` checks
# without improvement (or at `max_steps`), and the weights of the best check are restored
# (`EarlyStopping(restore_best_weights=True)`). The validation set is a luxury a real
# few-label project may not have (it holds more images than the smallest training sets):
# here it serves to train every arm as well as it can be trained, so that the comparison is
# about the data and the pretraining. The curves below show that every arm reached its
# plateau before it stopped.
#
# Each size is drawn twice (different labelled images; the larger draws contain the smaller)
# and tested on 1,000 target test images (200 per class). These are the default profile's
# numbers (printed below), chosen to keep the run short: two sizes (5 and 50 labelled images
# per class), 100 validation images, and fine-tuning at the smallest size only. A whole-model
# run (from scratch or fine-tuning) takes at least 50 training steps (10 before the first
# check, then 4 checks of patience), and fine-tuning at 50 per class would add about as many
# steps as from scratch takes there; the comparison that matters most, with the fewest
# labels, keeps all three arms. `COURSE_PROFILE=full` draws five times, validates on 500 and
# tests on 5,000 images, at five sizes from 5 to 400, with fine-tuning at every size.
#
# Every model is compiled once and restarted before each run (`vision.remember_start`):
# recompiling would trace the training step again, seconds per model on a CPU. From scratch and
# fine-tuning even share one compiled model (the same architecture, all of it trainable), which
# gets the right start weights and learning rate before each run.

# %%
sizes = course_utils.pick(default=[5, 50], full=[5, 10, 25, 100, 400])
# fine-tuning, the costliest arm (the whole model, two runs' worth of steps at the larger sizes): in the default profile at
# the smallest size only, where the comparison matters most; the full profile fine-tunes at every size
tune_sizes = course_utils.pick(default=sizes[:1], full=sizes)
draws = course_utils.pick(default=2, full=5)
check_every, patience = 10, 4  # steps between validation checks; checks without improvement before stopping
max_steps = course_utils.pick(default=600, full=1500)  # whole-model steps, an upper bound (early stopping ends sooner)
head_check_every, head_max_steps = 50, 2000  # the head alone on cached features: cheap steps
val_per_class = course_utils.pick(default=20, full=100)
test_per_class = course_utils.pick(default=200, full=1000)
batch_size = 32
print(f"{draws} draws of {sizes} labelled images per class (fine-tuning at {tune_sizes}); validation: {val_per_class} per class; test: {test_per_class} per class; "
      f"checks every {check_every} steps, patience {patience} checks, at most {max_steps} steps")

rng = np.random.default_rng(0)
test_index = np.concatenate([rng.choice(np.flatnonzero(y_target_test == c), test_per_class, replace=False) for c in range(5)])
test_images = vision.prepare_images(x_target_test[test_index, ..., np.newaxis], 28)
test_labels = y_target_test[test_index]
val_index = np.concatenate([rng.choice(np.flatnonzero(y_pool == c), val_per_class, replace=False) for c in range(5)])
val_images, val_labels = vision.prepare_images(x_pool[val_index, ..., np.newaxis], 28), y_pool[val_index]
train_candidates = np.setdiff1d(np.arange(len(y_pool)), val_index)  # the draws never touch the validation images


def compile_with(model, learning_rate, steps_per_execution=1):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(),  # the head ends with a softmax
                  metrics=["accuracy"], steps_per_execution=steps_per_execution)
    return model


# 1. from scratch: the same model with random weights, everything trainable (its random start is kept here)
random_start = [w.numpy() for w in vision.build_transfer_model(vision.build_tiny_vit(include_top=False, name="vit-random-init"), 5).weights]

# 2. feature extraction: the pretrained backbone, frozen; its head trained alone on cached features
frozen_backbone = vision.load_tiny_vit(include_top=False)
feature_extraction = vision.build_transfer_model(frozen_backbone, 5)  # frozen backbone + the seed's head ("classifier")
# A step of the head alone is so cheap that Python's overhead per step dominates it: one call runs the 50 steps between
# two checks (the same steps on the same batches, fewer round trips)
head_only = compile_with(keras.Sequential([keras.Input((64,)), feature_extraction.get_layer("classifier")]), 1e-3,
                         steps_per_execution=head_check_every)

# 3. fine-tuning: a second copy of the pretrained model, unfrozen; each run starts from feature extraction's result at a
#    10x lower learning rate.
# From scratch trains the same architecture, everything trainable, so both use this one compiled model (one traced
# training step instead of two): before each run it gets its start weights and its learning rate.
tuned_backbone = vision.load_tiny_vit(include_top=False)
whole_model = vision.build_transfer_model(tuned_backbone, 5)
tuned_backbone.trainable = True
compile_with(whole_model, 1e-3)

test_features = vision.predict_in_batches(frozen_backbone, test_images)  # (1000, 64), computed once
val_features = vision.predict_in_batches(frozen_backbone, val_images)
# the accuracy metric's variables now: created inside fit's first traced step, they would make TensorFlow trace it twice
vision.build_metrics(whole_model, val_images, val_labels)
vision.build_metrics(head_only, val_features, val_labels)
restart = {"whole model": vision.remember_start(whole_model), "head": vision.remember_start(head_only)}


def start_run(weights_from, learning_rate):
    """Fresh optimizer state, the given start weights and learning rate for the whole model."""
    restart["whole model"]()
    for weight, value in zip(whole_model.weights, weights_from):
        assert weight.shape == value.shape
        weight.assign(value)
    whole_model.optimizer.learning_rate = learning_rate  # assigns the optimizer's variable: no new trace
    assert np.isclose(float(whole_model.optimizer.learning_rate), learning_rate)


methods = {"from scratch": whole_model, "feature extraction": feature_extraction, "fine-tuning": whole_model}
for name, model in methods.items():
    trainable = sum(int(np.prod(w.shape)) for w in (head_only if name == "feature extraction" else model).trainable_weights)
    print(f"{name:>18}: {trainable:>7,} trainable of {model.count_params():,} parameters")



def correct_of(scores):
    return np.argmax(scores, axis=-1) == test_labels  # per test image: the input of the paired tests


def fit_to_plateau(model, data, validation, every, limit):
    """Train until the validation loss stops improving; keep the best check's weights. Returns the history."""
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    images_or_features, labels = validation
    return model.fit(data, steps_per_epoch=every, epochs=limit // every,
                     validation_data=vision.batches(images_or_features, labels, len(labels)),  # one batch: fewer calls
                     callbacks=[stop], shuffle=False, verbose=0).history


# %%
correct = {name: [[None] * len(sizes) for _ in range(draws)] for name in methods}
steps_used = {name: np.zeros((draws, len(sizes)), dtype=int) for name in methods}
first_check_loss = {name: np.zeros((draws, len(sizes))) for name in methods}  # validation loss at the first check
best_loss = {name: np.zeros((draws, len(sizes))) for name in methods}  # and at the best (restored) check
curves = {name: {} for name in methods}  # draw 0's validation curves, to check the plateau
for draw in range(draws):
    draw_rng = np.random.default_rng(100 + draw)
    class_order = [draw_rng.permutation(train_candidates[y_pool[train_candidates] == c]) for c in range(5)]
    for j, n in enumerate(sizes):
        index = np.concatenate([order[:n] for order in class_order])
        images, labels = x_pool[index], y_pool[index]
        train_ds = vision.make_dataset(images, labels, 28, batch_size, shuffle=True, seed=draw).repeat()
        start = time.perf_counter()
        histories = {}

        start_run(random_start, 1e-3)
        histories["from scratch"] = fit_to_plateau(whole_model, train_ds, (val_images, val_labels), check_every, max_steps)
        correct["from scratch"][draw][j] = correct_of(whole_model.predict(test_images, batch_size=500, verbose=0))

        restart["head"]()
        features = vision.predict_in_batches(frozen_backbone, vision.prepare_images(images[..., np.newaxis], 28))
        feature_ds = tf.data.Dataset.from_tensor_slices((features, labels)).shuffle(len(labels), seed=draw).repeat().batch(batch_size)
        histories["feature extraction"] = fit_to_plateau(head_only, feature_ds, (val_features, val_labels), head_check_every, head_max_steps)
        head_scores = vision.predict_in_batches(head_only, test_features)
        correct["feature extraction"][draw][j] = correct_of(head_scores)
        if draw == 0 and j == 0:  # the head on cached features is the whole frozen model (200 test images show it)
            whole_model_gap = float(np.max(np.abs(vision.predict_in_batches(feature_extraction, test_images[:200]) - head_scores[:200])))
            print(f"frozen model on images vs head on cached features: max abs difference {whole_model_gap:.1e}")
            assert whole_model_gap < 1e-5

        if n in tune_sizes:
            start_run(feature_extraction.weights, 1e-4)  # start where feature extraction ended, 10x lower learning rate
            histories["fine-tuning"] = fit_to_plateau(whole_model, train_ds, (val_images, val_labels), check_every, max_steps)
            correct["fine-tuning"][draw][j] = correct_of(whole_model.predict(test_images, batch_size=500, verbose=0))

        for name, history in histories.items():
            every = head_check_every if name == "feature extraction" else check_every
            steps_used[name][draw, j] = every * len(history["val_loss"])
            first_check_loss[name][draw, j], best_loss[name][draw, j] = history["val_loss"][0], min(history["val_loss"])
            if draw == 0:
                curves[name][n] = dict(steps=(every * np.arange(1, len(history["val_loss"]) + 1)).tolist(),
                                       val_accuracy=history["val_accuracy"], val_loss=history["val_loss"])
        print(f"draw {draw + 1}/{draws}, {n:>3} images per class: " + ", ".join(
            f"{name} {correct[name][draw][j].mean():.1%} ({steps_used[name][draw, j]} steps)" for name in histories)
            + f"  ({time.perf_counter() - start:.1f} s)")

# the sizes each arm ran at (NaN where fine-tuning did not run, in the default profile)
ran = {name: [j for j, n in enumerate(sizes) if name != "fine-tuning" or n in tune_sizes] for name in methods}
results = {name: np.array([[np.nan if c is None else c.mean() for c in row] for row in correct[name]]) for name in methods}
mean = {name: values.mean(axis=0) for name, values in results.items()}
gain = {name: mean[name] - mean["from scratch"] for name in ("feature extraction", "fine-tuning")}

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
    print(f"{n:>12}" + "".join(f"{mean[name][j]:>20.1%}" if j in ran[name] else f"{'(not run)':>20}" for name in methods))

# %% [markdown]
# Did every arm train to its plateau? The validation curves of the first draw, one line per
# size (each ends where early stopping stopped it; the marker is the restored best check):

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), sharey=True)
for ax, name in zip(axes, methods):
    for j, (n, curve) in enumerate(curves[name].items()):
        best = int(np.argmin(curve["val_loss"]))
        ax.plot(curve["steps"], 100 * np.array(curve["val_accuracy"]), color=f"C{j}", label=f"{n} per class")
        ax.plot(curve["steps"][best], 100 * curve["val_accuracy"][best], "o", color=f"C{j}")
    ax.set(title=name, xlabel="training steps (batches of 32)" + (" on cached features" if name == "feature extraction" else ""))
    ax.legend(fontsize=8)
axes[0].set_ylabel(f"validation accuracy (%, {len(val_labels)} images)")
fig.suptitle("Validation curves of the first draw: each arm trains until its validation loss stops improving", fontsize=10)
fig.tight_layout()
plt.show()
stopped_early = {name: float(np.mean(steps_used[name][:, ran[name]] < (head_max_steps if name == "feature extraction" else max_steps)))
                 for name in methods}
for name in methods:
    print(f"{name:>18}: steps until early stopping, mean over draws: " + ", ".join(
        f"{sizes[j]}/class {steps_used[name][:, j].mean():.0f}" for j in ran[name]))
print("share of runs stopped by early stopping (not by the step limit): "
      + ", ".join(f"{name} {share:.0%}" for name, share in stopped_early.items()))
for j in ran["fine-tuning"]:  # how fast the whole-model arms get there, in validation loss
    n = sizes[j]
    print(f"{n:>3}/class, validation loss per draw: fine-tuning after its first {check_every} steps "
          + ", ".join(f"{v:.2f}" for v in first_check_loss["fine-tuning"][:, j])
          + "; from scratch at its best check " + ", ".join(f"{v:.2f}" for v in best_loss["from scratch"][:, j]))
assert all(share == 1.0 for share in stopped_early.values()), stopped_early  # every run reached its plateau

# %% [markdown]
# **How sure is the gain?** Each pretrained arm minus from scratch, on the same test images.
# Per draw, the paired standard error of the gap (`course_utils.stats`, from the per-image
# differences: the noise of the test set) and the McNemar test; over the draws, the spread of
# the gains (the noise of *which* few images were labelled, much larger at small sizes). The
# claim of this section is checked at the two smallest sizes each arm ran at (for fine-tuning
# in the default profile: 5 per class only): the gain is positive in every draw, and its
# mean over the draws exceeds three standard errors of the test set's noise in that mean (a
# single draw's gain can come close to its own three standard errors when the few labelled
# images happen to suit from scratch). Two draws show the spread; they are too
# few to test it (`COURSE_PROFILE=full` draws five).

# %%
gain_rows, gain_se, draw_gaps, draw_ses = [], {}, {}, {}
for name in ("feature extraction", "fine-tuning"):
    gain_se[name], draw_gaps[name], draw_ses[name] = [], [], []
    for j, n in enumerate(sizes):
        if j not in ran[name]:
            for values in (gain_se[name], draw_gaps[name], draw_ses[name]):
                values.append(None)  # fine-tuning did not run at this size (default profile)
            continue
        per_draw = [stats.mcnemar(correct[name][d][j], correct["from scratch"][d][j]) for d in range(draws)]
        ses = [stats.paired_standard_error(correct[name][d][j], correct["from scratch"][d][j]) for d in range(draws)]
        gaps = [t["gap"] for t in per_draw]
        draw_gaps[name].append(gaps)
        draw_ses[name].append(ses)
        gain_se[name].append(float(np.sqrt(np.sum(np.square(ses)))) / draws)  # test-set noise of the mean over the draws
        gain_rows.append(dict(arm=name, per_class=n, gain=float(np.mean(gaps)), sd=float(np.std(gaps, ddof=1)),
                              per_draw=", ".join(f"{100 * g:+.1f} (se {100 * e:.1f})" for g, e in zip(gaps, ses)),
                              mcnemar_p=max(t["p_value"] for t in per_draw)))
for row in gain_rows:
    print(f"{row['arm']:>18} minus from scratch, {row['per_class']:>3}/class: {100 * row['gain']:+5.1f} points, sd over draws "
          f"{100 * row['sd']:.1f}; per draw {row['per_draw']}; largest McNemar p {row['mcnemar_p']:.1g}")
course_utils.record("transfer", {"images_per_class": sizes, "draws": draws, "test_images": len(test_labels),
                                 "validation_images": len(val_labels), "check_every": check_every, "patience": patience,
                                 "max_steps": max_steps, "fine_tuning_sizes": tune_sizes,  # None: not run at that size
                                 **{name: [None if np.isnan(v) else float(v) for v in values] for name, values in mean.items()},
                                 "steps_used_mean": {name: [float(steps_used[name][:, j].mean()) if j in ran[name] else None
                                                            for j in range(len(sizes))] for name in methods},
                                 "gain_over_scratch": {name: [None if np.isnan(v) else float(v) for v in g] for name, g in gain.items()},
                                 "gain_standard_error": gain_se,
                                 "gain_per_draw": draw_gaps,
                                 "fine_tuning_first_check_val_loss": first_check_loss["fine-tuning"][:, ran["fine-tuning"]].tolist(),
                                 "from_scratch_best_val_loss": best_loss["from scratch"].tolist()});

# the claim of this section: at the two smallest sizes (of those the arm ran at) reusing the pretrained ViT beats from
# scratch in every draw, and on average over the draws by more than three standard errors of the test-set noise of that
# average
for name in gain:
    for j in ran[name][:2]:
        assert min(draw_gaps[name][j]) > 0 and gain[name][j] > 3 * gain_se[name][j], (name, sizes[j], draw_gaps[name][j], gain_se[name][j])
for name in methods:
    assert np.nanmin(mean[name]) > 0.3  # all well above chance (20 %)
# the reading below: the gain shrinks as labels grow (for each arm that ran at more than one size); at the two smallest
# sizes fine-tuning's first check (10 steps) already beats the best validation loss of from scratch in every draw; from
# scratch needs more steps the more images it has
for name, g in gain.items():
    if len(ran[name]) > 1:
        assert g[ran[name][0]] > g[ran[name][-1]], (name, g)
for j in ran["fine-tuning"][:2]:
    assert all(first_check_loss["fine-tuning"][:, j] < best_loss["from scratch"][:, j]), (sizes[j], first_check_loss, best_loss)
steps_mean = {name: steps_used[name].mean(axis=0) for name in methods}
assert steps_mean["from scratch"][-1] > steps_mean["from scratch"][0], steps_mean

# %% [markdown]
# **Reading the result.** With every arm trained to its plateau, both ways of reusing the
# pretrained ViT beat training it from scratch at the two smallest sizes (in the default
# profile: feature extraction at both of its sizes, fine-tuning at 5 per class, the only
# size it runs at there) in every draw, and on average by far more than the test set's
# noise (asserted above): features learned on *other* clothes carry over to classes the
# model never saw. The gain is larger with the fewest labels and shrinks as labels grow (the
# printed gains per size; asserted for every arm measured at more than one size, in the
# default profile feature extraction), because from scratch improves the most with more
# data: that is the **data-efficiency** side, and the reason the seed recommends transfer
# for small data sets. The **optimisation-speed** side is in the validation losses printed
# under the curves: at the two smallest sizes fine-tuning ran at (5 per class in the default
# profile), fine-tuning after its first 10 steps already has a lower validation loss than
# from scratch reaches at its best check, in every draw (asserted). From
# scratch also needs more steps the more images it has (a budget of a fixed number of steps,
# as in earlier versions of this notebook, therefore short-changes it most at the largest
# sizes). Fine-tuning starts from the feature-extraction model; what it adds on top of it is
# in the printed table, a small difference that this notebook does not test.
#
# Limits, stated plainly: two draws show how much the gain depends on which few images were
# labelled, but are too few to test that spread; the validation set (100 labelled images in
# the default profile) is larger than the smallest training sets, a luxury of the experiment;
# the default profile measures only two sizes, so "shrinks" means from 5 to 50 images per
# class (the full profile has five sizes), and fine-tunes at 5 per class only, so whether
# fine-tuning's gain also shrinks is measured in the full profile alone; and the pretraining is
# small (27,000 images of 5 classes, 64 features). With ViT-B/32's ImageNet-21k features
# (full profile, section 7) the frozen features are far more general, which is why feature
# extraction is the seed's first step.
#
# **Was the backbone's dropout off while the whole model trained?** `build_transfer_model`
# calls the backbone with `training=False`, the usual Keras recipe for a backbone in
# inference mode. Inside `fit` in Keras 3 it is not: a functional model hands the `training`
# flag of its own call to every layer it calls, and that flag overrides the `training=False`
# written when the model was built. The function that does it, from the installed Keras:

# %%
probe_input = keras.Input(whole_model.input.shape[1:])
probe = keras.Model(probe_input, tuned_backbone(probe_input, training=False))  # as in build_transfer_model
# keras.Model(inputs, outputs) builds Keras's internal Functional class; its module holds operation_fn. Found from the
# object, not from a private import path, so that a Keras release that moves the module does not break this cell.
functional_module = inspect.getmodule(type(probe))
operation_fn = getattr(functional_module, "operation_fn", None)
if operation_fn is not None:
    display(Code(inspect.getsource(operation_fn), language="python"))
else:
    print(f"Keras {keras.__version__} has no operation_fn in {functional_module.__name__}: the function that passes "
          "the training flag was renamed or moved; the measurement below still shows what it does.")
as_in_fit = [keras.ops.convert_to_numpy(probe(test_images[:64], training=True)) for _ in range(2)]
as_in_predict = [keras.ops.convert_to_numpy(probe(test_images[:64])) for _ in range(2)]
dropout_effect = float(np.max(np.abs(as_in_fit[0] - as_in_fit[1])))
print(f"Keras {keras.__version__}: the backbone's features, twice with the outer training=True (as fit calls it): "
      f"max abs difference {dropout_effect:.2f}; twice without (as predict calls it): "
      f"{float(np.max(np.abs(as_in_predict[0] - as_in_predict[1]))):.1e}")
assert dropout_effect > 1e-2 and np.array_equal(*as_in_predict)  # dropout on in training mode, off otherwise
course_utils.record("backbone_dropout_active_in_fit", dropout_effect > 1e-2);

# %% [markdown]
# So from scratch and fine-tuning trained with the backbone's own dropout on (vit-keras's
# rate 0.1 in each block), the usual setting when a whole ViT is trained; predictions and the
# cached features of feature extraction ran in inference mode. The `training=False` in the
# recipe decides only when the model is called without a flag (`predict`, or `model(x)`).
#
# **The seed's other advice: pre-trained CNNs.** For small data sets the seed also recommends
# pre-trained CNNs. Notebook 06 measured that *from scratch* the small CNN needs far fewer
# images than the tiny ViT. Whether a *pretrained* CNN also transfers better needs a CNN
# pretrained on the same five source classes with the same budget, shipped with its weights
# and model card like the tiny ViT (a second model in `course_utils.pretrain`), and then
# transferred here in the same way and drawn in the same figure. The course does not ship
# that model yet, so this notebook makes no claim either way. At ImageNet scale the ViT paper
# reports the trade-off (section 4.3): pre-trained on ImageNet alone, its BiT ResNets
# transfer better than ViTs; pre-trained on 14 million images or more, the ViTs catch up.
#
# ## 6. tensorflow-addons: what ViT code used it for, and what replaced it
#
# The seed says vit-keras "requires tensorflow-addons". It did, in 2021, but not for GELU.
# TensorFlow has had GELU since version 2.4 (December 2020: `tf.nn.gelu` and
# `tf.keras.activations.gelu`, [release notes](https://github.com/tensorflow/tensorflow/releases/tag/v2.4.0));
# from then on tensorflow-addons' own `tfa.activations.gelu` warned that GELU "has been
# migrated to core TensorFlow" and called `tf.nn.gelu`
# ([its source](https://github.com/tensorflow/addons/blob/v0.23.0/tensorflow_addons/activations/gelu.py));
# and the original keras.io ViT example (January 2021) used `tf.nn.gelu`. What ViT code
# really took from tensorflow-addons was **AdamW** (`tfa.optimizers.AdamW`, as in that
# keras.io example, until Keras shipped its own `AdamW`) and, in vit-keras 0.1.x, an
# unconditional `import tensorflow_addons`: on TensorFlow ≥ 2.4 its GELU already came from
# TensorFlow (checked in the legacy environment, [docs/legacy.md](../docs/legacy.md)), so the
# import was all that broke when tensorflow-addons stopped working.
# tensorflow-addons is end-of-life (last release 0.23.0, TensorFlow ≤ 2.15; its import fails
# on Keras 3, [announcement](https://github.com/tensorflow/addons/issues/2807)), and vit-keras
# 0.2.0 no longer imports it. The replacements are built into Keras 3:
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
# ## References
#
# Papers:
# * Dosovitskiy et al. (2021), *An Image is Worth 16x16 Words* (ViT; its fine-tuning head, section 3.2): https://arxiv.org/abs/2010.11929
# * Loshchilov & Hutter (2019), *Decoupled Weight Decay Regularization* (AdamW): https://arxiv.org/abs/1711.05101
# * Hendrycks & Gimpel (2016), *Gaussian Error Linear Units (GELUs)*: https://arxiv.org/abs/1606.08415
# * Xiao, Rasul & Vollgraf (2017), *Fashion-MNIST*: https://arxiv.org/abs/1708.07747
# * McNemar (1947): https://doi.org/10.1007/BF02295996 (the paired comparison in `course_utils.stats`)
#
# Libraries, examples and data:
# * vit-keras: https://github.com/faustomorales/vit-keras; the same models on Hugging Face, e.g. https://huggingface.co/google/vit-base-patch16-224
# * The keras.io ViT example: https://keras.io/examples/vision/image_classification_with_vision_transformer/
# * tensorflow-addons, its GELU (https://github.com/tensorflow/addons/blob/v0.23.0/tensorflow_addons/activations/gelu.py) and
#   its end of life (https://github.com/tensorflow/addons/issues/2807); TensorFlow 2.4's release notes (GELU in core):
#   https://github.com/tensorflow/tensorflow/releases/tag/v2.4.0
# * Keras 3 `AdamW`: https://keras.io/api/optimizers/adamw/; `gelu`: https://keras.io/api/layers/activations/;
#   image loading (`image_dataset_from_directory`, the legacy `ImageDataGenerator`): https://keras.io/api/data_loading/image/
# * `tf.data`: https://www.tensorflow.org/guide/data; the flower photos: https://www.tensorflow.org/tutorials/load_data/images

# %% [markdown]
# ## Summary
#
# Printed from the values recorded above (`build/results/07_vit_transfer_learning.json`):

# %%
recorded = course_utils.results.load_all_results()["07_vit_transfer_learning"]
t = recorded["transfer"]
names = ["from scratch", "feature extraction", "fine-tuning"]
table = "\n".join(
    f"  {n:>3} per class: " + ", ".join(f"{name} {t[name][j]:.1%}" for name in names if t[name][j] is not None)
    for j, n in enumerate(t["images_per_class"])
)
fine_tuning_last = t["gain_over_scratch"]["fine-tuning"][-1]  # None where fine-tuning did not run (default profile)
fine_tuning_last = "(not run)" if fine_tuning_last is None else f"{100 * fine_tuning_last:+.1f}"
decay = recorded["adamw_decay_per_step"]
flowers_line = (
    f"* Flowers with ViT-B/32: {recorded['flowers']['feature_extraction_val_accuracy']:.1%} (feature extraction), "
    f"{recorded['flowers']['fine_tuning_val_accuracy']:.1%} (fine-tuning) validation accuracy."
    if recorded["flowers_ran"] else "* Flowers with ViT-B/32: not run (full profile with Google's weights and the photos only)."
)
print(f"""Measured in this run ({recorded['_meta']['profile']} profile, {time.perf_counter() - notebook_start:.0f} s after the first cell):
* Backbone: {recorded['backbone']} (pretrained on 5 source classes: {card['results']['test_accuracy']:.2%} test accuracy there,
  {card['training']['seconds']:.0f} s of training).
* Transfer to 5 unseen classes (test accuracy, mean of {t['draws']} draws, {t['test_images']:,} test images; every arm trained
  until its validation loss ({t['validation_images']} images) stopped improving, checked every {t['check_every']} steps):
{table}
* Gain over from scratch at {t['images_per_class'][0]} per class: feature extraction {100 * t['gain_over_scratch']['feature extraction'][0]:+.1f} points
  (standard error {100 * t['gain_standard_error']['feature extraction'][0]:.1f}), fine-tuning {100 * t['gain_over_scratch']['fine-tuning'][0]:+.1f} ({100 * t['gain_standard_error']['fine-tuning'][0]:.1f});
  at {t['images_per_class'][-1]} per class: {100 * t['gain_over_scratch']['feature extraction'][-1]:+.1f} and {fine_tuning_last}
  (fine-tuning at {t['fine_tuning_sizes']} per class).
* GELU, Keras 3 default (exact) vs tensorflow-addons default (tanh): up to {recorded['gelu_exact_vs_tanh_max_abs_diff']:.1e} apart.
* AdamW with weight_decay={decay['tfa_weight_decay']} at lr={decay['learning_rate']}: Keras 3 removes {decay['keras_same_number']:.1e} per step,
  tensorflow-addons {decay['tfa_weight_decay']:.0e}; Keras needs weight_decay={decay['tfa_weight_decay'] / decay['learning_rate']:g} to match ({decay['keras_converted']:.1e}).
{flowers_line}""")
