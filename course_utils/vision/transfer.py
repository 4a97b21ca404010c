"""Transfer learning with a ViT backbone (notebook 07): remove the top, add the seed's head.

* :func:`build_transfer_model` -- the reference of exercise 07 (``build_transfer_model``): a frozen
  backbone called with ``training=False`` and :func:`seed_head` on top, compiled.
* :func:`remove_top` / :func:`has_top` -- a vit-keras model up to its class token.
"""

from __future__ import annotations

import keras

__all__ = ["has_top", "remove_top", "seed_head", "build_transfer_model"]


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
    return keras.Sequential(
        [
            # The ViT's features are (batch, hidden) already: Flatten is kept from the seed, a no-op here.
            keras.layers.Flatten(),
            keras.layers.BatchNormalization(),
            keras.layers.Dense(hidden_units, activation="gelu"),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(
                num_classes, activation="softmax"
            ),  # probabilities: the loss uses from_logits=False
        ],
        name="classifier",
    )


def build_transfer_model(
    backbone, num_classes: int, hidden_units: int = 64, dropout: float = 0.2, learning_rate: float = 1e-3
):
    """The seed's transfer-learning model (the reference of exercise 07), compiled.

    The backbone (its top removed if it still has one) is frozen and called with
    ``training=False`` (the Keras recipe; in Keras 3 it decides only calls without a flag: inside
    ``fit`` the outer ``training=True`` overrides it, so an unfrozen backbone trains with its
    dropout on, as notebook 07 measures);
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
