"""course_utils.rollout: attention rollout equals vit-keras's attention_map, and its pieces
do what their docstrings say."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from vit_keras import visualize, vit

from course_utils import rollout
from course_utils.vision import build_tiny_vit

RNG = np.random.default_rng(0)


def random_attention(layers=3, heads=4, tokens=10, seed=0, dtype="float32"):
    logits = np.random.default_rng(seed).normal(size=(layers, heads, tokens, tokens)) * 2
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)).astype(dtype)


@pytest.fixture(scope="module")
def tiny_vit():
    """The course's tiny ViT (28x28, patch 4), randomly initialised: the notebooks' own builder."""
    keras.utils.set_random_seed(11)
    return build_tiny_vit(classes=5, name="tiny_random")


@pytest.fixture(scope="module")
def fashion_images():
    from course_utils.data import load_fashion_mnist

    return rollout.to_rgb_uint8(load_fashion_mnist().x_test[:4])


# --- the rollout itself --------------------------------------------------------------------


def test_rollout_rows_sum_to_one_and_shape():
    r = rollout.attention_rollout(random_attention())
    assert r.shape == (10, 10)
    np.testing.assert_allclose(r.sum(axis=-1), 1.0, atol=1e-6)
    assert (r >= 0).all()


def test_one_layer_is_half_attention_half_identity():
    a = random_attention(layers=1)
    expected = (a[0].astype("float64").mean(axis=0) + np.eye(10)) / 2
    np.testing.assert_allclose(rollout.attention_rollout(a), expected, rtol=1e-6)


def test_layers_multiply_last_on_the_left():
    a = random_attention(layers=2)
    per_layer = [(a[l].astype("float64").mean(axis=0) + np.eye(10)) / 2 for l in range(2)]
    np.testing.assert_allclose(rollout.attention_rollout(a), per_layer[1] @ per_layer[0], rtol=1e-6)
    assert not np.allclose(rollout.attention_rollout(a), per_layer[0] @ per_layer[1], rtol=1e-3)


def test_tokens_attending_only_to_themselves_give_the_identity():
    a = np.broadcast_to(np.eye(6), (3, 2, 6, 6))
    np.testing.assert_allclose(rollout.attention_rollout(a), np.eye(6))


def test_whole_matrix_normalisation_only_changes_a_constant():
    """vit-keras divides each layer by its total (2T) instead of each row by 2: the product
    differs by T**layers, and the max-normalised map not at all. (Exactly so when every row
    sums to exactly 1: float64 here; with float32 weights, to about 1e-8.)"""
    a = random_attention(layers=4, tokens=17, dtype="float64")
    rows, whole = rollout.attention_rollout(a), rollout.whole_matrix_rollout(a)
    np.testing.assert_allclose(rows, whole * 17**4, rtol=1e-10)
    np.testing.assert_allclose(rollout.cls_mask(rows), rollout.cls_mask(whole), rtol=1e-10)


def test_rollout_rejects_wrong_shapes():
    with pytest.raises(ValueError, match="layers, heads, T, T"):
        rollout.attention_rollout(np.ones((3, 10, 10)))


def test_cls_mask_and_raw_maps_shapes():
    a = random_attention(layers=2, heads=3, tokens=50)
    mask = rollout.cls_mask(rollout.attention_rollout(a))
    assert mask.shape == (7, 7) and mask.max() == 1.0
    raw = rollout.cls_attention_maps(a)
    assert raw.shape == (2, 3, 7, 7)
    np.testing.assert_array_equal(raw[1, 2].ravel(), a[1, 2, 0, 1:])
    with pytest.raises(ValueError, match="square grid"):
        rollout.cls_mask(np.ones((11, 11)))


def test_map_similarity_is_a_correlation():
    m = RNG.normal(size=(7, 7))
    assert rollout.map_similarity(m, 3 * m + 1) == pytest.approx(1.0)
    assert rollout.map_similarity(m, -m) == pytest.approx(-1.0)
    assert abs(rollout.map_similarity(m, RNG.normal(size=(7, 7)))) < 0.6


def test_to_rgb_uint8_stacks_the_grey_channel():
    grey = RNG.integers(0, 256, size=(2, 28, 28)).astype("uint8")
    rgb = rollout.to_rgb_uint8(grey)
    assert rgb.shape == (2, 28, 28, 3) and rgb.dtype == np.uint8
    assert (rgb[..., 1] == grey).all()
    with pytest.raises(ValueError, match="uint8"):
        rollout.to_rgb_uint8(grey / 255.0)


# --- against vit-keras -----------------------------------------------------------------------


def test_attention_matrices_are_softmax_rows(tiny_vit, fashion_images):
    a = rollout.attention_matrices(tiny_vit, fashion_images)
    assert a.shape == (4, 4, 4, 50, 50)  # (layers, images, heads, T, T)
    np.testing.assert_allclose(a.sum(axis=-1), 1.0, atol=1e-5)
    single = rollout.attention_matrices(tiny_vit, fashion_images[1])
    np.testing.assert_allclose(single[:, 0], a[:, 1], atol=1e-6)


def test_rollout_map_equals_vit_keras_attention_map(tiny_vit, fashion_images):
    for image in fashion_images:
        expected = visualize.attention_map(model=tiny_vit, image=image)
        mask, ours = rollout.rollout_attention_map(tiny_vit, image)
        assert ours.dtype == np.uint8 and ours.shape == image.shape
        assert np.abs(ours.astype(int) - expected.astype(int)).max() <= 1
        assert np.mean(ours == expected) > 0.999
        assert mask.shape == (7, 7)


def test_rollout_map_equals_vit_keras_on_a_photo_at_224():
    """The resizing path: a real photo (scikit-learn's sample), cropped square, a ViT with a
    224x224 input and 32x32 patches (ViT-B/32's geometry, tiny widths)."""
    from sklearn.datasets import load_sample_images

    photo = load_sample_images().images[1]  # flower.jpg, 427 x 640
    side = min(photo.shape[:2])
    photo = np.ascontiguousarray(photo[:side, :side])
    keras.utils.set_random_seed(5)
    model = vit.build_model(
        image_size=224,
        patch_size=32,
        num_layers=2,
        hidden_size=32,
        num_heads=2,
        mlp_dim=64,
        classes=3,
        dropout=0.0,
        include_top=False,
        name="b32_geometry",
    )
    expected = visualize.attention_map(model=model, image=photo)
    mask, ours = rollout.rollout_attention_map(model, photo)
    assert mask.shape == (7, 7) and ours.shape == photo.shape
    assert np.abs(ours.astype(int) - expected.astype(int)).max() <= 1


def test_nested_vit_is_explained(tiny_vit):
    """attention_map looks for blocks among the top-level layers only: a ViT nested as one
    layer fails in vit-keras with an obscure message; our helper says what to do."""
    inputs = keras.Input((28, 28, 3))
    outer = keras.Model(inputs, keras.layers.Dense(2)(tiny_vit(inputs)))
    with pytest.raises(ValueError):
        visualize.attention_map(model=outer, image=np.zeros((28, 28, 3), "uint8"))
    with pytest.raises(ValueError, match="pass that inner ViT"):
        rollout.transformer_blocks(outer)


def test_residual_branches_rebuild_the_blocks(tiny_vit, fashion_images):
    """x + attention + MLP, computed from the block's sublayers, is the block's output."""
    branches = rollout.residual_branches(tiny_vit, fashion_images)
    assert len(branches) == 4
    for before, after in zip(branches, branches[1:]):
        np.testing.assert_allclose(before["output"], after["input"], atol=1e-4)
    norms = rollout.branch_norms(tiny_vit, fashion_images)
    assert norms["attention"].shape == norms["mlp"].shape == (4,)
    assert (norms["attention"] > 0).all() and (norms["mlp"] > 0).all()


# --- measurement helpers -----------------------------------------------------------------------


def test_attention_entropy_is_one_for_uniform_and_zero_for_one_hot():
    tokens = 10
    uniform = np.full((2, 3, 4, tokens, tokens), 1.0 / tokens)
    np.testing.assert_allclose(rollout.attention_entropy(uniform), np.ones((2, 4)), atol=1e-12)
    one_hot = np.zeros((2, 3, 4, tokens, tokens))
    one_hot[..., 1] = 1.0  # every token attends to patch 1 only
    np.testing.assert_allclose(rollout.attention_entropy(one_hot), np.zeros((2, 4)), atol=1e-9)


def test_occlude_patches_blacks_out_exactly_those_patches():
    images = np.full((2, 28, 28, 3), 200, dtype="uint8")
    out = rollout.occlude_patches(images, np.array([[0, 8], [48, 48]]), patch_size=4)
    assert (images == 200).all()  # the input is not modified
    assert (out[0, :4, :4] == 0).all() and (out[0, 4:8, 4:8] == 0).all()  # patch 8 = row 1, column 1
    assert (out[1, 24:, 24:] == 0).all()
    assert (out == 0).sum() == 3 * 16 * 3  # three patches of 4x4 pixels, 3 channels


def test_written_values_rebuild_the_attention_branch(tiny_vit, fashion_images):
    """sum over heads and keys of a_ij * f_h(x_j), plus the output bias, is the attention
    branch: so value_norms measures what each token really writes."""
    block = rollout.transformer_blocks(tiny_vit)[1]
    branch = rollout.residual_branches(tiny_vit, fashion_images)[1]
    _, weights = block.att(block.layernorm1(branch["input"]))
    weights = keras.ops.convert_to_numpy(weights)  # (N, heads, T, T)
    written = rollout.written_values(block, branch["input"])  # (N, heads, T, hidden)
    rebuilt = np.einsum("nhij,nhje->nie", weights, written) + keras.ops.convert_to_numpy(
        block.att.combine_heads.bias
    )
    np.testing.assert_allclose(rebuilt, branch["attention"], atol=1e-4)
    norms = rollout.value_norms(tiny_vit, fashion_images)
    assert norms.shape == (4, 4, 4, 50)
    np.testing.assert_allclose(norms[1], np.linalg.norm(written, axis=-1), rtol=1e-5)
