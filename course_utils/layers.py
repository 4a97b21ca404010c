"""Reusable Keras 3 layers of the course: every layer class has its home here.

Notebook 02 teaches the two position layers, notebook 04 the encoder block; later
notebooks import them from here:

- :class:`TokenAndPositionEmbedding` (the seed's layer, learned positions): token embedding
  plus a learned embedding of each position ``0 .. maxlen-1``.
- :class:`SinusoidalPositionEncoding` (the paper's fixed positions): adds
  ``PE[pos, 2i] = sin(pos / 10000^(2i/d))`` and ``PE[pos, 2i+1] = cos(pos / 10000^(2i/d))``
  to embeddings that are already there (it returns ``inputs + PE``).
- :class:`TransformerBlock` (notebook 04, the seed's block, post-LN): self-attention, a skip
  connection and LayerNormalization, then a two-layer feed-forward network, a second skip
  connection and LayerNormalization. Notebook 05 gives it BERT's options.
- :class:`BertEmbeddings` (notebook 05): BERT's token + position + segment embeddings, then
  LayerNorm; :class:`MeanPool` and :func:`mean_pool` (notebook 05's exercise reference): a
  sentence embedding as the mean of the real tokens' vectors, L2-normalised.

All follow the Keras 3 idioms of the course: they subclass ``keras.layers.Layer``, compute
with ``keras.ops`` (so they run on any backend), implement ``get_config``, are registered
serializable under the package name ``"course"``, and survive a ``.keras`` save/load round
trip with identical outputs (``tests/test_layers_positional.py``, ``tests/test_text_models.py``).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

__all__ = [
    "BertEmbeddings",
    "MeanPool",
    "SequenceTooLongError",
    "SinusoidalPositionEncoding",
    "TokenAndPositionEmbedding",
    "TransformerBlock",
    "mean_pool",
    "sinusoidal_position_encoding",
]


class SequenceTooLongError(ValueError):
    """A sequence is longer than the ``maxlen`` a position embedding was built for."""


def _too_long_message(length: object, maxlen: int) -> str:
    return (
        f"TokenAndPositionEmbedding got a sequence of length {length}, but it has learned "
        f"positions only for 0..{maxlen - 1} (maxlen={maxlen}). Pad or truncate the sequences "
        f"to at most {maxlen} tokens (e.g. keras.utils.pad_sequences(..., maxlen={maxlen}) or "
        f"TextVectorization(output_sequence_length={maxlen})), or build the layer with a larger maxlen."
    )


def sinusoidal_position_encoding(length: int, depth: int, max_wavelength: float = 10000.0) -> np.ndarray:
    """The paper's sinusoidal position encoding as a NumPy array of shape ``(length, depth)``.

    Column ``j`` uses the angle ``pos / max_wavelength ** (2i / depth)`` with ``2i = j - j % 2``
    (the even column of its sin/cos pair): sine in even columns, cosine in odd columns
    (interleaved, as in "Attention Is All You Need", section 3.5). Positions start at 0. An odd
    ``depth`` is allowed: the last column (even) is a sine whose cosine partner is left out.
    """
    if length < 0 or depth < 1:
        raise ValueError(f"need length >= 0 and depth >= 1, got length={length}, depth={depth}")
    positions = np.arange(length, dtype="float64")[:, np.newaxis]  # (length, 1)
    columns = np.arange(depth)[np.newaxis, :]  # (1, depth)
    even_index = columns - columns % 2  # 2i for both columns of a pair
    angles = positions / np.power(max_wavelength, even_index / depth)  # (length, depth)
    return np.where(columns % 2 == 0, np.sin(angles), np.cos(angles)).astype("float32")


@keras.saving.register_keras_serializable(package="course")
class TokenAndPositionEmbedding(keras.layers.Layer):
    """Token embedding plus a *learned* position embedding (the seed's layer, Keras 3 style).

    Args:
        maxlen: the sequence length after padding: the layer learns one vector for each
            position ``0 .. maxlen-1``. A longer sequence raises :class:`SequenceTooLongError`
            (a clear error instead of a silently wrong lookup).
        vocab_size: number of token ids (ids ``0 .. vocab_size-1``).
        embed_dim: size of each token and position vector.
        mask_zero: if True, token id 0 is padding: the layer emits a mask (``ids != 0``) that
            mask-aware layers downstream (``MultiHeadAttention``, ``GlobalAveragePooling1D``,
            RNNs) use to ignore the padded positions. Default False, as ``keras.layers.Embedding``.

    Input: integer token ids of shape ``(batch, length)`` with ``length <= maxlen``.
    Output: ``(batch, length, embed_dim)``, ``token_emb(ids) + pos_emb(0 .. length-1)``.

    Example::

        ids = keras.Input((200,), dtype="int32")
        x = TokenAndPositionEmbedding(maxlen=200, vocab_size=20000, embed_dim=32, mask_zero=True)(ids)
        # x: (batch, 200, 32), with a padding mask for the layers that follow

    References:
        The Keras example "Text classification with Transformer" (the seed's layer):
        https://keras.io/examples/nlp/text_classification_with_transformer/
    """

    def __init__(self, maxlen: int, vocab_size: int, embed_dim: int, mask_zero: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.maxlen = int(maxlen)
        self.vocab_size = int(vocab_size)
        self.embed_dim = int(embed_dim)
        self.mask_zero = bool(mask_zero)
        self.token_emb = keras.layers.Embedding(
            input_dim=self.vocab_size, output_dim=self.embed_dim, mask_zero=self.mask_zero, name="token_emb"
        )
        self.pos_emb = keras.layers.Embedding(
            input_dim=self.maxlen, output_dim=self.embed_dim, name="pos_emb"
        )

    def build(self, input_shape):
        length = input_shape[-1]
        if length is not None and length > self.maxlen:
            raise SequenceTooLongError(_too_long_message(length, self.maxlen))
        self.token_emb.build(input_shape)
        self.pos_emb.build((self.maxlen,))

    def call(self, inputs):
        length = ops.shape(inputs)[-1]
        self._check_length(length)
        positions = ops.arange(0, length, dtype="int32")  # 0, 1, ..., length-1
        # (batch, length, d) + (length, d): the same position vectors are added to every sequence.
        return self.token_emb(inputs) + self.pos_emb(positions)

    def _check_length(self, length) -> None:
        """Refuse sequences longer than ``maxlen``.

        Without this check, an Embedding lookup past the table raises an obscure error on a
        CPU and, on a GPU, silently returns zeros for the extra positions.
        """
        if isinstance(length, int):  # known while tracing or eagerly (every backend)
            if length > self.maxlen:
                raise SequenceTooLongError(_too_long_message(length, self.maxlen))
        elif keras.backend.backend() == "tensorflow":  # only TF traces with unknown lengths
            import tensorflow as tf

            tf.debugging.assert_less_equal(
                length, self.maxlen, message=_too_long_message("> maxlen", self.maxlen)
            )

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.embed_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "maxlen": self.maxlen,
                "vocab_size": self.vocab_size,
                "embed_dim": self.embed_dim,
                "mask_zero": self.mask_zero,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="course")
class SinusoidalPositionEncoding(keras.layers.Layer):
    """Add the paper's fixed sinusoidal position encoding to a sequence of vectors.

    Input: ``(batch, length, depth)`` embeddings (e.g. from ``keras.layers.Embedding``).
    Output: the same shape, ``inputs + PE[:length]`` with ``PE`` as in
    :func:`sinusoidal_position_encoding`. No weights, no ``maxlen``: the encoding is computed
    for whatever length arrives, so it also works for sequences longer than any seen in
    training (whether the *model* then generalises is another matter). A mask coming from the
    layer before (``Embedding(mask_zero=True)``) passes through unchanged.

    Args:
        max_wavelength: the ``10000`` of the paper (the longest wavelength is
            ``2*pi*max_wavelength`` positions).

    Example::

        x = keras.layers.Embedding(20000, 32, mask_zero=True)(ids)  # (batch, length, 32)
        x = SinusoidalPositionEncoding()(x)  # returns x + PE[:length], same shape and mask

    References:
        Vaswani et al., "Attention Is All You Need", section 3.5 (2017):
        https://arxiv.org/abs/1706.03762
    """

    def __init__(self, max_wavelength: float = 10000.0, **kwargs):
        super().__init__(**kwargs)
        self.max_wavelength = float(max_wavelength)
        self.supports_masking = True  # the mask of the input is the mask of the output

    def call(self, inputs):
        shape = ops.shape(inputs)
        length, depth = shape[-2], shape[-1]
        positions = ops.cast(ops.arange(0, length), self.compute_dtype)[:, None]  # (length, 1)
        columns = ops.arange(0, depth)[None, :]  # (1, depth)
        even_index = ops.cast(columns - columns % 2, self.compute_dtype)  # 2i for both columns of a pair
        depth_f = ops.cast(depth, self.compute_dtype)
        angles = positions / ops.power(self.max_wavelength, even_index / depth_f)  # (length, depth)
        encoding = ops.where(columns % 2 == 0, ops.sin(angles), ops.cos(angles))
        return inputs + ops.cast(encoding, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"max_wavelength": self.max_wavelength})
        return config


@keras.saving.register_keras_serializable(package="course")
class TransformerBlock(keras.layers.Layer):
    """The seed's Transformer encoder block, in Keras 3 (post-LN, as in the 2017 paper).

    ::

        attn = Dropout(MultiHeadAttention(x, x))
        out1 = LayerNorm(x + attn)              # skip connection 1, then normalise
        ffn  = Dropout(Dense(embed_dim)(Dense(ff_dim, relu)(out1)))
        out  = LayerNorm(out1 + ffn)            # skip connection 2, then normalise

    Args:
        embed_dim: width of the token vectors (input and output).
        num_heads: attention heads.
        ff_dim: hidden width of the feed-forward network (its output is ``embed_dim`` again,
            so that it can be added to its input).
        rate: dropout rate after the attention and after the feed-forward network.
        key_dim: size of each head's query/key. Default ``embed_dim`` as in the seed (every
            head full width: ``num_heads`` times the parameters of ``embed_dim // num_heads``,
            the choice of the paper and of most libraries; notebook 03 compares both).
        activation: the feed-forward network's hidden activation: a name or a callable.
            Default ``"relu"`` (the seed); BERT uses the exact GELU
            (``keras.activations.gelu``, whose default is exact; ``keras.ops.gelu``'s default
            is the tanh approximation).
        epsilon: the two LayerNormalizations' epsilon. Default ``1e-6`` (the seed); BERT 1e-12.
        attention_dropout: dropout on the attention weights inside ``MultiHeadAttention``.
            Default 0 (the seed); BERT 0.1.

    With the defaults the block is exactly the seed's; notebook 05 builds BERT's encoder from
    six of these blocks with ``activation=keras.activations.gelu, epsilon=1e-12,
    attention_dropout=0.1, key_dim=embed_dim // num_heads`` (``course_utils.bert_encoder``).

    A padding mask coming from the layer before (``TokenAndPositionEmbedding(mask_zero=True)``)
    keeps attention away from padding tokens and is passed on to the next layer (e.g. to
    ``GlobalAveragePooling1D``, which then averages real tokens only).

    Example::

        x = TokenAndPositionEmbedding(200, 20000, 32, mask_zero=True)(ids)
        x = TransformerBlock(embed_dim=32, num_heads=2, ff_dim=32)(x)  # (batch, 200, 32)

    References:
        Vaswani et al., "Attention Is All You Need", section 3.1 (2017):
        https://arxiv.org/abs/1706.03762; the Keras example the seed follows:
        https://keras.io/examples/nlp/text_classification_with_transformer/
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        ff_dim: int,
        rate: float = 0.1,
        key_dim: int | None = None,
        activation: Any = "relu",
        epsilon: float = 1e-6,
        attention_dropout: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.embed_dim = int(embed_dim)
        self.num_heads = int(num_heads)
        self.ff_dim = int(ff_dim)
        self.rate = float(rate)
        self.key_dim = int(key_dim) if key_dim is not None else self.embed_dim
        self.activation = keras.activations.get(activation)
        self.epsilon = float(epsilon)
        self.attention_dropout = float(attention_dropout)
        self.supports_masking = True  # the output has the same padding as the input
        self.att = keras.layers.MultiHeadAttention(
            num_heads=self.num_heads, key_dim=self.key_dim, dropout=self.attention_dropout, name="att"
        )
        self.ffn = keras.Sequential(
            [keras.layers.Dense(self.ff_dim, activation=self.activation), keras.layers.Dense(self.embed_dim)],
            name="ffn",
        )
        self.layernorm1 = keras.layers.LayerNormalization(epsilon=self.epsilon, name="layernorm1")
        self.layernorm2 = keras.layers.LayerNormalization(epsilon=self.epsilon, name="layernorm2")
        self.dropout1 = keras.layers.Dropout(self.rate)
        self.dropout2 = keras.layers.Dropout(self.rate)

    def build(self, input_shape: tuple) -> None:
        # Build the sublayers now, so the block has all its weights before the first call
        # (needed to copy weights in and to reload a saved model).
        if not self.att.built:
            self.att.build(input_shape, input_shape)
        for layer in (self.ffn, self.layernorm1, self.layernorm2):
            if not layer.built:
                layer.build(input_shape)

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        attention_mask = self._attention_mask(mask)
        attn_output = self.att(inputs, inputs, attention_mask=attention_mask, training=training)
        attn_output = self.dropout1(attn_output, training=training)
        out1 = self.layernorm1(inputs + attn_output)  # skip connection: x + f(x)
        ffn_output = self.ffn(out1, training=training)
        ffn_output = self.dropout2(ffn_output, training=training)
        return self.layernorm2(out1 + ffn_output)  # second skip connection

    def attention_scores(self, inputs: Any, mask: Any = None) -> Any:
        """The attention weights ``(batch, heads, T, T)`` this block computes for ``inputs``
        (inference mode), for plotting."""
        if not self.built:
            self.build(tuple(inputs.shape))
        _, scores = self.att(
            inputs, inputs, attention_mask=self._attention_mask(mask), return_attention_scores=True
        )
        return scores

    @staticmethod
    def _attention_mask(mask: Any) -> Any:
        """A padding mask (batch, T), True = real token, as an attention mask (batch, 1, T):
        every query may attend to the real tokens only."""
        if mask is None:
            return None
        return ops.expand_dims(ops.cast(mask, "bool"), axis=1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            embed_dim=self.embed_dim,
            num_heads=self.num_heads,
            ff_dim=self.ff_dim,
            rate=self.rate,
            key_dim=self.key_dim,
            activation=keras.activations.serialize(self.activation),
            epsilon=self.epsilon,
            attention_dropout=self.attention_dropout,
        )
        return config


@keras.saving.register_keras_serializable(package="course")
class BertEmbeddings(keras.layers.Layer):
    """BERT's input layer: token + position + segment embeddings, then LayerNorm and dropout.

    Input: token ids ``(batch, T)``, ``T <= max_positions``. Every token is in segment 0
    (single texts; BERT's sentence pairs would use segment 1 for the second text).
    Output: ``(batch, T, embed_dim)``.
    """

    def __init__(
        self,
        vocab_size: int,
        max_positions: int,
        type_vocab_size: int,
        embed_dim: int,
        epsilon: float = 1e-12,
        rate: float = 0.1,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.vocab_size, self.max_positions = int(vocab_size), int(max_positions)
        self.type_vocab_size, self.embed_dim = int(type_vocab_size), int(embed_dim)
        self.epsilon, self.rate = float(epsilon), float(rate)
        self.token_embeddings = keras.layers.Embedding(
            self.vocab_size, self.embed_dim, name="token_embeddings"
        )
        self.position_embeddings = keras.layers.Embedding(
            self.max_positions, self.embed_dim, name="position_embeddings"
        )
        self.segment_embeddings = keras.layers.Embedding(
            self.type_vocab_size, self.embed_dim, name="segment_embeddings"
        )
        self.layernorm = keras.layers.LayerNormalization(epsilon=self.epsilon, name="layernorm")
        self.dropout = keras.layers.Dropout(self.rate)

    def build(self, input_shape: tuple) -> None:
        for layer in (self.token_embeddings, self.position_embeddings, self.segment_embeddings):
            layer.build((None, None))
        self.layernorm.build((None, None, self.embed_dim))

    def call(self, token_ids: Any, training: bool | None = None) -> Any:
        length = ops.shape(token_ids)[1]
        positions = ops.arange(length)[None, :]  # (1, T): 0 .. T-1
        segments = ops.zeros_like(token_ids)  # token_type_ids: all 0 for single texts
        x = (
            self.token_embeddings(token_ids)
            + self.position_embeddings(positions)
            + self.segment_embeddings(segments)
        )
        return self.dropout(self.layernorm(x), training=training)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape, self.embed_dim)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            vocab_size=self.vocab_size,
            max_positions=self.max_positions,
            type_vocab_size=self.type_vocab_size,
            embed_dim=self.embed_dim,
            epsilon=self.epsilon,
            rate=self.rate,
        )
        return config


