"""course_utils.attention: the from-scratch attention equals Keras's.

The key test draws random configurations (heads, key_dim != embed_dim // heads,
value_dim != key_dim, self- and cross-attention, padding / random / causal masks), loads
Keras's weights into ours unchanged and asserts equal outputs and attention scores.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from course_utils.attention import (
    MultiHeadAttention,
    causal_mask,
    count_mha_parameters,
    padding_mask,
    scaled_dot_product_attention,
)
from tests.keras_round_trip import assert_keras_round_trip

TOL = 1e-5


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# --------------------------------------------------------------------------------------
# scaled_dot_product_attention
# --------------------------------------------------------------------------------------


def test_sdpa_matches_the_formula_written_out():
    rng = np.random.default_rng(0)
    q, k, v = rng.normal(size=(3, 4)), rng.normal(size=(6, 4)), rng.normal(size=(6, 2))
    out, weights = scaled_dot_product_attention(q.astype("float32"), k.astype("float32"), v.astype("float32"))
    expected_w = _softmax(q @ k.T / 2.0)  # sqrt(d_k) = sqrt(4) = 2
    np.testing.assert_allclose(_np(weights), expected_w, atol=TOL)
    np.testing.assert_allclose(_np(out), expected_w @ v, atol=TOL)
    np.testing.assert_allclose(_np(weights).sum(-1), 1.0, atol=TOL)


def test_sdpa_mask_blocks_keys_and_rows_still_sum_to_one():
    rng = np.random.default_rng(1)
    q, k, v = (rng.normal(size=(2, 5, 4)).astype("float32") for _ in range(3))
    mask = np.ones((2, 1, 5), dtype=bool)
    mask[0, 0, 3:] = False
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    weights = _np(weights)
    assert np.all(weights[0, :, 3:] == 0.0)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=TOL)
    # Changing the blocked values changes nothing.
    v2 = v.copy()
    v2[0, 3:] = 100.0
    np.testing.assert_allclose(_np(scaled_dot_product_attention(q, k, v2, mask)[0]), _np(out), atol=TOL)


def test_sdpa_fully_blocked_row_gets_zero_weights_like_keras():
    q = k = v = np.ones((1, 2, 3), dtype="float32")
    mask = np.array([[[True, True], [False, False]]])
    _, weights = scaled_dot_product_attention(q, k, v, mask)
    assert np.all(_np(weights)[0, 1] == 0.0)


def test_mask_helpers():
    ids = np.array([[5, 7, 0, 0], [1, 2, 3, 4]])
    pad = _np(padding_mask(ids))
    assert pad.shape == (2, 1, 4) and pad.dtype == bool
    assert pad[0, 0].tolist() == [True, True, False, False] and pad[1].all()
    causal = _np(causal_mask(3))
    assert causal.tolist() == [[True, False, False], [True, True, False], [True, True, True]]
    assert _np(causal_mask(2, 4)).shape == (2, 4)


def test_causal_mask_makes_outputs_independent_of_the_future():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(1, 6, 4)).astype("float32")
    out, _ = scaled_dot_product_attention(x, x, x, causal_mask(6))
    changed = x.copy()
    changed[0, 4:] = rng.normal(size=(2, 4))
    out2, _ = scaled_dot_product_attention(changed, changed, changed, causal_mask(6))
    np.testing.assert_allclose(_np(out)[0, :4], _np(out2)[0, :4], atol=TOL)


# --------------------------------------------------------------------------------------
# MultiHeadAttention == keras.layers.MultiHeadAttention
# --------------------------------------------------------------------------------------


def _pair(num_heads, key_dim, value_dim, query, value, key=None):
    """A Keras MHA and ours, both built on these inputs, ours holding Keras's weights."""
    theirs = keras.layers.MultiHeadAttention(num_heads=num_heads, key_dim=key_dim, value_dim=value_dim)
    ours = MultiHeadAttention(num_heads=num_heads, key_dim=key_dim, value_dim=value_dim)
    theirs(query, value, key)
    ours(query, value, key)
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    ours.set_weights(theirs.get_weights())
    return theirs, ours


