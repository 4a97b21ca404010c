"""Vision Transformer helpers for notebooks 06 (anatomy), 07 (transfer learning) and 08.

What lives here, so that the notebooks stay thin:

* The course's **tiny ViT**: the architecture (``vit_keras.vit.build_model``, 28×28 input,
  patch 4, 4 layers, hidden 64), pretrained once by ``python -m course_utils.pretrain`` on
  5 *source* classes of Fashion-MNIST and shipped as ``weights/<name>.weights.h5`` with a
  model card. :func:`load_tiny_vit` rebuilds the architecture, verifies the file's sha256
  against the card and loads the weights (vit-keras models hold ``Lambda`` layers, so the
  course ships weights, not a ``.keras`` file).
* :func:`load_backbone`: Google's ViT-B/32 through the seed's own call
  ``vit.vit_b32(..., pretrained=True, include_top=False, pretrained_top=False)`` when its
  weights are in the course cache (``make fetch NAME=vit-b32``), else the tiny ViT, with a
  :class:`BackboneInfo` that says in one line which backbone and why.
* The input pipeline of both (:func:`prepare_images`, :func:`make_dataset`): grey to RGB,
  float32, resize, ``vit.preprocess_inputs`` (pixels to [-1, 1]), batching, prefetch.
* :func:`extract_patches` (the reference of exercise 06) and small analysis helpers the
  notebooks reuse (position-embedding similarity, attention weights, attention distance).
"""

from __future__ import annotations

import json
import os
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from course_utils.data import FASHION_CLASSES, REGISTRY, CourseDataError, cached_path, file_digest, is_cached
from course_utils.paths import data_dir
from course_utils.profile import PROFILE
from course_utils.rollout import attention_rollout  # re-exported: notebook 08's rollout, public here too

__all__ = [
    "BackboneInfo",
    "EpochLine",
    "SOURCE_CLASSES",
    "TARGET_CLASSES",
    "TINY_VIT_CONFIG",
    "TINY_VIT_NAME",
    "accuracy",
    "attention_weights",
    "build_tiny_vit",
    "extract_patches",
    "flowers_transfer",
    "google_weights_available",
    "has_top",
    "keras_weights_dir",
    "attention_rollout",
    "load_backbone",
    "load_flower_photos",
    "load_tiny_vit",
    "make_dataset",
    "mean_attention_distance",
    "place_google_weights",
    "position_similarity",
    "predict_in_batches",
    "prepare_images",
    "read_card",
    "remember_start",
    "remove_top",
    "seed_head",
    "select_classes",
    "sha256_of",
    "transfer_model",
    "weights_path",
]

# --------------------------------------------------------------------------------------
# The course's tiny ViT: architecture, classes, shipped weights
# --------------------------------------------------------------------------------------

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
TINY_VIT_NAME = "vit-tiny-fmnist5"

TINY_VIT_CONFIG: dict[str, Any] = {
    "image_size": 28,  # Fashion-MNIST's own size: no resizing
    "patch_size": 4,  # 7×7 = 49 patches of 4×4 pixels (+1 class token = 50 tokens)
    "num_layers": 4,
    "hidden_size": 64,
    "num_heads": 4,  # 16 dimensions per head
    "mlp_dim": 128,
    "dropout": 0.1,
}
"""Arguments of ``vit_keras.vit.build_model`` for the tiny ViT (ViT-B/32 uses 224, 32, 12, 768, 12, 3072)."""

# Fashion-MNIST label ids: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat,
# 5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot.
SOURCE_CLASSES = (0, 1, 2, 5, 8)  # T-shirt/top, Trouser, Pullover, Sandal, Bag
TARGET_CLASSES = (3, 4, 6, 7, 9)  # Dress, Coat, Shirt, Sneaker, Ankle boot