def mean_pool(token_vectors: Any, attention_mask: Any, normalize: bool = True) -> Any:
    """Sentence embedding: the mean of the token vectors over the real tokens, L2-normalised.

    ``token_vectors`` ``(batch, T, D)``; ``attention_mask`` ``(batch, T)``, 1 = real token,
    0 = padding. Padding is left out of the sum *and* of the count (dividing by T would
    shrink short texts); then each row is divided by its length (``normalize=True``), so
    that a dot product is a cosine similarity. This is the reference of notebook 05's exercise.
    """
    mask = ops.cast(attention_mask, token_vectors.dtype)[:, :, None]  # (batch, T, 1)
    summed = ops.sum(token_vectors * mask, axis=1)  # (batch, D): padding contributes 0
    counts = ops.maximum(ops.sum(mask, axis=1), 1e-9)  # (batch, 1): real tokens per text
    pooled = summed / counts
    if not normalize:
        return pooled
    norms = ops.sqrt(ops.sum(pooled * pooled, axis=-1, keepdims=True))
    return pooled / ops.maximum(norms, 1e-12)  # sentence-transformers' Normalize (eps 1e-12)


@keras.saving.register_keras_serializable(package="course")
class MeanPool(keras.layers.Layer):
    """:func:`mean_pool` as a layer: ``MeanPool()([token_vectors, attention_mask])``."""

    def __init__(self, normalize: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.normalize = bool(normalize)
        self.supports_masking = True  # the padding mask is an explicit input; none goes on

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return None

    def call(self, inputs: list) -> Any:
        token_vectors, attention_mask = inputs
        return mean_pool(token_vectors, attention_mask, normalize=self.normalize)

    def compute_output_shape(self, input_shape: list) -> tuple:
        return (input_shape[0][0], input_shape[0][-1])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(normalize=self.normalize)
        return config
