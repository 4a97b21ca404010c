"""TokenAndPositionEmbedding and SinusoidalPositionEncoding (course_utils.layers)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_utils.layers import (
    SequenceTooLongError,
    SinusoidalPositionEncoding,
    TokenAndPositionEmbedding,
    sinusoidal_position_encoding,
)
from tests.keras_round_trip import assert_keras_round_trip

IDS = np.array([[5, 7, 9, 2, 0, 0], [3, 4, 0, 0, 0, 0]], dtype="int32")


def small_model(position_layer: str, mask_zero: bool = True, maxlen: int | None = 8) -> keras.Model:
    inputs = keras.Input((maxlen,), dtype="int32")
    if position_layer == "learned":
        x = TokenAndPositionEmbedding(8, 20, 6, mask_zero=mask_zero)(inputs)
    else:
        x = keras.layers.Embedding(20, 6, mask_zero=mask_zero)(inputs)
        x = SinusoidalPositionEncoding()(x)
    x = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3)(x, x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, keras.layers.Dense(2)(x))


# --- sinusoidal_position_encoding ----------------------------------------------------


def test_encoding_follows_the_paper():
    pe = sinusoidal_position_encoding(50, 16)
    assert pe.shape == (50, 16) and pe.dtype == np.float32
    pos = np.arange(50)[:, None]
    for i in range(8):
        np.testing.assert_allclose(pe[:, 2 * i], np.sin(pos[:, 0] / 10000 ** (2 * i / 16)), atol=1e-6)
        np.testing.assert_allclose(pe[:, 2 * i + 1], np.cos(pos[:, 0] / 10000 ** (2 * i / 16)), atol=1e-6)


def test_encoding_odd_depth_ends_with_a_sine():
    pe = sinusoidal_position_encoding(30, 7)
    assert pe.shape == (30, 7)
    np.testing.assert_allclose(pe[:, 6], np.sin(np.arange(30) / 10000 ** (6 / 7)), atol=1e-6)
    # the first six columns use the odd depth 7 in the exponent, not 6 or 8
    np.testing.assert_allclose(pe[:, 5], np.cos(np.arange(30) / 10000 ** (4 / 7)), atol=1e-6)


def test_encoding_similarity_depends_only_on_offset():
    pe = sinusoidal_position_encoding(200, 64).astype("float64")
    for offset in (1, 5, 30):
        sims = np.einsum("pd,pd->p", pe[: 200 - offset], pe[offset:])
        assert np.ptp(sims) < 1e-4  # sum_i cos(w_i * offset): the same for every start position


def test_encoding_rejects_bad_arguments():
    with pytest.raises(ValueError):
        sinusoidal_position_encoding(5, 0)


# --- TokenAndPositionEmbedding ---------------------------------------------------------


def test_token_and_position_embedding_is_token_plus_position():
    layer = TokenAndPositionEmbedding(maxlen=8, vocab_size=20, embed_dim=6)
    out = np.asarray(layer(IDS))
    assert out.shape == (2, 6, 6)
    tokens = layer.token_emb.embeddings.numpy()
    positions = layer.pos_emb.embeddings.numpy()
    np.testing.assert_allclose(out, tokens[IDS] + positions[None, :6], atol=1e-6)


def test_same_token_at_two_positions_gets_two_vectors():
    layer = TokenAndPositionEmbedding(maxlen=8, vocab_size=20, embed_dim=6)
    out = np.asarray(layer(np.array([[4, 4]], dtype="int32")))
    assert not np.allclose(out[0, 0], out[0, 1])


def test_mask_marks_padding_only_with_mask_zero():
    masked = TokenAndPositionEmbedding(8, 20, 6, mask_zero=True)
    np.testing.assert_array_equal(np.asarray(masked.compute_mask(IDS)), IDS != 0)
    assert TokenAndPositionEmbedding(8, 20, 6).compute_mask(IDS) is None


def test_mask_makes_padding_invisible_downstream():
    """With the mask, extra padding does not change a masked model's output; without, it does."""
    for mask_zero in (True, False):
        model = small_model("learned", mask_zero=mask_zero, maxlen=None)
        short = model.predict(IDS[:, :4], verbose=0)
        padded = model.predict(IDS, verbose=0)
        if mask_zero:
            np.testing.assert_allclose(short, padded, atol=1e-6)
        else:
            assert not np.allclose(short, padded, atol=1e-4)


