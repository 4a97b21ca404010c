"""The tiny ViT's shipped weights and model card (data layer: reads files, checks sha256).

``weights/<name>.weights.h5`` with its model card ``<name>.json``, both written by
``python -m course_utils.pretrain``. :func:`load_tiny_vit` rebuilds the architecture, verifies
the file's sha256 against the card and loads the weights (vit-keras models hold ``Lambda``
layers, so the course ships weights, not a ``.keras`` file).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from course_utils.data import CourseDataError, file_digest
from course_utils.paths import WEIGHTS_DIR
from course_utils.vision.tiny_vit import TINY_VIT_NAME, build_tiny_vit
from course_utils.vision.transfer import remove_top

__all__ = ["WEIGHTS_DIR", "card_path", "load_tiny_vit", "read_card", "sha256_of", "weights_path"]


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
        raise CourseDataError(
            f"The shipped weights {path} are missing. Fix: restore them from git or run `python -m "
            "course_utils.pretrain`."
        )
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
