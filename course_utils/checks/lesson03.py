"""Checkers of notebook 03: ``scaled_dot_product_attention(q, k, v, mask=None)``, and
``split_heads(x, num_heads)`` / ``merge_heads(x)`` (see :func:`check_split_merge_heads`,
at the end of this module).

The learner's function must return ``(output, weights)`` with
``weights = softmax(q k^T / sqrt(d_k))`` over the keys (last axis) and
``output = weights @ v``; a boolean ``mask`` (True = may attend, broadcastable to
``(..., T_q, T_k)``) gives blocked keys a weight of 0.

The checker runs it on four cases (2-D, batched 3-D, a padding mask, 4-D heads with a
causal mask), compares with :func:`course_utils.attention.scaled_dot_product_attention`, and
when they differ recognises the typical mistakes by recomputing each one and comparing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course_utils.attention import merge_heads as reference_merge_heads
from course_utils.attention import scaled_dot_product_attention
from course_utils.attention import split_heads as reference_split_heads
from course_utils.checks._core import (
    CheckResult,
    LearnerError,
    Mistakes,
    as_float_array,
    call_learner,
    close,
    first_mistake,
    run_checker,
    softmax,
    to_numpy,
)

__all__ = ["check_scaled_dot_product_attention", "check_split_merge_heads"]

EXERCISE = "scaled_dot_product_attention"
ATOL = 1e-5


RTOL = 1e-4


# ---------------------------------------------------------------------------------------
# The reference (lesson code) and the typical mistakes (NumPy, float64)
# ---------------------------------------------------------------------------------------


def _reference(case: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """``(output, weights)`` of :func:`course_utils.attention.scaled_dot_product_attention`."""
    mask = case["mask"]
    output, weights = scaled_dot_product_attention(case["q"], case["k"], case["v"], mask)
    return to_numpy(output), to_numpy(weights)


def _attention(q, k, v, mask=None, *, scale="sqrt", axis=-1, transpose_k=True, mask_mode="correct"):
    """Attention with one knob per typical mistake, to build :func:`_mistakes` (the knobs'
    defaults give the correct computation; the reference is :func:`_reference`)."""
    d_k = q.shape[-1]
    k_t = np.swapaxes(k, -1, -2) if transpose_k else k
    scores = q @ k_t
    if scale == "sqrt":
        scores = scores / np.sqrt(d_k)
    elif scale == "d_k":
        scores = scores / d_k
    if mask is not None and mask_mode in ("correct", "inverted"):
        allowed = mask if mask_mode == "correct" else ~mask
        allowed = np.broadcast_to(allowed, scores.shape)
        scores = np.where(allowed, scores, -1e9)
        weights = np.where(allowed, softmax(scores, axis), 0.0)
    elif mask is not None and mask_mode == "after_softmax":  # zeroed after the softmax, not renormalised
        weights = softmax(scores, axis) * np.broadcast_to(mask, scores.shape)
    else:  # no mask, or the mask ignored
        weights = softmax(scores, axis)
    return weights @ v, weights


# Each typical mistake: (name, keyword arguments of _attention, hint). Tried in this order.
MISTAKES: list[tuple[str, dict[str, Any], str]] = [
    (
        "no_scaling",
        {"scale": None},
        "the scores are not scaled: divide q @ k^T by sqrt(d_k) (d_k = q.shape[-1]) before the softmax.",
    ),
    (
        "scale_by_dk",
        {"scale": "d_k"},
        "you divided the scores by d_k; divide by sqrt(d_k) instead (the scores' variance grows like d_k, "
        "so their standard deviation grows like sqrt(d_k)).",
    ),
    (
        "softmax_axis_queries",
        {"axis": -2},
        "the softmax runs over the queries (axis -2); it must run over the keys, the last axis (axis=-1), "
        "so that each query's weights sum to 1.",
    ),
    (
        "softmax_axis_0",
        {"axis": 0},
        "the softmax runs over axis 0 (the batch); it must run over the keys, the last axis (axis=-1).",
    ),
    (
        "k_not_transposed",
        {"transpose_k": False},
        "k is not transposed: the scores are q @ k^T, i.e. ops.matmul(q, ops.swapaxes(k, -1, -2)).",
    ),
    (
        "mask_ignored",
        {"mask_mode": "ignored"},
        "the mask is ignored: set the scores where mask is False to a large negative number (e.g. -1e9) "
        "before the softmax, e.g. ops.where(mask, scores, -1e9).",
    ),
    (
        "mask_inverted",
        {"mask_mode": "inverted"},
        "the mask is inverted: in the Keras convention True means 'may attend', so keep the scores where "
        "mask is True and block those where it is False.",
    ),
    (
        "mask_after_softmax",
        {"mask_mode": "after_softmax"},
        "you zeroed the blocked weights after the softmax, so the rows no longer sum to 1; block the "
        "scores before the softmax instead (ops.where(mask, scores, -1e9)).",
    ),
]


def _mistakes(q, k, v, mask) -> Mistakes:
    """The weights of the typical wrong implementations on one case, each with its hint.

    Mistakes that cannot show on this case (a mask mistake without a mask, an untransposed k
    whose shapes do not fit) are left out. With an inverted mask, the rows whose keys are all
    blocked are ambiguous (uniform or zero weights, depending on the implementation): they
    are NaN, which :func:`course_utils.checks._core.close` does not compare.
    """
    mistakes = []
    for _name, knobs, hint in MISTAKES:
        if "mask_mode" in knobs and mask is None:
            continue
        if "transpose_k" in knobs and q.shape[-1] != k.shape[-2]:
            continue
        try:
            _, wrong_w = _attention(q, k, v, mask, **knobs)
        except ValueError:
            continue
        if knobs.get("mask_mode") == "inverted":
            rows = np.broadcast_to(~mask, wrong_w.shape).any(axis=-1)
            wrong_w = np.where(rows[..., None], wrong_w, np.nan)
        mistakes.append((wrong_w, hint))
    return mistakes


def _cases() -> list[dict[str, Any]]:
    """Test cases: shapes chosen so that d_k, d_v, T_q and T_k are all different (except the
    first case, where T_k == d_k so that forgetting to transpose k still runs)."""
    rng = np.random.default_rng(3)

    def arr(*shape):
        return rng.normal(size=shape).astype("float32")

    cases = [
        dict(name="2-D, no mask", q=arr(4, 5), k=arr(5, 5), v=arr(5, 3), mask=None),
        dict(name="batch of 2, no mask", q=arr(2, 4, 6), k=arr(2, 7, 6), v=arr(2, 7, 3), mask=None),
    ]
    padding = np.ones((2, 1, 7), dtype=bool)  # (batch, 1, T_k): sequence 0 has 3 padding tokens
    padding[0, 0, 4:] = False
    cases.append(
        dict(name="padding mask (2, 1, T_k)", q=arr(2, 4, 6), k=arr(2, 7, 6), v=arr(2, 7, 3), mask=padding)
    )
    causal = np.tril(np.ones((5, 5), dtype=bool))  # (T_q, T_k), broadcast over batch and heads
    cases.append(
        dict(
            name="4-D heads, causal mask (T, T)",
            q=arr(2, 3, 5, 4),
            k=arr(2, 3, 5, 4),
            v=arr(2, 3, 5, 6),
            mask=causal,
        )
    )
    return cases


# ---------------------------------------------------------------------------------------
# The checker
# ---------------------------------------------------------------------------------------


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return close(a, b, atol=ATOL, rtol=RTOL)


def _unpack(result: Any, case: dict[str, Any]) -> tuple[np.ndarray, np.ndarray] | str:
    """The learner's (output, weights) as arrays, or a hint if the return value is malformed."""
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        length = "" if not isinstance(result, (tuple, list)) else f" of length {len(result)}"
        return (
            "return two things, `return output, weights`: the attention weights are needed to plot "
            f"them (got {type(result).__name__}{length})."
        )
    output, weights = result
    if weights is None:
        return "the weights are not returned (got None): `return output, weights`."
    try:
        output, weights = to_numpy(output), to_numpy(weights)
    except (TypeError, ValueError) as exc:
        raise LearnerError(f"could not read your result as arrays: {exc}") from None
    expected_out, expected_w = _reference(case)
    if (
        output.shape == expected_w.shape
        and weights.shape == expected_out.shape
        and output.shape != weights.shape
    ):
        return "output and weights are swapped: return `output, weights` in that order."
    return output, weights