CLASS_CHOICE = (
    "Both halves hold upper-body garments and footwear, so what the backbone learns on the source "
    "classes (sleeves, collars, necklines, soles, straps, silhouettes) is the kind of feature the "
    "target classes need; yet no target class is ever seen in pretraining, and the target task keeps "
    "Fashion-MNIST's hardest confusions (Shirt vs Coat vs Dress, Sneaker vs Ankle boot), so transfer "
    "has to earn its accuracy. Source: T-shirt/top, Trouser, Pullover, Sandal, Bag; target: Dress, "
    "Coat, Shirt, Sneaker, Ankle boot."
)
"""Why these source and target classes (quoted in the model card and in notebook 07)."""


def build_tiny_vit(classes: int = len(SOURCE_CLASSES), include_top: bool = True, name: str = "vit-tiny"):
    """The tiny ViT architecture, randomly initialised, built by vit-keras's own ``build_model``.

    With ``include_top=True`` the output is ``classes`` logits (linear activation); with
    ``include_top=False`` it is the class token's final representation, shape ``(batch, 64)``,
    exactly what ``vit.vit_b32(include_top=False)`` returns for ViT-B/32 (there ``(batch, 768)``).
    """
    from vit_keras import vit

    return vit.build_model(**TINY_VIT_CONFIG, name=name, classes=classes, activation="linear", include_top=include_top)


def weights_path(name: str = TINY_VIT_NAME, weights_dir: Path | None = None) -> Path:
    return (weights_dir or WEIGHTS_DIR) / f"{name}.weights.h5"


def card_path(name: str = TINY_VIT_NAME, weights_dir: Path | None = None) -> Path:
    return (weights_dir or WEIGHTS_DIR) / f"{name}.json"


def read_card(name: str = TINY_VIT_NAME, weights_dir: Path | None = None) -> dict[str, Any]:
    """The model card (JSON) written by ``python -m course_utils.pretrain``."""
    path = card_path(name, weights_dir)
    if not path.is_file():
        raise CourseDataError(
            f"The model card {path} is missing. Fix: restore it from git (`git checkout -- {path.name}` in "
            "course_utils/weights) or pretrain again with `python -m course_utils.pretrain`."
        )
    return json.loads(path.read_text())


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file (read in blocks; the same digest the data registry uses)."""
    return file_digest(Path(path), "sha256")


def load_tiny_vit(include_top: bool = True, name: str = TINY_VIT_NAME, weights_dir: Path | None = None):
    """The course's pretrained tiny ViT, its weights verified against the card's sha256.

    ``include_top=True``: the classifier of the 5 source classes (logits). ``include_top=False``:
    the backbone, up to the class token's representation (see :func:`remove_top`).
    """
    card = read_card(name, weights_dir)
    path = weights_path(name, weights_dir)
    if not path.is_file():
        raise CourseDataError(f"The shipped weights {path} are missing. Fix: restore them from git or run `python -m course_utils.pretrain`.")
    actual = sha256_of(path)
    if actual != card["sha256"]:
        raise CourseDataError(
            f"{path.name} does not match the sha256 in its model card ({actual[:12]}… instead of "
            f"{card['sha256'][:12]}…): the file is damaged or was replaced without updating the card. "
            "Fix: restore both from git, or pretrain again with `python -m course_utils.pretrain` "
            "(which writes the weights and the card together)."
        )
    arch = card["architecture"]
    model = build_tiny_vit(classes=arch["classes"], include_top=True, name=name)
    model.load_weights(path)
    return model if include_top else remove_top(model)


def remove_top(model):
    """A vit-keras model without its classification top: the model up to ``ExtractToken``.

    ``ExtractToken`` is the layer that keeps the class token (``v[:, 0]``); everything after it
    (the ``head`` Dense layer, and ``pre_logits`` for ImageNet-21k models) is the top. The layers
    are shared with ``model``, so its pretrained weights come along. This is what
    ``include_top=False`` builds in the first place.
    """
    return keras.Model(model.input, model.get_layer("ExtractToken").output, name=f"{model.name}-notop")


def has_top(model) -> bool:
    """True if a vit-keras model still has its classification layer (named ``head``)."""
    return any(layer.name == "head" for layer in model.layers)


def seed_head(num_classes: int, hidden_units: int = 64, dropout: float = 0.2):
    """The seed's classification head as one layer: Flatten, BatchNormalization, Dense (exact GELU),
    Dropout, ``Dense(num_classes, softmax)``. Named ``classifier`` (vit-keras calls its own top ``head``)."""
    return keras.Sequential([
        keras.layers.Flatten(),  # the ViT's features are (batch, hidden) already: kept from the seed, a no-op here
        keras.layers.BatchNormalization(),
        keras.layers.Dense(hidden_units, activation="gelu"),
        keras.layers.Dropout(dropout),
        keras.layers.Dense(num_classes, activation="softmax"),  # probabilities: the loss uses from_logits=False
    ], name="classifier")


def transfer_model(backbone, num_classes: int, hidden_units: int = 64, dropout: float = 0.2,
                   learning_rate: float = 1e-3):
    """The seed's transfer-learning model (the reference of exercise 07), compiled.

    The backbone (its top removed if it still has one) is frozen and called in inference mode
    (``training=False``: its dropout stays off, even later when it is unfrozen for fine-tuning);
    on top, :func:`seed_head` as the layer ``classifier``. ``model.layers`` is
    ``[input, backbone, classifier]``.
    """
    if has_top(backbone):
        backbone = remove_top(backbone)
    backbone.trainable = False  # feature extraction: only the head learns
    inputs = keras.Input(backbone.input_shape[1:])
    features = backbone(inputs, training=False)
    outputs = seed_head(num_classes, hidden_units, dropout)(features)
    model = keras.Model(inputs, outputs, name="vit-transfer")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=False),  # the head outputs probabilities
        metrics=["accuracy"],
    )
    return model


# --------------------------------------------------------------------------------------
# Data: class subsets, the input pipeline, accuracy
# --------------------------------------------------------------------------------------


def select_classes(images: np.ndarray, labels: np.ndarray, classes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Keep the images of ``classes`` and relabel them 0..len(classes)-1 (in the order given)."""
    classes = tuple(int(c) for c in classes)
    keep = np.isin(labels, classes)
    new_label = {c: i for i, c in enumerate(classes)}
    return images[keep], np.array([new_label[int(y)] for y in labels[keep]], dtype="int32")


