# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3.11 (transformers-course)
#     language: python
#     name: transformers-course
# ---

# %% [markdown]
# # 01 · The limits of recurrent networks: solutions
#
# The completed exercise of notebook 01, checked by its checker, then compared with
# `keras.layers.SimpleRNN` on a longer sequence.

# %%
import keras
import numpy as np

import course_utils
from course_utils.checks import check_rnn_forward

course_utils.start("01_rnn_limitations_solutions")


# %% [markdown]
# ## Exercise: `rnn_forward(x, W_x, W_h, b)`
#
# Start from $h_0 = 0$; at each step combine the current input and the previous state,
# $h_t = \tanh(x_t W_x + h_{t-1} W_h + b)$, with row vectors of shape (batch, units), so the
# weights multiply from the right, as Keras stores them. Keep every $h_t$ and stack them on
# axis 1 (time).

# %%
def rnn_forward(x, W_x, W_h, b):
    """All hidden states of a simple RNN: (batch, time, units)."""
    batch, time, _ = x.shape
    h = np.zeros((batch, W_h.shape[0]), dtype=x.dtype)  # h_0 = 0
    states = []
    for t in range(time):  # one step after the other: h_t needs h_(t-1)
        h = np.tanh(x[:, t] @ W_x + h @ W_h + b)
        states.append(h)
    return np.stack(states, axis=1)


# %%
result = check_rnn_forward(rnn_forward)
assert result.passed, result.hint

# %% [markdown]
# ## Against Keras on a longer sequence
#
# The same weights in `keras.layers.SimpleRNN(return_sequences=True)`; 200 steps, so any
# small error would have time to grow.

# %%
rng = np.random.default_rng(0)
x = rng.normal(size=(4, 200, 6)).astype("float32")
layer = keras.layers.SimpleRNN(16, return_sequences=True)
layer.build(x.shape)
W_x, W_h, b = layer.get_weights()  # kernel, recurrent_kernel, bias (Keras's own initial values)
difference = np.abs(rnn_forward(x, W_x, W_h, b) - np.asarray(layer(x))).max()
print(f"own rnn_forward vs keras.layers.SimpleRNN over 200 steps: max abs difference {difference:.1e}")
assert difference < 1e-4
course_utils.record("exercise_passed", bool(result.passed))
course_utils.record("own_vs_keras_max_abs_diff_200_steps", difference);