def _diagnose(case: dict[str, Any], output: np.ndarray, weights: np.ndarray) -> str | None:
    q, k, v = (case[n].astype("float64") for n in ("q", "k", "v"))
    mask = case["mask"]
    expected_out, expected_w = _reference(case)
    if _close(output, expected_out) and _close(weights, expected_w):
        return None
    where = f"case '{case['name']}' (q {q.shape}, k {k.shape}, v {v.shape}" + (
        f", mask {mask.shape})" if mask is not None else ")"
    )
    if weights.shape != expected_w.shape:
        return (
            f"{where}: the weights have shape {weights.shape}, expected {expected_w.shape} (..., T_q, T_k)."
        )
    hint = first_mistake(weights, _mistakes(q, k, v, mask), atol=ATOL, rtol=RTOL)
    if hint is not None:
        return f"{where}: {hint}"
    if output.shape != expected_out.shape:
        return f"{where}: the output has shape {output.shape}, expected {expected_out.shape} (..., T_q, d_v)."
    if _close(weights, expected_w):
        return (
            f"{where}: the weights are right but the output is not; output = weights @ v "
            "(ops.matmul(weights, v))."
        )
    row_sums = weights.sum(axis=-1)
    if not np.allclose(row_sums[row_sums > ATOL], 1.0, atol=1e-4):
        return (
            f"{where}: the weights' rows do not sum to 1 (they sum to {row_sums.min():.3f} .. "
            f"{row_sums.max():.3f}); return the weights after the softmax over the last axis."
        )
    diff = np.abs(weights - expected_w).max()
    return (
        f"{where}: the weights differ from the reference by up to {diff:.3g}; compare each step with the "
        "formula softmax(q k^T / sqrt(d_k))."
    )


