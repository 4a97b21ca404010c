"""course_utils.layers.TransformerBlock and the two text classifiers of course_utils.text_models."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from course_utils.layers import TransformerBlock
from course_utils.text_models import build_lstm_classifier, build_text_classifier
from tests.keras_round_trip import assert_keras_round_trip


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _x(batch=2, length=5, width=16, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, length, width)).astype("float32")


def test_shape_and_weights_follow_the_seed():
    block = TransformerBlock(16, 2, 24)
    out = block(_x(), training=False)
    assert tuple(out.shape) == (2, 5, 16)
    assert block.key_dim == 16  # the seed's key_dim=embed_dim
    shapes = [tuple(w.shape) for w in block.weights]
    assert shapes[:8] == [(16, 2, 16), (2, 16)] * 3 + [(2, 16, 16), (16,)]  # MHA, heads full width
    assert shapes[8:] == [(16, 24), (24,), (24, 16), (16,), (16,), (16,), (16,), (16,)]  # FFN, two LayerNorms


def test_key_dim_is_configurable():
    block = TransformerBlock(16, 4, 8, key_dim=4)
    block(_x())
    assert tuple(block.att.get_weights()[0].shape) == (16, 4, 4)


def test_weights_exist_after_build_without_a_call():
    block = TransformerBlock(8, 2, 4)
    block.build((None, 3, 8))
    assert len(block.weights) == 16


def test_post_ln_computation_written_out():
    """The block is exactly layernorm2(out1 + ffn(out1)), out1 = layernorm1(x + att(x, x))."""
    block = TransformerBlock(16, 2, 24, rate=0.3)
    x = _x()
    out = _np(block(x, training=False))
    out1 = block.layernorm1(x + block.att(x, x))
    expected = _np(block.layernorm2(out1 + block.ffn(out1)))
    np.testing.assert_allclose(out, expected, atol=1e-6)
    # post-LN: every position's output has (about) zero mean and unit variance before the affine part
    np.testing.assert_allclose(out.mean(axis=-1), 0.0, atol=1e-5)


def test_dropout_only_in_training():
    block = TransformerBlock(16, 2, 24, rate=0.5)
    x = _x()
    a, b = _np(block(x, training=False)), _np(block(x, training=False))
    np.testing.assert_array_equal(a, b)
    assert np.abs(_np(block(x, training=True)) - a).max() > 1e-3


def test_padding_mask_keeps_attention_off_padding():
    block = TransformerBlock(16, 2, 24)
    x = _x(batch=1, length=6)
    mask = np.array([[True, True, True, True, False, False]])
    scores = _np(block.attention_scores(x, mask=mask))
    assert scores.shape == (1, 2, 6, 6)
    assert np.all(scores[0, :, :4, 4:] == 0.0)
    np.testing.assert_allclose(scores[0, :, :4].sum(-1), 1.0, atol=1e-5)
    # What sits in the padded positions does not change the real tokens' outputs.
    changed = x.copy()
    changed[0, 4:] = 50.0
    a = _np(block(x, mask=mask, training=False))[0, :4]
    b = _np(block(changed, mask=mask, training=False))[0, :4]
    np.testing.assert_allclose(a, b, atol=1e-5)
    assert block.compute_mask(x, mask) is mask  # passed on to the next layer


def test_config_round_trip():
    block = TransformerBlock(16, 2, 24, rate=0.2, key_dim=8, name="tb")
    config = block.get_config()
    assert {k: config[k] for k in ("embed_dim", "num_heads", "ff_dim", "rate", "key_dim")} == {
        "embed_dim": 16,
        "num_heads": 2,
        "ff_dim": 24,
        "rate": 0.2,
        "key_dim": 8,
    }
    clone = TransformerBlock.from_config(config)
    assert clone.key_dim == 8 and clone.rate == 0.2


def test_one_home_for_the_block_and_the_builders():
    # Every layer lives in course_utils.layers, the model builders in text_models: the class
    # is defined there (not re-exported from elsewhere), and the old module is gone.
    import importlib.util

    assert TransformerBlock.__module__ == "course_utils.layers"
    assert build_text_classifier.__module__ == build_lstm_classifier.__module__ == "course_utils.text_models"
    assert importlib.util.find_spec("course_utils.blocks") is None
    assert keras.saving.get_registered_name(TransformerBlock) == "course>TransformerBlock"


@pytest.mark.parametrize("mask_zero", [False, True])
def test_text_classifier_keras_round_trip(tmp_path, mask_zero):
    model = build_text_classifier(
        maxlen=10, vocab_size=50, embed_dim=8, num_heads=2, ff_dim=8, mask_zero=mask_zero
    )
    ids = np.random.default_rng(1).integers(1, 50, size=(4, 10))
    ids[0, 6:] = 0
    model.fit(ids, np.array([0, 1, 0, 1]), epochs=1, verbose=0)
    before = model.predict(ids, verbose=0)
    assert before.shape == (4, 2)
    np.testing.assert_allclose(before.sum(-1), 1.0, atol=1e-5)
    loaded = assert_keras_round_trip(model, ids, tmp_path, "classifier")
    assert isinstance(loaded.get_layer("transformer_block"), TransformerBlock)


def test_text_classifier_with_mask_ignores_padding_content():
    model = build_text_classifier(maxlen=8, vocab_size=30, embed_dim=8, num_heads=2, ff_dim=8, mask_zero=True)
    short = np.array([[5, 6, 7, 0, 0, 0, 0, 0]])
    # Same review, different amount of padding seen by the position embedding: the outputs of
    # the real tokens do not depend on what the padding positions hold.
    block = model.get_layer("transformer_block")
    emb = model.get_layer("embedding")
    x = emb(short)
    scores = _np(block.attention_scores(x, mask=short != 0))
    assert np.all(scores[0, :, :3, 3:] == 0.0)


def test_lstm_classifier_builds_and_predicts():
    model = build_lstm_classifier(maxlen=10, vocab_size=50, embed_dim=8, units=4)
    out = model.predict(np.ones((3, 10), dtype="int32"), verbose=0)
    assert out.shape == (3, 2)
    uni = build_lstm_classifier(maxlen=10, vocab_size=50, embed_dim=8, units=4, bidirectional=False)
    assert uni.count_params() < model.count_params()
