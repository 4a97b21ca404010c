# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3.11 (transformers-course)
#     language: python
#     name: transformers-course
# ---

# %% [markdown]
# # 07 · ViT transfer learning: solutions
#
# The completed exercise of notebook 07, checked by its checker, then trained briefly on
# the pretrained tiny ViT: 25 labelled images of each of the 5 target classes it never saw.

# %%
import keras
import numpy as np
from keras import layers

import course_utils
from course_utils import vision
from course_utils.checks import check_transfer_model
from course_utils.data import load_fashion_mnist

course_utils.start("07_vit_transfer_learning_solutions")


# %% [markdown]
# ## Exercise: `build_transfer_model(backbone, num_classes)`
#
# Remove the top if there is one (the model up to `ExtractToken` is what `include_top=False`
# builds), freeze the backbone and call it in inference mode, add the seed's head, compile
# with a loss that matches the softmax output.

# %%
def build_transfer_model(backbone, num_classes):
    """A frozen ViT backbone (top removed) + Flatten, BatchNormalization, Dense, Dropout, Dense(num_classes); compiled."""
    if any(layer.name == "head" for layer in backbone.layers):  # still has its classification top
        backbone = keras.Model(backbone.input, backbone.get_layer("ExtractToken").output)
    backbone.trainable = False
    inputs = keras.Input(backbone.input_shape[1:])
    x = backbone(inputs, training=False)  # the Keras recipe; inside fit, Keras 3 passes training=True (notebook 07)
    x = layers.Flatten()(x)
    x = layers.BatchNormalization()(x)
    x = layers.Dense(64, activation="gelu")(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(),  # softmax outputs: from_logits=False
                  metrics=["accuracy"])
    return model


# %%
result = check_transfer_model(build_transfer_model)
assert result.passed, result.hint

# %% [markdown]
# ## Used on the pretrained tiny ViT, top included
#
# Handed the 5-class source classifier itself, the function removes its top, freezes it, and
# learns the 5 target classes from 25 images each (feature extraction, a few seconds).

# %%
data = load_fashion_mnist()
x_pool, y_pool = vision.select_classes(data.x_train, data.y_train, vision.TARGET_CLASSES)
x_test, y_test = vision.select_classes(data.x_test, data.y_test, vision.TARGET_CLASSES)
rng = np.random.default_rng(0)
index = np.concatenate([rng.choice(np.flatnonzero(y_pool == c), 25, replace=False) for c in range(5)])
test = rng.choice(len(y_test), 1000, replace=False)

pretrained = vision.load_tiny_vit(include_top=True)
model = build_transfer_model(pretrained, num_classes=5)
pretrained_ids = {id(w) for w in pretrained.weights}
assert not any(id(w) in pretrained_ids for w in model.trainable_weights)  # frozen: only the new head trains
backbone_in_model = next(layer for layer in model.layers if isinstance(layer, keras.Model))
assert backbone_in_model.output_shape == (None, 64), backbone_in_model.output_shape  # the top is gone: features, not 5 source logits
model.fit(vision.make_dataset(x_pool[index], y_pool[index], 28, 32, shuffle=True).repeat(),
          steps_per_epoch=100, epochs=1, shuffle=False, verbose=0)
scores = vision.predict_in_batches(model, vision.prepare_images(x_test[test, ..., np.newaxis], 28))
accuracy = float(np.mean(np.argmax(scores, axis=-1) == y_test[test]))
print(f"feature extraction, 25 images per class: test accuracy {accuracy:.1%} on 1,000 target test images (chance 20%)")
assert accuracy > 0.5
course_utils.record("exercise_passed", bool(result.passed))
course_utils.record("transfer_accuracy_25_per_class", accuracy);