def check_scaled_dot_product_attention(fn: Callable[..., Any], verbose: bool = True) -> CheckResult:
    """Check ``fn(q, k, v, mask=None) -> (output, weights)`` against the reference.

    Four cases: 2-D inputs, a batch, a padding mask of shape (batch, 1, T_k) and 4-D
    (batch, heads, T, d) inputs with a causal mask (T, T). Prints and returns a
    :class:`CheckResult` whose hint names the mistake when one is recognised.
    """

    def check() -> str | None:
        for case in _cases():
            args = (case["q"].copy(), case["k"].copy(), case["v"].copy())
            try:
                if case["mask"] is None:
                    result = call_learner(fn, *args)
                else:
                    result = call_learner(fn, *args, mask=case["mask"].copy())
            except LearnerError as exc:  # name the failing case and its shapes
                shapes = ", ".join(
                    f"{n} {case[n].shape}" for n in ("q", "k", "v", "mask") if case[n] is not None
                )
                raise LearnerError(f"in case '{case['name']}' ({shapes}): {exc}") from None
            unpacked = _unpack(result, case)
            if isinstance(unpacked, str):
                return unpacked
            hint = _diagnose(case, *unpacked)
            if hint is not None:
                return hint
        return None

    def guarded() -> str | None:
        try:
            return check()
        except LearnerError as exc:
            text = str(exc)
            if any(
                word in text.lower()
                for word in ("transpose", "shape", "dimension", "incompatible", "mismatch")
            ):
                # The advice first (it is what the learner needs), then what happened.
                return (
                    "If this comes from transposing k: with batch (and head) axes in front, "
                    "transpose only the last two axes, ops.swapaxes(k, -1, -2) (k.T reverses every axis). "
                    f"Your function raised an error {text}"
                )
            raise

    return run_checker(EXERCISE, guarded, verbose=verbose)


