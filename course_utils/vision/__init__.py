"""Vision Transformer helpers for notebooks 06 (anatomy), 07 (transfer learning) and 08.

Notebooks write ``from course_utils import vision`` and call ``vision.load_tiny_vit()``,
``vision.extract_patches(...)``, ... (the name does not clash with ``vit_keras.vit``, which
the notebooks import as ``vit``). Each name has one home, a submodule:

=========================  ======  ==========================================================
submodule                  layer   what it holds
=========================  ======  ==========================================================
``vision.patches``         lesson  :func:`extract_patches` (reference of exercise 06)
``vision.tiny_vit``        lesson  the tiny ViT's architecture and classes (``build_tiny_vit``)
``vision.transfer``        lesson  :func:`build_transfer_model` (reference of exercise 07), ``remove_top``
``vision.pipeline``        lesson  ``prepare_images``, ``make_dataset``, ``select_classes``, accuracy
``vision.analysis``        lesson  ``position_similarity``, ``mean_attention_distance``
``vision.weights``         data    the shipped weights and model card: :func:`load_tiny_vit`
``vision.google_weights``  data    Google's ViT-B/32 from the course cache: :func:`load_backbone`
``vision.flowers``         data    the flower photos and the seed's transfer recipe (full profile)
=========================  ======  ==========================================================

Attention rollout (notebook 08) is lesson code of its own: :mod:`course_utils.rollout`.
This package module re-exports the submodules' public names, so it belongs to the data layer:
lesson code imports the lesson submodules directly (``from course_utils.vision.patches import ...``).
"""

from course_utils.training import build_metrics, remember_start  # used by notebooks 06 and 07 as vision.*
from course_utils.vision.analysis import mean_attention_distance, position_similarity
from course_utils.vision.flowers import flowers_transfer, load_flower_photos
from course_utils.vision.google_weights import (
    GOOGLE_B32_FILE,
    BackboneInfo,
    google_weights_available,
    load_backbone,
    place_google_weights,
)
from course_utils.vision.patches import extract_patches
from course_utils.vision.pipeline import (
    accuracy,
    batches,
    make_dataset,
    predict_in_batches,
    prepare_images,
    select_classes,
)
from course_utils.vision.tiny_vit import (
    CLASS_CHOICE,
    SOURCE_CLASSES,
    TARGET_CLASSES,
    TINY_VIT_CONFIG,
    TINY_VIT_NAME,
    build_tiny_vit,
)
from course_utils.vision.transfer import build_transfer_model, has_top, remove_top, seed_head
from course_utils.vision.weights import (
    WEIGHTS_DIR,
    card_path,
    load_tiny_vit,
    read_card,
    sha256_of,
    weights_path,
)

__all__ = [
    "CLASS_CHOICE",
    "GOOGLE_B32_FILE",
    "SOURCE_CLASSES",
    "TARGET_CLASSES",
    "TINY_VIT_CONFIG",
    "TINY_VIT_NAME",
    "WEIGHTS_DIR",
    "BackboneInfo",
    "accuracy",
    "batches",
    "build_tiny_vit",
    "card_path",
    "extract_patches",
    "flowers_transfer",
    "google_weights_available",
    "has_top",
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
    "build_metrics",
    "remember_start",
    "remove_top",
    "seed_head",
    "select_classes",
    "sha256_of",
    "build_transfer_model",
    "weights_path",
]
