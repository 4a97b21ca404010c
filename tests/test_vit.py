"""course_utils.vision: the shipped tiny ViT, load_backbone, the input pipeline, patches, analysis helpers.

The shipped-weights test rebuilds the architecture, loads the committed weights and checks
the accuracy the model card states on the source classes' test images. The Google path of
``load_backbone`` is exercised end to end with a *small* ``.npz`` in Google's key format (the
real file is 340 MB and needs the network): the seed's ``vit.vit_b32`` call must find it where
vit-keras looks and load exactly its numbers.
"""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

import keras
import numpy as np
import pytest

from course_utils import vision
from course_utils.data import REGISTRY, CourseDataError, load_fashion_mnist
from course_utils.vision import google_weights


@pytest.fixture(scope="module")
def fashion():
    return load_fashion_mnist()


@pytest.fixture(scope="module")
def card():
    return vision.read_card()


# --------------------------------------------------------------------------------------
# The shipped tiny ViT and its card
# --------------------------------------------------------------------------------------


def test_shipped_weights_reproduce_the_cards_test_accuracy(fashion, card):
    model = vision.load_tiny_vit()
    x_test, y_test = vision.select_classes(fashion.x_test, fashion.y_test, vision.SOURCE_CLASSES)
    assert len(x_test) == card["data"]["test_images"] == 5000
    measured = vision.accuracy(model, x_test, y_test, image_size=28)
    assert abs(measured - card["results"]["test_accuracy"]) <= 0.005, (
        measured,
        card["results"]["test_accuracy"],
    )
    assert measured > 0.9  # far above chance (20 %): the pretraining worked


def test_card_describes_the_shipped_model(card):
    arch = card["architecture"]
    assert {k: arch[k] for k in vision.TINY_VIT_CONFIG} == vision.TINY_VIT_CONFIG
    assert arch["parameters"] == vision.build_tiny_vit().count_params()
    data = card["data"]
    assert (
        tuple(data["source_classes"]) == vision.SOURCE_CLASSES
        and tuple(data["target_classes"]) == vision.TARGET_CLASSES
    )
    assert set(vision.SOURCE_CLASSES).isdisjoint(vision.TARGET_CLASSES)
    assert sorted(vision.SOURCE_CLASSES + vision.TARGET_CLASSES) == list(range(10))
    assert data["why_these_classes"] == vision.CLASS_CHOICE
    assert card["training"]["epochs"] == len(card["training"]["history"]["accuracy"])
    assert card["training"]["seconds"] > 0
    assert card["sha256"] == vision.sha256_of(vision.weights_path())
    markdown = (vision.WEIGHTS_DIR / f"{vision.TINY_VIT_NAME}.md").read_text()
    assert card["sha256"] in markdown and f"{card['results']['test_accuracy']:.2%}" in markdown


def _copy_shipped(tmp_path: Path) -> Path:
    for suffix in (".weights.h5", ".json"):
        shutil.copy(vision.WEIGHTS_DIR / f"{vision.TINY_VIT_NAME}{suffix}", tmp_path)
    return tmp_path


def test_loader_refuses_weights_that_fail_the_sha256(tmp_path):
    folder = _copy_shipped(tmp_path)
    path = vision.weights_path(weights_dir=folder)
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF  # one flipped byte
    path.write_bytes(bytes(data))
    with pytest.raises(CourseDataError, match="sha256"):
        vision.load_tiny_vit(weights_dir=folder)


def test_loader_names_the_fix_when_files_are_missing(tmp_path):
    folder = _copy_shipped(tmp_path)
    vision.weights_path(weights_dir=folder).unlink()
    with pytest.raises(CourseDataError, match="pretrain"):
        vision.load_tiny_vit(weights_dir=folder)
    with pytest.raises(CourseDataError, match="pretrain"):
        vision.read_card(weights_dir=tmp_path / "nowhere")


