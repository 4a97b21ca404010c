"""check_transfer_model: passes the reference, names each typical mistake.

Every wrong implementation below is a mistake a learner makes; each test asserts that the
checker fails it *and* that the hint names that mistake.
"""

from __future__ import annotations

import keras
import pytest
from keras import layers

from course_utils.checks import check_transfer_model
from course_utils.vision.transfer import build_transfer_model, remove_top


def _features(backbone):
    return remove_top(backbone) if any(layer.name == "head" for layer in backbone.layers) else backbone


def _head(x, num_classes, activation="softmax"):
    x = layers.Flatten()(x)
    x = layers.BatchNormalization()(x)
    x = layers.Dense(32, activation="gelu")(x)
    x = layers.Dropout(0.2)(x)
    return layers.Dense(num_classes, activation=activation)(x)


def _model(
    backbone,
    num_classes,
    *,
    freeze=True,
    activation="softmax",
    from_logits=False,
    remove=True,
    compile=True,
    head=_head,
    loss=None,
):
    features = _features(backbone) if remove else backbone
    if freeze:
        features.trainable = False
    inputs = keras.Input(features.input_shape[1:])
    outputs = head(features(inputs, training=False), num_classes, activation)
    model = keras.Model(inputs, outputs)
    if compile:
        model.compile(
            optimizer="adam",
            loss=loss or keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits),
            metrics=["accuracy"],
        )
    return model


def sequential_like_the_seed(backbone, num_classes):
    """The seed's Sequential style, logits + from_logits=True: also right."""
    features = _features(backbone)
    features.trainable = False
    model = keras.Sequential(
        [
            features,
            layers.Flatten(),
            layers.BatchNormalization(),
            layers.Dense(32, activation="gelu"),
            layers.Dropout(0.2),
            layers.Dense(num_classes),
        ]
    )
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def not_frozen(backbone, num_classes):
    return _model(backbone, num_classes, freeze=False)


def top_not_removed(backbone, num_classes):
    return _model(backbone, num_classes, remove=False)


def no_new_head(backbone, num_classes):  # returns the frozen features
    features = _features(backbone)
    features.trainable = False
    return features


def wrong_outputs(backbone, num_classes):
    return _model(backbone, 10)


def softmax_with_from_logits(backbone, num_classes):
    return _model(backbone, num_classes, activation="softmax", from_logits=True)


def logits_without_from_logits(backbone, num_classes):
    return _model(backbone, num_classes, activation=None, from_logits=False)


def logits_with_string_loss(backbone, num_classes):
    return _model(backbone, num_classes, activation=None, loss="sparse_categorical_crossentropy")


def one_hot_loss(backbone, num_classes):
    return _model(backbone, num_classes, loss=keras.losses.CategoricalCrossentropy())


def not_compiled(backbone, num_classes):
    return _model(backbone, num_classes, compile=False)


def head_without_batchnorm(backbone, num_classes):
    def head(x, n, activation):
        return layers.Dense(n, activation=activation)(
            layers.Dropout(0.2)(layers.Dense(32)(layers.Flatten()(x)))
        )

    return _model(backbone, num_classes, head=head)


def new_vit(backbone, num_classes):  # ignores the pretrained backbone
    from course_utils.checks.lesson07 import _test_backbone

    return _model(_test_backbone(include_top=False), num_classes)


def everything_frozen(backbone, num_classes):
    model = _model(backbone, num_classes)
    model.trainable = False
    return model


def returns_none(backbone, num_classes):
    return None


def untouched(backbone, num_classes):
    raise NotImplementedError  # your code here


@pytest.mark.parametrize("fn", [build_transfer_model, sequential_like_the_seed])
def test_correct_implementations_pass(fn):
    result = check_transfer_model(fn, verbose=False)
    assert result.passed, result.hint


@pytest.mark.parametrize(
    "fn, words",
    [
        (not_frozen, "backbone is not frozen"),
        (top_not_removed, "top is not removed"),
        (no_new_head, "wrong number of outputs"),
        (wrong_outputs, "wrong number of outputs"),
        (softmax_with_from_logits, "softmax head with a from-logits loss"),
        (logits_without_from_logits, "outputs logits"),
        (logits_with_string_loss, "outputs logits"),
        (one_hot_loss, "SparseCategoricalCrossentropy"),
        (not_compiled, "compile"),
        (head_without_batchnorm, "BatchNormalization"),
        (new_vit, "does not contain the backbone"),
        (everything_frozen, "nothing in your model is trainable"),
        (returns_none, "must return a keras.Model"),
    ],
)
def test_each_mistake_gets_its_hint(fn, words):
    result = check_transfer_model(fn, verbose=False)
    assert not result.passed
    assert result.attempted
    assert words in result.hint, result.hint


def test_untouched_exercise_is_not_attempted():
    result = check_transfer_model(untouched, verbose=False)
    assert not result.passed and not result.attempted