# ---------------------------------------------------------------------------------------
# Exercise 2: split_heads / merge_heads
# ---------------------------------------------------------------------------------------

SPLIT_EXERCISE = "split_heads / merge_heads"


def _split_variants(x: np.ndarray, heads: int) -> dict[str, np.ndarray]:
    """The reference split and the typical wrong ones, in NumPy."""
    batch, length, width = x.shape
    size = width // heads
    return {
        "reshape_only": x.reshape(batch, heads, length, size),
        "interleaved": x.reshape(batch, length, size, heads).transpose(0, 3, 1, 2),
    }


def _merge_variants(y: np.ndarray) -> dict[str, np.ndarray]:
    batch, heads, length, size = y.shape
    return {
        "reshape_only": y.reshape(batch, length, heads * size),
        "interleaved": y.transpose(0, 2, 3, 1).reshape(batch, length, size * heads),
        "averaged": y.mean(axis=1),
        "summed": y.sum(axis=1),
    }


SPLIT_HINTS = {
    "reshape_only": "split_heads reshapes straight to (batch, H, T, d): that cuts the flat row-major "
    "data in the wrong "
    "places and mixes positions with heads. Reshape to (batch, T, H, d) first (keeps T where it is), then "
    "transpose to (batch, H, T, d): ops.transpose(x, (0, 2, 1, 3)).",
    "interleaved": "split_heads gives head h the features h, h+H, h+2H, ... (reshape to (batch, T, "
    "d, H)); each head "
    "owns a contiguous block of d features: reshape to (batch, T, H, d), then transpose (0, 2, 1, 3).",
}
MERGE_HINTS = {
    "reshape_only": "merge_heads reshapes (batch, H, T, d) straight to (batch, T, H*d): that mixes "
    "positions with "
    "heads. Transpose back to (batch, T, H, d) first, ops.transpose(x, (0, 2, 1, 3)), then reshape.",
    "interleaved": "merge_heads puts the heads' features interleaved (head 0's first feature, head "
    "1's first, ...); "
    "the concatenation puts head 0's d features first, then head 1's: transpose (0, 2, 1, 3), then reshape.",
    "averaged": "merge_heads averages the heads; multi-head attention concatenates them (then projects): "
    "the result has H*d features, not d.",
    "summed": "merge_heads sums the heads; multi-head attention concatenates them (then projects): "
    "the result has H*d features, not d.",
}


def _split_cases() -> list[tuple[np.ndarray, int]]:
    """(x, num_heads): batch, T, H and d all different so that a swapped axis shows in the shape."""
    rng = np.random.default_rng(5)
    return [
        (rng.normal(size=(2, 5, 12)).astype("float32"), 3),  # batch 2, T 5, H 3, d 4
        (rng.normal(size=(3, 7, 12)).astype("float32"), 2),  # batch 3, T 7, H 2, d 6
    ]


