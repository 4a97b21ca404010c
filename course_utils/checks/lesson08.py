"""Checker for lesson 08 (ViT attention maps): ``check_attention_rollout``.

The exercise: write ``attention_rollout(attentions)`` in NumPy. ``attentions`` has shape
``(layers, heads, T, T)`` (one image; every row a softmax that sums to 1); the result is
the ``(T, T)`` rollout of Abnar & Zuidema (2020), as ``vit_keras.visualize.attention_map``
computes it::

    A_l = mean over heads of attentions[l]          (T, T) per layer
    A_l = A_l + I                                    the residual path
    A_l = A_l / A_l.sum(axis=-1, keepdims=True)      rows sum to 1 again
    R   = A_L @ ... @ A_2 @ A_1                      the last layer on the left

The checker compares with :func:`course_utils.rollout.attention_rollout` on several
random cases and recognises the typical mistakes, each with its own hint (and its own
unit test in tests/test_checks_lesson08.py).
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
    close,
    first_mistake,
    run_checker,
    softmax,
)
from course_utils.rollout import attention_rollout as attention_rollout_reference

__all__ = ["check_attention_rollout"]

EXERCISE = "attention_rollout"
RTOL, ATOL = 1e-5, 1e-9  # float64 products of a few matrices; a mistake differs by far more

HINT_NOT_MULTIPLIED = (
    "you returned one matrix per layer, shape (layers, T, T). Rollout multiplies them into one "
    "(T, T) matrix: R = A_L @ ... @ A_2 @ A_1."
)
HINT_PER_HEAD = (
    "your result has a heads axis, shape {got}: average the heads first (attentions[l].mean(axis=0), "
    "or attentions.mean(axis=1) for all layers at once), so that each layer is one (T, T) matrix."
)
HINT_CLS_ONLY = (
    "you returned only the class token's row (or the map), shape {got}. The exercise asks for the "
    "whole (T, T) rollout matrix; the map is its row 0 without the class token column: R[0, 1:]."
)
HINT_SHAPE = "your result has shape {got}; expected (T, T) = {expected}."
HINT_HEADS_MAX = (
    "you took the maximum over the heads. Rollout averages them: attentions[l].mean(axis=0) "
    "(vit-keras: reshaped.mean(axis=1)). The maximum is a different method ('max fusion')."
)
HINT_HEADS_SUM = (
    "you summed the heads instead of averaging them: with the identity added, the sum weighs the "
    "attention H times more than the residual path. Use the mean over the heads."
)
HINT_ONE_HEAD = (
    "your result matches a single head (attentions[l, 0]) instead of the average of all heads: "
    "average over the heads axis (axis 1 of the (layers, heads, T, T) array)."
)
HINT_NO_IDENTITY = (
    "you did not add the identity matrix. The residual connection (x + Attention(x)) carries each "
    "token past the attention; rollout accounts for it with A + np.eye(T) before renormalising."
)
HINT_NO_RENORM = (
    "after adding the identity every row sums to 2, and you did not renormalise: your result is "
    "2**layers times too large. Divide each row by its sum: A / A.sum(axis=-1, keepdims=True)."
)
HINT_WHOLE_MATRIX = (
    "you divided each matrix by its total sum (as vit-keras does) instead of each row by its own "
    "sum. For the map this only changes a constant (T per layer) that the final division by the "
    "maximum removes, but the exercise asks for rows that sum to 1: A / A.sum(axis=-1, keepdims=True)."
)
HINT_COLUMNS = (
    "you renormalised the columns (axis=0 or -2) instead of the rows. Row i holds what token i "
    "attends to, so each row must sum to 1: A / A.sum(axis=-1, keepdims=True)."
)
HINT_ORDER = (
    "you multiplied the layers in the wrong order (A_1 @ A_2 @ ... @ A_L). The input passes through "
    "layer 1 first, so layer 1 is on the right: start with R = A_1 and do R = A_l @ R for l = 2..L "
    "(vit-keras starts from the last layer and multiplies the earlier ones on the right)."
)
HINT_ELEMENTWISE = (
    "you combined the layers with `*` (element by element). Rollout chains the layers with matrix "
    "products: R = A_l @ R."
)
HINT_ROWS = (
    "the shape is right but the values differ from the reference (largest difference {diff:.3g}); "
    "the rows of your result sum to {low:.3g}..{high:.3g}, but a product of row-normalised matrices "
    "has rows that sum to 1. Check the renormalisation step."
)
HINT_GENERIC = (
    "the shape is right and the rows sum to 1, but the values differ from the reference (largest "
    "difference {diff:.3g}). Check the steps: mean over heads, + identity, rows renormalised, "
    "R = A_L @ ... @ A_1."
)


def _test_cases() -> list[np.ndarray]:
    """Random attention weights (rows are softmaxes), float32 like a model's. Heads differ a
    lot (different temperatures) so that max, sum, mean and one head are told apart."""
    rng = np.random.default_rng(707)
    cases = []
    for layers, heads, tokens in [(3, 4, 5), (4, 2, 10), (2, 3, 4)]:
        temperature = rng.uniform(0.5, 3.0, size=(1, heads, 1, 1))
        logits = rng.normal(size=(layers, heads, tokens, tokens)) * temperature
        cases.append(softmax(logits).astype("float32"))
    return cases


def _product(per_layer: np.ndarray, reverse: bool = False, elementwise: bool = False) -> np.ndarray:
    order = per_layer[::-1] if reverse else per_layer
    rollout = order[0]
    for layer in order[1:]:
        rollout = layer * rollout if elementwise else layer @ rollout
    return rollout


def _mistakes(attentions: np.ndarray) -> Mistakes:
    """Outputs of the typical wrong implementations, each with its hint."""
    a = np.asarray(attentions, dtype="float64")
    eye = np.eye(a.shape[-1])

    def rows(m):
        return m / m.sum(axis=-1, keepdims=True)

    mean = a.mean(axis=1)
    return [
        (_product(rows(a.max(axis=1) + eye)), HINT_HEADS_MAX),
        (_product(rows(a.sum(axis=1) + eye)), HINT_HEADS_SUM),
        (_product(rows(a[:, 0] + eye)), HINT_ONE_HEAD),
        (_product(rows(mean)), HINT_NO_IDENTITY),
        (_product(mean + eye), HINT_NO_RENORM),
        (_product((mean + eye) / (mean + eye).sum(axis=(1, 2), keepdims=True)), HINT_WHOLE_MATRIX),
        (_product((mean + eye) / (mean + eye).sum(axis=-2, keepdims=True)), HINT_COLUMNS),
        (_product(rows(mean + eye), reverse=True), HINT_ORDER),
        (_product(rows(mean + eye), elementwise=True), HINT_ELEMENTWISE),
    ]


def _diagnose_shape(got: np.ndarray, attentions: np.ndarray) -> str:
    layers, heads, tokens, _ = attentions.shape
    expected = (tokens, tokens)
    if got.shape == (layers, tokens, tokens):
        return HINT_NOT_MULTIPLIED
    if got.ndim >= 3 and heads in got.shape[:-2]:
        return HINT_PER_HEAD.format(got=got.shape)
    grid = int(round(np.sqrt(tokens - 1)))
    if got.shape in {(tokens,), (tokens - 1,), (grid, grid), (1, tokens), (1, tokens - 1)}:
        return HINT_CLS_ONLY.format(got=got.shape)
    return HINT_SHAPE.format(got=got.shape, expected=expected)


def _check_case(fn: Callable, attentions: np.ndarray) -> str | None:
    try:
        raw = call_learner(fn, attentions.copy())
    except LearnerError as exc:
        raise LearnerError(
            f"{exc} [called with attentions of shape {attentions.shape} = (layers, heads, T, T)]"
        ) from None
    got, hint = as_float_array(raw, "of shape (T, T)")
    if hint:
        return hint
    expected = attention_rollout_reference(attentions)
    if got.shape != expected.shape:
        return _diagnose_shape(got, attentions)
    if close(got, expected, atol=ATOL, rtol=RTOL):
        return None
    hint = first_mistake(got, _mistakes(attentions), atol=ATOL, rtol=RTOL)
    if hint is not None:
        return hint
    diff = float(np.max(np.abs(got - expected)))
    row_sums = got.sum(axis=-1)
    if not np.allclose(row_sums, 1.0, atol=1e-4):
        return HINT_ROWS.format(diff=diff, low=float(row_sums.min()), high=float(row_sums.max()))
    return HINT_GENERIC.format(diff=diff)


def check_attention_rollout(fn: Callable, verbose: bool = True) -> CheckResult:
    """Check ``fn(attentions) -> (T, T)`` against the course's reference rollout.

    ``fn`` gets float32 attention weights of shape ``(layers, heads, T, T)`` for several
    sizes. Returns a :class:`CheckResult` (``.passed``, ``.hint``), also printed.
    """

    def check() -> str | None:
        for attentions in _test_cases():
            hint = _check_case(fn, attentions)
            if hint is not None:
                layers, heads, tokens, _ = attentions.shape
                return f"{hint} (test case: layers={layers}, heads={heads}, T={tokens})"
        return None

    return run_checker(EXERCISE, check, verbose=verbose)
