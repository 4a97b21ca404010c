"""Checker of notebook 07 (ViT transfer learning): ``build_transfer_model(backbone, num_classes)``.

The reference, :func:`course_utils.vision.transfer.build_transfer_model`, takes a vit-keras
ViT (with or without its classification top), removes the top if there is one, freezes it,
adds the seed's head (Flatten, BatchNormalization, Dense, Dropout, then ``Dense(num_classes)``)
and compiles the model with a loss that matches the last layer (softmax probabilities with
``from_logits=False``, or logits with ``from_logits=True``). The checker builds small ViTs
with vit-keras's ``build_model`` (random weights: only the structure matters) and diagnoses:
the top not removed, the wrong number of outputs, the backbone not frozen, the backbone not
used, a head missing the seed's layers, a model not compiled, and a softmax/logits mismatch
with the loss.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from course_utils.checks._core import CheckResult, call_learner, run_checker, to_numpy
from course_utils.vision.transfer import has_top

__all__ = ["check_transfer_model"]

EXERCISE = "build_transfer_model"
SEED_HEAD = ("Flatten", "BatchNormalization", "Dense", "Dropout")


def _all_layers(model: Any) -> Iterator[Any]:
    """Every layer of a model, looking inside nested models (a backbone used as one layer)."""
    for layer in getattr(model, "layers", []):
        yield layer
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)


def _test_backbone(include_top: bool, classes: int = 5):
    """A small vit-keras ViT like the course's tiny ViT (random weights, 28×28, patch 7)."""
    from vit_keras import vit

    return vit.build_model(
        image_size=28,
        patch_size=7,
        num_layers=1,
        hidden_size=16,
        num_heads=2,
        name="test-vit",
        mlp_dim=32,
        classes=classes,
        include_top=include_top,
    )


def _loss_from_logits(loss: Any) -> bool | None:
    """``from_logits`` of a compiled loss (string, function or Loss object); None if unknown."""
    if isinstance(loss, str):
        return False if "crossentropy" in loss else None
    if hasattr(loss, "from_logits"):
        return bool(loss.from_logits)
    kwargs = getattr(loss, "_fn_kwargs", None)
    if isinstance(kwargs, dict) and "from_logits" in kwargs:
        return bool(kwargs["from_logits"])
    if callable(loss) and "crossentropy" in getattr(loss, "__name__", ""):
        return False  # the functions default to from_logits=False
    return None


def _diagnose(model: Any, backbone: Any, num_classes: int) -> str | None:
    import keras

    if not isinstance(model, keras.Model):
        return f"build_transfer_model must return a keras.Model; it returned {type(model).__name__}."
    layers = list(_all_layers(model))
    ids = {id(layer) for layer in layers}
    if id(backbone.get_layer("embedding")) not in ids:
        return (
            "your model does not contain the backbone you were given: build on `backbone` (its pretrained "
            "weights are the point of transfer learning), not on a new ViT."
        )
    if has_top(backbone) and id(backbone.get_layer("head")) in ids:
        return (
            "the top is not removed: this backbone still has its classification layer 'head' (the logits of "
            "the classes it was pretrained on), and your head sits on those logits. Cut it off: use the "
            "backbone up to the layer 'ExtractToken' (keras.Model(backbone.input, "
            "backbone.get_layer('ExtractToken').output)), which is what include_top=False builds."
        )
    x = np.random.default_rng(0).normal(size=(4, 28, 28, 3)).astype("float32")
    out = to_numpy(call_learner(model, x, training=False))
    if out.ndim != 2 or out.shape[-1] != num_classes:
        return (
            f"wrong number of outputs: your model gives shape {tuple(out.shape)} for 4 images, expected "
            f"(4, {num_classes}): the last layer must be Dense(num_classes) (here num_classes={num_classes})."
        )
    backbone_weights = {id(w) for w in backbone.weights}
    trained = [w for w in model.trainable_weights if id(w) in backbone_weights]
    if trained:
        return (
            f"the backbone is not frozen: {len(trained)} of its weight tensors would be trained with the "
            "head "
            "(e.g. '"
            + trained[0].path
            + "'). Set backbone.trainable = False before you build and compile the "
            "model (for feature extraction only the new head learns; fine-tuning unfreezes it later)."
        )
    if not model.trainable_weights:
        return "nothing in your model is trainable: freeze the backbone only, not the new head."
    head_types = {
        type(layer).__name__ for layer in layers if id(layer) not in {id(b) for b in _all_layers(backbone)}
    }
    missing = [name for name in SEED_HEAD if name not in head_types]
    if missing:
        return (
            f"the head lacks {', '.join(missing)}: the seed's head is Flatten, BatchNormalization, "
            "Dense (hidden, e.g. gelu), Dropout, then Dense(num_classes)."
        )
    if getattr(model, "loss", None) is None or getattr(model, "optimizer", None) is None:
        return (
            "compile the model before returning it (an optimizer, a loss and metrics=['accuracy']), as the "
            "seed does."
        )
    from_logits = _loss_from_logits(model.loss)
    loss_text = str(getattr(model.loss, "__name__", model.loss)).lower().replace("_", "")
    if "categoricalcrossentropy" in loss_text and "sparse" not in loss_text:
        return (
            "the labels are integers 0..num_classes-1, so the loss is SparseCategoricalCrossentropy "
            "(CategoricalCrossentropy expects one-hot labels)."
        )
    probabilities = bool(np.all(out >= 0) and np.allclose(out.sum(axis=-1), 1.0, atol=1e-4))
    if probabilities and from_logits:
        return (
            "softmax head with a from-logits loss: your last layer already applies softmax, but the loss was "
            "told "
            "from_logits=True, so it applies softmax a second time (training still runs, but on squashed "
            "numbers). Either drop the softmax (logits out) or use from_logits=False."
        )
    if not probabilities and from_logits is False:
        return (
            "your last layer outputs logits (no softmax), but the loss expects probabilities "
            "(from_logits=False): "
            "add activation='softmax' to the last Dense, or compile with from_logits=True."
        )
    return None


def check_transfer_model(fn: Callable[..., Any], verbose: bool = True) -> CheckResult:
    """Check ``fn(backbone, num_classes)`` on small ViTs with and without their top."""

    def check() -> str | None:
        for include_top, num_classes in ((False, 3), (True, 4)):
            backbone = _test_backbone(include_top)
            model = call_learner(fn, backbone, num_classes)
            hint = _diagnose(model, backbone, num_classes)
            if hint is not None:
                kind = (
                    "a backbone with its top (include_top=True)" if include_top else "a backbone without top"
                )
                return f"{hint} (test: {kind}, num_classes={num_classes})"
        return None

    return run_checker(EXERCISE, check, verbose=verbose)
