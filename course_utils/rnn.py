"""Measurements for lesson 01 (the limits of recurrent networks).

Three small, reusable experiments, each a function the notebook calls and plots:

- :func:`training_step_times`: median wall time of one forward + backward pass of each model
  on a batch of sequences of a given length, and :func:`best_training_step_times`, the
  fastest wall and CPU times over several lengths (speed against sequence length).
- :func:`gradient_norm_by_distance`: how strongly the last output depends on the input
  ``d`` steps back, ``||d y_T / d x_{T-d}||`` (vanishing gradients), and
  :func:`decay_per_step`, the factor by which it shrinks per step.
- :func:`make_recall_data`: the long-range recall task (one signal token ``d`` steps before
  the end decides the label, random distractor tokens everywhere else).

The references of exercise 01 (``rnn_forward``): :func:`keras_simple_rnn` (Keras itself, what
the checker compares with) and :func:`rnn_forward_reference` (the same recurrence as a NumPy
loop, float64).

Plus :func:`self_attention_block`, the encoder block (self-attention + feed-forward, with
skip connections and LayerNorm) whose speed and gradients are compared with an LSTM's, and
:func:`crossover_lengths`, where two timing curves cross.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import keras
import numpy as np

__all__ = [
    "crossover_lengths",
    "decay_per_step",
    "gradient_norm_by_distance",
    "keras_simple_rnn",
    "make_recall_data",
    "rnn_forward_reference",
    "self_attention_block",
    "training_step_times",
    "best_training_step_times",
]


def rnn_forward_reference(x: np.ndarray, W_x: np.ndarray, W_h: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The simple-RNN recurrence in NumPy (what exercise 01 asks for), in float64::

    h_0 = 0;  h_t = tanh(x_t @ W_x + h_{t-1} @ W_h + b);  return (batch, time, units)
    """
    x, W_x, W_h, b = (np.asarray(a, dtype="float64") for a in (x, W_x, W_h, b))
    h, states = np.zeros((x.shape[0], W_h.shape[0])), []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ W_x + h @ W_h + b)
        states.append(h)
    return np.stack(states, axis=1)


