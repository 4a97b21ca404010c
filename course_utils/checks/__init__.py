"""Exercise checkers: ``check_<exercise>(learner_function_or_class) -> CheckResult``.

Each lesson's checkers live in their own module (``lesson01.py``, ``lesson02.py``, ...),
which lists its public checkers in ``__all__``. They are all re-exported here, so a
notebook writes ``from course_utils.checks import check_rnn_forward``.
"""

import importlib
import pkgutil

from course_utils.checks._core import CheckResult, LearnerError, call_learner, run_checker

__all__ = ["CheckResult", "LearnerError", "call_learner", "run_checker"]

# Re-export every lesson module's checkers (a new lesson module needs no edit here).
for _module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _module_info.name.startswith("lesson"):
        _module = importlib.import_module(f"{__name__}.{_module_info.name}")
        for _name in _module.__all__:
            globals()[_name] = getattr(_module, _name)
            __all__.append(_name)
