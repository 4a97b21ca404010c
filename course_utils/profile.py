"""Course profiles: the one switch that changes what a notebook computes.

``COURSE_PROFILE=default`` (what CI runs and what a learner gets) keeps every notebook
within a few minutes on a 2-core CPU with the data installed by ``make setup``.
``COURSE_PROFILE=full`` uses the full data sets (after ``make fetch``) and more epochs.
"""

from __future__ import annotations

import os
from typing import TypeVar

PROFILES = ("default", "full")
T = TypeVar("T")


class ProfileError(ValueError):
    """COURSE_PROFILE has a value the course does not know."""


def current_profile() -> str:
    """Read ``COURSE_PROFILE`` (default: ``"default"``) and check it."""
    value = os.environ.get("COURSE_PROFILE", "default").strip().lower() or "default"
    if value not in PROFILES:
        raise ProfileError(
            f"COURSE_PROFILE={value!r} is not a course profile; use one of {', '.join(PROFILES)} "
            "(e.g. `COURSE_PROFILE=full make lab`), or unset it for the default."
        )
    return value


PROFILE = current_profile()
"""The profile this Python process runs with (read once, at import)."""


def pick(default: T, full: T) -> T:
    """Return the value for the active profile, e.g. ``epochs = pick(default=3, full=10)``."""
    return full if PROFILE == "full" else default