def test_backbone_is_the_classifier_without_its_top(fashion):
    classifier = vision.load_tiny_vit()
    backbone = vision.load_tiny_vit(include_top=False)
    assert vision.has_top(classifier) and not vision.has_top(backbone)
    x = vision.prepare_images(fashion.x_test[:8, ..., None], 28)
    features = backbone(x, training=False)
    assert tuple(features.shape) == (8, 64)
    # the top is one Dense layer on these features
    head = classifier.get_layer("head")
    np.testing.assert_allclose(head(features), classifier(x, training=False), atol=1e-5)


def test_remove_top_equals_include_top_false():
    full = vision.build_tiny_vit(include_top=True)
    topless = vision.build_tiny_vit(include_top=False)
    topless.set_weights(full.get_weights()[: len(topless.get_weights())])
    x = np.random.default_rng(0).uniform(-1, 1, (3, 28, 28, 3)).astype("float32")
    np.testing.assert_allclose(vision.remove_top(full)(x), topless(x), atol=1e-6)


# --------------------------------------------------------------------------------------
# load_backbone: the tiny ViT without Google's weights, the seed's vit_b32 call with them
# --------------------------------------------------------------------------------------


def test_load_backbone_falls_back_to_the_tiny_vit(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))  # an empty course cache
    assert not vision.google_weights_available()
    model, info = vision.load_backbone(image_size=224, google=True)
    assert info.kind == "tiny" and info.image_size == 28 and info.hidden_size == 64
    assert tuple(model.output_shape) == (None, 64) and not vision.has_top(model)
    line = str(info)
    assert (
        "\n" not in line
        and "tiny ViT" in line
        and "not in the course cache" in line
        and "make fetch NAME=vit-b32" in line
    )
    _, info = vision.load_backbone(google=False)
    assert info.kind == "tiny" and "google=False" in str(info)


def test_load_backbone_follows_the_profile_by_default(google_cache, monkeypatch):
    """Google's weights are cached, yet the default profile keeps the tiny ViT (budgets)."""
    monkeypatch.setattr(google_weights, "PROFILE", "default")
    _, info = vision.load_backbone(image_size=64)
    assert info.kind == "tiny" and "default profile" in str(info) and "in the cache" in str(info)
    monkeypatch.setattr(google_weights, "PROFILE", "full")
    _, info = vision.load_backbone(image_size=google_cache[3])
    assert info.kind == "google"


