"""Checker of notebook 04: the learner's ``TransformerBlock`` class (the seed's post-LN block).

``check_transformer_block(cls)`` builds ``cls(embed_dim, num_heads, ff_dim, rate)``, finds
its sublayers (one multi-head attention, two Dense layers, two LayerNormalizations), copies
the weights of the reference :class:`course_utils.layers.TransformerBlock` into them, and
compares the outputs in inference mode. When they differ it recomputes each typical mistake
with the reference's sublayers (missing skip connection, pre-LN, ...) to name the one made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from course_utils.attention import MultiHeadAttention as OwnMultiHeadAttention
from course_utils.checks._core import (
    CheckResult,
    LearnerError,
    Mistakes,
    call_learner,
    close,
    first_mistake,
    run_checker,
    to_numpy,
)
from course_utils.layers import TransformerBlock

__all__ = ["check_transformer_block"]

EXERCISE = "TransformerBlock"
ATOL = 1e-5
RTOL = 1e-4
# ff_dim differs from embed_dim, so a feed-forward network that does not project back to
# embed_dim cannot be added to its input; a high dropout rate makes dropout easy to detect.
EMBED_DIM, NUM_HEADS, FF_DIM, RATE = 8, 2, 12, 0.5
ATTENTION_TYPES = (keras.layers.MultiHeadAttention, OwnMultiHeadAttention)


def _sublayers(layer: Any) -> list[Any]:
    """Attention, Dense, LayerNormalization and Dropout layers held by ``layer``'s public
    attributes (and inside Sequential/containers), in the order the attributes were first
    assigned; the attention layer's own sublayers are not listed."""
    wanted = ATTENTION_TYPES + (keras.layers.Dense, keras.layers.LayerNormalization, keras.layers.Dropout)
    found: list[Any] = []

    def visit(value: Any) -> None:
        if isinstance(value, wanted):
            if not any(value is seen for seen in found):
                found.append(value)
        elif (
            isinstance(value, keras.Model)
            or hasattr(value, "layers")
            and isinstance(value, keras.layers.Layer)
        ):
            for sub in value.layers:  # Sequential / functional models: their layers, in order
                visit(sub)
        elif isinstance(value, keras.layers.Layer):
            for name, attribute in vars(value).items():
                if not name.startswith("_"):
                    visit(attribute)
        elif isinstance(value, (list, tuple)):
            for item in value:
                visit(item)

    for name, attribute in vars(layer).items():
        if not name.startswith("_"):
            visit(attribute)
    return found


def _by_type(layers: list[Any], kind: Any) -> list[Any]:
    return [layer for layer in layers if isinstance(layer, kind)]


def _structure_hint(block: Any) -> str | None:
    """A hint when the block lacks one of the seed's parts, else None."""
    layers = _sublayers(block)
    attention = _by_type(layers, ATTENTION_TYPES)
    dense = _by_type(layers, keras.layers.Dense)
    norms = _by_type(layers, keras.layers.LayerNormalization)
    if len(attention) != 1:
        return (
            f"the block should hold one layers.MultiHeadAttention (found {len(attention)}); create it in "
            "__init__: self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)."
        )
    hidden = [d for d in dense if d.units == FF_DIM]
    back = [d for d in dense if d.units == EMBED_DIM]
    if hidden and not back:
        return (
            "the feed-forward network is not projected back to embed_dim: after Dense(ff_dim, "
            "activation='relu') "
            "add Dense(embed_dim), so that its output can be added to its input (the skip connection)."
        )
    if len(dense) != 2 or not hidden:
        return (
            f"the feed-forward network should be two Dense layers, Dense(ff_dim, activation='relu') then "
            f"Dense(embed_dim) (found Dense layers with units {[d.units for d in dense]})."
        )
    if len(norms) != 2:
        return (
            "the block needs two LayerNormalization layers, one after each skip connection (found "
            f"{len(norms)})."
        )
    return None