def class_names(classes: tuple[int, ...]) -> list[str]:
    return [FASHION_CLASSES[c] for c in classes]


def prepare_images(images, image_size: int):
    """What a ViT expects: float32 RGB of ``image_size``×``image_size`` scaled to [-1, 1].

    ``images``: ``(..., H, W, 1)`` grey or ``(..., H, W, 3)`` RGB, any dtype (uint8 0-255).
    The order matters: cast to float32 *before* ``vit.preprocess_inputs`` (it divides in
    place: on a uint8 tensor it fails, on a float NumPy array it overwrites your array).
    """
    import tensorflow as tf
    from vit_keras import vit

    x = tf.cast(images, tf.float32)
    if x.shape[-1] == 1:
        x = tf.image.grayscale_to_rgb(x)
    if tuple(x.shape[-3:-1]) != (image_size, image_size):
        x = tf.image.resize(x, (image_size, image_size))  # bilinear
    return vit.preprocess_inputs(x)  # mode "tf": x / 127.5 - 1


def make_dataset(images: np.ndarray, labels: np.ndarray | None = None, image_size: int = 28, batch_size: int = 64,
                 shuffle: bool = False, seed: int = 0):
    """A ``tf.data`` pipeline: (shuffle), per-image preparation (:func:`prepare_images`), batch, prefetch.

    ``images``: uint8 ``(N, H, W)`` grey (as Fashion-MNIST) or ``(N, H, W, C)``. This replaces
    ``ImageDataGenerator``, which is legacy in Keras 3. ``labels=None`` yields images only.
    """
    import tensorflow as tf

    if images.ndim == 3:
        images = images[..., np.newaxis]
    if labels is None:
        ds = tf.data.Dataset.from_tensor_slices(images)
    else:
        ds = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)

    def prepare(image, label=None):
        return prepare_images(image, image_size) if label is None else (prepare_images(image, image_size), label)

    ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def accuracy(model, images: np.ndarray, labels: np.ndarray, image_size: int = 28, batch_size: int = 256) -> float:
    """Top-1 accuracy of ``model`` (logits or probabilities) on uint8 images."""
    scores = model.predict(make_dataset(images, None, image_size, batch_size), verbose=0)
    return float(np.mean(np.argmax(scores, axis=-1) == labels))