def _small_google_npz(path: Path, hidden: int, layers: int, image_size: int) -> keras.Model:
    """A ViT built by vit-keras in Google's .npz key format (the layout of ViT-B_32_*.npz), small."""
    from vit_keras import vit

    source = vit.build_model(
        image_size=image_size,
        patch_size=32,
        num_layers=layers,
        hidden_size=hidden,
        num_heads=2,
        name="source",
        mlp_dim=2 * hidden,
        classes=1000,
        dropout=0.0,
    )
    rng = np.random.default_rng(0)
    source.set_weights([rng.normal(0, 0.2, w.shape).astype("float32") for w in source.get_weights()])
    params = {
        "embedding/kernel": source.get_layer("embedding").kernel,
        "embedding/bias": source.get_layer("embedding").bias,
        "cls": source.get_layer("class_token").cls,
        "Transformer/posembed_input/pos_embedding": source.get_layer("Transformer_posembed_input").pe,
        "Transformer/encoder_norm/scale": source.get_layer("Transformer_encoder_norm").gamma,
        "Transformer/encoder_norm/bias": source.get_layer("Transformer_encoder_norm").beta,
        "head/kernel": source.get_layer("head").kernel,
        "head/bias": source.get_layer("head").bias,
    }
    for i in range(layers):
        block, prefix = source.get_layer(f"Transformer_encoderblock_{i}"), f"Transformer/encoderblock_{i}"
        for norm, layer in (("LayerNorm_0", block.layernorm1), ("LayerNorm_2", block.layernorm2)):
            params[f"{prefix}/{norm}/scale"], params[f"{prefix}/{norm}/bias"] = layer.gamma, layer.beta
        for j in (0, 1):
            dense = block.mlpblock.get_layer(f"Transformer_encoderblock_{i}_Dense_{j}")
            params[f"{prefix}/MlpBlock_3/Dense_{j}/kernel"], params[f"{prefix}/MlpBlock_3/Dense_{j}/bias"] = (
                dense.kernel,
                dense.bias,
            )
        for name, dense in (
            ("query", block.att.query_dense),
            ("key", block.att.key_dense),
            ("value", block.att.value_dense),
            ("out", block.att.combine_heads),
        ):
            kernel, bias = np.asarray(dense.kernel), np.asarray(dense.bias)
            if name == "out":  # Flax stores (heads, head_dim, hidden) and (hidden,)
                kernel = kernel.reshape(2, hidden // 2, hidden)
            else:  # (hidden, heads, head_dim) and (heads, head_dim)
                kernel, bias = kernel.reshape(hidden, 2, hidden // 2), bias.reshape(2, hidden // 2)
            params[f"{prefix}/MultiHeadDotProductAttention_1/{name}/kernel"] = kernel
            params[f"{prefix}/MultiHeadDotProductAttention_1/{name}/bias"] = bias
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **{k: np.asarray(v) for k, v in params.items()})
    return source


@pytest.fixture
def google_cache(tmp_path, monkeypatch):
    """A course cache holding a small ViT in ViT-B/32's file, a fresh Keras home, a small CONFIG_B."""
    from keras.src.backend import config
    from vit_keras import vit

    hidden, layers, image_size = 16, 2, 64
    monkeypatch.setattr(
        vit,
        "CONFIG_B",
        {"dropout": 0.0, "mlp_dim": 2 * hidden, "num_heads": 2, "num_layers": layers, "hidden_size": hidden},
    )
    keras_home = tmp_path / "keras-home"
    keras_home.mkdir()
    monkeypatch.setattr(config, "_KERAS_DIR", str(keras_home))
    cache = tmp_path / "cache"
    monkeypatch.setenv("COURSE_DATA_DIR", str(cache))
    npz = cache / REGISTRY["vit-b32"][0].path
    source = _small_google_npz(npz, hidden, layers, image_size)
    (cache / "recorded-hashes.json").write_text(
        json.dumps({REGISTRY["vit-b32"][0].path: vision.sha256_of(npz)})
    )
    return source, npz, keras_home, image_size


def test_load_backbone_uses_google_weights_through_the_seeds_call(google_cache):
    source, npz, keras_home, image_size = google_cache
    (keras_home / "weights").mkdir()
    (keras_home / "weights" / vision.GOOGLE_B32_FILE).write_bytes(b"a stale or partial download")
    model, info = vision.load_backbone(image_size=image_size, google=True)
    assert info.kind == "google" and info.image_size == image_size and "course cache" in str(info)
    placed = keras_home / "weights" / vision.GOOGLE_B32_FILE  # where vit-keras's get_file looks
    assert vision.sha256_of(placed) == vision.sha256_of(npz)  # the verified file replaced the stale one
    assert vision.place_google_weights() == placed  # a second call keeps the verified file
    assert not vision.has_top(model) and tuple(model.output_shape) == (None, 16)
    x = np.random.default_rng(1).uniform(-1, 1, (2, image_size, image_size, 3)).astype("float32")
    np.testing.assert_allclose(
        model(x), vision.remove_top(source)(x), atol=1e-5
    )  # exactly the .npz's numbers


def test_load_backbone_falls_back_when_google_weights_fail_their_sha256(google_cache):
    _, npz, _, _ = google_cache
    data = bytearray(npz.read_bytes())
    data[-10] ^= 0xFF
    npz.write_bytes(bytes(data))
    _, info = vision.load_backbone(image_size=64, google=True)
    assert info.kind == "tiny" and "sha256" in str(info)
    with pytest.raises(CourseDataError, match="make fetch NAME=vit-b32"):
        vision.place_google_weights()


# --------------------------------------------------------------------------------------
# Pipeline, patches, transfer model, analysis helpers
# --------------------------------------------------------------------------------------


def test_pipeline_prepares_vit_inputs(fashion):
    images, labels = fashion.x_train[:10], fashion.y_train[:10]
    batch_x, batch_y = next(iter(vision.make_dataset(images, labels, image_size=28, batch_size=4)))
    assert batch_x.dtype == "float32" and tuple(batch_x.shape) == (4, 28, 28, 3)
    np.testing.assert_allclose(batch_x[..., 0], images[:4] / 127.5 - 1, atol=1e-6)  # vit.preprocess_inputs
    np.testing.assert_array_equal(batch_x[..., 0], batch_x[..., 2])  # grey repeated as RGB
    np.testing.assert_array_equal(batch_y, labels[:4])
    big = next(iter(vision.make_dataset(images, None, image_size=224, batch_size=2)))
    assert (
        tuple(big.shape) == (2, 224, 224, 3)
        and float(big.numpy().min()) >= -1
        and float(big.numpy().max()) <= 1
    )


def test_pipeline_prepares_whole_batches_like_single_images(fashion):
    """make_dataset prepares a batch at a time (one call per batch): the same pixels, labels and
    shuffled order as preparing each image, with tf.data's autotuning off (training.batches)."""
    images, labels = fashion.x_train[:12], fashion.y_train[:12]
    dataset = vision.make_dataset(images, labels, image_size=28, batch_size=5, shuffle=True, seed=3)
    assert dataset.options().autotune.enabled is False
    epoch = [(x.numpy(), y.numpy()) for x, y in dataset]
    assert [len(y) for _, y in epoch] == [5, 5, 2]
    x_all, y_all = np.concatenate([x for x, _ in epoch]), np.concatenate([y for _, y in epoch])
    pixels = np.rint((x_all[..., 0] + 1) * 127.5).astype("uint8")  # back from [-1, 1]
    order = [int(np.flatnonzero((images == p).all(axis=(1, 2)))[0]) for p in pixels]
    assert sorted(order) == list(range(12)) and order != list(range(12))  # every image once, shuffled
    one_by_one = np.stack([vision.prepare_images(images[i][..., np.newaxis], 28).numpy() for i in order])
    np.testing.assert_allclose(x_all, one_by_one, atol=1e-6)
    np.testing.assert_array_equal(y_all, labels[order])


def test_select_classes_relabels_in_the_given_order(fashion):
    x, y = vision.select_classes(fashion.x_test, fashion.y_test, vision.TARGET_CLASSES)
    assert len(x) == 5000 and set(np.unique(y)) == set(range(5))
    first = int(np.flatnonzero(np.isin(fashion.y_test, vision.TARGET_CLASSES))[0])
    assert vision.TARGET_CLASSES[y[0]] == fashion.y_test[first]


def test_extract_patches_and_dense_equal_the_conv2d_patch_embedding():
    """Principle 3: the patch embedding is a Dense layer on flattened patches
    = Conv2D(kernel = stride = patch)."""
    model = vision.build_tiny_vit()
    embedding = model.get_layer("embedding")
    x = np.random.default_rng(0).uniform(-1, 1, (2, 28, 28, 3)).astype("float32")
    conv = np.asarray(embedding(x)).reshape(2, 49, 64)
    kernel, bias = (
        embedding.get_weights()
    )  # (4, 4, 3, 64): flattening it row, column, channel matches the patches
    dense = np.asarray(vision.extract_patches(x, 4)) @ kernel.reshape(-1, 64) + bias
    np.testing.assert_allclose(dense, conv, atol=1e-5)


def test_transfer_model_freezes_the_backbone_and_trains_the_head():
    backbone = vision.build_tiny_vit(include_top=True)
    model = vision.build_transfer_model(backbone, num_classes=3)
    assert not any(layer.name == "head" for layer in model.layers)
    backbone_ids = {id(w) for w in backbone.weights}
    assert model.trainable_weights and not any(id(w) in backbone_ids for w in model.trainable_weights)
    out = model.predict(np.zeros((2, 28, 28, 3), "float32"), verbose=0)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)