def _randomise(reference: TransformerBlock, seed: int = 0) -> None:
    """Random weights everywhere (biases and LayerNorm scales too), so every part counts.
    Both LayerNorms get the same values: a learner may create them in either order."""
    rng = np.random.default_rng(seed)
    reference.att.set_weights([rng.normal(scale=0.4, size=w.shape) for w in reference.att.get_weights()])
    reference.ffn.set_weights([rng.normal(scale=0.4, size=w.shape) for w in reference.ffn.get_weights()])
    gamma, beta = rng.uniform(0.5, 1.5, size=EMBED_DIM), rng.normal(scale=0.3, size=EMBED_DIM)
    reference.layernorm1.set_weights([gamma, beta])
    reference.layernorm2.set_weights([gamma, beta])


def _copy_weights(block: Any, reference: TransformerBlock) -> str | None:
    """Copy the reference's weights into the learner's sublayers; a hint if shapes differ."""
    layers = _sublayers(block)
    attention = _by_type(layers, ATTENTION_TYPES)[0]
    if not attention.built:
        return (
            "the attention layer is never called: attn_output = self.att(inputs, inputs) (query = value = "
            "inputs)."
        )
    theirs = [tuple(w.shape) for w in attention.get_weights()]
    ours = [tuple(w.shape) for w in reference.att.get_weights()]
    if theirs != ours:
        return (
            f"your attention layer's weights have shapes {theirs}, the seed's "
            f"MultiHeadAttention(num_heads={NUM_HEADS}, "
            f"key_dim={reference.key_dim}) has {ours}; build it with num_heads=num_heads and "
            "key_dim=embed_dim."
        )
    attention.set_weights(reference.att.get_weights())
    dense = _by_type(layers, keras.layers.Dense)
    hidden = next(d for d in dense if d.units == FF_DIM)
    back = next(d for d in dense if d.units == EMBED_DIM and d is not hidden)
    # A layer that was never called has no weights yet (it is not built): it is left alone,
    # and the comparison below shows what leaving it out does.
    if hidden.built:
        hidden.set_weights(reference.ffn.layers[0].get_weights())
    if back.built:
        back.set_weights(reference.ffn.layers[1].get_weights())
    for norm in _by_type(layers, keras.layers.LayerNormalization):
        if norm.built:
            norm.set_weights(reference.layernorm1.get_weights())
    return None


def _mistakes(ref: TransformerBlock, x: np.ndarray) -> Mistakes:
    """The typical mistakes, computed with the reference's own sublayers (inference mode)."""

    def att(h):
        return ref.att(h, h, training=False)

    def ffn(h):
        return ref.ffn(h, training=False)

    ln1, ln2 = ref.layernorm1, ref.layernorm2
    out1 = ln1(x + att(x))
    no_skip1 = ln1(att(x))
    pre_h = x + att(ln1(x))
    variants = [
        (
            ln2(ffn(ln1(att(x)))),
            "both skip connections are missing: add the block's input to the attention output "
            "(layernorm1(inputs + attn_output)) and out1 to the feed-forward output (layernorm2(out1 + "
            "ffn_output)).",
        ),
        (
            ln2(no_skip1 + ffn(no_skip1)),
            "the first skip connection is missing: "
            "out1 = layernorm1(inputs + attn_output), not layernorm1(attn_output).",
        ),
        (
            ln2(ffn(out1)),
            "the second skip connection is missing: return layernorm2(out1 + ffn_output), "
            "not layernorm2(ffn_output).",
        ),
        (
            ln2(x + ffn(out1)),
            "the second skip connection adds the block's input; it must add out1 (the output of "
            "the first LayerNormalization): layernorm2(out1 + ffn_output).",
        ),
        (
            pre_h + ffn(ln2(pre_h)),
            "this is pre-LN (normalise, then attend, then add); the seed's block is post-LN: "
            "add first, then normalise: out1 = layernorm1(inputs + attn_output), out = layernorm2(out1 + "
            "ffn_output).",
        ),
        (
            ln2(pre_h + ffn(ln2(pre_h))),
            "this is pre-LN with a final LayerNormalization; the seed's block is post-LN: "
            "out1 = layernorm1(inputs + attn_output), out = layernorm2(out1 + ffn_output).",
        ),
        (
            ln2(x + att(x) + ffn(x + att(x))),
            "the first LayerNormalization is not applied: out1 = layernorm1(inputs + attn_output).",
        ),
        (
            out1 + ffn(out1),
            "the second LayerNormalization is not applied: return layernorm2(out1 + ffn_output).",
        ),
    ]
    return [(to_numpy(v), hint) for v, hint in variants]


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return close(a, b, atol=ATOL, rtol=RTOL)