class EpochLine(keras.callbacks.Callback):
    """One short line per epoch (or every ``every`` epochs) instead of a progress bar.

    ``fit(..., verbose=0, callbacks=[EpochLine("ViT 1,000 images")])`` prints e.g.
    ``ViT 1,000 images  epoch 3/10  loss 0.512  accuracy 0.823  (4.1 s)``.
    """

    def __init__(self, label: str = "", every: int = 1):
        super().__init__()
        self.label, self.every = label, every

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        total = self.params.get("epochs", 0)
        if (epoch + 1) % self.every and epoch + 1 != total:
            return
        values = "  ".join(f"{k} {v:.3f}" for k, v in (logs or {}).items() if k != "learning_rate")
        elapsed = time.perf_counter() - self._start
        print(f"{self.label}  epoch {epoch + 1}/{total}  {values}  ({elapsed:.1f} s)".strip(), flush=True)


def remember_start(model):
    """Remember a compiled model's starting point; return ``restart()``, which goes back to it.

    An experiment that trains the same architecture on several data sizes needs the same
    start each time. Building and compiling a new model would do, but Keras then traces the
    training step again, which costs several seconds per model on a 2-core CPU. Instead we
    compile once, save the weights and the optimizer's state (step counter, Adam's moments)
    here, and ``restart()`` copies them back before each run.
    """
    model.optimizer.build(model.trainable_variables)  # create Adam's moment variables now
    weights = [v.numpy() for v in model.weights]
    optimizer_state = [v.numpy() for v in model.optimizer.variables]

    def restart():
        for variable, value in zip(model.weights, weights):
            variable.assign(value)
        for variable, value in zip(model.optimizer.variables, optimizer_state):
            variable.assign(value)

    return restart


def predict_in_batches(model, images, batch_size: int = 500) -> np.ndarray:
    """``model(images)`` in inference mode, batch by batch, as NumPy.

    Calling the model directly avoids ``predict``'s one-off tracing (seconds per new model on
    a CPU), which dominates when an experiment evaluates many models on a thousand images.
    """
    return np.concatenate([
        keras.ops.convert_to_numpy(model(images[i : i + batch_size], training=False))
        for i in range(0, len(images), batch_size)
    ])


# --------------------------------------------------------------------------------------
# Google's ViT-B/32 (full profile) or the tiny ViT: load_backbone
# --------------------------------------------------------------------------------------

GOOGLE_B32_FILE = "ViT-B_32_imagenet21k+imagenet2012.npz"
"""The file name vit-keras 0.2.0 asks ``keras.utils.get_file`` for (``load_pretrained``)."""


def keras_weights_dir() -> Path:
    """Where ``vit.vit_b32(pretrained=True)`` looks for its ``.npz``: ``<Keras home>/weights``.

    vit-keras calls ``keras.utils.get_file(fname, origin, cache_subdir="weights")``; Keras
    home is ``$KERAS_HOME`` or ``~/.keras``, and ``get_file`` falls back to ``/tmp/.keras``
    when that folder is not writable. A file already there is used without any download.
    """
    from keras.src.backend.config import keras_home  # the accessor get_file itself uses

    base = Path(os.path.expanduser(keras_home()))
    if not os.access(base, os.W_OK):  # get_file's own fallback, reproduced exactly
        base = Path("/tmp/.keras")
    return base / "weights"


def google_weights_available() -> bool:
    """True when the course cache holds ViT-B/32's ``.npz`` and it verifies (recorded sha256)."""
    return is_cached("vit-b32")


