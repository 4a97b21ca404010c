"""The ViT input pipeline on in-memory arrays (no files): class subsets, preparation, batches.

* :func:`select_classes` -- keep some Fashion-MNIST classes and relabel them 0..n-1.
* :func:`prepare_images` / :func:`make_dataset` -- grey to RGB, float32, resize,
  ``vit.preprocess_inputs`` (pixels to [-1, 1]), batching, prefetch (``tf.data``).
* :func:`accuracy` / :func:`predict_in_batches` -- evaluate a model on such images.
"""

from __future__ import annotations

import numpy as np

from course_utils.training import batches, predict_in_batches  # re-exported: one home, shared with text

__all__ = ["accuracy", "batches", "make_dataset", "predict_in_batches", "prepare_images", "select_classes"]


def select_classes(
    images: np.ndarray, labels: np.ndarray, classes: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Keep the images of ``classes`` and relabel them 0..len(classes)-1 (in the order given)."""
    classes = tuple(int(c) for c in classes)
    keep = np.isin(labels, classes)
    new_label = {c: i for i, c in enumerate(classes)}
    return images[keep], np.array([new_label[int(y)] for y in labels[keep]], dtype="int32")


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


def make_dataset(
    images: np.ndarray,
    labels: np.ndarray | None = None,
    image_size: int = 28,
    batch_size: int = 64,
    shuffle: bool = False,
    seed: int = 0,
):
    """A ``tf.data`` pipeline: (shuffle), batch, preparation of each batch (:func:`prepare_images`), prefetch.

    ``images``: uint8 ``(N, H, W)`` grey (as Fashion-MNIST) or ``(N, H, W, C)``. This replaces
    ``ImageDataGenerator``, which is legacy in Keras 3. ``labels=None`` yields images only.
    The images stay uint8 in memory and are prepared a batch at a time; the pipeline is
    :func:`course_utils.training.batches` (tf.data's autotuning off: on 2 cores its thread
    delayed the start of training runs and validation checks, notebook 06's data-hunger
    experiment took 42 s instead of 38 s).
    """
    if images.ndim == 3:
        images = images[..., np.newaxis]
    return batches(
        images,
        labels,
        batch_size,
        shuffle_seed=seed if shuffle else None,
        prepare=lambda batch: prepare_images(batch, image_size),
    )


def accuracy(
    model, images: np.ndarray, labels: np.ndarray, image_size: int = 28, batch_size: int = 256
) -> float:
    """Top-1 accuracy of ``model`` (logits or probabilities) on uint8 images."""
    scores = model.predict(make_dataset(images, None, image_size, batch_size), verbose=0)
    return float(np.mean(np.argmax(scores, axis=-1) == labels))
