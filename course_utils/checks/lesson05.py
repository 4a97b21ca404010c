"""Checker of notebook 05: ``mean_pool(token_vectors, attention_mask)``.

The learner's function turns token vectors ``(batch, T, D)`` and a padding mask
``(batch, T)`` (1 = real token, 0 = padding, as the tokenizer returns it) into sentence
embeddings ``(batch, D)``: the mean over the real tokens only, then each row divided by its
L2 norm (what sentence-transformers does for all-MiniLM-L6-v2). The reference is
:func:`course_utils.layers.mean_pool`. When the answer differs, the checker recomputes
each typical mistake and names the one that matches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course_utils.checks._core import CheckResult, as_float_array, call_learner, run_checker
from course_utils.layers import mean_pool as reference_mean_pool

__all__ = ["check_mean_pool"]

EXERCISE = "mean_pool"
ATOL = 1e-5


def _unit(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=axis, keepdims=True), 1e-12)


def _mistakes(v: np.ndarray, m: np.ndarray) -> list[tuple[np.ndarray, str]]:
    """Each typical mistake's output for token vectors ``v`` and mask ``m`` (float64), with its hint."""
    mf = m[:, :, None].astype("float64")
    inv = 1.0 - mf
    masked_sum = (v * mf).sum(axis=1)
    count = np.maximum(mf.sum(axis=1), 1e-9)
    masked_mean = masked_sum / count
    T = v.shape[1]
    return [
        (
            _unit(v.mean(axis=1)),
            "the padding is averaged in: you took the mean over all T positions. Multiply the vectors by "
            "the mask "
            "(attention_mask[:, :, None]) and sum, then divide by the number of real tokens (the mask's sum "
            "per text).",
        ),
        (
            _unit((v * inv).sum(axis=1) / np.maximum(inv.sum(axis=1), 1e-9)),
            "the mask is inverted: you averaged the padding positions. In the tokenizer's mask 1 = real "
            "token, 0 = padding.",
        ),
        (
            masked_mean,
            "the mean over the real tokens is right, but the rows are not normalised: divide each row by "
            "its L2 norm "
            "(ops.norm(x, axis=-1, keepdims=True)) so that a dot product is a cosine similarity.",
        ),
        (
            masked_sum / T,
            "you divided the masked sum by T (the padded length) and did not normalise: divide by the "
            "number of real "
            "tokens per text (the mask's sum), then divide each row by its L2 norm.",
        ),
        (
            masked_sum,
            "you summed the real tokens but did not divide by their number nor normalise: divide by the "
            "mask's sum per "
            "text, then divide each row by its L2 norm.",
        ),
        (
            _unit(masked_mean, axis=0),
            "the normalisation runs over the batch (axis 0): divide each row (each text) by its own L2 "
            "norm, axis=-1.",
        ),
        (
            v.mean(axis=1),
            "the padding is averaged in and the rows are not normalised: use the mask for a mean over the "
            "real tokens "
            "only, then divide each row by its L2 norm.",
        ),
    ]


def _cases() -> list[dict[str, Any]]:
    rng = np.random.default_rng(5)
    v1 = rng.normal(size=(3, 6, 4)).astype("float32")
    m1 = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 1, 0, 0, 0, 0]], dtype="int32")
    v2 = (rng.normal(size=(2, 5, 8)) + 0.5).astype("float32")  # D > T and a mean that is not 0
    m2 = np.array([[1, 1, 1, 1, 0], [1, 0, 0, 0, 0]], dtype="int32")
    return [
        dict(name="batch of 3, T=6, D=4, padded texts", v=v1, m=m1),
        dict(name="batch of 2, T=5, D=8, a one-token text", v=v2, m=m2),
    ]


def _diagnose(case: dict[str, Any], raw: Any) -> str | None:
    v, m = case["v"].astype("float64"), case["m"]
    expected = np.asarray(reference_mean_pool(case["v"], case["m"]), dtype="float64")
    out, hint = as_float_array(raw, f"of shape {expected.shape} (batch, D)")
    if out is None:
        return hint
    where = f"case '{case['name']}'"
    if out.shape == expected.shape and np.allclose(out, expected, atol=ATOL):
        return None
    if out.shape == (v.shape[0], v.shape[1]):
        return (
            f"{where}: your result has shape {out.shape} = (batch, T): you averaged over the vector axis. "
            f"Average over the tokens, axis=1, to get (batch, D) = {expected.shape}."
        )
    if out.shape != expected.shape:
        return f"{where}: your result has shape {out.shape}; expected {expected.shape} = (batch, D)."
    for wrong, mistake_hint in _mistakes(v, m):
        # Compare the rows where the mistake is defined (an inverted mask leaves a text with
        # no padding nothing to average: 0/0, NaN or 0 depending on the implementation).
        rows = np.isfinite(wrong).all(axis=-1) & (np.abs(wrong).sum(axis=-1) > 0)
        if rows.any() and np.allclose(out[rows], wrong[rows], atol=ATOL):
            return f"{where}: {mistake_hint}"
    norms = np.linalg.norm(out, axis=-1)
    if not np.allclose(norms, 1.0, atol=1e-4):
        got = np.round(norms, 3).tolist()
        return f"{where}: the rows should have length 1 (got norms {got}): divide each row by its L2 norm."
    return (
        f"{where}: your result differs from the reference by up to {np.abs(out - expected).max():.3g}. "
        "Steps: "
        "mask = attention_mask[:, :, None]; mean = sum(token_vectors * mask, axis=1) / sum(mask, axis=1); "
        "return mean / norm(mean, axis=-1, keepdims=True)."
    )


def check_mean_pool(fn: Callable[..., Any], verbose: bool = True) -> CheckResult:
    """Check ``fn(token_vectors, attention_mask) -> (batch, D)`` sentence embeddings.

    Prints and returns a :class:`CheckResult` whose hint names the mistake when one is recognised.
    """

    def check() -> str | None:
        for case in _cases():
            raw = call_learner(fn, case["v"].copy(), case["m"].copy())
            if hasattr(raw, "numpy"):
                raw = raw.numpy()
            hint = _diagnose(case, raw)
            if hint is not None:
                return hint
        return None

    return run_checker(EXERCISE, check, verbose=verbose)