def place_google_weights() -> Path:
    """Put the cached ViT-B/32 ``.npz`` where vit-keras looks for it, and return that path.

    The course cache (``$COURSE_DATA_DIR``) is the one place ``make fetch`` writes to, with its
    sha256 recorded at first fetch and verified after; vit-keras reads from the Keras cache.
    We link (or, where links are impossible, copy) the verified file there, replacing any
    different file, so vit-keras never downloads and never reads an unverified file.
    """
    entry = REGISTRY["vit-b32"][0]
    source = cached_path(entry)
    if not google_weights_available():
        raise CourseDataError(
            f"Google's ViT-B/32 weights are not in the course cache ({source}) or fail their recorded "
            "sha256. Fix: `make fetch NAME=vit-b32` (about 340 MB)."
        )
    target_dir = keras_weights_dir()
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / GOOGLE_B32_FILE
    if target.exists() and target.resolve() == source.resolve():
        return target
    if target.exists() and target.stat().st_size == source.stat().st_size and sha256_of(target) == sha256_of(source):
        return target
    tmp = target.with_name(target.name + ".part")
    tmp.unlink(missing_ok=True)
    try:
        tmp.symlink_to(source.resolve())
    except OSError:  # no symlinks (e.g. some Windows set-ups): copy instead
        import shutil

        shutil.copyfile(source, tmp)
    tmp.replace(target)  # atomic: vit-keras never sees a half-written file
    return target


@dataclass
class BackboneInfo:
    """Which backbone :func:`load_backbone` returned and why, printable in one line."""

    name: str
    kind: str  # "google" or "tiny"
    image_size: int
    patch_size: int
    hidden_size: int
    params: int
    reason: str

    def __str__(self) -> str:
        return (
            f"Backbone: {self.name} ({self.params / 1e6:.2f} M parameters, {self.image_size}×{self.image_size} input, "
            f"patch {self.patch_size}, {self.hidden_size} features). {self.reason}"
        )


def load_backbone(image_size: int = 224, activation: str = "linear", google: bool | None = None):
    """A pretrained ViT without its top, and a :class:`BackboneInfo` saying which and why.

    ``google=None`` (the default) follows the profile: Google's ViT-B/32 only with
    ``COURSE_PROFILE=full`` (at 224×224 it is far too slow for the default profile's
    budgets on a laptop CPU), the tiny ViT otherwise.

    With ``google=True`` and ViT-B/32's weights in the course cache, this is the seed's call::

        vit.vit_b32(image_size=image_size, activation=activation, pretrained=True,
                    include_top=False, pretrained_top=False)

    (its weights placed first where vit-keras reads them, see :func:`place_google_weights`).
    Otherwise it is the course's tiny ViT (:func:`load_tiny_vit`), whose input is 28×28
    whatever ``image_size`` says: the pipeline must resize to ``info.image_size``.
    """
    chosen_by_profile = google is None
    if chosen_by_profile:
        google = PROFILE == "full"
    if google and google_weights_available():
        from vit_keras import vit

        place_google_weights()
        model = vit.vit_b32(
            image_size=image_size,
            activation=activation,  # unused without a top; kept as in the seed
            pretrained=True,
            include_top=False,
            pretrained_top=False,
        )
        reason = f"Why: Google's weights (ImageNet-21k + ImageNet-2012) are in the course cache ({data_dir()})."
        info = BackboneInfo("Google ViT-B/32", "google", image_size, 32, 768, model.count_params(), reason)
        return model, info
    model = load_tiny_vit(include_top=False)
    card = read_card()
    if google and cached_path(REGISTRY["vit-b32"][0]).is_file():
        reason = ("Why: Google's ViT-B/32 weights in the course cache fail their recorded sha256 "
                  "(`make fetch NAME=vit-b32` fetches them again).")
    elif google:
        reason = "Why: Google's ViT-B/32 weights are not in the course cache (`make fetch NAME=vit-b32` adds them, about 340 MB)."
    elif chosen_by_profile:
        cached = "(in the cache)" if google_weights_available() else "once `make fetch NAME=vit-b32` has fetched it"
        reason = f"Why: the default profile uses the tiny ViT; COURSE_PROFILE=full uses Google's ViT-B/32 {cached}."
    elif google_weights_available():
        reason = "Why: asked for the tiny ViT (google=False), although Google's ViT-B/32 weights are in the cache."
    else:
        reason = "Why: asked for the tiny ViT (google=False); Google's ViT-B/32 weights are not in the cache either."
    reason += (f" The tiny ViT was pretrained on the Fashion-MNIST classes {', '.join(card['data']['source_class_names'])} "
               f"({card['results']['test_accuracy']:.1%} test accuracy on them).")
    info = BackboneInfo(f"course tiny ViT {TINY_VIT_NAME}", "tiny", TINY_VIT_CONFIG["image_size"],
                        TINY_VIT_CONFIG["patch_size"], TINY_VIT_CONFIG["hidden_size"], model.count_params(), reason)
    return model, info


