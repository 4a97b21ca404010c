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
# # 08 · ViT attention maps: what they show, how they are computed, what they prove
#
# A Vision Transformer is often called *inherently interpretable*: every block computes
# attention weights between patches, and a heat map of them shows "where the model looks".
# `vit_keras` makes such a map in one line:
#
# ```python
# from vit_keras import visualize
# attention_map = visualize.attention_map(model=vit_model, image=image)
# ```
#
# In this notebook you will
#
# 1. call `attention_map` on the course's pretrained ViT and real Fashion-MNIST test images,
#    and see what it returns (not what most people expect);
# 2. read the raw attention weights of every layer and head;
# 3. implement **attention rollout** (the method inside `attention_map`) as an exercise, then
#    rebuild the map step by step and **assert** that it equals vit-keras's output;
# 4. measure how far each head looks (mean attention distance);
# 5. measure the **limits**: maps of an untrained ViT, what rollout leaves out, and whether
#    the map tells us what the model needs (an occlusion test).

# %%
import logging
import time

import keras
import matplotlib.pyplot as plt
import numpy as np
from vit_keras import visualize

import course_utils
from course_utils import rollout
from course_utils.checks import check_attention_rollout
from course_utils.data import FASHION_CLASSES, load_fashion_mnist
from course_utils.vision import (SOURCE_CLASSES, accuracy, build_tiny_vit, load_backbone, load_tiny_vit,
                                 mean_attention_distance, read_card, select_classes)

course_utils.start("08_vit_attention_maps")
# attention_map calls model.predict without verbose=0: turn Keras's progress bars off
# once, instead of one bar per map.
keras.utils.disable_interactive_logging()
# Each attention_map call also builds a new Keras model, so TensorFlow warns that its predict
# function is "retracing" (expected here, and harmless): keep its warnings out of the page.
logging.getLogger("tensorflow").setLevel(logging.ERROR)
notebook_start = time.perf_counter()

# %% [markdown]
# ## 1. The model and the images
#
# The course's tiny ViT is vit-keras's own architecture (`vit.build_model`: 28×28 input,
# 4×4 patches, so 7×7 = 49 patches plus a class token = 50 tokens, 4 layers, 4 heads,
# hidden size 64), pretrained by `python -m course_utils.pretrain` on five Fashion-MNIST
# classes (T-shirt/top, Trouser, Pullover, Sandal, Bag). Google's ViT-B/32 has the same
# structure, only bigger (224×224, 32×32 patches, 12 layers, 12 heads, hidden 768).
#
# We first check that the shipped weights are the trained ones: accuracy on the test images
# of those five classes, which the model never saw during training.

# %%
model = load_tiny_vit()  # classifier of the 5 source classes; sha256 checked against the card
card = read_card()
data = load_fashion_mnist()
print(data.info)
x_test, y_test = select_classes(data.x_test, data.y_test, SOURCE_CLASSES)
source_names = [FASHION_CLASSES[c] for c in SOURCE_CLASSES]

test_accuracy = course_utils.record("tiny_vit_source_test_accuracy", accuracy(model, x_test, y_test))
print(f"tiny ViT: {model.count_params():,} parameters, test accuracy {test_accuracy:.1%} on {len(y_test):,} "
      f"images of {', '.join(source_names)} (chance 20%; the model card says {card['results']['test_accuracy']:.1%})")
assert test_accuracy > 0.9

# %% [markdown]
# `attention_map` needs a **square uint8 RGB image with pixels 0-255**: it resizes the image
# to the model's input with OpenCV, scales the pixels to [-1, 1] itself
# (`vit.preprocess_inputs`), and multiplies the original image by the mask at the end.
# Fashion-MNIST images are 28×28 grey, so we stack the grey channel three times.
# (A float image in [0, 1] would be scaled to about -1 everywhere and the result truncated to
# 0; a non-square photo would be squashed to the square input, so crop photos first.)

