"""Helpers for the Transformers course.

The notebooks keep the lesson code; this package keeps what several notebooks reuse:
layers, attention, ViT helpers, data loading, plots, exercise checkers and the
command-line tools (``python -m course_utils.doctor | fetch | serve``).

The three names a notebook needs first are exported here::

    import course_utils
    course_utils.start("01_rnn_limitations")   # profile, seeds, where results go
    epochs = course_utils.pick(default=3, full=10)
    course_utils.record("test_accuracy", 0.81)
"""

from course_utils.profile import PROFILE, pick
from course_utils.results import record, start

__all__ = ["PROFILE", "pick", "record", "start"]
__version__ = "0.1.0"
