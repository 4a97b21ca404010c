"""The course's tiny ViT: its architecture and the Fashion-MNIST classes it is pretrained on.

The architecture is ``vit_keras.vit.build_model`` with :data:`TINY_VIT_CONFIG` (28×28 input,
patch 4, 4 layers, hidden 64), pretrained once by ``python -m course_utils.pretrain`` on the
5 :data:`SOURCE_CLASSES` of Fashion-MNIST; notebook 07 transfers it to the 5
:data:`TARGET_CLASSES`. Loading the shipped weights is data-layer work:
:func:`course_utils.vision.weights.load_tiny_vit`.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CLASS_CHOICE",
    "SOURCE_CLASSES",
    "TARGET_CLASSES",
    "TINY_VIT_CONFIG",
    "TINY_VIT_NAME",
    "build_tiny_vit",
]


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

    return vit.build_model(
        **TINY_VIT_CONFIG, name=name, classes=classes, activation="linear", include_top=include_top
    )
