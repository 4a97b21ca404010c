# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3.11 (transformers-course)
#     language: python
#     name: transformers-course
# ---

# %% [markdown]
# # 04 · A Transformer text classifier: solutions
#
# The completed exercise of notebook 04, the seed's `TransformerBlock`, checked by its
# checker, then compared with the course's block on a real review's embeddings.

# %%
import keras
import numpy as np
from keras import layers, ops

import course_utils
from course_utils.checks import check_transformer_block
from course_utils.data import load_reviews
from course_utils.layers import TokenAndPositionEmbedding
from course_utils.layers import TransformerBlock as CourseTransformerBlock

course_utils.start("04_transformer_text_classifier_solutions")


# %% [markdown]
# ## Exercise: the `TransformerBlock` class
#
# Post-LN, as in the seed: each sublayer's output (after dropout) is **added** to its input
# (the skip connection) and the sum is normalised.

# %%
class TransformerBlock(layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1, **kwargs):
        super().__init__(**kwargs)
        self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn = keras.Sequential([layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)])
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)

    def call(self, inputs, training=None):
        attn_output = self.att(inputs, inputs)  # self-attention: query = value = inputs
        attn_output = self.dropout1(attn_output, training=training)
        out1 = self.layernorm1(inputs + attn_output)  # skip connection, then normalise
        ffn_output = self.ffn(out1)
        ffn_output = self.dropout2(ffn_output, training=training)
        return self.layernorm2(out1 + ffn_output)  # second skip connection, then normalise


# %%
result = check_transformer_block(TransformerBlock)
assert result.passed, result.hint

# %% [markdown]
# ## The same numbers as the course's block, on a real review
#
# Embed a real review with a fresh `TokenAndPositionEmbedding`, build both blocks, copy the
# course block's weights into ours (same order), and compare in inference mode.

# %%
reviews = load_reviews()
vectorize = layers.TextVectorization(max_tokens=2000, output_sequence_length=32)
vectorize.adapt(reviews.x_train[:2000])
ids = vectorize(reviews.x_test[:4]).numpy()
x = TokenAndPositionEmbedding(32, 2000, 32)(ids)

ours, course = TransformerBlock(32, 2, 32), CourseTransformerBlock(32, 2, 32)
ours(x), course(x)
ours.set_weights(course.get_weights())
difference = np.abs(ops.convert_to_numpy(ours(x, training=False)) - ops.convert_to_numpy(course(x, training=False))).max()
print(f"max abs difference from course_utils.layers.TransformerBlock: {difference:.1e}")
assert difference < 1e-5
course_utils.record("exercise_passed", bool(result.passed))
course_utils.record("max_abs_diff_vs_course_block", difference);