def test_position_similarity_and_attention_distance():
    pe = np.random.default_rng(0).normal(size=(1 + 9, 8))
    sim = vision.position_similarity(pe, grid=3)
    assert sim.shape == (3, 3, 3, 3)
    np.testing.assert_allclose([sim[i, j, i, j] for i in range(3) for j in range(3)], 1.0)
    tokens = 1 + 9
    uniform = np.full((1, 1, 1, tokens, tokens), 1 / tokens)
    distances = np.linalg.norm(
        np.stack(np.divmod(np.arange(9), 3), 1)[:, None] - np.stack(np.divmod(np.arange(9), 3), 1)[None],
        axis=-1,
    )
    np.testing.assert_allclose(vision.mean_attention_distance(uniform, 3, 4), [[4 * distances.mean()]])
    identity = np.eye(tokens)[None, None, None]
    np.testing.assert_allclose(vision.mean_attention_distance(identity, 3, 4), [[0.0]])


def test_flower_photos_loader_reads_the_archive_layout(tmp_path):
    """The full-profile loader on an archive laid out as flower_photos.tgz, made of real photos."""
    archive = _small_flower_archive(tmp_path)
    train, val, names = vision.load_flower_photos(
        image_size=64, batch_size=3, validation_split=0.25, archive=archive
    )
    assert names == ["daisy", "roses"]
    xs = [x for x, _ in train]
    assert sum(len(x) for x in xs) == 6 and sum(len(x) for x, _ in val) == 2
    assert tuple(xs[0].shape[1:]) == (64, 64, 3) and xs[0].dtype == "float32"
    assert float(min(x.numpy().min() for x in xs)) >= -1 and float(max(x.numpy().max() for x in xs)) <= 1
    # a second call reuses the extracted folder
    assert (archive.parent / "flower_photos" / "daisy").is_dir()
    vision.load_flower_photos(image_size=64, batch_size=3, validation_split=0.25, archive=archive)


