"""vit-keras 0.1.2 (TF 2.15, imports tensorflow-addons) and vit-keras 0.2.0 (Keras 3) compute
the same ViT: the same weights give the same logits, attention weights and attention maps.

The weights travel in Google's ``.npz`` layout (the format of the released ViT-B/32 weights,
loaded by both versions' ``vit_keras.utils.load_weights_numpy``), in both directions:
a tiny ViT made here and loaded by 0.2.0, one made by 0.2.0 and loaded here, and the course's
pretrained tiny ViT; and as Keras weight files (Keras 2 ``.h5`` -> Keras 3, Keras 3
``.weights.h5`` -> Keras 2).
"""

from __future__ import annotations

import numpy as np
import pytest
from vit_keras import visualize, vit

import vit_npz
from conftest import record

# float32 on two TensorFlow versions (different CPU kernels): equal up to rounding.
LOGITS_ATOL = 1e-4
ATTENTION_ATOL = 1e-5


def legacy_outputs(model, images: np.ndarray) -> dict[str, np.ndarray]:
    x = vit.preprocess_inputs(images.astype("float32"))
    attention = np.stack(vit_npz.block_attention_model(model).predict(x, verbose=0))
    maps = np.stack([visualize.attention_map(model=model, image=image) for image in images])
    return {"logits": model.predict(x, verbose=0), "attention": attention, "maps": maps}


def load_legacy_model(path, name: str, config: dict | None = None):
    model = vit_npz.build_tiny_vit(name, config)
    vit_npz.load_google_npz(model, path, vit_npz.TINY_VIT["image_size"], vit_npz.TINY_VIT["patch_size"])
    return model


def compare(legacy: dict, keras3: dict, prefix: str, direction: str) -> None:
    logits = float(np.max(np.abs(legacy["logits"] - keras3[f"{prefix}_logits"])))
    attention = float(np.max(np.abs(legacy["attention"] - keras3[f"{prefix}_attention"])))
    maps = np.abs(legacy["maps"].astype(int) - keras3[f"{prefix}_maps"].astype(int))
    record(f"vit_{direction}_logits_max_abs_diff", logits)
    record(f"vit_{direction}_attention_max_abs_diff", attention)
    record(f"vit_{direction}_attention_map_max_diff_levels", int(maps.max()))
    record(f"vit_{direction}_attention_map_equal_pixel_fraction", float(np.mean(maps == 0)))
    assert legacy["attention"].shape == keras3[f"{prefix}_attention"].shape == (4, 8, 4, 50, 50)
    assert logits <= LOGITS_ATOL, logits
    assert attention <= ATTENTION_ATOL, attention
    # attention_map returns uint8 (image x mask): rounding can move a pixel by one level.
    assert maps.max() <= 1, maps.max()


def test_the_export_is_complete(workdir, legacy_vit, keras3):
    """Reloading the exported .npz with vit-keras 0.1.2's own loader gives the same model."""
    images = keras3[0]["images"]  # real Fashion-MNIST images, read by the course's loader
    reloaded = load_legacy_model(workdir / "legacy_vit.npz", "legacy_reloaded")
    x = vit.preprocess_inputs(images.astype("float32"))
    np.testing.assert_array_equal(reloaded.predict(x, verbose=0), legacy_vit.predict(x, verbose=0))


def test_vit_keras_020_reproduces_vit_keras_012(legacy_vit, keras3):
    """legacy -> Keras 3: weights exported by vit-keras 0.1.2, loaded by vit-keras 0.2.0."""
    outputs, meta = keras3
    assert meta["vit_keras"] == "0.2.0" and meta["keras"].startswith("3.")
    compare(legacy_outputs(legacy_vit, outputs["images"]), outputs, "from_legacy", "legacy_to_keras3")


def test_vit_keras_012_reproduces_vit_keras_020(workdir, keras3):
    """Keras 3 -> legacy: weights exported by vit-keras 0.2.0, loaded here by vit-keras 0.1.2."""
    outputs, _ = keras3
    model = load_legacy_model(workdir / "keras3_vit.npz", "from_keras3")
    compare(legacy_outputs(model, outputs["images"]), outputs, "keras3_own", "keras3_to_legacy")


def test_the_course_pretrained_vit_runs_on_the_old_stack(workdir, keras3):
    """The course's shipped tiny ViT (trained with Keras 3), loaded by vit-keras 0.1.2:
    same logits, same predictions, same attention maps."""
    outputs, meta = keras3
    model = load_legacy_model(workdir / "course_tiny_vit.npz", "course_tiny_legacy", meta["course_tiny_vit_config"])
    legacy = legacy_outputs(model, outputs["images"])
    compare(legacy, outputs, "course_tiny", "course_pretrained_keras3_to_legacy")
    np.testing.assert_array_equal(legacy["logits"].argmax(-1), outputs["course_tiny_logits"].argmax(-1))


def test_keras_weight_files_travel_both_ways(legacy_vit, keras3):
    """Keras 2's ``save_weights("w.h5")`` loads into vit-keras 0.2.0 (Keras 3 reads the old
    HDF5 layout in layer order), and Keras 2.15 reads the course's Keras 3 ``.weights.h5``."""
    outputs, meta = keras3
    x = vit.preprocess_inputs(outputs["images"].astype("float32"))
    old_file = float(np.max(np.abs(legacy_vit.predict(x, verbose=0) - outputs["from_legacy_h5_logits"])))
    record("vit_keras2_h5_weights_in_keras3_logits_max_abs_diff", old_file)
    assert old_file <= LOGITS_ATOL, old_file
    model = vit_npz.build_tiny_vit("course_tiny_from_h5", meta["course_tiny_vit_config"])
    model.load_weights(meta["course_tiny_vit_weights"])
    new_file = float(np.max(np.abs(model.predict(x, verbose=0) - outputs["course_tiny_logits"])))
    record("vit_keras3_weights_h5_in_keras2_logits_max_abs_diff", new_file)
    assert new_file <= LOGITS_ATOL, new_file


def test_the_comparison_can_fail(keras3):
    """Different weights give clearly different outputs, so the tolerances above mean something."""
    outputs, _ = keras3
    gap = float(np.max(np.abs(outputs["from_legacy_logits"] - outputs["keras3_own_logits"])))
    record("vit_different_weights_logits_max_abs_diff", gap)
    assert gap > 1000 * LOGITS_ATOL, gap


@pytest.mark.parametrize("shape", [(28, 28, 3)])
def test_real_images_are_square_uint8_rgb(keras3, shape):
    images = keras3[0]["images"]
    assert images.dtype == np.uint8 and images.shape[1:] == shape
    assert images.max() > 200 and (images[..., 0] == images[..., 2]).all()  # grey stacked to RGB
