"""check_rnn_forward: the reference passes, each typical mistake gets its own hint."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.checks import check_rnn_forward, lesson01
from course_utils.rnn import keras_simple_rnn, rnn_forward_reference


def correct(x, W_x, W_h, b):
    h = np.zeros((x.shape[0], W_h.shape[0]))
    states = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ W_x + h @ W_h + b)
        states.append(h)
    return np.stack(states, axis=1)


def no_tanh(x, W_x, W_h, b):
    h = np.zeros((x.shape[0], W_h.shape[0]))
    states = []
    for t in range(x.shape[1]):
        h = x[:, t] @ W_x + h @ W_h + b
        states.append(h)
    return np.stack(states, axis=1)


def initial_state_ones(x, W_x, W_h, b):
    h = np.ones((x.shape[0], W_h.shape[0]))
    states = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ W_x + h @ W_h + b)
        states.append(h)
    return np.stack(states, axis=1)


def initial_state_random(x, W_x, W_h, b):
    h = np.random.default_rng(0).normal(size=(x.shape[0], W_h.shape[0]))
    states = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ W_x + h @ W_h + b)
        states.append(h)
    return np.stack(states, axis=1)


def recurrent_transposed(x, W_x, W_h, b):
    h = np.zeros((x.shape[0], W_h.shape[0]))
    states = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ W_x + h @ W_h.T + b)
        states.append(h)
    return np.stack(states, axis=1)


def recurrent_column_vectors(x, W_x, W_h, b):
    """Textbook column-vector notation, one sequence at a time: W_h @ h."""
    out = []
    for seq in x:
        h = np.zeros(W_h.shape[0])
        states = []
        for x_t in seq:
            h = np.tanh(x_t @ W_x + W_h @ h + b)
            states.append(h)
        out.append(np.stack(states))
    return np.stack(out)


def recurrent_left_batched(x, W_x, W_h, b):
    h = np.zeros((x.shape[0], W_h.shape[0]))
    states = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ W_x + W_h @ h + b)  # only runs when batch == units
        states.append(h)
    return np.stack(states, axis=1)


def last_state_only(x, W_x, W_h, b):
    return correct(x, W_x, W_h, b)[:, -1]


def time_first(x, W_x, W_h, b):
    return np.stack([correct(x, W_x, W_h, b)[:, t] for t in range(x.shape[1])])


def includes_h0(x, W_x, W_h, b):
    states = correct(x, W_x, W_h, b)
    return np.concatenate([np.zeros_like(states[:, :1]), states], axis=1)


def shifted(x, W_x, W_h, b):
    h = np.zeros((x.shape[0], W_h.shape[0]))
    states = []
    for t in range(x.shape[1]):
        states.append(h)  # stored before the update
        h = np.tanh(x[:, t] @ W_x + h @ W_h + b)
    return np.stack(states, axis=1)


def no_bias(x, W_x, W_h, b):
    return correct(x, W_x, W_h, np.zeros_like(b))


def returns_none(x, W_x, W_h, b):
    correct(x, W_x, W_h, b)


def raises_shape_error(x, W_x, W_h, b):
    return np.tanh(x[:, 0] @ W_h)  # W_h where W_x belongs: a shape error


def not_attempted(x, W_x, W_h, b):
    raise NotImplementedError  # your code here


def test_reference_matches_keras_simple_rnn():
    for case in lesson01._test_cases():
        args = (case["x"], case["W_x"], case["W_h"], case["b"])
        np.testing.assert_allclose(rnn_forward_reference(*args), keras_simple_rnn(*args), atol=1e-5)


def test_correct_passes():
    result = check_rnn_forward(correct, verbose=False)
    assert result.passed and result.attempted


def test_correct_float32_and_list_of_arrays_also_pass():
    def as_float32(x, W_x, W_h, b):
        return correct(x, W_x, W_h, b).astype("float32")

    def as_list_of_sequences(x, W_x, W_h, b):
        return [seq for seq in correct(x, W_x, W_h, b)]  # np.asarray makes it (batch, time, units)

    assert check_rnn_forward(as_float32, verbose=False).passed
    assert check_rnn_forward(as_list_of_sequences, verbose=False).passed


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (no_tanh, lesson01.HINT_NO_TANH),
        (recurrent_transposed, lesson01.HINT_RECURRENT_SIDE),
        (recurrent_column_vectors, lesson01.HINT_RECURRENT_SIDE),
        (recurrent_left_batched, lesson01.HINT_RECURRENT_SIDE),
        (last_state_only, lesson01.HINT_LAST_STATE_ONLY),
        (time_first, lesson01.HINT_TIME_FIRST),
        (includes_h0, lesson01.HINT_INCLUDES_H0),
        (shifted, lesson01.HINT_SHIFTED),
        (no_bias, lesson01.HINT_NO_BIAS),
        (returns_none, lesson01.HINT_RETURNED_NONE),
    ],
)
def test_each_mistake_gets_its_hint(wrong, hint):
    result = check_rnn_forward(wrong, verbose=False)
    assert not result.passed and result.attempted
    assert result.hint == hint


@pytest.mark.parametrize(
    "wrong, named", [(initial_state_ones, "ones"), (initial_state_random, "the values you started from")]
)
def test_wrong_initial_state(wrong, named):
    result = check_rnn_forward(wrong, verbose=False)
    assert not result.passed
    assert result.hint == lesson01.HINT_INITIAL_STATE.format(guess=named)


def test_learner_exception_becomes_a_hint_with_shapes():
    result = check_rnn_forward(raises_shape_error, verbose=False)
    assert not result.passed and result.attempted
    assert "your function raised an error" in result.hint
    assert "x[:, 0] @ W_h" in result.hint  # names the failing line
    assert "W_x (input_dim, units)" in result.hint


def test_not_attempted_is_reported_without_failing():
    result = check_rnn_forward(not_attempted, verbose=False)
    assert not result.attempted and not result.passed
    assert "not attempted" in str(result)


def test_other_wrong_values_get_the_generic_hint():
    def scaled(x, W_x, W_h, b):
        return 0.5 * correct(x, W_x, W_h, b)

    result = check_rnn_forward(scaled, verbose=False)
    assert not result.passed
    assert result.hint.startswith("the shape is right but the values differ")


def test_prints_the_result(capsys):
    check_rnn_forward(correct)
    assert "[passed] rnn_forward" in capsys.readouterr().out
