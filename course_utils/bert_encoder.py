"""A BERT encoder built from the course's own layers (lesson code: Keras and NumPy only).

Notebook 05 shows that BERT's encoder is the seed's block: six
:class:`~course_utils.layers.TransformerBlock` s (post-LN, as in notebook 04) with the
options BERT needs (exact GELU, LayerNorm epsilon 1e-12, attention dropout, 12 heads of
``key_dim`` 32), on top of :class:`BertEmbeddings` (token + position + segment embeddings,
then LayerNorm). Sentence embeddings are the mean of the token vectors over the real
tokens, L2-normalised (:class:`~course_utils.layers.MeanPool`, :func:`~course_utils.layers.mean_pool`),
as sentence-transformers' all-MiniLM-L6-v2. The layers live in ``course_utils.layers``; this
module assembles them.

Nothing here reads files: ``course_utils.bert`` (the data layer) finds the checkpoint,
verifies it, and copies its tensors into the model built here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import keras
import numpy as np
from keras import ops

from course_utils.layers import BertEmbeddings, MeanPool, TransformerBlock

__all__ = [
    "BertConfig",
    "attention_maps",
    "bert_parameter_count",
    "build_bert_encoder",
    "build_sentence_encoder",
]


@dataclass(frozen=True)
class BertConfig:
    """The sizes of a BERT encoder (defaults: all-MiniLM-L6-v2's ``config.json``)."""

    vocab_size: int = 30522
    max_positions: int = 512
    type_vocab_size: int = 2
    embed_dim: int = 384
    num_layers: int = 6
    num_heads: int = 12
    ff_dim: int = 1536
    epsilon: float = 1e-12
    rate: float = 0.1  # hidden_dropout_prob
    attention_dropout: float = 0.1  # attention_probs_dropout_prob

    @classmethod
    def from_hf(cls, config: dict[str, Any]) -> BertConfig:
        """From a Hugging Face BERT ``config.json`` (as a dict)."""
        if config.get("hidden_act", "gelu") != "gelu":
            raise ValueError(
                f"only BERT's exact GELU is supported, got hidden_act={config.get('hidden_act')!r}"
            )
        return cls(
            vocab_size=config["vocab_size"],
            max_positions=config["max_position_embeddings"],
            type_vocab_size=config["type_vocab_size"],
            embed_dim=config["hidden_size"],
            num_layers=config["num_hidden_layers"],
            num_heads=config["num_attention_heads"],
            ff_dim=config["intermediate_size"],
            epsilon=config["layer_norm_eps"],
            rate=config["hidden_dropout_prob"],
            attention_dropout=config["attention_probs_dropout_prob"],
        )


def bert_parameter_count(c: BertConfig, pooler: bool = False) -> int:
    """Parameters of a BERT encoder, from its sizes (``pooler=True`` adds BERT's pooler, a
    Dense(embed_dim) on the [CLS] vector that sentence-transformers does not use)."""
    d, f = c.embed_dim, c.ff_dim
    embeddings = (c.vocab_size + c.max_positions + c.type_vocab_size) * d + 2 * d  # + LayerNorm
    attention = 4 * (d * d + d)  # query, key, value, output: kernel + bias
    ffn = (d * f + f) + (f * d + d)
    block = attention + ffn + 2 * (2 * d)  # two LayerNorms
    return embeddings + c.num_layers * block + ((d * d + d) if pooler else 0)


def build_bert_encoder(config: BertConfig = BertConfig(), name: str = "bert_encoder") -> keras.Model:
    """BERT's encoder from the course's layers: ``BertEmbeddings`` then ``num_layers``
    ``TransformerBlock`` s with BERT's options.

    Inputs ``{"token_ids": (batch, T) int32, "attention_mask": (batch, T) int32}``
    (1 = real token); output the token vectors ``(batch, T, embed_dim)``. The padding mask
    reaches every block, which turns it into Keras' attention mask ``(batch, 1, T)``
    (True = may attend).
    """
    c = config
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    attention_mask = keras.Input(shape=(None,), dtype="int32", name="attention_mask")
    x = BertEmbeddings(
        c.vocab_size, c.max_positions, c.type_vocab_size, c.embed_dim, c.epsilon, c.rate, name="embeddings"
    )(token_ids)
    for i in range(c.num_layers):
        block = TransformerBlock(
            c.embed_dim,
            c.num_heads,
            c.ff_dim,
            rate=c.rate,
            key_dim=c.embed_dim // c.num_heads,
            activation=keras.activations.gelu,
            epsilon=c.epsilon,
            attention_dropout=c.attention_dropout,
            name=f"block_{i}",
        )
        x = block(x, mask=attention_mask)
    return keras.Model({"token_ids": token_ids, "attention_mask": attention_mask}, x, name=name)


def build_sentence_encoder(encoder: keras.Model, normalize: bool = True) -> keras.Model:
    """``encoder`` followed by :class:`MeanPool`: texts' token ids -> ``(batch, embed_dim)``."""
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    attention_mask = keras.Input(shape=(None,), dtype="int32", name="attention_mask")
    vectors = encoder({"token_ids": token_ids, "attention_mask": attention_mask})
    pooled = MeanPool(normalize=normalize, name="mean_pool")([vectors, attention_mask])
    return keras.Model(
        {"token_ids": token_ids, "attention_mask": attention_mask}, pooled, name="sentence_encoder"
    )


def attention_maps(encoder: keras.Model, token_ids: Any, attention_mask: Any) -> np.ndarray:
    """The attention weights of every block: ``(layers, batch, heads, T, T)`` (inference mode)."""
    mask = ops.convert_to_tensor(attention_mask)
    x = encoder.get_layer("embeddings")(ops.convert_to_tensor(token_ids), training=False)
    maps = []
    for layer in encoder.layers:
        if isinstance(layer, TransformerBlock):
            maps.append(ops.convert_to_numpy(layer.attention_scores(x, mask=mask)))
            x = layer(x, mask=mask, training=False)
    return np.stack(maps)


def config_dict(config: BertConfig) -> dict[str, Any]:
    return asdict(config)
