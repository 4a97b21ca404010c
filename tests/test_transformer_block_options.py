"""TransformerBlock's options for BERT (activation, epsilon, attention_dropout, key_dim).

The defaults must leave the seed's block unchanged; the options must survive get_config and
a .keras round trip.
"""

from __future__ import annotations

import keras
import numpy as np

from course_utils.layers import TransformerBlock


def _x(batch=2, length=5, width=16, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, length, width)).astype("float32")


def _seed_block_output(block: TransformerBlock, x: np.ndarray) -> np.ndarray:
    """The seed's block written out with plain Keras layers and the block's own weights:
    MHA (key_dim = embed_dim, no attention dropout), relu FFN, LayerNorm epsilon 1e-6."""
    embed_dim = block.embed_dim
    att = keras.layers.MultiHeadAttention(num_heads=block.num_heads, key_dim=embed_dim)
    att.build(x.shape, x.shape)
    att.set_weights(block.att.get_weights())
    dense1 = keras.layers.Dense(block.ff_dim, activation="relu")
    dense2 = keras.layers.Dense(embed_dim)
    ln1 = keras.layers.LayerNormalization(epsilon=1e-6)
    ln2 = keras.layers.LayerNormalization(epsilon=1e-6)
    out1 = ln1(x + att(x, x))
    dense1.build(out1.shape)
    dense2.build((None, block.ff_dim))
    dense1.set_weights(block.ffn.layers[0].get_weights())
    dense2.set_weights(block.ffn.layers[1].get_weights())
    return keras.ops.convert_to_numpy(ln2(out1 + dense2(dense1(out1))))


def test_defaults_are_the_seed_block():
    block = TransformerBlock(16, 2, 24)
    x = _x()
    out = keras.ops.convert_to_numpy(block(x, training=False))
    assert block.key_dim == 16 and block.epsilon == 1e-6 and block.attention_dropout == 0.0
    assert block.activation is keras.activations.relu
    assert block.layernorm1.epsilon == block.layernorm2.epsilon == 1e-6
    assert block.att.dropout == 0.0
    np.testing.assert_allclose(out, _seed_block_output(block, x), atol=1e-6)
    config = block.get_config()
    assert {k: config[k] for k in ("activation", "epsilon", "attention_dropout", "key_dim")} == {
        "activation": "relu",
        "epsilon": 1e-6,
        "attention_dropout": 0.0,
        "key_dim": 16,
    }


def test_bert_options_change_what_they_should():
    block = TransformerBlock(
        16, 4, 24, key_dim=4, activation=keras.activations.gelu, epsilon=1e-12, attention_dropout=0.1
    )
    x = _x()
    block(x)
    assert tuple(block.att.get_weights()[0].shape) == (16, 4, 4)
    assert block.layernorm1.epsilon == 1e-12 and block.att.dropout == 0.1
    # exact GELU in the FFN: its hidden layer equals keras.activations.gelu (exact by default)
    hidden = block.ffn.layers[0]
    pre = x @ hidden.kernel.numpy() + hidden.bias.numpy()
    expected = keras.ops.convert_to_numpy(keras.activations.gelu(pre, approximate=False))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(hidden(x)), expected, atol=1e-6)
    # attention dropout acts in training only
    a = keras.ops.convert_to_numpy(block(x, training=False))
    np.testing.assert_array_equal(a, keras.ops.convert_to_numpy(block(x, training=False)))
    block_no_rate = TransformerBlock(16, 4, 24, rate=0.0, key_dim=4, attention_dropout=0.5)
    block_no_rate(x)
    y_train = keras.ops.convert_to_numpy(block_no_rate(x, training=True))
    y_eval = keras.ops.convert_to_numpy(block_no_rate(x, training=False))
    assert np.abs(y_train - y_eval).max() > 1e-3


def test_keras_round_trip_with_bert_options(tmp_path):
    inputs = keras.Input(shape=(5, 16))
    outputs = TransformerBlock(
        16, 4, 24, key_dim=4, activation="gelu", epsilon=1e-12, attention_dropout=0.1, name="tb"
    )(inputs)
    model = keras.Model(inputs, outputs)
    x = _x()
    before = model.predict(x, verbose=0)
    path = tmp_path / "block.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    block = loaded.get_layer("tb")
    assert (block.key_dim, block.epsilon, block.attention_dropout) == (4, 1e-12, 0.1)
    assert block.activation is keras.activations.gelu
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), before)
