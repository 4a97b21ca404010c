"""Checker for lesson 02 (positional encoding): ``check_positional_encoding``.

The exercise: write ``positional_encoding(length, depth)`` returning the sinusoidal encoding
of "Attention Is All You Need" (section 3.5) as an array of shape ``(length, depth)``::

    PE[pos, 2i]   = sin(pos / 10000 ** (2i / depth))
    PE[pos, 2i+1] = cos(pos / 10000 ** (2i / depth))

positions ``pos = 0 .. length-1``, sine and cosine *interleaved* (even columns sine, odd
columns cosine; each pair shares one frequency). For an odd ``depth`` the formula still holds
column by column: the last column (index ``depth-1``, even) is a sine whose cosine partner
falls outside the array.

The reference is lesson code, :func:`course_utils.layers.sinusoidal_position_encoding`.
The checker compares with it on even and odd depths and recognises the typical
mistakes (each has its own hint and its own unit test).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_utils.checks._core import (
    HINT_RETURNED_NONE,  # noqa: F401  (re-exported: tests compare hints with it)
    CheckResult,
    LearnerError,
    Mistakes,
    as_float_array,
    call_learner,
    first_mistake,
    run_checker,
)
from course_utils.layers import sinusoidal_position_encoding

__all__ = ["check_positional_encoding"]

EXERCISE = "positional_encoding"
ATOL = 1e-4  # float32 sines of angles up to ~50 rad are good to ~1e-5
EVEN_CASES = [(8, 6), (50, 16)]
ODD_CASES = [(10, 7), (6, 1)]

HINT_TRANSPOSED = (
    "your array is transposed: shape (depth, length). Return (length, depth): one row per position."
)
HINT_SHAPE = "positional_encoding({length}, {depth}) has shape {got}; expected (length, depth) = {expected}."
HINT_SWAPPED = (
    "sine and cosine are swapped: the paper puts sin in the even columns (0, 2, 4, ...) and cos "
    "in the odd columns (1, 3, 5, ...). Row 0 (position 0) must read 0, 1, 0, 1, ..."
)
HINT_HALVES = (
    "you put all the sines in the first half and all the cosines in the second half (the layout "
    "of some tutorials). The paper interleaves them: column 2i is sin, column 2i+1 is cos, with the "
    "same frequency. Interleave, e.g. build an array and fill pe[:, 0::2] = sin, pe[:, 1::2] = cos."
)
HINT_EXPONENT_PAIR_INDEX = (
    "the frequencies are wrong: you used 10000 ** (i / depth) with i the pair index. The exponent "
    "is 2i / depth, where 2i is the even column of the pair (0, 2, 4, ...)."
)
HINT_EXPONENT_COLUMN = (
    "the frequencies are wrong: you used each column's own index in the exponent, so a cosine "
    "column gets a different frequency from its sine partner. Both columns 2i and 2i+1 use "
    "10000 ** (2i / depth), e.g. 2i = column - column % 2."
)
HINT_EXPONENT_DOUBLED = (
    "the frequencies are wrong: you used 10000 ** (2j / depth) with j the column index, which "
    "doubles it. The exponent is 2i / depth where 2i is the even column itself (0, 2, 4, ...), "
    "i.e. column - column % 2."
)
HINT_EXPONENT_NO_DEPTH = (
    "the frequencies are wrong: the exponent must be divided by depth, 10000 ** (2i / depth), "
    "so that the wavelengths range from 2*pi to 2*pi*10000 across the columns."
)
HINT_MULTIPLIED = (
    "you multiplied the position by 10000 ** (2i / depth); divide by it instead: "
    "angle = pos / 10000 ** (2i / depth), so that later columns turn slowly."
)
HINT_POSITIONS_FROM_ONE = (
    "your positions start at 1: the first row must be position 0 (sin 0 = 0, cos 0 = 1). "
    "Use np.arange(length), not np.arange(1, length + 1)."
)
HINT_ODD_SHAPE = (
    "works for even depth, but for odd depth={depth} your array has {got_cols} columns instead of "
    "{depth}. The formula holds column by column: the last column (index {last}, even) is a sine, "
    "its cosine partner falls outside. Compute per column, or compute depth+1 columns and drop "
    "the last one."
)
HINT_ODD_ERROR = (
    "works for even depth, but positional_encoding({length}, {depth}) (odd depth) raised an error: "
    "{error}. The formula holds column by column: the last column (index {last}, even) is a sine."
)
HINT_ODD_VALUES = (
    "works for even depth, but for odd depth={depth} the values differ (largest difference "
    "{diff:.3g}, first in column {column}). The exponent is still 2i / depth with the odd depth "
    "itself, and the last column (index {last}) is a sine."
)
HINT_GENERIC = (
    "the shape is right but the values differ from the paper's formula (largest difference "
    "{diff:.3g}, first at position {row}, column {column}). Check: pos = 0 .. length-1, "
    "angle = pos / 10000 ** (2i / depth), sin in even columns, cos in odd columns."
)


def positional_encoding_reference(length: int, depth: int) -> np.ndarray:
    """The reference: lesson code, :func:`course_utils.layers.sinusoidal_position_encoding`, as float64."""
    return sinusoidal_position_encoding(length, depth).astype("float64")


def _encoding(length, depth, exponent=None, positions_from=0, swap=False, multiply=False):
    """The encoding with the pieces a mistake can change passed in (only to build the typical
    mistakes; the reference is :func:`positional_encoding_reference`).

    ``exponent(column, depth)`` gives the exponent e of ``10000 ** e`` for each column.
    """
    columns = np.arange(depth)[None, :]
    pos = np.arange(positions_from, positions_from + length, dtype="float64")[:, None]
    if exponent is None:
        exponent = lambda j, d: (j - j % 2) / d  # noqa: E731 - 2i / depth
    scale = np.power(10000.0, exponent(columns, depth))
    angles = pos * scale if multiply else pos / scale
    even, odd = (np.cos, np.sin) if swap else (np.sin, np.cos)
    return np.where(columns % 2 == 0, even(angles), odd(angles))


def _halves(length, depth, sin_first=True):
    half = depth // 2
    pos = np.arange(length, dtype="float64")[:, None]
    angles = pos / np.power(10000.0, 2 * np.arange(half)[None, :] / depth)
    parts = [np.sin(angles), np.cos(angles)] if sin_first else [np.cos(angles), np.sin(angles)]
    return np.concatenate(parts, axis=1)


def _mistakes(length: int, depth: int) -> Mistakes:
    """Outputs of the typical wrong implementations, each with its hint."""
    return [
        (_encoding(length, depth, swap=True), HINT_SWAPPED),
        (_halves(length, depth), HINT_HALVES),
        (_halves(length, depth, sin_first=False), HINT_HALVES),
        (_encoding(length, depth, exponent=lambda j, d: (j // 2) / d), HINT_EXPONENT_PAIR_INDEX),
        (_encoding(length, depth, exponent=lambda j, d: j / d), HINT_EXPONENT_COLUMN),
        (_encoding(length, depth, exponent=lambda j, d: 2 * j / d), HINT_EXPONENT_DOUBLED),
        (
            _encoding(length, depth, exponent=lambda j, d: (j - j % 2).astype("float64")),
            HINT_EXPONENT_NO_DEPTH,
        ),
        (_encoding(length, depth, multiply=True), HINT_MULTIPLIED),
        (_encoding(length, depth, positions_from=1), HINT_POSITIONS_FROM_ONE),
    ]


def _call(fn: Callable, length: int, depth: int):
    """Call the learner; returns (array or None, hint or None)."""
    return as_float_array(call_learner(fn, length, depth), "of shape (length, depth)")


def _check_even(fn: Callable, length: int, depth: int) -> str | None:
    got, hint = _call(fn, length, depth)
    if hint:
        return hint
    expected = positional_encoding_reference(length, depth)
    if got.shape != expected.shape:
        if got.shape == (depth, length):
            return HINT_TRANSPOSED
        return HINT_SHAPE.format(length=length, depth=depth, got=got.shape, expected=expected.shape)
    if np.allclose(got, expected, atol=ATOL):
        return None
    hint = first_mistake(got, _mistakes(length, depth), atol=ATOL)
    if hint is not None:
        return hint
    diff = np.abs(got - expected)
    row, column = np.unravel_index(np.argmax(diff > ATOL), diff.shape)
    return HINT_GENERIC.format(diff=float(diff.max()), row=int(row), column=int(column))


def _check_odd(fn: Callable, length: int, depth: int) -> str | None:
    last = depth - 1
    try:
        got, hint = _call(fn, length, depth)
    except (LearnerError, NotImplementedError) as exc:
        error = str(exc) or "NotImplementedError"
        return HINT_ODD_ERROR.format(length=length, depth=depth, error=error, last=last)
    if hint:
        return hint
    expected = positional_encoding_reference(length, depth)
    if got.ndim == 2 and got.shape[0] == length and got.shape[1] != depth:
        return HINT_ODD_SHAPE.format(depth=depth, got_cols=got.shape[1], last=last)
    if got.shape != expected.shape:
        return HINT_SHAPE.format(length=length, depth=depth, got=got.shape, expected=expected.shape)
    if np.allclose(got, expected, atol=ATOL):
        return None
    diff = np.abs(got - expected)
    column = int(np.argmax(diff.max(axis=0) > ATOL))
    return HINT_ODD_VALUES.format(depth=depth, diff=float(diff.max()), column=column, last=last)


def check_positional_encoding(fn: Callable, verbose: bool = True) -> CheckResult:
    """Check ``fn(length, depth)`` against the paper's interleaved sinusoidal encoding.

    Even depths first (where the classic mistakes show), then odd depths. Returns a
    :class:`CheckResult` (``.passed``, ``.hint``) and prints it.
    """

    def check() -> str | None:
        for length, depth in EVEN_CASES:
            hint = _check_even(fn, length, depth)
            if hint is not None:
                return hint
        for length, depth in ODD_CASES:
            hint = _check_odd(fn, length, depth)
            if hint is not None:
                return hint
        return None

    return run_checker(EXERCISE, check, verbose=verbose)