def _diagnose_split(x: np.ndarray, heads: int, got: np.ndarray) -> str | None:
    expected = to_numpy(reference_split_heads(x, heads))
    if _close(got, expected):
        return None
    batch, length, width = x.shape
    size = width // heads
    where = f"split_heads(x of shape {x.shape}, num_heads={heads})"
    if got.shape == (batch, length, heads, size):
        return (
            f"{where} returned shape {got.shape} = (batch, T, H, d): the transpose is missing; bring the "
            f"heads in front of T with ops.transpose(x, (0, 2, 1, 3))."
        )
    if got.shape == (heads, batch, length, size):
        return (
            f"{where} returned shape {got.shape} = (H, batch, T, d): the batch axis must stay first; "
            f"transpose (batch, T, H, d) with the axis order (0, 2, 1, 3)."
        )
    if got.shape == (batch, heads, size, length):
        return (
            f"{where} returned shape {got.shape} = (batch, H, d, T): T and d are swapped; the axis order of "
            f"the transpose is (0, 2, 1, 3)."
        )
    if got.shape != expected.shape:
        return (
            f"{where} returned shape {got.shape}; expected {expected.shape} = (batch, H, T, d) with d = "
            f"width // num_heads."
        )
    for name, wrong in _split_variants(x, heads).items():
        if _close(got, wrong):
            return f"{where}: {SPLIT_HINTS[name]}"
    return (
        f"{where}: the shape is right but the values differ from the reference (up to "
        f"{np.abs(got - expected).max():.3g}); head h must hold features h*d .. (h+1)*d - 1 of every "
        f"position."
    )


def _diagnose_merge(y: np.ndarray, got: np.ndarray) -> str | None:
    expected = to_numpy(reference_merge_heads(y))
    if _close(got, expected):
        return None
    batch, heads, length, size = y.shape
    where = f"merge_heads(x of shape {y.shape})"
    if got.shape == (batch, length, heads, size):
        return (
            f"{where} returned shape {got.shape} = (batch, T, H, d): after the transpose, reshape to "
            f"(batch, T, H*d) to put the heads side by side."
        )
    for name, wrong in _merge_variants(y).items():
        if _close(got, wrong):
            return f"{where}: {MERGE_HINTS[name]}"
    if got.shape != expected.shape:
        return f"{where} returned shape {got.shape}; expected {expected.shape} = (batch, T, H*d)."
    return (
        f"{where}: the shape is right but merge_heads does not undo split_heads: "
        "merge_heads(split_heads(x, H)) "
        f"must give x back (yours differs by up to {np.abs(got - expected).max():.3g})."
    )


def check_split_merge_heads(
    split_heads: Callable[..., Any], merge_heads: Callable[..., Any], verbose: bool = True
) -> CheckResult:
    """Check ``split_heads(x, num_heads)`` ((batch, T, H*d) -> (batch, H, T, d)) and
    ``merge_heads(x)`` (its inverse) against :mod:`course_utils.attention`'s reference.

    Runs two shapes; names the typical mistakes (a reshape without the transpose, the wrong
    axis order, heads interleaved, heads averaged instead of concatenated, a merge that does
    not undo the split), then checks the round trip ``merge_heads(split_heads(x)) == x``.
    """

    def check() -> str | None:
        for x, heads in _split_cases():
            raw = call_learner(split_heads, x.copy(), heads)
            got, hint = as_float_array(
                raw if not hasattr(raw, "numpy") else raw.numpy(), "of shape (batch, H, T, d)"
            )
            if hint is not None:
                return f"split_heads: {hint}"
            hint = _diagnose_split(x, heads, got)
            if hint is not None:
                return hint
        for x, heads in _split_cases():
            y = x.reshape(x.shape[0], x.shape[1], heads, -1).transpose(0, 2, 1, 3).copy()  # a correct split
            raw = call_learner(merge_heads, y)
            got, hint = as_float_array(
                raw if not hasattr(raw, "numpy") else raw.numpy(), "of shape (batch, T, H*d)"
            )
            if hint is not None:
                return f"merge_heads: {hint}"
            hint = _diagnose_merge(y, got)
            if hint is not None:
                return hint
            back = to_numpy(call_learner(merge_heads, call_learner(split_heads, x.copy(), heads)))
            if not _close(back, x.astype("float64")):
                return "merge_heads(split_heads(x, H)) does not give x back."
        return None

    return run_checker(SPLIT_EXERCISE, check, verbose=verbose)