def _small_flower_archive(tmp_path: Path) -> Path:
    """An archive laid out as flower_photos.tgz (class folders), made of crops of real photos."""
    from PIL import Image
    from sklearn.datasets import load_sample_image

    root = tmp_path / "src" / "flower_photos"
    for name in ("china.jpg", "flower.jpg"):
        photo = load_sample_image(name)  # real photos shipped in scikit-learn (427×640)
        folder = root / ("daisy" if name == "flower.jpg" else "roses")
        folder.mkdir(parents=True)
        for k in range(4):  # four different crops per class
            Image.fromarray(photo[k * 40 : k * 40 + 300, k * 60 : k * 60 + 400]).save(folder / f"{k}.jpg")
    archive = tmp_path / "cache" / "flowers" / "flower_photos.tgz"
    archive.parent.mkdir(parents=True)
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root, arcname="flower_photos")
    return archive


def test_flowers_transfer_runs_the_full_profile_path(google_cache, tmp_path):
    """Notebook 07's full-profile section: the Google backbone (small stand-in) + flowers, both stages."""
    _, _, _, image_size = google_cache
    backbone, info = vision.load_backbone(image_size=image_size, google=True)
    assert info.kind == "google"
    archive = _small_flower_archive(tmp_path / "flowers")
    result = vision.flowers_transfer(
        backbone, image_size=image_size, feature_epochs=1, fine_tune_epochs=1, batch_size=4, archive=archive
    )
    assert result["classes"] == ["daisy", "roses"]
    assert result["train_images"] + result["validation_images"] == 8
    for key in ("feature_extraction_val_accuracy", "fine_tuning_val_accuracy"):
        assert 0.0 <= result[key] <= 1.0
    assert backbone.trainable  # fine-tuning unfroze it