# --------------------------------------------------------------------------------------
# Flower photos (full profile): the seed's transfer-learning data set
# --------------------------------------------------------------------------------------


def load_flower_photos(image_size: int = 224, batch_size: int = 32, validation_split: float = 0.2, seed: int = 42,
                       archive: Path | None = None):
    """TensorFlow's flower photos (5 classes) as train/validation ``tf.data`` pipelines.

    Reads ``flowers/flower_photos.tgz`` from the course cache (``make fetch NAME=flowers``;
    sha256 verified), extracts it once next to the archive, and returns
    ``(train_ds, val_ds, class_names)``: resized to ``image_size``, ``vit.preprocess_inputs``
    on float32, batched and prefetched.
    """
    import tensorflow as tf
    from vit_keras import vit

    if archive is None:
        if not is_cached("flowers"):
            raise CourseDataError("The flower photos are not in the course cache. Fix: `make fetch NAME=flowers` (229 MB).")
        archive = cached_path(REGISTRY["flowers"][0])
    root = archive.parent / "flower_photos"
    done = archive.parent / ".flower_photos.extracted"
    if not done.exists():
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(archive.parent, filter="data")
        done.touch()
    train_ds, val_ds = keras.utils.image_dataset_from_directory(
        root, labels="inferred", label_mode="int", image_size=(image_size, image_size), batch_size=None,
        validation_split=validation_split, subset="both", seed=seed, shuffle=True,
    )
    names = list(train_ds.class_names)

    def pipeline(ds, shuffle):
        if shuffle:
            ds = ds.shuffle(1000, seed=seed)
        ds = ds.map(lambda x, y: (vit.preprocess_inputs(tf.cast(x, tf.float32)), y), num_parallel_calls=tf.data.AUTOTUNE)
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)

    return pipeline(train_ds, True), pipeline(val_ds, False), names


