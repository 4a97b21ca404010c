"""The Transformer encoder block and the text classifiers of notebook 04.

* :class:`TransformerBlock` -- the seed's block (post-LN): self-attention, a skip
  connection and LayerNormalization, then a two-layer feed-forward network, a second skip
  connection and LayerNormalization. Public home: ``course_utils.layers.TransformerBlock``
  (re-exported there, next to ``TokenAndPositionEmbedding``).
* :func:`build_text_classifier` -- the seed's model: ``TokenAndPositionEmbedding`` ->
  ``TransformerBlock`` -> ``GlobalAveragePooling1D`` -> ``Dropout`` -> ``Dense`` -> softmax.
* :func:`build_lstm_classifier` -- the recurrent baseline of notebook 04, of similar size.
* :class:`EpochLog` -- one progress line per model (index, epoch, time left), updated in
  place, and the seconds each epoch took, instead of a flood of progress bars.
"""

from __future__ import annotations

import time
from typing import Any

import keras
from keras import ops

__all__ = ["EpochLog", "TransformerBlock", "build_lstm_classifier", "build_text_classifier"]


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

    A padding mask coming from the layer before (``TokenAndPositionEmbedding(mask_zero=True)``)
    keeps attention away from padding tokens and is passed on to the next layer (e.g. to
    ``GlobalAveragePooling1D``, which then averages real tokens only).
    """

    def __init__(self, embed_dim: int, num_heads: int, ff_dim: int, rate: float = 0.1, key_dim: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.embed_dim = int(embed_dim)
        self.num_heads = int(num_heads)
        self.ff_dim = int(ff_dim)
        self.rate = float(rate)
        self.key_dim = int(key_dim) if key_dim is not None else self.embed_dim
        self.supports_masking = True  # the output has the same padding as the input
        self.att = keras.layers.MultiHeadAttention(num_heads=self.num_heads, key_dim=self.key_dim, name="att")
        self.ffn = keras.Sequential(
            [keras.layers.Dense(self.ff_dim, activation="relu"), keras.layers.Dense(self.embed_dim)], name="ffn"
        )
        self.layernorm1 = keras.layers.LayerNormalization(epsilon=1e-6, name="layernorm1")
        self.layernorm2 = keras.layers.LayerNormalization(epsilon=1e-6, name="layernorm2")
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
        _, scores = self.att(inputs, inputs, attention_mask=self._attention_mask(mask), return_attention_scores=True)
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
            embed_dim=self.embed_dim, num_heads=self.num_heads, ff_dim=self.ff_dim, rate=self.rate, key_dim=self.key_dim
        )
        return config


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
) -> keras.Model:
    """The seed's Transformer text classifier, compiled (Adam, sparse categorical cross-entropy).

    ``(batch, maxlen)`` token ids -> ``TokenAndPositionEmbedding`` -> ``TransformerBlock``
    -> ``GlobalAveragePooling1D`` -> ``Dropout`` -> ``Dense(hidden_units, relu)`` ->
    ``Dropout`` -> ``Dense(num_classes, softmax)`` (as in the Keras example the seed follows).
    """
    # Imported here, not at the top: course_utils.layers re-exports TransformerBlock from
    # this module, so a top-level import would be circular.
    from course_utils.layers import TokenAndPositionEmbedding

    inputs = keras.Input(shape=(maxlen,), dtype="int32", name="token_ids")
    x = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim, mask_zero=mask_zero, name="embedding")(inputs)
    x = TransformerBlock(embed_dim, num_heads, ff_dim, rate, key_dim=key_dim, name="transformer_block")(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    x = keras.layers.Dropout(rate)(x)
    x = keras.layers.Dense(hidden_units, activation="relu")(x)
    x = keras.layers.Dropout(rate)(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax")(x)
    model = keras.Model(inputs, outputs, name="transformer_classifier")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


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
    x = keras.layers.Dropout(rate)(x)
    x = keras.layers.Dense(hidden_units, activation="relu")(x)
    x = keras.layers.Dropout(rate)(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax")(x)
    model = keras.Model(inputs, outputs, name="lstm_classifier")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


class EpochLog(keras.callbacks.Callback):
    """One progress line per model, kept up to date, and the seconds each epoch took (``.seconds``).

    Use with ``model.fit(..., verbose=0, callbacks=[EpochLog("BiLSTM", index=2, total=4)])``.
    In a notebook the line is rewritten in place after every epoch, so a cell that trains
    four models shows four short lines, e.g.::

        [2/4] BiLSTM: epoch 3/5, 41 s so far, about 27 s left  accuracy 0.7712  val_accuracy 0.7304
        [2/4] BiLSTM: done, 5 epochs in 68 s  accuracy 0.8120  val_accuracy 0.7391

    The estimate is the median of this model's measured epochs times the epochs left.
    Outside a notebook (scripts, tests) it prints one line per epoch instead.
    """

    def __init__(self, name: str = "model", show: bool = True, index: int | None = None, total: int | None = None) -> None:
        super().__init__()
        self.name = name
        self.show = show
        self.prefix = f"[{index}/{total}] " if index is not None and total is not None else ""
        self.seconds: list[float] = []
        self._start = 0.0
        self._handle: Any = None
        self._last_logs: dict | None = None

    def _line(self, text: str, logs: dict | None = None) -> str:
        metrics = "  ".join(f"{key} {value:.4f}" for key, value in sorted((logs or {}).items()))
        return f"{self.prefix}{self.name}: {text}" + (f"  {metrics}" if metrics else "")

    def _show(self, line: str) -> bool:
        """Show or rewrite the progress line in a notebook; False outside IPython."""
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            return False
        if get_ipython() is None or type(get_ipython()).__name__ == "TerminalInteractiveShell":
            return False
        if self._handle is None:
            self._handle = display({"text/plain": line}, raw=True, display_id=True)
        else:
            self._handle.update({"text/plain": line}, raw=True)
        return True

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.seconds, self._handle = [], None
        if self.show:
            self._show(self._line(f"training, epoch 1/{self.params.get('epochs', '?')}"))

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.seconds.append(time.perf_counter() - self._start)
        if not self.show:
            return
        epochs = self.params.get("epochs") or epoch + 1
        median = sorted(self.seconds)[len(self.seconds) // 2]
        left = median * (epochs - epoch - 1)
        text = f"epoch {epoch + 1}/{epochs}, {sum(self.seconds):.0f} s so far" + (f", about {left:.0f} s left" if left else "")
        if not self._show(self._line(text, logs)):
            print(f"{self.prefix}{self.name} epoch {epoch + 1}: {self.seconds[-1]:.1f} s  "
                  + "  ".join(f"{key} {value:.4f}" for key, value in sorted((logs or {}).items())))
        self._last_logs = logs

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.show and self.seconds:
            self._show(self._line(f"done, {len(self.seconds)} epochs in {sum(self.seconds):.0f} s", self._last_logs))