# %%
n_maps = course_utils.record("map_images", course_utils.pick(default=5, full=10))
# the first test image(s) of each class, in test-set order: real, unselected examples
chosen = np.concatenate([np.flatnonzero(y_test == c)[: (n_maps + 4) // 5] for c in range(5)])[:n_maps]
images = rollout.to_rgb_uint8(x_test[chosen])  # (n, 28, 28, 3) uint8
labels = y_test[chosen]
print("images:", images.shape, images.dtype, "pixel range", images.min(), "-", images.max())

# %% [markdown]
# ## 2. The seed's call: `visualize.attention_map`
#
# Exactly as the seed writes it, with our model as `vit_model` and one test image: one call,
# one model, one image. Then the same call for each of the chosen images.

# %%
vit_model, image = model, images[0]
attention_map = visualize.attention_map(model=vit_model, image=image)
print(f"attention_map for one {image.shape} {image.dtype} image: {attention_map.shape} {attention_map.dtype}, "
      f"values {attention_map.min()}..{attention_map.max()}")

start = time.perf_counter()
vit_keras_maps = np.stack([visualize.attention_map(model=vit_model, image=image) for image in images])
seconds_per_map = course_utils.record("attention_map_seconds_per_image", (time.perf_counter() - start) / n_maps)
print(f"attention_map on all {n_maps} images: {vit_keras_maps.shape}, {seconds_per_map:.2f} s per image "
      "(it builds a new Keras model on every call)")

# It returns the image multiplied by a mask in [0, 1], not the heat map itself:
np.testing.assert_array_equal(vit_keras_maps[0], attention_map)  # the same call twice, the same map
assert vit_keras_maps.shape == images.shape and vit_keras_maps.dtype == np.uint8
assert (vit_keras_maps <= images).all()  # never brighter than the image
assert (vit_keras_maps[images == 0] == 0).all()  # black background stays black, whatever the attention

# %% tags=["slide"]
predicted = np.argmax(model.predict(rollout.prepare_like_attention_map(model, images), verbose=0), axis=-1)
fig, axes = plt.subplots(2, n_maps, figsize=(2 * n_maps, 4.4))
for i in range(n_maps):
    axes[0, i].imshow(images[i])
    axes[0, i].set_title(f"{source_names[labels[i]]}\npredicted: {source_names[predicted[i]]}", fontsize=8)
    axes[1, i].imshow(vit_keras_maps[i])
for ax in axes.ravel():
    ax.set_xticks([]), ax.set_yticks([])
axes[0, 0].set_ylabel("image (28×28 px)")
axes[1, 0].set_ylabel("image × mask")
fig.suptitle("vit_keras.visualize.attention_map on the pretrained tiny ViT (Fashion-MNIST test images)")
plt.tight_layout()
plt.show()

# %% [markdown]
# The output looks like a dimmed copy of the garment. On Fashion-MNIST's black background,
# *any* mask multiplied by the image looks like the garment: to see what the model attends
# to, we need the mask itself. That means opening the box.
#
# ## 3. Inside: one attention matrix per layer and head
#
# Each vit-keras `TransformerBlock` returns `(output, attention_weights)`. `attention_map`
# finds the blocks **by type among the model's top-level layers** (so a ViT nested inside
# another Keras model as a single layer has no blocks at the top level and fails: pass the
# inner ViT) and builds a second model that outputs every block's weights.
# `rollout.attention_matrices` does the same, for a whole batch at once.

# %%
attentions = rollout.attention_matrices(model, images)  # (layers, images, heads, T, T)
n_layers, _, n_heads, n_tokens, _ = attentions.shape
grid = int(np.sqrt(n_tokens - 1))
print(f"attention weights: {attentions.shape} = (layers, images, heads, tokens, tokens); "
      f"{n_tokens} tokens = 1 class token + {grid}×{grid} patches")
# each row is a softmax: token i's attention over all tokens sums to 1
np.testing.assert_allclose(attentions.sum(axis=-1), 1.0, atol=1e-5)

# %% [markdown]
# Row 0 of each matrix is what the **class token** attends to; the class token's final
# vector is what the classifier reads. Here is that row, over the 7×7 patches, for every
# layer and head of one image, without any processing. Each head spreads its attention
# differently, and the layers disagree: which one is "the" map?

# %%
example = 0
raw = rollout.cls_attention_maps(attentions[:, example])  # (layers, heads, 7, 7)
fig, axes = plt.subplots(n_layers, n_heads + 2, figsize=(1.9 * (n_heads + 2), 2.2 * n_layers))
for layer in range(n_layers):
    axes[layer, 0].imshow(images[example])
    for head in range(n_heads):
        axes[layer, head + 1].imshow(raw[layer, head], cmap="viridis", vmin=0)
        axes[layer, head + 1].set_title(f"layer {layer + 1}, head {head + 1}\nmax {raw[layer, head].max():.2f}",
                                        fontsize=7)
    axes[layer, -1].imshow(raw[layer].mean(axis=0), cmap="viridis", vmin=0)
    axes[layer, -1].set_title(f"layer {layer + 1}, head mean\nmax {raw[layer].mean(axis=0).max():.2f}", fontsize=7)
for ax in axes.ravel():
    ax.set_xticks([]), ax.set_yticks([])
fig.suptitle(f"Class-token attention over the 7×7 patches ({source_names[labels[example]]}); "
             "colour = attention weight, each panel scaled from 0 (dark) to its own max (yellow)", fontsize=9)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 4. Exercise: attention rollout
#
# Attention rollout ([Abnar & Zuidema, 2020](https://arxiv.org/abs/2005.00928)) combines all layers into one map. Information
# reaches the last layer's class token through a chain of attention steps, and the residual
# connections (`x + Attention(x)`) let each token also pass *itself* on unchanged. Rollout
# models one layer as "half attention, half identity" and chains the layers with matrix
# products. For one image with `attentions` of shape `(layers, heads, T, T)`:
#
# 1. **average the heads**: one `(T, T)` matrix `A_l` per layer;
# 2. **add the identity** for the residual path: `A_l + I` (now every row sums to 2);
# 3. **renormalise the rows** so that each sums to 1 again;
# 4. **multiply the layers**, the last one on the left: `R = A_L @ ... @ A_2 @ A_1`
#    (layer 1 acts first, like function composition). `R[i, j]` estimates how much of input
#    token `j` ends up in output token `i`.
#
# The map is the class token's row over the patches, `R[0, 1:]`, as a 7×7 grid.
#
# Write `attention_rollout(attentions)` returning the `(T, T)` matrix `R` (NumPy is enough),
# then run the checker.

# %%
def attention_rollout(attentions):
    """(layers, heads, T, T) attention weights of one image -> (T, T) rollout matrix."""
    raise NotImplementedError  # your code here


# %%
check_attention_rollout(attention_rollout);

# %% [markdown]
# ## 5. Rollout step by step, and the proof that it is what vit-keras computes
#
# The course's reference is `course_utils.rollout.attention_rollout`. Here are its steps on
# one image, with what each step guarantees asserted.

# %%
one = attentions[:, example]  # (layers, heads, T, T)
step1 = one.mean(axis=1)  # 1. average the heads -> (layers, T, T)
step2 = step1 + np.eye(n_tokens)  # 2. residual path
print("row sums after adding the identity:", np.unique(step2.sum(axis=-1).round(5)))
step3 = step2 / step2.sum(axis=-1, keepdims=True)  # 3. rows sum to 1 again
R = step3[0]
for layer_matrix in step3[1:]:  # 4. R = A_L @ ... @ A_1
    R = layer_matrix @ R
np.testing.assert_allclose(R.sum(axis=-1), 1.0, atol=1e-9)  # still a mixing of the inputs
np.testing.assert_allclose(R, rollout.attention_rollout(one), rtol=1e-12)
mask = rollout.cls_mask(R)  # 5. class-token row over the patches, max = 1
print("rollout matrix", R.shape, "-> mask", mask.shape, f"(values {mask.min():.2f} .. {mask.max():.2f})")

# %% [markdown]
# vit-keras's code is the same with one difference: it divides each layer's matrix by the
# sum of **all** its entries (`reshaped.sum(axis=(1, 2))`), not each row by its own sum.
# After adding the identity every row sums to 2, so the whole matrix sums to `2T`: each of
# vit-keras's layer matrices is ours divided by `T`, the product is ours divided by `T^L`,
# and the final `mask / mask.max()` removes that constant. Measured:

# %%
whole = rollout.whole_matrix_rollout(one)
ratio = R / whole
print(f"row-renormalised / whole-matrix-renormalised: {np.median(ratio):.6g} "
      f"(T^L = {n_tokens}^{n_layers} = {n_tokens ** n_layers:.6g}), spread {ratio.max() / ratio.min() - 1:.1e}")
mask_gap = course_utils.record("row_vs_whole_matrix_mask_max_abs_diff",
                               float(np.abs(rollout.cls_mask(R) - rollout.cls_mask(whole)).max()))
print(f"largest difference between the two max-normalised masks: {mask_gap:.1e}")
# Not exactly 0: float32 softmax rows sum to 1 only up to ~1e-7, so the constant is T^L only
# up to that rounding.
assert mask_gap < 1e-6 and abs(np.median(ratio) / n_tokens ** n_layers - 1) < 1e-6

# %% [markdown]
# Now the full pipeline for every image, against vit-keras's own output from section 2:
# `rollout.rollout_attention_map` reads the attention weights of one image (a batch of one,
# as `attention_map` does), rolls them out, and applies the same last step (the mask
# resized bilinearly with OpenCV to the image, times the image, as uint8).

# %%
ours = np.stack([rollout.rollout_attention_map(model, image)[1] for image in images])
difference = np.abs(ours.astype(int) - vit_keras_maps.astype(int))
rollout_agreement = course_utils.record("rollout_vs_vit_keras_max_abs_diff_levels", int(difference.max()))
equal_fraction = course_utils.record("rollout_vs_vit_keras_equal_pixel_fraction", float(np.mean(difference == 0)))
print(f"our rollout vs vit_keras.visualize.attention_map on {n_maps} images: largest difference "
      f"{rollout_agreement} (uint8 levels), {equal_fraction:.2%} of the {difference.size:,} values identical")
# Tolerance: one level, because the uint8 cast truncates and a float rounding difference
# could move a value across an integer.
assert rollout_agreement <= 1

# %% [markdown]
# Batches are not free of rounding: the attention weights of the same image computed in a
# batch of five (section 3) differ from a batch of one by float32 rounding, enough to move a
# few uint8 values by one level. That is the forward pass, not the rollout:

# %%
single = np.stack([rollout.attention_matrices(model, image)[:, 0] for image in images], axis=1)
batch_gap = course_utils.record("attention_batch_of_one_vs_five_max_abs_diff", float(np.abs(single - attentions).max()))
batched_maps = np.stack([rollout.overlay(rollout.cls_mask(rollout.attention_rollout(attentions[:, i])), images[i])
                         for i in range(n_maps)])
batched_levels = int(np.abs(batched_maps.astype(int) - vit_keras_maps.astype(int)).max())
print(f"attention weights, batch of 1 vs batch of {n_maps}: largest difference {batch_gap:.1e}; "
      f"maps from the batched weights vs vit-keras: largest difference {batched_levels} level(s)")
assert batch_gap < 1e-5 and batched_levels <= 1

# %% [markdown]
# So `attention_map` **is** attention rollout. Here are the masks themselves, the part the
# library multiplies away, next to its output:

# %%
masks = np.stack([rollout.cls_mask(rollout.attention_rollout(attentions[:, i])) for i in range(n_maps)])
fig, axes = plt.subplots(3, n_maps, figsize=(2 * n_maps, 6.3))
for i in range(n_maps):
    axes[0, i].imshow(images[i])
    axes[0, i].set_title(source_names[labels[i]], fontsize=8)
    shown = axes[1, i].imshow(masks[i], cmap="inferno", vmin=0, vmax=1)
    axes[2, i].imshow(vit_keras_maps[i])
for ax in axes.ravel():
    ax.set_xticks([]), ax.set_yticks([])
axes[0, 0].set_ylabel("image")
axes[1, 0].set_ylabel("rollout mask\n(7×7 patches)")
axes[2, 0].set_ylabel("attention_map\n= image × mask")
fig.colorbar(shown, ax=axes[1, :], shrink=0.8, label="rollout, scaled to max 1")
fig.suptitle("Attention rollout of the pretrained tiny ViT: the mask and what attention_map returns")
plt.show()

# %% [markdown]
# ## 6. How far does each head look? Mean attention distance
#
# A convolution's 3×3 kernel always looks at its neighbours. A ViT head can attend anywhere;
# the ViT paper (figure 7, right) measures how far: for each patch, the distance in pixels to
# every other patch, weighted by the attention it pays them, averaged over patches and images
# (class token left out). We compare the pretrained model with an **untrained** one of the
# same architecture (random weights, seeded): the sanity check of section 7.

# %%
n_distance = course_utils.pick(default=200, full=1000)
distance_images = rollout.to_rgb_uint8(x_test[:n_distance])
random_model = build_tiny_vit(classes=len(SOURCE_CLASSES), name="vit-tiny-random")  # same architecture, not trained
distance_attention = {"pretrained": rollout.attention_matrices(model, distance_images),
                      "random init": rollout.attention_matrices(random_model, distance_images)}
distance = {name: mean_attention_distance(a, grid=grid, patch_size=4) for name, a in distance_attention.items()}
for name, d in distance.items():
    print(f"{name:>11}: mean attention distance per layer (pixels, mean of heads) "
          + ", ".join(f"L{l + 1} {v:.1f}" for l, v in enumerate(d.mean(axis=1))))
concentration = {name: rollout.attention_entropy(a) for name, a in distance_attention.items()}
for name, e in concentration.items():
    print(f"{name:>11}: attention entropy per layer (1 = uniform, mean of heads) "
          + ", ".join(f"L{l + 1} {v:.2f}" for l, v in enumerate(e.mean(axis=1))))
course_utils.record("attention_entropy_pretrained", concentration["pretrained"])
course_utils.record("attention_entropy_random", concentration["random init"])
course_utils.record("attention_distance_pretrained_px", distance["pretrained"])
course_utils.record("attention_distance_random_px", distance["random init"])
patch_centres = np.stack(np.divmod(np.arange(grid * grid), grid), axis=1) * 4
uniform_distance = np.linalg.norm(patch_centres[:, None] - patch_centres[None], axis=-1).mean()
print(f"for comparison, attention spread evenly over all patches: {uniform_distance:.1f} px")
course_utils.record("attention_distance_uniform_px", uniform_distance);

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
for (name, d), marker, offset in zip(distance.items(), ["o", "x"], [-0.08, 0.08]):
    for head in range(n_heads):
        ax1.scatter(np.arange(1, n_layers + 1) + offset, d[:, head], marker=marker,
                    color=f"C{head}", label=f"{name}, head {head + 1}")
        ax2.scatter(np.arange(1, n_layers + 1) + offset, concentration[name][:, head], marker=marker, color=f"C{head}")
ax1.axhline(uniform_distance, color="grey", linestyle="--", label="uniform attention")
ax2.axhline(1.0, color="grey", linestyle="--")
for ax in (ax1, ax2):
    ax.set_xticks(range(1, n_layers + 1))
    ax.set_xlabel("layer (block)")
ax1.set_ylabel("mean attention distance (pixels)")
ax1.set_title(f"How far each head looks ({n_distance} test images)", fontsize=10)
ax1.set_ylim(0, 20)
ax1.legend(fontsize=7, ncol=2, loc="lower right")
ax2.set_ylabel("attention entropy / log(49)")
ax2.set_title("How spread its attention is (1 = uniform; o pretrained, x random)", fontsize=10)
ax2.set_ylim(0, 1.05)
plt.tight_layout()
plt.show()

# %% [markdown]
# Read the two panels together. In this small model trained on 28×28 images, **no head is
# local**: every head of every layer looks about as far as uniform attention would (the
# ViT paper found local heads in the early layers of large models trained on far more data;
# a 7×7 grid leaves little room for "local"). What training changed is *concentration*: the
# first layer's heads put their attention on far fewer patches (lower entropy), while the
# random model's attention is nearly uniform everywhere. Distance alone would have missed that.

# %%
# The two claims above, checked on this run's numbers:
assert np.all(np.abs(distance["pretrained"] / uniform_distance - 1) < 0.2)  # no local head
assert concentration["pretrained"][0].mean() < concentration["random init"][0].mean() - 0.1  # layer 1 concentrates

# %% [markdown]
# ## 7. Limits of interpretability, measured
#
# ### 7a. Would an untrained ViT draw the same maps?
#
# A map that barely changes when the weights are random cannot be telling us much about what
# the model *learned* (Adebayo et al., 2018, "Sanity checks for saliency maps"). We compare
# the rollout masks of the pretrained and the random ViT on the same images with the Pearson
# correlation (1 = same pattern), and both with a map that needs no model at all: each
# patch's mean brightness (where the garment is).

# %%
def rollout_masks(attention_batch):
    """(layers, N, heads, T, T) -> (N, grid, grid) rollout masks."""
    return np.stack([rollout.cls_mask(rollout.attention_rollout(attention_batch[:, i]))
                     for i in range(attention_batch.shape[1])])


def patch_brightness(grey_images, patch=4):
    n, h, w = grey_images.shape
    return grey_images.reshape(n, h // patch, patch, w // patch, patch).mean(axis=(2, 4))


trained_masks = rollout_masks(distance_attention["pretrained"])
random_masks = rollout_masks(distance_attention["random init"])
brightness = patch_brightness(x_test[:n_distance].astype("float64"))


def mean_similarity(a, b):
    return float(np.mean([rollout.map_similarity(x, y) for x, y in zip(a, b)]))


similarity = {
    "trained vs random masks": mean_similarity(trained_masks, random_masks),
    "trained mask vs brightness": mean_similarity(trained_masks, brightness),
    "random mask vs brightness": mean_similarity(random_masks, brightness),
    "trained vs random attention_map outputs": mean_similarity(
        [rollout.overlay(m, im) for m, im in zip(trained_masks[:50], distance_images[:50])],
        [rollout.overlay(m, im) for m, im in zip(random_masks[:50], distance_images[:50])]),
}
for key, value in similarity.items():
    print(f"{key:<42} mean Pearson r = {value:+.2f}")
course_utils.record("similarity_trained_vs_random_masks", similarity["trained vs random masks"])
course_utils.record("similarity_trained_mask_vs_brightness", similarity["trained mask vs brightness"])
course_utils.record("similarity_random_mask_vs_brightness", similarity["random mask vs brightness"])
course_utils.record("similarity_trained_vs_random_outputs", similarity["trained vs random attention_map outputs"]);

# %% [markdown]
# Two more numbers describe the masks themselves: their **contrast** (the smallest value of a
# mask scaled to maximum 1: near 1 means a flat mask) and the share of rollout that falls on
# **empty patches** (black background, mean pixel below 5 of 255). A map that "finds the
# object" would put much less on empty patches than their share of the image.

# %%
empty = brightness.reshape(n_distance, -1) < 5
empty_fraction = course_utils.record("empty_patch_fraction", float(empty.mean()))
mask_min, share_on_empty = {}, {}
for name, m in [("pretrained", trained_masks), ("random", random_masks)]:
    flat = m.reshape(n_distance, -1)
    mask_min[name] = course_utils.record(f"mask_min_{name}", float(flat.min(axis=1).mean()))
    share_on_empty[name] = course_utils.record(f"rollout_share_on_empty_{name}",
                                               float(np.mean((flat * empty).sum(axis=1) / flat.sum(axis=1))))
    print(f"{name:>10}: mask minimum {mask_min[name]:.2f} (1 = flat); rollout share on empty patches "
          f"{share_on_empty[name]:.0%} (empty patches are {empty_fraction:.0%} of the image)")

# %% [markdown]
# The masks of the trained and the untrained model have little in common, so the trained
# masks do reflect training. But the **outputs** of `attention_map` (image × mask) of the two
# models are highly correlated: the random model's mask is much flatter (its smallest value
# is much closer to its maximum), so its output is close to the image itself, and multiplying by the image makes any mask look like the
# garment. Judge a mask, not the picture it is multiplied into. And even the trained
# model's rollout does not single out the garment: it puts almost as much on empty
# background patches as their share of the image.

# %%
assert similarity["trained vs random masks"] < 0.5 < similarity["trained vs random attention_map outputs"]
assert mask_min["random"] > mask_min["pretrained"] + 0.2  # the random masks are much flatter
assert share_on_empty["pretrained"] > 0.6 * empty_fraction  # far from "only the garment"

# %%
fig, axes = plt.subplots(3, n_maps, figsize=(2 * n_maps, 6.3))
random_attention_maps = rollout.attention_matrices(random_model, images)
for i in range(n_maps):
    axes[0, i].imshow(images[i])
    axes[0, i].set_title(source_names[labels[i]], fontsize=8)
    axes[1, i].imshow(masks[i], cmap="inferno", vmin=0, vmax=1)
    random_mask = rollout.cls_mask(rollout.attention_rollout(random_attention_maps[:, i]))
    shown = axes[2, i].imshow(random_mask, cmap="inferno", vmin=0, vmax=1)
    axes[2, i].set_title(f"r = {rollout.map_similarity(masks[i], random_mask):+.2f}", fontsize=8)
for ax in axes.ravel():
    ax.set_xticks([]), ax.set_yticks([])
axes[0, 0].set_ylabel("image")
axes[1, 0].set_ylabel("pretrained ViT\nrollout mask")
axes[2, 0].set_ylabel("random-weights ViT\nrollout mask")
fig.colorbar(shown, ax=axes[1:, :], shrink=0.8, label="rollout, scaled to max 1")
fig.suptitle("The same rollout on a trained and an untrained ViT (r: Pearson correlation of the masks)")
plt.show()

# %% [markdown]
# ### 7b. What rollout leaves out
#
# Rollout keeps only the attention **weights**, with two strong simplifications:
#
# * **The MLP** (half of every block's parameters in this model, two thirds in ViT-B/32;
#   each token is transformed on its own there) is not in the formula at all.
# * **The identity weighs exactly as much as the attention** ("half attention, half
#   identity"), whereas in the model the attention branch adds a vector of some size to a
#   residual stream of another size, and **the value vectors** decide how much a token
#   passes on: a token that receives much attention but has a small value vector
#   (`LN(x_j) W_V W_O`) changes little (Kobayashi et al., 2020).
#
# We measure both on the pretrained model: the size of each branch relative to the residual
# stream, and how much the class-token maps change when each weight is multiplied by the norm
# of what that token actually writes.

# %%
branch = rollout.branch_norms(model, distance_images[:100])
norms = rollout.value_norms(model, distance_images[:100])  # (layers, N, heads, T)
cls_weights = distance_attention["pretrained"][:, :100, :, 0, 1:]  # (layers, N, heads, patches)
weighted = cls_weights * norms[..., 1:]
norm_similarity = [mean_similarity(cls_weights[l].reshape(100, -1), weighted[l].reshape(100, -1))
                   for l in range(n_layers)]
value_spread = [float(np.median(norms[l].max(axis=-1) / norms[l].min(axis=-1))) for l in range(n_layers)]
for l in range(n_layers):
    print(f"layer {l + 1}: |attention branch| / |stream| = {branch['attention'][l]:.2f}, "
          f"|MLP branch| / |stream| = {branch['mlp'][l]:.2f}, value norms vary {value_spread[l]:.1f}x across tokens, "
          f"r(weights, weights × value norm) = {norm_similarity[l]:+.2f}")
course_utils.record("attention_branch_ratio_per_layer", branch["attention"])
course_utils.record("mlp_branch_ratio_per_layer", branch["mlp"])
course_utils.record("value_norm_weighting_similarity_per_layer", norm_similarity);

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
layers_axis = np.arange(1, n_layers + 1)
ax1.bar(layers_axis - 0.2, branch["attention"], width=0.4, label="attention branch")
ax1.bar(layers_axis + 0.2, branch["mlp"], width=0.4, label="MLP branch (not in rollout)")
ax1.axhline(1.0, color="grey", linestyle="--", label="rollout's assumption for attention")
ax1.set_xlabel("layer (block)")
ax1.set_ylabel("|branch output| / |residual stream|")
ax1.set_title("What each branch adds to the residual stream")
ax1.legend(fontsize=8)
ax2.bar(layers_axis, norm_similarity, color="C2")
ax2.set_ylim(0, 1)
ax1.set_xticks(layers_axis), ax2.set_xticks(layers_axis)
ax2.set_xlabel("layer (block)")
ax2.set_ylabel("Pearson r")
ax2.set_title("Class-token maps: weights vs weights × value norms")
plt.tight_layout()
plt.show()

# %% [markdown]
# What this says about rollout's assumptions here: the attention branch is nowhere near "as
# big as the skip path" (several times bigger in layer 1, where the patch embeddings are
# still small, about half as big later), and the MLP, which rollout ignores, adds a sizeable
# amount too, if less than the attention branch. The value-norm weighting, on the other hand,
# changes the class-token maps little in this model (high correlation): the value vectors'
# sizes do vary (about 2× between a head's largest and smallest in an image), but not in a
# way that reorders the maps much.
# These are measurements of one small model, not laws: repeat them before trusting rollout
# on another.

# %%
assert np.all(np.abs(branch["attention"] - 1) > 0.3)  # far from rollout's equal split
assert np.all(branch["mlp"] > 0.1) and np.all(branch["mlp"] < branch["attention"])
assert min(norm_similarity) > 0.8 and all(1.5 < spread < 3 for spread in value_spread)

# %% [markdown]
# ### 7c. Does the map point at what the model needs? An occlusion test
#
# A map is a hypothesis: "these patches matter for the decision". We test it by blacking out
# the `k` patches a map ranks highest and measuring the accuracy that is left, for several
# rankings: the pretrained model's rollout, the random model's rollout, the brightest patches
# (no model at all), and random patches. If rollout's top patches hurt more than the others,
# the map carries information about the decision; if not, it does not.

# %%
n_occlusion = course_utils.pick(default=300, full=2000)
occlusion_images = rollout.to_rgb_uint8(x_test[:n_occlusion])
occlusion_labels = y_test[:n_occlusion]
rng = np.random.default_rng(0)
n_patches = grid * grid
scores = {
    "pretrained rollout": rollout_masks(rollout.attention_matrices(model, occlusion_images)).reshape(n_occlusion, -1),
    "random-model rollout": rollout_masks(rollout.attention_matrices(random_model, occlusion_images)).reshape(n_occlusion, -1),
    "brightest patches": patch_brightness(x_test[:n_occlusion].astype("float64")).reshape(n_occlusion, -1),
    "random patches": rng.random((n_occlusion, n_patches)),
}
ks = [0, 2, 4, 8, 12, 16]
occluded_accuracy = {}
for name, score in scores.items():
    ranking = np.argsort(-score, axis=1)  # highest first
    occluded_accuracy[name] = [accuracy(model, rollout.occlude_patches(occlusion_images, ranking[:, :k], 4)[..., 0],
                                        occlusion_labels) for k in ks]
    print(f"{name:<22}" + "  ".join(f"k={k}: {a:.1%}" for k, a in zip(ks, occluded_accuracy[name])))
course_utils.record("occlusion_k", ks)
course_utils.record("occlusion_accuracy", occluded_accuracy);

# %%
fig, ax = plt.subplots(figsize=(6.5, 4))
for name, accs in occluded_accuracy.items():
    ax.plot(ks, accs, marker="o", label=name)
ax.axhline(0.2, color="grey", linestyle=":", label="chance (5 classes)")
ax.set_xlabel(f"patches blacked out (of {n_patches}, each 4×4 px)")
ax.set_ylabel("test accuracy")
ax.set_title(f"Occluding the patches each map ranks highest ({n_occlusion} test images)")
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# Of the four rankings, the pretrained model's own rollout picks the patches whose loss
# hurts it most once several are removed: more than the brightest patches, more than the
# untrained model's map, and far more than random ones. So on this model the map carries real information about the decision. It is still a
# ranking of patches, not an explanation: it does not say *what* in those patches matters.

# %% tags=["slide"]
for k in (8, 12, 16):
    at_k = {name: accs[ks.index(k)] for name, accs in occluded_accuracy.items()}
    assert at_k["pretrained rollout"] < min(at_k["brightest patches"], at_k["random-model rollout"],
                                            at_k["random patches"]), (k, at_k)

# %% [markdown]
# ## 8. Real photos with Google's ViT-B/32 (full profile, when its weights are in the cache)
#
# With `COURSE_PROFILE=full` and `make fetch NAME=vit-b32`, `load_backbone()` returns
# Google's ViT-B/32 through the seed's own `vit.vit_b32(..., pretrained=True,
# include_top=False)` call, and the same
# `attention_map` runs on real photos shipped inside scikit-learn and scikit-image (cropped
# square, since the model's input is square). In the default profile, or without those
# weights, the tiny Fashion-MNIST model has nothing to say about photos, so this section
# only says which backbone it found.

# %%
backbone, backbone_info = load_backbone(image_size=224)
print(backbone_info)
course_utils.record("photos_backbone", backbone_info.kind)
if backbone_info.kind == "google":
    import skimage.data
    from sklearn.datasets import load_sample_images

    def square(photo):
        side = min(photo.shape[:2])
        top, left = (photo.shape[0] - side) // 2, (photo.shape[1] - side) // 2
        return np.ascontiguousarray(photo[top:top + side, left:left + side, :3]).astype("uint8")

    photos = [square(p) for p in load_sample_images().images] + [square(skimage.data.astronaut()),
                                                                 square(skimage.data.chelsea()),
                                                                 square(skimage.data.coffee())]
    fig, axes = plt.subplots(3, len(photos), figsize=(2.6 * len(photos), 7.8))
    for i, photo in enumerate(photos):
        photo_attention = rollout.attention_matrices(backbone, photo)[:, 0]
        photo_mask = rollout.cls_mask(rollout.attention_rollout(photo_attention))
        library_map = visualize.attention_map(model=backbone, image=photo)
        assert np.abs(rollout.overlay(photo_mask, photo).astype(int) - library_map.astype(int)).max() <= 1
        axes[0, i].imshow(photo)
        axes[1, i].imshow(photo_mask, cmap="inferno")
        axes[2, i].imshow(library_map)
    for ax in axes.ravel():
        ax.set_xticks([]), ax.set_yticks([])
    axes[0, 0].set_ylabel("photo")
    axes[1, 0].set_ylabel("rollout mask (7×7)")
    axes[2, 0].set_ylabel("attention_map")
    fig.suptitle("Google ViT-B/32 attention rollout on photos shipped with scikit-learn and scikit-image")
    plt.tight_layout()
    plt.show()
else:
    print("Photos skipped: Google's ViT-B/32 weights are not in the cache (`make fetch NAME=vit-b32`).")

# %% [markdown]
# ## 9. What an attention map does and does not prove
#
# * **It does show** where the class token's information came from *according to the
#   attention weights*, combined over layers with a fixed rule. It is cheap (one forward pass)
#   and, as measured above, exactly what `vit_keras.visualize.attention_map` computes. On
#   this model it passed two sanity checks: it differs from an untrained model's map, and
#   the patches it ranks highest are the ones whose removal hurts accuracy most.
# * **It does not prove** that those regions *caused* the decision. Rollout ignores the MLP
#   and the value vectors and assumes an equal split between attention and skip path; the
#   measurements of section 7 say how far that is from this model. Only an intervention (such
#   as the occlusion test) tests a causal claim, and even that changes the input
#   distribution.
# * **Compare with baselines** before reading a map: an untrained model's map, and a map
#   that needs no model (here, brightness). `attention_map` multiplies by the image, so on
#   dark backgrounds every map looks like the object.
# * Attention is **not** "averaged heads" inside the model: the heads are concatenated and
#   projected (notebook 03). Averaging heads is a choice of *rollout*, made for the picture.

# %%
course_utils.record("notebook_seconds", round(time.perf_counter() - notebook_start, 1));

# %% [markdown]
# ## References
#
# * Abnar & Zuidema (2020), *Quantifying Attention Flow in Transformers* (attention rollout): https://arxiv.org/abs/2005.00928
# * Dosovitskiy et al. (2021), *An Image is Worth 16x16 Words* (ViT; attention distance, figure 7): https://arxiv.org/abs/2010.11929
# * Adebayo et al. (2018), *Sanity Checks for Saliency Maps*: https://arxiv.org/abs/1810.03292
# * Kobayashi et al. (2020), *Attention is Not Only a Weight: Analyzing Transformers with Vector Norms*: https://arxiv.org/abs/2004.10102
# * vit-keras and its `visualize.attention_map`: https://github.com/faustomorales/vit-keras
# * The photos: scikit-learn's `load_sample_images` (https://scikit-learn.org/stable/modules/generated/sklearn.datasets.load_sample_images.html)
#   and scikit-image's `skimage.data` (https://scikit-image.org/docs/stable/api/skimage.data.html)

# %% [markdown]
# ## Summary

# %%
results = course_utils.results.load_all_results()["08_vit_attention_maps"]
acc = results["occlusion_accuracy"]
k_index = results["occlusion_k"].index(8)
print(f"""Measured in this run ({results['_meta']['profile']} profile):
- The pretrained tiny ViT classifies {results['tiny_vit_source_test_accuracy']:.1%} of its 5 source classes' test images correctly.
- vit_keras.visualize.attention_map returns image × mask (uint8) and is attention rollout: our step-by-step
  rollout reproduces it with a largest difference of {results['rollout_vs_vit_keras_max_abs_diff_levels']} uint8 levels
  ({results['rollout_vs_vit_keras_equal_pixel_fraction']:.2%} of values identical).
- Renormalising whole matrices (vit-keras) instead of rows changes the rollout by the constant T^L only:
  the normalised masks differ by {results['row_vs_whole_matrix_mask_max_abs_diff']:.1e}.
- Attention weights of one image in a batch of 1 vs a batch of {results['map_images']} differ by {results['attention_batch_of_one_vs_five_max_abs_diff']:.1e} (float32 rounding).
- Mean attention distance, pretrained, per layer (px): {', '.join(f'{np.mean(v):.1f}' for v in results['attention_distance_pretrained_px'])};
  random weights: {', '.join(f'{np.mean(v):.1f}' for v in results['attention_distance_random_px'])}; uniform attention: {results['attention_distance_uniform_px']:.1f}.
- Attention entropy (1 = uniform), pretrained, per layer: {', '.join(f'{np.mean(v):.2f}' for v in results['attention_entropy_pretrained'])};
  random weights: {', '.join(f'{np.mean(v):.2f}' for v in results['attention_entropy_random'])}.
- Trained vs random-weights rollout masks: mean Pearson r = {results['similarity_trained_vs_random_masks']:+.2f};
  the attention_map outputs (× image) of the two: r = {results['similarity_trained_vs_random_outputs']:+.2f};
  trained mask vs patch brightness: r = {results['similarity_trained_mask_vs_brightness']:+.2f}. Mask minimum (1 = flat):
  pretrained {results['mask_min_pretrained']:.2f}, random {results['mask_min_random']:.2f}. Share of the pretrained rollout on empty
  background patches: {results['rollout_share_on_empty_pretrained']:.0%} (they are {results['empty_patch_fraction']:.0%} of the image).
- Attention branch / residual stream per layer: {', '.join(f'{v:.2f}' for v in results['attention_branch_ratio_per_layer'])}
  (rollout assumes 1); MLP branch: {', '.join(f'{v:.2f}' for v in results['mlp_branch_ratio_per_layer'])} (ignored by rollout).
- Blacking out 8 of 49 patches leaves accuracy {acc['pretrained rollout'][k_index]:.1%} (pretrained rollout's top patches),
  {acc['random-model rollout'][k_index]:.1%} (random model's), {acc['brightest patches'][k_index]:.1%} (brightest), {acc['random patches'][k_index]:.1%} (random patches).
- attention_map took {results['attention_map_seconds_per_image']:.2f} s per image; the notebook {results['notebook_seconds']:.0f} s.""")
