"""course_utils.rnn: the measurements of lesson 01, on cases with known answers."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from course_utils.rnn import (
    crossover_lengths,
    decay_per_step,
    gradient_norm_by_distance,
    make_recall_data,
    self_attention_block,
    training_step_times,
)


def linear_rnn(rate: float, dim: int = 4) -> keras.layers.SimpleRNN:
    """h_t = x_t + rate * h_{t-1}: the last output depends on x_(T-d) exactly through rate**d."""
    layer = keras.layers.SimpleRNN(dim, activation=None, use_bias=False)
    layer.build((None, None, dim))
    layer.set_weights([np.eye(dim, dtype="float32"), rate * np.eye(dim, dtype="float32")])
    return layer


def test_gradient_norm_by_distance_of_a_linear_rnn_is_rate_to_the_d():
    x = np.random.default_rng(0).normal(size=(5, 30, 4)).astype("float32")
    norms = gradient_norm_by_distance(linear_rnn(0.8), x)
    assert norms.shape == (30,)
    np.testing.assert_allclose(norms, 0.8 ** np.arange(30), rtol=1e-4)


def test_decay_per_step_recovers_the_rate():
    x = np.random.default_rng(1).normal(size=(3, 40, 4)).astype("float32")
    assert decay_per_step(gradient_norm_by_distance(linear_rnn(0.7), x)) == pytest.approx(0.7, rel=1e-3)
    assert decay_per_step(np.full(20, 0.3)) == pytest.approx(1.0)


def test_decay_per_step_stops_at_the_float32_floor():
    norms = 0.5 ** np.arange(300.0)
    norms[norms < 1e-38] = 0.0  # what float32 does
    assert decay_per_step(norms) == pytest.approx(0.5, rel=1e-6)
    with pytest.raises(ValueError, match="too few points"):
        decay_per_step(np.array([1.0, 0.0, 0.0, 0.0]))


@pytest.mark.parametrize("seed", [0, 7, 11])
def test_gradient_of_attention_block_does_not_decay_with_distance(seed):
    # Seeded: the block's random weights make single distances vary (their max/min ratio went
    # from 2 to 10 over 12 seeds, and an unseeded max/min check failed once at 16.6); the
    # trend over distance is what "does not decay" means, and it stays within 0.4 % per step.
    keras.utils.set_random_seed(seed)
    block = self_attention_block(8, num_heads=2, ff_dim=16)
    x = np.random.default_rng(2).normal(size=(8, 64, 8)).astype("float32")
    norms = gradient_norm_by_distance(block, x)
    assert decay_per_step(norms) == pytest.approx(1.0, abs=0.01)  # an RNN at rate 0.8 gives 0.8 (test above)


def test_self_attention_block_shapes_and_size():
    block = self_attention_block(64, num_heads=2, ff_dim=128)
    assert block(np.zeros((2, 10, 64), "float32")).shape == (2, 10, 64)
    # MHA 4*(64*64+64) + FFN (64*128+128 + 128*64+64) + 2 LayerNorms (2*2*64)
    assert block.count_params() == 4 * (64 * 64 + 64) + (64 * 128 + 128 + 128 * 64 + 64) + 4 * 64


def test_training_step_times_measures_each_model():
    models = {
        "lstm": keras.Sequential([keras.Input((None, 4)), keras.layers.LSTM(4, return_sequences=True)]),
        "attention": self_attention_block(4, num_heads=1, ff_dim=8),
    }
    times = training_step_times(models, length=8, batch_size=2, dim=4, repeats=2)
    assert set(times) == {"lstm", "attention"}
    assert all(0 < t < 5 for t in times.values())


def test_make_recall_data_puts_the_signal_d_steps_before_the_end():
    rng = np.random.default_rng(0)
    distances = np.array([0, 3, 9, 5])
    x, y = make_recall_data(4, 10, distances, rng)
    assert x.shape == (4, 10) and x.dtype == np.int32 and y.dtype == np.int32
    for row, d, label in zip(x, distances, y):
        signal_positions = np.flatnonzero(row <= 2)
        assert signal_positions.tolist() == [9 - d]  # exactly one signal token
        assert row[9 - d] == label + 1
    assert x.min() >= 1 and x.max() < 24


def test_make_recall_data_labels_are_balanced_and_distances_checked():
    x, y = make_recall_data(4000, 5, np.zeros(4000, int), np.random.default_rng(1))
    assert 0.45 < y.mean() < 0.55
    with pytest.raises(ValueError):
        make_recall_data(2, 5, np.array([0, 5]), np.random.default_rng(0))


def test_crossover_lengths_of_power_laws():
    lengths = np.array([10, 50, 200, 1000])
    linear, quadratic = lengths * 1.0, lengths**2 / 100.0  # equal at T = 100
    assert crossover_lengths(lengths, linear, quadratic) == [pytest.approx(100.0)]
    assert crossover_lengths(lengths, linear, linear * 2) == []
    wiggle = [1.0, 3.0, 1.0, 3.0]
    assert len(crossover_lengths(lengths, [2.0] * 4, wiggle)) == 3


def test_best_training_step_times_gives_one_time_per_length():
    from course_utils.rnn import best_training_step_times

    models = {
        "lstm": keras.Sequential([keras.Input((None, 4)), keras.layers.LSTM(4, return_sequences=True)]),
        "attention": self_attention_block(4, num_heads=2, ff_dim=8),
    }
    times = best_training_step_times(models, [4, 8], batch_size=2, dim=4, passes=2, repeats=1)
    assert set(times) == {"wall", "cpu"}
    for clock in times.values():
        assert set(clock) == {"lstm", "attention"}
        assert all(len(v) == 2 and all(0 < t < 60 for t in v) for v in clock.values())


def test_best_training_step_times_traces_one_graph_for_all_lengths():
    """One graph per length made TensorFlow warn "5 out of the last 5 calls ... triggered
    tf.function retracing" in notebook 01 (it counts traces per Python function, so one
    tf.function per length warned too). A layer's Python code runs once per trace: count it."""
    from course_utils.rnn import best_training_step_times

    class CountTraces(keras.layers.Layer):
        traces = 0

        def call(self, x):
            CountTraces.traces += 1
            return x

    model = keras.Sequential(
        [keras.Input((None, 4)), CountTraces(), keras.layers.LSTM(4, return_sequences=True)]
    )
    CountTraces.traces = 0  # building the model called it symbolically
    best_training_step_times({"lstm": model}, [2, 3, 4, 5, 6, 7], batch_size=2, dim=4, passes=1, repeats=1)
    assert CountTraces.traces == 1
