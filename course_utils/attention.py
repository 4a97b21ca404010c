"""Attention from scratch, checked against Keras (notebook 03).

Two things live here:

* :func:`scaled_dot_product_attention` -- the reference answer of exercise 03:
  ``softmax(q k^T / sqrt(d_k)) v``, with an optional boolean mask (True = may attend,
  the Keras convention).
* :class:`MultiHeadAttention` -- multi-head attention written with ``keras.ops`` only.
  It has the same weights as ``keras.layers.MultiHeadAttention`` (same order, same shapes),
  so ``own.set_weights(keras_mha.get_weights())`` works unchanged, and the same call
  signature ``(query, value, key=None, attention_mask=None, return_attention_scores=False)``.
  The tests and notebook 03 assert that both give the same numbers.

Plus two small mask helpers, :func:`padding_mask` and :func:`causal_mask`, and the
reference answers of the second exercise of notebook 03, :func:`split_heads` and
:func:`merge_heads` (one wide projection cut into heads and glued back).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

# Keras's masked softmax puts this on the blocked logits (keras.layers.Softmax does the
# same). exp(-1e9 - max) is exactly 0.0 in float32, so a blocked key gets no weight at all.
LARGE_NEGATIVE = -1e9

__all__ = [
    "LARGE_NEGATIVE",
    "MultiHeadAttention",
    "causal_mask",
    "count_mha_parameters",
    "merge_heads",
    "padding_mask",
    "scaled_dot_product_attention",
    "split_heads",
]


def scaled_dot_product_attention(q: Any, k: Any, v: Any, mask: Any = None) -> tuple[Any, Any]:
    """Scaled dot-product attention: ``softmax(q k^T / sqrt(d_k)) v``.

    Args:
        q: queries, shape ``(..., T_q, d_k)``.
        k: keys, shape ``(..., T_k, d_k)``.
        v: values, shape ``(..., T_k, d_v)``.
        mask: optional booleans broadcastable to ``(..., T_q, T_k)``; True = the query may
            attend to that key (Keras convention). A query whose keys are all blocked gets
            all-zero weights (as in Keras), not a uniform average of blocked keys.

    Returns:
        ``(output, weights)``: output ``(..., T_q, d_v)`` and the attention weights
        ``(..., T_q, T_k)``, each row summing to 1 over the keys it may attend to.
    """
    d_k = ops.shape(k)[-1]
    # Similarity of every query with every key. swapaxes transposes only the last two axes
    # of k, so batch and head axes in front are left alone.
    scores = ops.matmul(q, ops.swapaxes(k, -1, -2))
    # Dividing by sqrt(d_k) keeps the scores' variance near 1 whatever d_k is (notebook 03
    # measures it); without it the softmax saturates and its gradients vanish.
    scores = scores / ops.sqrt(ops.cast(d_k, scores.dtype))
    if mask is not None:
        mask = ops.cast(mask, "bool")
        scores = ops.where(mask, scores, ops.cast(LARGE_NEGATIVE, scores.dtype))
    # Softmax over the keys (last axis): each query distributes a total weight of 1.
    weights = ops.softmax(scores, axis=-1)
    if mask is not None:
        weights = ops.where(mask, weights, ops.zeros_like(weights))
    output = ops.matmul(weights, v)
    return output, weights


def split_heads(x: Any, num_heads: int) -> Any:
    """Cut the last axis into heads: ``(batch, T, H * d)`` -> ``(batch, H, T, d)``.

    Head ``h`` gets the features ``h * d .. (h + 1) * d - 1`` (a contiguous block: the
    columns that ``W[:, h]`` of a Keras kernel ``(E, H, d)`` produces). Reshaping alone to
    ``(batch, H, T, d)`` would mix positions and heads: the reshape must keep the ``T`` axis
    where it is, and a transpose then brings the heads in front of it.
    """
    batch, length, width = ops.shape(x)[0], ops.shape(x)[1], ops.shape(x)[2]
    x = ops.reshape(x, (batch, length, num_heads, width // num_heads))  # (batch, T, H, d)
    return ops.transpose(x, (0, 2, 1, 3))  # (batch, H, T, d)


def merge_heads(x: Any) -> Any:
    """Undo :func:`split_heads`: ``(batch, H, T, d)`` -> ``(batch, T, H * d)``.

    The heads' outputs side by side along the features: the concatenation
    ``[head_0, head_1, ...]`` of multi-head attention, before the output projection.
    ``merge_heads(split_heads(x, H))`` is ``x`` exactly.
    """
    batch, heads, length, size = ops.shape(x)[0], ops.shape(x)[1], ops.shape(x)[2], ops.shape(x)[3]
    x = ops.transpose(x, (0, 2, 1, 3))  # (batch, T, H, d)
    return ops.reshape(x, (batch, length, heads * size))


def padding_mask(token_ids: Any, pad_id: int = 0) -> Any:
    """Attention mask ``(batch, 1, T)`` that blocks the padding tokens as keys.

    The middle axis of size 1 broadcasts over the queries: every query may attend to every
    real token and to no padding token.
    """
    return ops.expand_dims(ops.not_equal(token_ids, pad_id), axis=-2)


def causal_mask(length: int, key_length: int | None = None) -> Any:
    """Lower-triangular attention mask ``(T_q, T_k)``: query i may attend to keys 0..i.

    Broadcasts over batch and heads. ``key_length`` defaults to ``length``.
    """
    key_length = length if key_length is None else key_length
    rows = ops.expand_dims(ops.arange(length), axis=1)
    cols = ops.expand_dims(ops.arange(key_length), axis=0)
    return ops.greater_equal(rows, cols)


@keras.saving.register_keras_serializable(package="course")
class MultiHeadAttention(keras.layers.Layer):
    """Multi-head attention from scratch, weight-compatible with ``keras.layers.MultiHeadAttention``.

    Each of the ``num_heads`` heads projects the query and key to ``key_dim`` numbers and the
    value to ``value_dim`` numbers, runs :func:`scaled_dot_product_attention`, and the heads'
    outputs are **concatenated** and **projected** back to the query's width by one output
    matrix. (They are not averaged: the projection is a learned weighted sum over heads.)

    Weights, in the order and shapes of Keras's layer (``E_q``, ``E_k``, ``E_v`` = widths of
    query, key, value; ``H`` = num_heads)::

        query_kernel  (E_q, H, key_dim)     query_bias  (H, key_dim)
        key_kernel    (E_k, H, key_dim)     key_bias    (H, key_dim)
        value_kernel  (E_v, H, value_dim)   value_bias  (H, value_dim)
        output_kernel (H, value_dim, E_q)   output_bias (E_q,)

    Args:
        num_heads: number of attention heads ``H``.
        key_dim: size of each head's query and key (Keras: per head, not in total).
        value_dim: size of each head's value; defaults to ``key_dim``.
        dropout: dropout rate on the attention weights (training only).
        use_bias: whether the four projections have biases.

    Only sequences are supported: inputs of shape ``(batch, T, E)``. Masks are given
    explicitly with ``attention_mask`` (Keras's implicit ``_keras_mask`` propagation is not
    reproduced).

    Example::

        mha = MultiHeadAttention(num_heads=2, key_dim=16)
        out = mha(x, x)  # self-attention: (batch, T, E) -> (batch, T, E)

    References:
        Vaswani et al., "Attention Is All You Need", section 3.2.2 (2017):
        https://arxiv.org/abs/1706.03762; ``keras.layers.MultiHeadAttention``:
        https://keras.io/api/layers/attention_layers/multi_head_attention/
    """

    def __init__(
        self,
        num_heads: int,
        key_dim: int,
        value_dim: int | None = None,
        dropout: float = 0.0,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.num_heads = int(num_heads)
        self.key_dim = int(key_dim)
        self.value_dim = int(value_dim) if value_dim is not None else self.key_dim
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.dropout_layer = keras.layers.Dropout(self.dropout)
        # A Keras mask on the query (e.g. from Embedding(mask_zero=True)) is passed on to the
        # output, as Keras's layer does; attention masks themselves are given explicitly.
        self.supports_masking = True

    def build(self, query_shape: tuple, value_shape: tuple, key_shape: tuple | None = None) -> None:
        key_shape = value_shape if key_shape is None else key_shape
        width_q, width_k, width_v = query_shape[-1], key_shape[-1], value_shape[-1]
        heads = self.num_heads
        # Created in Keras's order (query, key, value, output; kernel before bias) so that
        # get_weights()/set_weights() lists line up one to one.
        self.query_kernel = self._kernel("query_kernel", (width_q, heads, self.key_dim))
        self.query_bias = self._bias("query_bias", (heads, self.key_dim))
        self.key_kernel = self._kernel("key_kernel", (width_k, heads, self.key_dim))
        self.key_bias = self._bias("key_bias", (heads, self.key_dim))
        self.value_kernel = self._kernel("value_kernel", (width_v, heads, self.value_dim))
        self.value_bias = self._bias("value_bias", (heads, self.value_dim))
        self.output_kernel = self._kernel("output_kernel", (heads, self.value_dim, width_q))
        self.output_bias = self._bias("output_bias", (width_q,))

    def _kernel(self, name: str, shape: tuple) -> Any:
        return self.add_weight(name=name, shape=shape, initializer=self.kernel_initializer)

    def _bias(self, name: str, shape: tuple) -> Any:
        if not self.use_bias:
            return None
        return self.add_weight(name=name, shape=shape, initializer=self.bias_initializer)

    def _project(self, x: Any, kernel: Any, bias: Any) -> Any:
        """(batch, T, E) -> (batch, heads, T, size): one projection per head, heads in front."""
        projected = ops.einsum("bte,ehd->bthd", x, kernel)  # (batch, T, heads, size)
        if bias is not None:
            projected = projected + bias
        return ops.transpose(projected, (0, 2, 1, 3))

    def call(
        self,
        query: Any,
        value: Any,
        key: Any = None,
        attention_mask: Any = None,
        return_attention_scores: bool = False,
        training: bool | None = None,
        use_causal_mask: bool = False,
    ) -> Any:
        """Attend from ``query`` (batch, T_q, E_q) to ``key``/``value`` (batch, T_k, E).

        ``key`` defaults to ``value``. ``attention_mask`` (batch, T_q, T_k), True = may
        attend. Returns (batch, T_q, E_q), and with ``return_attention_scores=True`` also
        the weights (batch, heads, T_q, T_k), as Keras does.
        """
        key = value if key is None else key
        q = self._project(query, self.query_kernel, self.query_bias)  # (b, H, T_q, key_dim)
        k = self._project(key, self.key_kernel, self.key_bias)  # (b, H, T_k, key_dim)
        v = self._project(value, self.value_kernel, self.value_bias)  # (b, H, T_k, value_dim)

        mask = None
        if attention_mask is not None:
            # (b, T_q, T_k) -> (b, 1, T_q, T_k): the same mask for every head.
            mask = ops.expand_dims(ops.cast(attention_mask, "bool"), axis=1)
        if use_causal_mask:
            causal = causal_mask(ops.shape(q)[2], ops.shape(k)[2])
            mask = causal if mask is None else ops.logical_and(mask, causal)

        heads_out, weights = scaled_dot_product_attention(q, k, v, mask)
        if self.dropout > 0.0:
            # Dropout on the weights, as Keras does (the returned scores are before dropout).
            heads_out = ops.matmul(self.dropout_layer(weights, training=training), v)

        # Concatenate the heads and project: (b, H, T_q, value_dim) x (H, value_dim, E_q).
        # Summing over both h and d is exactly "concatenate to H*value_dim, then one Dense".
        output = ops.einsum("bhtd,hde->bte", heads_out, self.output_kernel)
        if self.output_bias is not None:
            output = output + self.output_bias
        if return_attention_scores:
            return output, weights
        return output

    def compute_output_shape(
        self, query_shape: tuple, value_shape: tuple, key_shape: tuple | None = None
    ) -> tuple:
        return tuple(query_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            num_heads=self.num_heads,
            key_dim=self.key_dim,
            value_dim=self.value_dim,
            dropout=self.dropout,
            use_bias=self.use_bias,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
        )
        return config


def count_mha_parameters(embed_dim: int, num_heads: int, key_dim: int, value_dim: int | None = None) -> int:
    """Parameters of a self-attention MHA on width ``embed_dim`` (biases included).

    Query and key: ``embed_dim * H * key_dim`` weights + ``H * key_dim`` biases each; value:
    the same with ``value_dim``; output: ``H * value_dim * embed_dim`` + ``embed_dim``.
    """
    value_dim = key_dim if value_dim is None else value_dim
    qk = 2 * (embed_dim * num_heads * key_dim + num_heads * key_dim)
    v = embed_dim * num_heads * value_dim + num_heads * value_dim
    out = num_heads * value_dim * embed_dim + embed_dim
    return qk + v + out
