"""Where the course keeps things on disk."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

REPO_ROOT = Path(__file__).resolve().parents[1]
"""The course checkout (course_utils is installed editable from it)."""

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
"""The shipped weights and model cards (``course_utils/weights``), written by ``course_utils.pretrain``."""


def data_dir() -> Path:
    """The one cache folder for data and weights: ``$COURSE_DATA_DIR`` or the user cache."""
    env = os.environ.get("COURSE_DATA_DIR")
    path = Path(env).expanduser() if env else Path(platformdirs.user_cache_dir("transformers-course"))
    return path


def build_dir() -> Path:
    """Where test runs and notebooks write reports: ``$COURSE_BUILD_DIR`` or ``<repo>/build``."""
    env = os.environ.get("COURSE_BUILD_DIR")
    return Path(env).expanduser() if env else REPO_ROOT / "build"
