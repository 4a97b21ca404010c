"""What every exercise checker shares: the result type and a safe way to call learner code.

A checker runs the learner's function on test cases, compares with the reference, and
returns a :class:`CheckResult`. It never lets the learner's exception escape as a bare
traceback: the exception becomes a hint that names it. A function that still raises
``NotImplementedError`` (the exercise as handed out) is reported as "not attempted yet",
which does not fail the notebook run.
"""

from __future__ import annotations

import os
import re
import sysconfig
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class CheckResult:
    """The outcome of one checker: ``passed`` and a ``hint`` for the learner."""

    exercise: str
    passed: bool
    hint: str
    attempted: bool = True

    def __str__(self) -> str:
        if not self.attempted:
            mark = "[not attempted yet]"
        else:
            mark = "[passed]" if self.passed else "[not yet]"
        return f"{mark} {self.exercise}: {self.hint}"

    def _repr_pretty_(self, printer, cycle: bool) -> None:  # plain-text display in IPython
        printer.text(str(self))

    def _repr_html_(self) -> str:  # a coloured line in Jupyter
        colour = "#1a7f37" if self.passed else ("#6e7781" if not self.attempted else "#cf222e")
        return f'<p style="color:{colour}"><b>{self}</b></p>'


class LearnerError(Exception):
    """The learner's function raised; carries a short, readable description."""


def call_learner(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call learner code, turning any exception into :class:`LearnerError` (or re-raising
    ``NotImplementedError`` untouched so the checker can say "not attempted yet").

    The error reads ``"InvalidArgumentError: <first line of the message> (your line 6:
    scores = ops.matmul(q, k.T))"``: the message without TensorFlow's op-name decorations,
    and the deepest line of the *learner's* code, not a line inside TensorFlow or NumPy.
    """
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - the whole point is to catch learner errors
        # The learner's line: the deepest frame outside the installed libraries, the
        # standard library and course_utils (a notebook cell, a test file, a script).
        library_dirs = {
            os.path.realpath(path)
            for key, path in sysconfig.get_paths().items()
            if key in ("stdlib", "platstdlib", "purelib", "platlib")
        }
        library_dirs.add(os.path.realpath(os.path.dirname(os.path.dirname(__file__))))  # course_utils
        own = [
            frame
            for frame in traceback.extract_tb(exc.__traceback__)
            if not frame.filename.startswith("<frozen")
            and not any(os.path.realpath(frame.filename).startswith(d + os.sep) for d in library_dirs)
        ]
        where = f" (your line {own[-1].lineno}: {own[-1].line.strip()})" if own and own[-1].line else ""
        # TensorFlow wraps messages as "{{function_node __wrapped__Op_device_/job:...}} text [Op:Op] name: ".
        message = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", str(exc))
        message = re.sub(r"\s*\[Op:[^\]]*\](\s*name:\s*\S*)?\s*$", "", message.strip())
        message = " ".join(message.splitlines()[0].split()) if message.strip() else ""
        if len(message) > 200:
            message = message[:197] + "..."
        raise LearnerError(f"{type(exc).__name__}: {message}{where}") from None


HINT_RETURNED_NONE = "your function returned None: did you forget the `return` at the end?"


def as_float_array(raw: Any, expected: str) -> tuple[np.ndarray | None, str | None]:
    """The learner's return value as a float64 array, or ``(None, hint)`` when it is not one.

    ``expected`` completes the hint, e.g. ``"of shape (T, T)"``.
    """
    if raw is None:
        return None, HINT_RETURNED_NONE
    try:
        return np.asarray(raw, dtype="float64"), None
    except (TypeError, ValueError):
        return None, f"your function must return an array of numbers {expected}; got {type(raw).__name__}."


def to_numpy(value: Any, dtype: str | None = "float64") -> np.ndarray:
    """A learner's tensor, array or nested list as a NumPy array (float64 unless ``dtype=None``)."""
    try:
        import keras

        value = keras.ops.convert_to_numpy(value)
    except Exception:  # noqa: BLE001 - a learner may return a list or something odd
        pass
    return np.asarray(value, dtype=dtype)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax in NumPy (to build test cases and typical mistakes)."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def close(got: np.ndarray, expected: np.ndarray, atol: float, rtol: float = 1e-5) -> bool:
    """Same shape and ``np.allclose``; entries that are NaN in ``expected`` are not compared
    (a typical mistake may leave some entries undefined, e.g. rows whose keys are all masked)."""
    got, expected = np.asarray(got), np.asarray(expected)
    if got.shape != expected.shape:
        return False
    defined = ~np.isnan(expected)
    return bool(np.allclose(got[defined], expected[defined], atol=atol, rtol=rtol))


Mistakes = list[tuple[np.ndarray, str]]
"""The one shape of every checker's table of diagnosed mistakes: ``[(wrong_output, hint), ...]``,
the output a typical wrong implementation gives on the test case, and the hint that names it,
in the order they are tried. Each lesson builds it in ``_mistakes(<test case>)``."""


def first_mistake(got: np.ndarray, mistakes: Mistakes, atol: float, rtol: float = 1e-5) -> str | None:
    """The hint of the first typical mistake whose output matches ``got`` (see :func:`close`), or None."""
    for wrong, hint in mistakes:
        if close(got, wrong, atol, rtol):
            return hint
    return None


def run_checker(exercise: str, check: Callable[[], str | None], verbose: bool = True) -> CheckResult:
    """Run ``check`` (which returns None when all is well, or a hint) and report.

    ``check`` may raise :class:`LearnerError` or ``NotImplementedError``; both become a
    result, never a traceback.
    """
    try:
        hint = check()
    except NotImplementedError:
        result = CheckResult(
            exercise,
            False,
            "replace `raise NotImplementedError` with your code, then run this cell again.",
            attempted=False,
        )
    except LearnerError as exc:
        result = CheckResult(exercise, False, f"your function raised an error: {exc}")
    else:
        if hint is None:
            result = CheckResult(exercise, True, "all test cases match the reference. Well done!")
        else:
            result = CheckResult(exercise, False, hint)
    if verbose:
        _show(result)
    return result


def _show(result: CheckResult) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None:
            display(result)
            return
    except ImportError:
        pass
    print(result)