def _random_configuration(rng):
    num_heads = int(rng.integers(1, 5))
    embed_dim = int(rng.choice([8, 12, 16]))
    key_dim = int(rng.choice([3, 5, embed_dim // num_heads or 1, embed_dim]))
    value_dim = None if rng.random() < 0.3 else int(rng.choice([2, 4, 7]))
    batch, t_q = int(rng.integers(1, 4)), int(rng.integers(2, 9))
    cross = bool(rng.random() < 0.5)
    t_k = int(rng.integers(2, 9)) if cross else t_q
    kind = str(rng.choice(["none", "padding", "random", "causal"]))
    query = rng.normal(size=(batch, t_q, embed_dim)).astype("float32")
    if cross:  # a different width for key/value than for the query
        width = int(rng.choice([6, 10]))
        value = rng.normal(size=(batch, t_k, width)).astype("float32")
        key = rng.normal(size=(batch, t_k, width)).astype("float32") if rng.random() < 0.5 else None
    else:
        value, key = query, None
    mask = None
    if kind == "padding":
        lengths = rng.integers(1, t_k + 1, size=batch)
        mask = np.broadcast_to(
            (np.arange(t_k)[None, :] < lengths[:, None])[:, None, :], (batch, t_q, t_k)
        ).copy()
    elif kind == "random":
        mask = rng.random((batch, t_q, t_k)) < 0.6
        mask[..., 0] = True  # every query keeps at least one key
    return dict(
        num_heads=num_heads,
        key_dim=key_dim,
        value_dim=value_dim,
        query=query,
        value=value,
        key=key,
        mask=mask,
        causal=kind == "causal",
    )


@pytest.mark.parametrize("seed", range(12))
def test_own_mha_equals_keras_on_random_configurations(seed):
    config = _random_configuration(np.random.default_rng(1000 + seed))
    theirs, ours = _pair(
        config["num_heads"],
        config["key_dim"],
        config["value_dim"],
        config["query"],
        config["value"],
        config["key"],
    )
    kwargs = dict(
        attention_mask=config["mask"], return_attention_scores=True, use_causal_mask=config["causal"]
    )
    out_k, scores_k = theirs(config["query"], config["value"], config["key"], **kwargs)
    out_o, scores_o = ours(config["query"], config["value"], config["key"], **kwargs)
    assert out_o.shape == out_k.shape and scores_o.shape == scores_k.shape
    assert np.abs(_np(out_o) - _np(out_k)).max() <= TOL, config
    assert np.abs(_np(scores_o) - _np(scores_k)).max() <= TOL, config


def test_random_configurations_cover_the_cases_that_matter():
    configs = [_random_configuration(np.random.default_rng(1000 + seed)) for seed in range(12)]
    assert any(c["key"] is not None or c["value"].shape != c["query"].shape for c in configs), (
        "no cross-attention"
    )
    assert any(c["value"] is c["query"] for c in configs), "no self-attention"
    assert any(c["mask"] is not None for c in configs) and any(c["causal"] for c in configs), "no masks"
    assert any(c["key_dim"] != c["query"].shape[-1] // c["num_heads"] for c in configs)
    assert any(c["value_dim"] is not None and c["value_dim"] != c["key_dim"] for c in configs)


@pytest.mark.parametrize(
    "num_heads, key_dim, value_dim, cross, mask_kind",
    [
        (2, 16, None, False, None),  # the seed's key_dim = embed_dim
        (4, 3, 5, False, "padding"),  # key_dim != embed_dim // heads, value_dim != key_dim
        (3, 4, 6, True, "padding"),  # cross-attention with a mask
        (2, 8, None, False, "causal"),
    ],
)
def test_own_mha_equals_keras_named_cases(num_heads, key_dim, value_dim, cross, mask_kind):
    rng = np.random.default_rng(7)
    query = rng.normal(size=(2, 5, 16)).astype("float32")
    value = rng.normal(size=(2, 7, 10)).astype("float32") if cross else query
    t_k = value.shape[1]
    mask = None
    if mask_kind == "padding":
        mask = np.ones((2, 5, t_k), dtype=bool)
        mask[0, :, t_k - 2 :] = False
    theirs, ours = _pair(num_heads, key_dim, value_dim, query, value)
    causal = mask_kind == "causal"
    a = theirs(query, value, attention_mask=mask, use_causal_mask=causal)
    b = ours(query, value, attention_mask=mask, use_causal_mask=causal)
    assert np.abs(_np(a) - _np(b)).max() <= TOL


def test_own_mha_is_concatenate_then_project():
    """The output equals: per-head attention, heads concatenated, one matrix multiply."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(1, 4, 8)).astype("float32")
    layer = MultiHeadAttention(num_heads=2, key_dim=3, value_dim=5)
    out, scores = layer(x, x, return_attention_scores=True)
    wq, bq, wk, bk, wv, bv, wo, bo = layer.get_weights()
    heads = []
    for h in range(2):
        q = x[0] @ wq[:, h] + bq[h]
        k = x[0] @ wk[:, h] + bk[h]
        v = x[0] @ wv[:, h] + bv[h]
        weights = _softmax(q @ k.T / np.sqrt(3))
        np.testing.assert_allclose(weights, _np(scores)[0, h], atol=TOL)
        heads.append(weights @ v)
    concatenated = np.concatenate(heads, axis=-1)  # (4, 2*5)
    expected = concatenated @ wo.reshape(2 * 5, 8) + bo
    np.testing.assert_allclose(_np(out)[0], expected, atol=TOL)


def test_parameter_count_formula_matches_keras():
    for embed_dim, heads, key_dim, value_dim in [(32, 2, 32, None), (32, 2, 16, None), (64, 8, 8, 4)]:
        layer = keras.layers.MultiHeadAttention(num_heads=heads, key_dim=key_dim, value_dim=value_dim)
        x = np.zeros((1, 3, embed_dim), dtype="float32")
        layer(x, x)
        assert layer.count_params() == count_mha_parameters(embed_dim, heads, key_dim, value_dim)


def test_dropout_only_in_training():
    x = np.random.default_rng(4).normal(size=(2, 6, 8)).astype("float32")
    layer = MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.5)
    a = _np(layer(x, x, training=False))
    b = _np(layer(x, x, training=False))
    np.testing.assert_array_equal(a, b)
    assert np.abs(_np(layer(x, x, training=True)) - a).max() > 1e-3


def test_config_and_keras_round_trip(tmp_path):
    inputs = keras.Input((None, 12))
    x = MultiHeadAttention(num_heads=3, key_dim=5, value_dim=2, name="own_mha")(
        inputs, inputs, use_causal_mask=True
    )
    model = keras.Model(inputs, x)
    data = np.random.default_rng(5).normal(size=(2, 7, 12)).astype("float32")
    loaded = assert_keras_round_trip(model, data, tmp_path, "mha")
    assert isinstance(loaded.get_layer("own_mha"), MultiHeadAttention)
    config = loaded.get_layer("own_mha").get_config()
    assert (config["num_heads"], config["key_dim"], config["value_dim"]) == (3, 5, 2)
    rebuilt = MultiHeadAttention.from_config(config)
    assert rebuilt.value_dim == 2


def test_value_dim_defaults_to_key_dim():
    assert MultiHeadAttention(num_heads=2, key_dim=6).value_dim == 6