def keras_simple_rnn(x: np.ndarray, W_x: np.ndarray, W_h: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``keras.layers.SimpleRNN(return_sequences=True)`` with the given weights: the reference
    of exercise 01 (``kernel = W_x``, ``recurrent_kernel = W_h``, ``bias = b``)."""
    layer = keras.layers.SimpleRNN(W_h.shape[0], return_sequences=True)
    layer.build(x.shape)
    layer.set_weights([W_x, W_h, b])
    return np.asarray(layer(x))


def self_attention_block(
    embed_dim: int, num_heads: int, ff_dim: int, name: str = "attention_block"
) -> keras.Model:
    """One Transformer encoder block as a model: (batch, T, embed_dim) -> same shape.

    ``x = LayerNorm(x + MultiHeadAttention(x, x))`` then ``LayerNorm(x + FFN(x))`` (the
    post-LN block of the original paper, taught in lesson 04). No positions: this block only
    serves timing and gradient measurements.
    """
    inputs = keras.Input((None, embed_dim))
    attended = keras.layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim // num_heads)(
        inputs, inputs
    )
    x = keras.layers.LayerNormalization(epsilon=1e-6)(inputs + attended)
    hidden = keras.layers.Dense(ff_dim, activation="relu")(x)
    x = keras.layers.LayerNormalization(epsilon=1e-6)(x + keras.layers.Dense(embed_dim)(hidden))
    return keras.Model(inputs, x, name=name)


def training_step_times(
    models: dict[str, keras.Model], length: int, batch_size: int, dim: int, repeats: int = 5, seed: int = 0
) -> dict[str, float]:
    """Median seconds of one training step (forward + backward) of each model, on random inputs.

    A step computes a loss on the model's output and the gradients for every trainable
    weight, inside a compiled ``tf.function`` (so Python overhead is not measured). The first
    call (tracing and compiling for this length) is not timed. The models take turns, one
    step each per round, so that a burst of load from other programs hits them alike.
    """
    import tensorflow as tf  # the course runs the TensorFlow backend; GradientTape is its training step

    x = tf.random.stateless_normal((batch_size, length, dim), seed=(seed, length))
    steps = {name: _compiled_step(model) for name, model in models.items()}
    for step in steps.values():
        _block(step(x))  # warm-up: trace + compile
    times: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            _block(step(x))
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(values)) for name, values in times.items()}


def best_training_step_times(
    models: dict[str, keras.Model],
    lengths: Sequence[int],
    batch_size: int,
    dim: int,
    passes: int = 3,
    repeats: int = 2,
    seed: int = 0,
) -> dict[str, dict[str, list[float]]]:
    """Fastest seconds of one training step of each model at each length, on two clocks:
    ``{"wall": {name: [s per length]}, "cpu": {name: [s per length]}}``.

    ``wall`` is the time one waits for (``time.perf_counter``); ``cpu`` the processor time
    all threads of this process used meanwhile (``time.process_time``): the work, which
    time spent waiting for the CPU (other programs' load, a CPU quota) does not inflate.

    Robust to load from other programs on a shared machine: every model is compiled once
    for any length (a ``tf.function`` whose input signature leaves the length open: tracing
    one graph per length made TensorFlow warn about "retracing") and warmed up at every
    length first; then ``passes`` rounds go through all the lengths, ``repeats`` steps per
    model at each, the models taking turns, and the fastest step counts, for each clock
    separately (the one least disturbed; the advice of Python's ``timeit``). Interleaving
    the lengths spreads a burst of load over all of them instead of spoiling one.
    """
    import tensorflow as tf

    inputs = {
        length: tf.random.stateless_normal((batch_size, length, dim), seed=(seed, length))
        for length in lengths
    }
    any_length = tf.TensorSpec((batch_size, None, dim), tf.float32)
    steps = {name: _compiled_step(model, input_signature=[any_length]) for name, model in models.items()}
    for step in steps.values():
        for x in inputs.values():
            _block(step(x))  # warm-up (the first call traces and compiles)
    best = {clock: {name: [float("inf")] * len(lengths) for name in models} for clock in ("wall", "cpu")}
    for _ in range(passes):
        for i, length in enumerate(lengths):
            for _ in range(repeats):
                for name in models:
                    wall, cpu = time.perf_counter(), time.process_time()
                    _block(steps[name](inputs[length]))
                    best["wall"][name][i] = min(best["wall"][name][i], time.perf_counter() - wall)
                    best["cpu"][name][i] = min(best["cpu"][name][i], time.process_time() - cpu)
    return best


def _compiled_step(model: keras.Model, input_signature: list | None = None):
    import tensorflow as tf

    def step(inputs):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(inputs, training=True)))
        return tape.gradient(loss, model.trainable_variables)

    return tf.function(step, input_signature=input_signature)


def _block(tensors) -> None:
    """Wait until a result is really computed (copying it to NumPy forces that)."""
    for tensor in tensors:
        np.asarray(tensor)


def gradient_norm_by_distance(layer: keras.layers.Layer, inputs: np.ndarray, seed: int = 0) -> np.ndarray:
    """``g[d]`` = mean over the batch of ``||d (u . y_T) / d x_{T-1-d}||`` for ``d = 0 .. T-1``.

    ``y_T`` is the layer's output at the last step (an RNN without ``return_sequences``
    returns exactly that; for a sequence output the last position is taken) and ``u`` a random
    unit vector per sequence, so that one backward pass measures how much the last output
    depends on each earlier input.
    """
    import tensorflow as tf

    x = tf.convert_to_tensor(inputs, dtype="float32")
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = layer(x)
        last = out[:, -1] if len(out.shape) == 3 else out
        direction = tf.math.l2_normalize(tf.random.stateless_normal(tf.shape(last), seed=(seed, 1)), axis=-1)
        projection = tf.reduce_sum(last * direction)
    grads = tape.gradient(projection, x)  # (batch, T, dim)
    per_step = tf.reduce_mean(tf.norm(grads, axis=-1), axis=0).numpy()  # (T,), index = time step
    return per_step[::-1].astype("float64")  # index = distance from the end


def decay_per_step(norms: np.ndarray, start: int = 1, floor: float = 1e-30) -> float:
    """Factor by which ``norms`` shrink per step of distance.

    ``exp(slope)`` of a straight-line fit of ``log(norms)`` against distance, from distance
    ``start`` up to where the norms first drop below ``floor`` (float32 rounds smaller
    gradients to 0, and a log of 0 cannot be fitted). A flat curve gives about 1.0.
    """
    norms = np.asarray(norms, dtype="float64")
    below = np.flatnonzero(norms[start:] <= floor)
    stop = start + below[0] if below.size else len(norms)
    if stop - start < 3:
        raise ValueError("too few points above the floor to fit a decay rate")
    distances = np.arange(start, stop)
    slope = np.polyfit(distances, np.log(norms[start:stop]), 1)[0]
    return float(np.exp(slope))


def make_recall_data(
    n: int,
    length: int,
    distances: Sequence[int] | np.ndarray,
    rng: np.random.Generator,
    vocab_size: int = 24,
) -> tuple[np.ndarray, np.ndarray]:
    """The long-range recall task: ``(tokens (n, length) int32, labels (n,) int32)``.

    Token 1 or 2 (the *signal*, label 0 or 1) sits ``distances[k]`` steps before the end of
    sequence ``k`` (distance 0 = the last token); every other position holds a random
    *distractor* token from ``3 .. vocab_size-1``. To answer, a model must carry one bit
    from the signal to the end of the sequence, past all the distractors.
    """
    distances = np.asarray(distances)
    if distances.shape != (n,) or distances.min() < 0 or distances.max() >= length:
        raise ValueError(f"need n={n} distances in 0..{length - 1}")
    tokens = rng.integers(3, vocab_size, size=(n, length))
    labels = rng.integers(0, 2, size=n)
    tokens[np.arange(n), length - 1 - distances] = labels + 1
    return tokens.astype("int32"), labels.astype("int32")


def crossover_lengths(
    lengths: Sequence[float], time_a: Sequence[float], time_b: Sequence[float]
) -> list[float]:
    """Every length where two timing curves cross (``a`` becomes slower than ``b`` or faster).

    Between two measured lengths where ``log(time_a / time_b)`` changes sign, the crossing is
    interpolated linearly in log-log coordinates. An empty list: one is faster everywhere.
    """
    lengths = np.asarray(lengths, dtype="float64")
    ratio = np.log(np.asarray(time_a, dtype="float64") / np.asarray(time_b, dtype="float64"))
    crossings = []
    for i in range(len(ratio) - 1):
        if np.sign(ratio[i]) != np.sign(ratio[i + 1]):
            fraction = ratio[i] / (ratio[i] - ratio[i + 1])
            log_length = np.log(lengths[i]) + fraction * (np.log(lengths[i + 1]) - np.log(lengths[i]))
            crossings.append(float(np.exp(log_length)))
    return crossings