def flowers_transfer(backbone, image_size: int = 224, feature_epochs: int = 2, fine_tune_epochs: int = 1,
                     fine_tune_learning_rate: float = 1e-5, batch_size: int = 32, archive: Path | None = None) -> dict[str, Any]:
    """The seed's recipe on the flower photos: feature extraction, then fine-tuning.

    ``backbone``: a ViT without top (e.g. from :func:`load_backbone`). Returns the validation
    accuracies after each stage, the sizes and the seconds. With ViT-B/32 at 224×224 this is
    heavy on a CPU (about 4.4 GFLOPs per image and forward pass), hence full profile only.
    """
    train_ds, val_ds, names = load_flower_photos(image_size, batch_size, archive=archive)
    model = transfer_model(backbone, len(names))
    start = time.perf_counter()
    model.fit(train_ds, validation_data=val_ds, epochs=feature_epochs, verbose=0, shuffle=False,
              callbacks=[EpochLine("flowers, feature extraction")])
    feature_accuracy = model.evaluate(val_ds, verbose=0, return_dict=True)["accuracy"]
    vit_layer = model.layers[1]  # the (topless) ViT inside the transfer model
    vit_layer.trainable = True  # fine-tuning: everything learns, slowly
    model.compile(optimizer=keras.optimizers.Adam(fine_tune_learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    model.fit(train_ds, validation_data=val_ds, epochs=fine_tune_epochs, verbose=0, shuffle=False,
              callbacks=[EpochLine("flowers, fine-tuning")])
    fine_tune_accuracy = model.evaluate(val_ds, verbose=0, return_dict=True)["accuracy"]
    return {
        "classes": names,
        "train_images": int(sum(len(y) for _, y in train_ds)),
        "validation_images": int(sum(len(y) for _, y in val_ds)),
        "feature_extraction_val_accuracy": float(feature_accuracy),
        "fine_tuning_val_accuracy": float(fine_tune_accuracy),
        "seconds": time.perf_counter() - start,
    }


# --------------------------------------------------------------------------------------
# Patches and what a trained ViT learned
# --------------------------------------------------------------------------------------


def extract_patches(images, patch_size: int):
    """Cut images into non-overlapping square patches, flattened: the ViT's "words".

    ``images``: ``(batch, H, W, C)`` with H and W multiples of ``patch_size``.
    Returns ``(batch, (H // p) * (W // p), p * p * C)``: patches row by row (left to right,
    then top to bottom, like reading text), the pixels of each patch in (row, column,
    channel) order, which is how a Conv2D kernel of shape ``(p, p, C, D)`` flattens.
    """
    from keras import ops

    batch, height, width, channels = ops.shape(images)
    if height % patch_size or width % patch_size:
        raise ValueError(f"image size {height}×{width} is not a multiple of patch_size={patch_size}")
    rows, cols = height // patch_size, width // patch_size
    # (batch, rows, p, cols, p, C): split each spatial axis into (patch index, pixel in patch)
    x = ops.reshape(images, (batch, rows, patch_size, cols, patch_size, channels))
    # (batch, rows, cols, p, p, C): bring the two patch indices together, pixels after them
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
    return ops.reshape(x, (batch, rows * cols, patch_size * patch_size * channels))


def position_similarity(position_embeddings: np.ndarray, grid: int) -> np.ndarray:
    """Cosine similarity between the position embeddings of every pair of patches.

    ``position_embeddings``: ``(1 + grid*grid, D)`` (class token first, as vit-keras) or
    ``(grid*grid, D)``. Returns ``(grid, grid, grid, grid)``: ``[i, j]`` is the map of patch
    (row i, column j) against every patch: the ViT paper's figure 7 (center).
    """
    pe = np.asarray(position_embeddings, dtype="float64").reshape(-1, position_embeddings.shape[-1])
    if len(pe) == grid * grid + 1:
        pe = pe[1:]  # drop the class token's position
    unit = pe / np.linalg.norm(pe, axis=1, keepdims=True)
    return (unit @ unit.T).reshape(grid, grid, grid, grid)


def attention_weights(model, images: np.ndarray) -> np.ndarray:
    """Every block's attention weights for prepared images: ``(layers, batch, heads, T, T)``.

    vit-keras blocks return ``(output, attention weights)``; a second model reads the weights.
    """
    blocks = [layer for layer in model.layers if layer.name.startswith("Transformer_encoderblock_")]
    probe = keras.Model(model.inputs, [block.output[1] for block in blocks])
    out = probe.predict(images, verbose=0)
    return np.stack(out if isinstance(out, list) else [out])


def mean_attention_distance(weights: np.ndarray, grid: int, patch_size: int) -> np.ndarray:
    """Mean attention distance in pixels per (layer, head), averaged over images and query patches.

    ``weights``: ``(layers, batch, heads, T, T)`` with T = 1 + grid*grid. For each patch
    query, the distance to every patch key weighted by attention (the class token row and
    column are left out, the patch part renormalised): the "receptive field" of the ViT paper's
    figure 7 (right). A CNN's 3×3 kernel has a fixed, small one; a ViT learns its own.
    """
    rows, cols = np.divmod(np.arange(grid * grid), grid)
    centres = np.stack([rows, cols], axis=1) * patch_size
    dist = np.linalg.norm(centres[:, None, :] - centres[None, :, :], axis=-1)  # (P, P) pixels
    patch = weights[..., 1:, 1:]
    patch = patch / patch.sum(axis=-1, keepdims=True)
    return (patch * dist).sum(axis=-1).mean(axis=(1, 3))  # (layers, heads)