def check_transformer_block(cls: Callable[..., Any], verbose: bool = True) -> CheckResult:
    """Check a ``TransformerBlock`` class against the seed's post-LN block.

    Builds ``cls(8, 2, 12, 0.5)`` (embed_dim, num_heads, ff_dim, rate), copies random
    reference weights into it, and compares ``block(x, training=False)`` with the reference.
    Prints and returns a :class:`CheckResult` with a hint naming the mistake when recognised.
    """
    x = np.random.default_rng(1).normal(size=(2, 6, EMBED_DIM)).astype("float32")

    def check() -> str | None:
        block = call_learner(cls, EMBED_DIM, NUM_HEADS, FF_DIM, RATE)
        if not isinstance(block, keras.layers.Layer):
            return (
                "TransformerBlock(...) should create a keras.layers.Layer (subclass layers.Layer); got "
                f"{type(block).__name__}."
            )
        try:
            first = to_numpy(call_learner(block, x, training=False))
        except LearnerError:
            hint = _structure_hint(block)  # e.g. a shape error caused by the missing projection
            if hint is not None:
                return hint
            raise
        hint = _structure_hint(block)
        if hint is not None:
            return hint
        if first.shape != x.shape:
            return (
                f"the block's output has shape {first.shape}; it must keep the input's shape {x.shape} "
                "(batch, T, embed_dim)."
            )

        key_dim = _by_type(_sublayers(block), ATTENTION_TYPES)[0].key_dim
        reference = TransformerBlock(EMBED_DIM, NUM_HEADS, FF_DIM, RATE, key_dim=key_dim)
        reference(x, training=False)
        _randomise(reference)
        hint = _copy_weights(block, reference)
        if hint is not None:
            return hint

        out = to_numpy(call_learner(block, x, training=False))
        again = to_numpy(call_learner(block, x, training=False))
        if not _close(out, again):
            return (
                "dropout is active at inference: two calls with training=False give different outputs. Pass "
                "the "
                "call's training argument on, self.dropout1(attn_output, training=training), never "
                "training=True."
            )
        expected = to_numpy(reference(x, training=False))
        if _close(out, expected):
            trained = to_numpy(call_learner(block, x, training=True))
            if _close(trained, expected):
                return (
                    "right in inference mode, but dropout never acts in training: apply self.dropout1 to the "
                    "attention output and self.dropout2 to the feed-forward output, with training=training."
                )
            return None
        hint = first_mistake(out, _mistakes(reference, x), atol=ATOL, rtol=RTOL)
        if hint is not None:
            return hint
        norms = _by_type(_sublayers(block), keras.layers.LayerNormalization)
        if any(abs(n.epsilon - 1e-6) > 1e-12 for n in norms):
            return (
                "use LayerNormalization(epsilon=1e-6) as the seed does (yours: "
                f"{[n.epsilon for n in norms]}; the Keras default is 1e-3)."
            )
        hidden = next(d for d in _by_type(_sublayers(block), keras.layers.Dense) if d.units == FF_DIM)
        if getattr(hidden.activation, "__name__", "") != "relu":
            return "the first Dense of the feed-forward network uses activation='relu' in the seed's block."
        return (
            f"the output differs from the reference by up to {np.abs(out - expected).max():.3g}. The order "
            "is: "
            "attention (query = key = value = inputs), dropout1, layernorm1(inputs + attn_output), ffn, "
            "dropout2, "
            "layernorm2(out1 + ffn_output)."
        )

    return run_checker(EXERCISE, check, verbose=verbose)