def test_longer_than_maxlen_is_a_clear_error_eager_and_in_model():
    layer = TokenAndPositionEmbedding(maxlen=4, vocab_size=20, embed_dim=6)
    with pytest.raises(SequenceTooLongError, match="maxlen=4"):
        layer(IDS)  # length 6
    with pytest.raises(SequenceTooLongError, match="learned positions only for 0..3"):
        keras.Model(inp := keras.Input((6,), dtype="int32"), TokenAndPositionEmbedding(4, 20, 6)(inp))


def test_longer_than_maxlen_is_a_clear_error_with_unknown_length():
    layer = TokenAndPositionEmbedding(maxlen=4, vocab_size=20, embed_dim=6)
    traced = tf.function(layer, input_signature=[tf.TensorSpec([None, None], tf.int32)])
    assert traced(IDS[:, :4]).shape == (2, 4, 6)
    with pytest.raises(tf.errors.InvalidArgumentError, match="learned positions only for 0..3"):
        traced(IDS)


def test_config_round_trip():
    layer = TokenAndPositionEmbedding(8, 20, 6, mask_zero=True, name="tpe")
    clone = TokenAndPositionEmbedding.from_config(layer.get_config())
    assert (clone.maxlen, clone.vocab_size, clone.embed_dim, clone.mask_zero, clone.name) == (
        8,
        20,
        6,
        True,
        "tpe",
    )


# --- SinusoidalPositionEncoding ---------------------------------------------------------


def test_sinusoidal_layer_adds_the_encoding():
    x = np.random.default_rng(0).normal(size=(2, 40, 7)).astype("float32")
    out = np.asarray(SinusoidalPositionEncoding()(x))
    np.testing.assert_allclose(out, x + sinusoidal_position_encoding(40, 7)[None], atol=1e-5)


def test_sinusoidal_layer_has_no_weights_and_no_length_limit():
    layer = SinusoidalPositionEncoding()
    out = layer(np.zeros((1, 3000, 4), "float32"))
    assert out.shape == (1, 3000, 4) and not layer.weights


def test_sinusoidal_layer_passes_the_mask_through():
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(20, 6, mask_zero=True)(inputs)
    y = SinusoidalPositionEncoding()(x)
    assert getattr(y, "_keras_mask", None) is not None
    model = small_model("sinusoidal", maxlen=None)
    np.testing.assert_allclose(model.predict(IDS[:, :4], verbose=0), model.predict(IDS, verbose=0), atol=1e-6)


def test_sinusoidal_layer_max_wavelength_in_config():
    layer = SinusoidalPositionEncoding(max_wavelength=500.0)
    assert SinusoidalPositionEncoding.from_config(layer.get_config()).max_wavelength == 500.0
    x = np.zeros((1, 10, 4), "float32")
    np.testing.assert_allclose(
        np.asarray(layer(x))[0], sinusoidal_position_encoding(10, 4, max_wavelength=500.0), atol=1e-6
    )


# --- .keras save/load ----------------------------------------------------------------------


@pytest.mark.parametrize("position_layer", ["learned", "sinusoidal"])
def test_keras_file_round_trip_identical_outputs(tmp_path, position_layer):
    model = small_model(position_layer)
    ids = np.pad(IDS, ((0, 0), (0, 2)))
    loaded = assert_keras_round_trip(model, ids, tmp_path)  # safe_mode stays on: no Lambda layers
    expected_type = TokenAndPositionEmbedding if position_layer == "learned" else SinusoidalPositionEncoding
    assert any(isinstance(layer, expected_type) for layer in loaded.layers)


def test_registered_names():
    assert keras.saving.get_registered_name(TokenAndPositionEmbedding) == "course>TokenAndPositionEmbedding"
    assert keras.saving.get_registered_name(SinusoidalPositionEncoding) == "course>SinusoidalPositionEncoding"
