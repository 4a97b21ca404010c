"""TensorFlow's flower photos (full profile): the seed's transfer-learning data and recipe (data layer)."""

from __future__ import annotations

import tarfile
import time
from pathlib import Path
from typing import Any

import keras

from course_utils.data import REGISTRY, CourseDataError, cached_path, is_cached
from course_utils.training import EpochLog
from course_utils.vision.transfer import build_transfer_model

__all__ = ["flowers_transfer", "load_flower_photos"]


def load_flower_photos(
    image_size: int = 224,
    batch_size: int = 32,
    validation_split: float = 0.2,
    seed: int = 42,
    archive: Path | None = None,
):
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
            raise CourseDataError(
                "The flower photos are not in the course cache. Fix: `make fetch NAME=flowers` (229 MB)."
            )
        archive = cached_path(REGISTRY["flowers"][0])
    root = archive.parent / "flower_photos"
    done = archive.parent / ".flower_photos.extracted"
    if not done.exists():
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(archive.parent, filter="data")
        done.touch()
    train_ds, val_ds = keras.utils.image_dataset_from_directory(
        root,
        labels="inferred",
        label_mode="int",
        image_size=(image_size, image_size),
        batch_size=None,
        validation_split=validation_split,
        subset="both",
        seed=seed,
        shuffle=True,
    )
    names = list(train_ds.class_names)

    def pipeline(ds, shuffle):
        if shuffle:
            ds = ds.shuffle(1000, seed=seed)
        ds = ds.map(
            lambda x, y: (vit.preprocess_inputs(tf.cast(x, tf.float32)), y),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)

    return pipeline(train_ds, True), pipeline(val_ds, False), names


def flowers_transfer(
    backbone,
    image_size: int = 224,
    feature_epochs: int = 2,
    fine_tune_epochs: int = 1,
    fine_tune_learning_rate: float = 1e-5,
    batch_size: int = 32,
    archive: Path | None = None,
) -> dict[str, Any]:
    """The seed's recipe on the flower photos: feature extraction, then fine-tuning.

    ``backbone``: a ViT without top (e.g. from :func:`load_backbone`). Returns the validation
    accuracies after each stage, the sizes and the seconds. With ViT-B/32 at 224×224 this is
    heavy on a CPU (about 4.4 GFLOPs per image and forward pass), hence full profile only.
    """
    train_ds, val_ds, names = load_flower_photos(image_size, batch_size, archive=archive)
    model = build_transfer_model(backbone, len(names))
    start = time.perf_counter()
    feature_accuracy = _fit_and_evaluate(
        model, train_ds, val_ds, feature_epochs, "flowers, feature extraction"
    )
    vit_layer = model.layers[1]  # the (topless) ViT inside the transfer model
    vit_layer.trainable = True  # fine-tuning: everything learns, slowly
    model.compile(
        optimizer=keras.optimizers.Adam(fine_tune_learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    fine_tune_accuracy = _fit_and_evaluate(model, train_ds, val_ds, fine_tune_epochs, "flowers, fine-tuning")
    return {
        "classes": names,
        "train_images": int(sum(len(y) for _, y in train_ds)),
        "validation_images": int(sum(len(y) for _, y in val_ds)),
        "feature_extraction_val_accuracy": float(feature_accuracy),
        "fine_tuning_val_accuracy": float(fine_tune_accuracy),
        "seconds": time.perf_counter() - start,
    }


def _fit_and_evaluate(model, train_ds, val_ds, epochs: int, label: str) -> float:
    """Train ``epochs`` epochs (one line per epoch) and return the validation accuracy."""
    model.fit(
        train_ds, validation_data=val_ds, epochs=epochs, verbose=0, shuffle=False, callbacks=[EpochLog(label)]
    )
    return model.evaluate(val_ds, verbose=0, return_dict=True)["accuracy"]
