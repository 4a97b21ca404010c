"""Checker for lesson 01 (RNN limitations): ``check_rnn_forward``.

The exercise: write ``rnn_forward(x, W_x, W_h, b)`` in NumPy, the forward pass of a simple
(Elman) RNN that returns every hidden state, exactly what
``keras.layers.SimpleRNN(units, return_sequences=True)`` computes with
``kernel = W_x``, ``recurrent_kernel = W_h`` and ``bias = b``::

    h_0 = 0
    h_t = tanh(x_t @ W_x + h_{t-1} @ W_h + b)      for t = 1 .. T
    return [h_1, ..., h_T] stacked as (batch, time, units)

The reference is lesson code, :func:`course_utils.rnn.keras_simple_rnn` (with
:func:`course_utils.rnn.rnn_forward_reference`, the same loop in NumPy). The checker compares
the learner's output with Keras itself on a few test cases and, when
they differ, recognises the typical mistakes (each has its own hint and its own unit test).
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
from course_utils.rnn import keras_simple_rnn

__all__ = ["check_rnn_forward"]

EXERCISE = "rnn_forward"
ATOL = 1e-4  # float32 through a few tanh steps; a real mistake differs by far more

# Hints, one per typical mistake (the unit tests assert each one).
HINT_LAST_STATE_ONLY = (
    "you returned only the last hidden state, shape (batch, units). With return_sequences=True "
    "Keras returns every step: collect h_t at each step and stack them into (batch, time, units)."
)
HINT_TIME_FIRST = (
    "your states are stacked time-first, shape (time, batch, units). Keras returns "
    "(batch, time, units): stack along axis 1, e.g. np.stack(states, axis=1)."
)
HINT_INCLUDES_H0 = (
    "your output has time+1 steps: it includes the initial state h_0. Return only h_1 .. h_T "
    "(one state per input step)."
)
HINT_SHIFTED = (
    "your states are one step late: the first output is the initial state h_0 and h_T is missing. "
    "Update h first, then store it: h = tanh(...); states.append(h)."
)
HINT_NO_TANH = (
    "the values match a recurrence without the nonlinearity. SimpleRNN applies tanh at every "
    "step: h_t = tanh(x_t @ W_x + h_{t-1} @ W_h + b)."
)
HINT_RECURRENT_SIDE = (
    "the recurrent weights are applied on the wrong side (or transposed). With row vectors of "
    "shape (batch, units) Keras computes h_{t-1} @ W_h; W_h @ h_{t-1} and h_{t-1} @ W_h.T are "
    "different (W_h is not symmetric)."
)
HINT_NO_BIAS = "the values match a recurrence without the bias: add b inside the tanh at every step."
HINT_INITIAL_STATE = (
    "each step follows correctly from the previous one, but the first step is wrong: the "
    "initial state must be zeros, h_0 = np.zeros((batch, units)), not {guess}."
)
HINT_SHAPE = "your output has shape {got}; expected (batch, time, units) = {expected}."
HINT_GENERIC = (
    "the shape is right but the values differ from keras.layers.SimpleRNN (largest difference "
    "{diff:.3g}, first at time step {step}). Check h_t = tanh(x_t @ W_x + h_{{t-1}} @ W_h + b) with h_0 = 0."
)
HINT_SHAPES_REMINDER = (
    " Shapes: x (batch, time, input_dim), W_x (input_dim, units), W_h (units, units), b (units,); "
    "x[:, t] @ W_x and h @ W_h are both (batch, units)."
)


def _recurrence(x, W_x, W_h, b, h0, activation=np.tanh, recurrent=lambda h, W_h: h @ W_h):
    """The loop, with the pieces a mistake can change passed in (used for the diagnoses)."""
    h, states = h0, []
    for t in range(x.shape[1]):
        h = activation(x[:, t] @ W_x + recurrent(h, W_h) + b)
        states.append(h)
    return np.stack(states, axis=1)


def _test_cases() -> list[dict[str, np.ndarray]]:
    """Small random cases: batch == units in the first (so "W_h on the wrong side" runs
    without a shape error and can be recognised), non-square in the second, one step in the last."""
    rng = np.random.default_rng(2024)
    cases = []
    for batch, time, input_dim, units in [(4, 6, 3, 4), (2, 5, 3, 5), (1, 1, 2, 3)]:
        cases.append(
            {
                "x": rng.normal(size=(batch, time, input_dim)).astype("float32"),
                "W_x": (0.6 * rng.normal(size=(input_dim, units))).astype("float32"),
                "W_h": (0.6 * rng.normal(size=(units, units))).astype("float32"),
                "b": (0.5 * rng.normal(size=(units,))).astype("float32"),
            }
        )
    return cases


def _mistakes(x, W_x, W_h, b) -> Mistakes:
    """Outputs of the typical wrong implementations, each with its hint."""
    x, W_x, W_h, b = (np.asarray(a, dtype="float64") for a in (x, W_x, W_h, b))
    zeros = np.zeros((x.shape[0], W_h.shape[0]))
    identity = lambda z: z  # noqa: E731
    out = [(_recurrence(x, W_x, W_h, b, zeros, activation=identity), HINT_NO_TANH)]
    wrong_sides = [
        lambda h, W: h @ W.T,  # W_h @ h for column vectors
        lambda h, W: W @ h,  # W_h @ h with h of shape (batch, units): needs batch == units
        lambda h, W: W @ h.T,  # transposes h but not the result back
    ]
    for recurrent in wrong_sides:
        if x.shape[0] == W_h.shape[0] or recurrent is wrong_sides[0]:
            out.append((_recurrence(x, W_x, W_h, b, zeros, recurrent=recurrent), HINT_RECURRENT_SIDE))
    out.append((_recurrence(x, W_x, W_h, np.zeros_like(b), zeros), HINT_NO_BIAS))
    return out


def _initial_state_guess(got: np.ndarray, x, W_x, W_h, b) -> str | None:
    """If every step t >= 1 follows from the learner's own previous step but step 0 is wrong,
    the initial state is wrong: return a description of what h_0 seems to be."""
    if got.shape[1] < 2:
        return None
    x, W_x, W_h, b = (np.asarray(a, dtype="float64") for a in (x, W_x, W_h, b))
    following = np.tanh(np.einsum("bti,iu->btu", x[:, 1:], W_x) + got[:, :-1] @ W_h + b)
    if not np.allclose(got[:, 1:], following, atol=ATOL):
        return None
    # Solve the first step for h_0 (least squares) to name what the learner started from.
    pre = np.arctanh(np.clip(got[:, 0], -0.999999, 0.999999)) - x[:, 0] @ W_x - b
    h0, *_ = np.linalg.lstsq(W_h.T, pre.T, rcond=None)
    h0 = h0.T
    if np.allclose(h0, 1.0, atol=1e-2):
        return "ones"
    if np.allclose(h0, 0.0, atol=1e-2):
        return None  # h_0 is zero after all: the first step itself is computed differently
    return "the values you started from"


def _check_case(fn: Callable, case: dict[str, np.ndarray]) -> str | None:
    x, W_x, W_h, b = case["x"], case["W_x"], case["W_h"], case["b"]
    try:
        raw = call_learner(fn, x.copy(), W_x.copy(), W_h.copy(), b.copy())
    except LearnerError as exc:
        shapes = f"x{x.shape}, W_x{W_x.shape}, W_h{W_h.shape}, b{b.shape}"
        raise LearnerError(f"{exc} [called with {shapes}].{HINT_SHAPES_REMINDER}") from None
    got, hint = as_float_array(raw, "(e.g. np.stack(states, axis=1))")
    if hint:
        return hint

    expected = keras_simple_rnn(x, W_x, W_h, b).astype("float64")
    time = expected.shape[1]
    if got.shape != expected.shape:
        return _diagnose_shape(got, expected)
    if np.allclose(got, expected, atol=ATOL):
        return None
    hint = first_mistake(got, _mistakes(x, W_x, W_h, b), atol=ATOL)
    if hint is not None:
        return hint
    if (
        time > 1
        and np.allclose(got[:, 0], 0.0, atol=ATOL)
        and np.allclose(got[:, 1:], expected[:, :-1], atol=ATOL)
    ):
        return HINT_SHIFTED
    guess = _initial_state_guess(got, x, W_x, W_h, b)
    if guess is not None:
        return HINT_INITIAL_STATE.format(guess=guess)
    diff = np.abs(got - expected)
    step = int(np.argmax(diff.max(axis=(0, 2)) > ATOL))
    return HINT_GENERIC.format(diff=float(diff.max()), step=step)


def _diagnose_shape(got: np.ndarray, expected: np.ndarray) -> str:
    batch, time, units = expected.shape
    if got.shape == (batch, units) and np.allclose(got, expected[:, -1], atol=ATOL):
        return HINT_LAST_STATE_ONLY
    if got.shape == (batch, units):
        return HINT_LAST_STATE_ONLY + " (Your values also differ from Keras; fix the shape first.)"
    if got.shape == (time, batch, units) and time != batch:
        return HINT_TIME_FIRST
    if got.shape == (batch, time + 1, units):
        return HINT_INCLUDES_H0
    return HINT_SHAPE.format(got=got.shape, expected=expected.shape)


def check_rnn_forward(fn: Callable, verbose: bool = True) -> CheckResult:
    """Check ``fn(x, W_x, W_h, b)`` against ``keras.layers.SimpleRNN(return_sequences=True)``.

    Returns a :class:`CheckResult` (``.passed``, ``.hint``) and prints it. An exercise that
    still raises ``NotImplementedError`` is reported as not attempted yet.
    """

    def check() -> str | None:
        for case in _test_cases():
            hint = _check_case(fn, case)
            if hint is not None:
                return hint
        return None

    return run_checker(EXERCISE, check, verbose=verbose)
