"""The Keras 3 half of the legacy comparisons: run with the course's Python (../../.venv).

    python keras3_side.py WORKDIR

Reads ``WORKDIR/legacy_inputs.npz`` (written by the legacy tests: GELU inputs, an AdamW
problem) and ``WORKDIR/legacy_vit.npz`` (a tiny ViT exported by vit-keras 0.1.2 in Google's
layout), computes the same things with Keras 3 / vit-keras 0.2.0, and writes
``WORKDIR/keras3_outputs.npz`` plus ``WORKDIR/keras3_meta.json``. It also exports, for the
other direction, a seeded tiny ViT of its own (``WORKDIR/keras3_vit.npz``) and the course's
pretrained tiny ViT (``WORKDIR/course_tiny_vit.npz``), and the real test images it used
(Fashion-MNIST, through ``course_utils.data``).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from vit_keras import visualize, vit  # noqa: E402

from vit_npz import (TINY_VIT, block_attention_model, build_tiny_vit,  # noqa: E402
                     export_google_npz, load_google_npz, perturb_weights)

N_IMAGES = 8


def gelu_outputs(x: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "gelu_approximate_true": keras.ops.convert_to_numpy(keras.activations.gelu(x, approximate=True)),
        "gelu_approximate_false": keras.ops.convert_to_numpy(keras.activations.gelu(x, approximate=False)),
        "gelu_default": keras.ops.convert_to_numpy(keras.activations.gelu(x)),
    }


def adamw_run(w0: np.ndarray, grads: np.ndarray, lr: float, weight_decay: float) -> np.ndarray:
    """Keras 3 AdamW from ``w0`` over the gradients ``grads[0], grads[1], ...``; the weights after each."""
    var = keras.Variable(w0.copy())
    optimizer = keras.optimizers.AdamW(learning_rate=lr, weight_decay=weight_decay)
    after = []
    for g in grads:
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(g), var)])
        after.append(keras.ops.convert_to_numpy(var))
    return np.stack(after)


def test_images() -> np.ndarray:
    """The first test images of Fashion-MNIST as square uint8 RGB (what attention_map needs)."""
    from course_utils.data import load_fashion_mnist

    grey = load_fashion_mnist().x_test[:N_IMAGES]
    return np.repeat(grey[..., None], 3, axis=-1).astype("uint8")


def vit_outputs(model, images: np.ndarray, prefix: str) -> dict[str, np.ndarray]:
    x = vit.preprocess_inputs(images.astype("float32"))
    attention = np.stack(block_attention_model(model).predict(x, verbose=0))  # (layers, batch, heads, T, T)
    maps = np.stack([visualize.attention_map(model=model, image=image) for image in images])
    return {f"{prefix}_logits": model.predict(x, verbose=0), f"{prefix}_attention": attention, f"{prefix}_maps": maps}


def main(workdir: Path) -> None:
    inputs = np.load(workdir / "legacy_inputs.npz")
    out: dict[str, np.ndarray] = {}
    out.update(gelu_outputs(inputs["gelu_x"]))
    lr, wd_tfa = float(inputs["adamw_lr"]), float(inputs["adamw_wd_tfa"])
    out["adamw_converted"] = adamw_run(inputs["adamw_w0"], inputs["adamw_grads"], lr, wd_tfa / lr)
    out["adamw_unconverted"] = adamw_run(inputs["adamw_w0"], inputs["adamw_grads"], lr, wd_tfa)

    images = test_images()
    out["images"] = images
    # legacy -> Keras 3: the weights vit-keras 0.1.2 exported, loaded by vit-keras 0.2.0
    from_legacy = build_tiny_vit("from_legacy")
    load_google_npz(from_legacy, workdir / "legacy_vit.npz", TINY_VIT["image_size"], TINY_VIT["patch_size"])
    out.update(vit_outputs(from_legacy, images, "from_legacy"))
    # the same weights through Keras 2's own HDF5 file (model.save_weights("....h5") in TF 2.15)
    from_legacy_h5 = build_tiny_vit("from_legacy_h5")
    from_legacy_h5.load_weights(workdir / "legacy_vit.h5")
    out["from_legacy_h5_logits"] = from_legacy_h5.predict(vit.preprocess_inputs(images.astype("float32")), verbose=0)
    # Keras 3 -> legacy: a seeded tiny ViT built and exported here
    keras.utils.set_random_seed(7)
    own = build_tiny_vit("keras3_own")
    perturb_weights(own, seed=7)
    export_google_npz(own, workdir / "keras3_vit.npz")
    out.update(vit_outputs(own, images, "keras3_own"))

    # The course's pretrained tiny ViT (shipped .weights.h5, Keras 3), exported for the old stack
    from course_utils.vision import TINY_VIT_CONFIG, load_tiny_vit, read_card, weights_path

    course = load_tiny_vit()
    course_config = {**TINY_VIT_CONFIG, "classes": read_card()["architecture"]["classes"], "activation": "linear"}
    export_google_npz(course, workdir / "course_tiny_vit.npz")
    out.update(vit_outputs(course, images, "course_tiny"))

    np.savez(workdir / "keras3_outputs.npz", **out)
    meta = {"python": sys.version.split()[0], "tensorflow": tf.__version__, "keras": keras.__version__,
            "vit_keras": importlib.metadata.version("vit-keras"), "course_tiny_vit_config": course_config,
            "course_tiny_vit_weights": str(weights_path())}
    (workdir / "keras3_meta.json").write_text(json.dumps(meta, indent=2) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
