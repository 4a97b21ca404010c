"""The text classifiers of notebook 04 (model builders; their layers live in ``course_utils.layers``).

* :func:`build_text_classifier` -- the seed's model: ``TokenAndPositionEmbedding`` ->
  ``TransformerBlock`` -> ``GlobalAveragePooling1D`` -> ``Dropout`` -> ``Dense`` -> softmax.
* :func:`build_lstm_classifier` -- the recurrent baseline of notebook 04, of similar size.
"""

from __future__ import annotations

import keras

from course_utils.layers import TokenAndPositionEmbedding, TransformerBlock

__all__ = ["build_lstm_classifier", "build_text_classifier"]


def build_text_classifier(
    maxlen: int,
    vocab_size: int,
    embed_dim: int = 32,
    num_heads: int = 2,
    ff_dim: int = 32,
    rate: float = 0.1,
    key_dim: int | None = None,
    hidden_units: int = 20,
    num_classes: int = 2,
    mask_zero: bool = False,
    learning_rate: float = 1e-3,
    name: str = "transformer_classifier",
) -> keras.Model:
    """The seed's Transformer text classifier, compiled (Adam, sparse categorical cross-entropy).

    ``name``: the model's name (two of them trained side by side as one model need two names).

    ``(batch, maxlen)`` token ids -> ``TokenAndPositionEmbedding`` -> ``TransformerBlock``
    -> ``GlobalAveragePooling1D`` -> ``Dropout`` -> ``Dense(hidden_units, relu)`` ->
    ``Dropout`` -> ``Dense(num_classes, softmax)`` (as in the Keras example the seed follows).
    """
    inputs = keras.Input(shape=(maxlen,), dtype="int32", name="token_ids")
    x = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim, mask_zero=mask_zero, name="embedding")(
        inputs
    )
    x = TransformerBlock(embed_dim, num_heads, ff_dim, rate, key_dim=key_dim, name="transformer_block")(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return _with_head(inputs, x, rate, hidden_units, num_classes, learning_rate, name)


def build_lstm_classifier(
    maxlen: int,
    vocab_size: int,
    embed_dim: int = 32,
    units: int = 32,
    bidirectional: bool = True,
    rate: float = 0.1,
    hidden_units: int = 20,
    num_classes: int = 2,
    learning_rate: float = 1e-3,
) -> keras.Model:
    """A recurrent baseline with the same embedding size and head as :func:`build_text_classifier`.

    ``Embedding(mask_zero=True)`` -> (Bidirectional) ``LSTM(units)`` -> ``Dropout`` ->
    ``Dense(hidden_units, relu)`` -> ``Dropout`` -> ``Dense(num_classes, softmax)``. The mask
    makes the LSTM skip the padding, so a short review is not read through its pad tokens.
    """
    inputs = keras.Input(shape=(maxlen,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(vocab_size, embed_dim, mask_zero=True, name="embedding")(inputs)
    recurrent = keras.layers.LSTM(units)
    x = keras.layers.Bidirectional(recurrent)(x) if bidirectional else recurrent(x)
    return _with_head(inputs, x, rate, hidden_units, num_classes, learning_rate, "lstm_classifier")


def _with_head(inputs, features, rate, hidden_units, num_classes, learning_rate, name) -> keras.Model:
    """The head both classifiers share (as in the Keras example the seed follows), compiled:
    ``Dropout`` -> ``Dense(hidden_units, relu)`` -> ``Dropout`` -> ``Dense(num_classes, softmax)``."""
    x = keras.layers.Dropout(rate)(features)
    x = keras.layers.Dense(hidden_units, activation="relu")(x)
    x = keras.layers.Dropout(rate)(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax")(x)
    model = keras.Model(inputs, outputs, name=name)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
