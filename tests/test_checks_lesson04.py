"""check_transformer_block: passes the seed's block, names each typical mistake.

Each wrong block below differs from the seed's in one way a learner gets it wrong; the test
asserts that the checker fails it and that the hint names that mistake.
"""

from __future__ import annotations

import keras
import pytest
from keras import layers

from course_utils.checks import check_transformer_block
from course_utils.layers import TransformerBlock


class SeedBlock(layers.Layer):
    """The seed's block as a learner writes it (the correct answer)."""

    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1, **kwargs):
        super().__init__(**kwargs)
        self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn = keras.Sequential([layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)])
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)

    def attend(self, inputs, training):
        attn_output = self.att(inputs, inputs)
        return self.dropout1(attn_output, training=training)

    def feed_forward(self, out1, training):
        return self.dropout2(self.ffn(out1), training=training)

    def call(self, inputs, training):
        attn_output = self.attend(inputs, training)
        out1 = self.layernorm1(inputs + attn_output)
        ffn_output = self.feed_forward(out1, training)
        return self.layernorm2(out1 + ffn_output)


class SmallHeads(SeedBlock):
    """key_dim = embed_dim // num_heads is a legitimate choice too."""

    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1, **kwargs):
        super().__init__(embed_dim, num_heads, ff_dim, rate, **kwargs)
        self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim // num_heads)


class NormsCreatedInOtherOrder(layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
        super().__init__()
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.dense_out = layers.Dense(embed_dim)
        self.dense_hidden = layers.Dense(ff_dim, activation="relu")
        self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.dropout = layers.Dropout(rate)

    def call(self, inputs, training=None):
        out1 = self.layernorm1(inputs + self.dropout(self.att(inputs, inputs), training=training))
        ffn = self.dense_out(self.dense_hidden(out1))
        return self.layernorm2(out1 + self.dropout(ffn, training=training))


class NoResidual1(SeedBlock):
    def call(self, inputs, training):
        out1 = self.layernorm1(self.attend(inputs, training))
        return self.layernorm2(out1 + self.feed_forward(out1, training))


class NoResidual2(SeedBlock):
    def call(self, inputs, training):
        out1 = self.layernorm1(inputs + self.attend(inputs, training))
        return self.layernorm2(self.feed_forward(out1, training))


class NoResiduals(SeedBlock):
    def call(self, inputs, training):
        out1 = self.layernorm1(self.attend(inputs, training))
        return self.layernorm2(self.feed_forward(out1, training))


class SecondSkipFromInput(SeedBlock):
    def call(self, inputs, training):
        out1 = self.layernorm1(inputs + self.attend(inputs, training))
        return self.layernorm2(inputs + self.feed_forward(out1, training))


class PreLN(SeedBlock):
    def call(self, inputs, training):
        h = inputs + self.attend(self.layernorm1(inputs), training)
        return h + self.feed_forward(self.layernorm2(h), training)


class NoSecondNorm(SeedBlock):
    def call(self, inputs, training):
        out1 = self.layernorm1(inputs + self.attend(inputs, training))
        return out1 + self.feed_forward(out1, training)


class DropoutAlwaysOn(SeedBlock):
    def call(self, inputs, training):
        return super().call(inputs, training=True)


class DropoutNeverOn(SeedBlock):
    def call(self, inputs, training):
        return super().call(inputs, training=False)


class NotProjectedBack(SeedBlock):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1, **kwargs):
        super().__init__(embed_dim, num_heads, ff_dim, rate, **kwargs)
        self.ffn = keras.Sequential([layers.Dense(ff_dim, activation="relu")])


class HiddenNotProjected(SeedBlock):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1, **kwargs):
        super().__init__(embed_dim, num_heads, ff_dim, rate, **kwargs)
        self.ffn = keras.Sequential([layers.Dense(ff_dim, activation="relu"), layers.Dense(ff_dim)])


class DefaultEpsilon(SeedBlock):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1, **kwargs):
        super().__init__(embed_dim, num_heads, ff_dim, rate, **kwargs)
        self.layernorm1 = layers.LayerNormalization()
        self.layernorm2 = layers.LayerNormalization()


class NoRelu(SeedBlock):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1, **kwargs):
        super().__init__(embed_dim, num_heads, ff_dim, rate, **kwargs)
        self.ffn = keras.Sequential([layers.Dense(ff_dim), layers.Dense(embed_dim)])


class NoAttention(layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
        super().__init__()
        self.ffn = keras.Sequential([layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)])

    def call(self, inputs, training=None):
        return self.ffn(inputs)


class Crashes(SeedBlock):
    def call(self, inputs, training):
        return self.not_an_attribute(inputs)


class Untouched(layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
        super().__init__()
        raise NotImplementedError  # your code here


def not_a_layer(embed_dim, num_heads, ff_dim, rate):
    return lambda x, training=None: x


@pytest.mark.parametrize(
    "cls", [SeedBlock, SmallHeads, NormsCreatedInOtherOrder, TransformerBlock], ids=lambda c: c.__name__
)
def test_correct_blocks_pass(cls):
    result = check_transformer_block(cls, verbose=False)
    assert result.passed and result.attempted, result.hint


@pytest.mark.parametrize(
    "cls, words",
    [
        (NoResidual1, "first skip connection is missing"),
        (NoResidual2, "second skip connection is missing"),
        (NoResiduals, "both skip connections are missing"),
        (SecondSkipFromInput, "must add out1"),
        (PreLN, "pre-LN"),
        (NoSecondNorm, "second LayerNormalization is not applied"),
        (DropoutAlwaysOn, "dropout is active at inference"),
        (DropoutNeverOn, "dropout never acts in training"),
        (NotProjectedBack, "not projected back to embed_dim"),
        (HiddenNotProjected, "not projected back to embed_dim"),
        (DefaultEpsilon, "epsilon=1e-6"),
        (NoRelu, "relu"),
        (NoAttention, "MultiHeadAttention"),
        (Crashes, "raised an error"),
        (not_a_layer, "keras.layers.Layer"),
    ],
    ids=lambda x: getattr(x, "__name__", None),
)
def test_each_mistake_gets_its_hint(cls, words):
    result = check_transformer_block(cls, verbose=False)
    assert not result.passed and result.attempted
    assert words in result.hint, result.hint


def test_untouched_exercise_is_not_attempted():
    result = check_transformer_block(Untouched, verbose=False)
    assert not result.passed and not result.attempted
