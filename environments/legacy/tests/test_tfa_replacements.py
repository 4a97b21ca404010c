"""What replaced the tensorflow-addons pieces ViT code used, proven against the real addons.

* ``tfa.activations.gelu`` -> ``keras.activations.gelu``: equal for the same ``approximate``
  setting, but the defaults differ (tfa: tanh approximation, Keras 3: exact erf).
* ``tfa.optimizers.AdamW(weight_decay=wd)`` -> ``keras.optimizers.AdamW(weight_decay=wd / lr)``:
  tfa decays ``var -= wd * var`` per step, Keras 3 ``var -= wd * lr * var``.
"""

from __future__ import annotations

import importlib.metadata

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_addons as tfa

from conftest import ADAMW_LR, ADAMW_STEPS, ADAMW_WD_TFA, GELU_X, adamw_problem, record


def test_the_legacy_stack_is_what_the_seed_describes():
    assert tf.__version__ == "2.15.1"
    assert tfa.__version__ == "0.23.0"
    assert importlib.metadata.version("vit-keras") == "0.1.2"
    import vit_keras.layers  # vit-keras 0.1.2 imports tensorflow-addons at import time

    assert vit_keras.layers.tfa is tfa


@pytest.mark.parametrize("approximate", [True, False])
def test_tfa_gelu_equals_keras3_gelu_with_the_same_setting(keras3, approximate):
    outputs, meta = keras3
    assert meta["keras"].startswith("3.")
    legacy = tfa.activations.gelu(tf.constant(GELU_X), approximate=approximate).numpy()
    modern = outputs[f"gelu_approximate_{str(approximate).lower()}"]
    difference = float(np.max(np.abs(legacy - modern)))
    record(f"gelu_max_abs_diff_approximate_{str(approximate).lower()}", difference)
    # float32 rounding only: at most two units in the last place of the largest outputs
    # (the float32 spacing at 6.0 is 4.8e-7), far below the 4.7e-4 of the default mix-up.
    assert difference <= 2 * np.spacing(np.float32(6.0)), difference


def test_gelu_defaults_differ(keras3):
    """Porting ``tfa.activations.gelu(x)`` to ``keras.activations.gelu(x)`` changes the numbers."""
    outputs, _ = keras3
    legacy_default = tfa.activations.gelu(tf.constant(GELU_X)).numpy()  # approximate=True
    difference = np.abs(legacy_default - outputs["gelu_default"])
    worst = float(difference.max())
    record("gelu_default_max_abs_diff", worst)
    record("gelu_default_worst_x", float(GELU_X[difference.argmax()]))
    # Keras 3's default is the exact GELU ...
    np.testing.assert_array_equal(outputs["gelu_default"], outputs["gelu_approximate_false"])
    # ... so the two defaults differ by the tanh approximation's error, a few 1e-4.
    assert 1e-4 < worst < 1e-3, worst


def _tfa_adamw_run(w0: np.ndarray, grads: np.ndarray) -> np.ndarray:
    var = tf.Variable(w0.copy())
    optimizer = tfa.optimizers.AdamW(weight_decay=ADAMW_WD_TFA, learning_rate=ADAMW_LR)
    after = []
    for g in grads:
        optimizer.apply_gradients([(tf.constant(g), var)])
        after.append(var.numpy())
    return np.stack(after)


def test_tfa_adamw_one_step_equals_keras3_adamw_with_converted_decay(keras3):
    outputs, _ = keras3
    w0, grads = adamw_problem()
    legacy = _tfa_adamw_run(w0, grads)
    converted, unconverted = outputs["adamw_converted"], outputs["adamw_unconverted"]
    step1 = float(np.max(np.abs(legacy[0] - converted[0])))
    record("adamw_step1_max_abs_diff_converted", step1)
    record("adamw_step1_max_abs_diff_unconverted", float(np.max(np.abs(legacy[0] - unconverted[0]))))
    record("adamw_step1_max_abs_update", float(np.max(np.abs(legacy[0] - w0))))
    # One step: equal to float32 rounding with wd_keras = wd_tfa / lr ...
    assert step1 <= 1e-6, step1
    # ... and clearly different with the same number (decay 1e-5 * w instead of 1e-2 * w).
    assert np.max(np.abs(legacy[0] - unconverted[0])) > 100 * max(step1, 1e-7)


def test_tfa_adamw_stays_equal_over_several_steps(keras3):
    outputs, _ = keras3
    w0, grads = adamw_problem()
    legacy = _tfa_adamw_run(w0, grads)
    drift = float(np.max(np.abs(legacy[-1] - outputs["adamw_converted"][-1])))
    record(f"adamw_step{ADAMW_STEPS}_max_abs_diff_converted", drift)
    assert drift <= 1e-5, drift
