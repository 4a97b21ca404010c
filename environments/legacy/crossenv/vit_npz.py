"""Export a vit-keras model's weights in Google's ``.npz`` layout (works with vit-keras 0.1.2
and 0.2.0, Keras 2 and Keras 3).

Why this format: both vit-keras versions load it by name with their own loader
(``vit_keras.utils.load_weights_numpy``, the loader behind ``vit_b32(pretrained=True)``), and
it is the format of Google's released weights. The layer names themselves differ (0.1.2:
``Transformer/encoderblock_0``; Keras 3 forbids ``/``, so 0.2.0: ``Transformer_encoderblock_0``),
so code that looks layers up by name does not travel. Keras weight files do travel too, but
only by layer order into an identically built model (tested in
``tests/test_vit_keras_versions.py::test_keras_weight_files_travel_both_ways``).

Pure NumPy plus ``layer.get_weights()``; imported by scripts in both environments.
"""

from __future__ import annotations

import numpy as np


def _get_layer(model, *names):
    """The first layer of ``model`` called one of ``names`` (the two versions' spellings)."""
    for name in names:
        for layer in model.layers:
            if layer.name == name:
                return layer
    raise KeyError(f"none of {names} in the model")


def _num_blocks(model) -> int:
    return sum(l.name.startswith(("Transformer/encoderblock_", "Transformer_encoderblock_")) for l in model.layers)


def google_params(model) -> dict[str, np.ndarray]:
    """``{google_key: array}`` for every weight of a vit-keras ``build_model`` model."""
    params: dict[str, np.ndarray] = {}
    for i in range(_num_blocks(model)):
        block = _get_layer(model, f"Transformer/encoderblock_{i}", f"Transformer_encoderblock_{i}")
        prefix = f"Transformer/encoderblock_{i}"
        for norm_name, norm in (("LayerNorm_0", block.layernorm1), ("LayerNorm_2", block.layernorm2)):
            scale, bias = norm.get_weights()
            params[f"{prefix}/{norm_name}/scale"], params[f"{prefix}/{norm_name}/bias"] = scale, bias
        dense_layers = [l for l in block.mlpblock.layers if l.__class__.__name__ == "Dense"]
        for j, dense in enumerate(dense_layers):
            kernel, bias = dense.get_weights()
            params[f"{prefix}/MlpBlock_3/Dense_{j}/kernel"], params[f"{prefix}/MlpBlock_3/Dense_{j}/bias"] = kernel, bias
        heads = block.att.num_heads
        for name, dense in (("query", block.att.query_dense), ("key", block.att.key_dense),
                            ("value", block.att.value_dense), ("out", block.att.combine_heads)):
            kernel, bias = dense.get_weights()
            hidden = kernel.shape[0]
            head_dim = hidden // heads
            if name == "out":  # Google: (heads, head_dim, hidden) and (hidden,)
                kernel = kernel.reshape(heads, head_dim, hidden)
            else:  # Google: (hidden, heads, head_dim) and (heads, head_dim)
                kernel, bias = kernel.reshape(hidden, heads, head_dim), bias.reshape(heads, head_dim)
            key = f"{prefix}/MultiHeadDotProductAttention_1/{name}"
            params[f"{key}/kernel"], params[f"{key}/bias"] = kernel, bias
    for name in ("embedding", "head"):
        kernel, bias = _get_layer(model, name).get_weights()
        params[f"{name}/kernel"], params[f"{name}/bias"] = kernel, bias
    (params["cls"],) = _get_layer(model, "class_token").get_weights()
    (params["Transformer/posembed_input/pos_embedding"],) = _get_layer(
        model, "Transformer/posembed_input", "Transformer_posembed_input").get_weights()
    scale, bias = _get_layer(model, "Transformer/encoder_norm", "Transformer_encoder_norm").get_weights()
    params["Transformer/encoder_norm/scale"], params["Transformer/encoder_norm/bias"] = scale, bias
    return params


def export_google_npz(model, path) -> int:
    """Write ``model``'s weights to ``path`` in Google's layout; return the number of arrays."""
    params = google_params(model)
    n_weights = len(model.weights)
    if len(params) != n_weights:
        raise AssertionError(f"exported {len(params)} arrays but the model has {n_weights} weights")
    np.savez(path, **params)
    return len(params)


def load_google_npz(model, path, image_size: int, patch_size: int) -> None:
    """Load ``path`` into ``model`` with vit-keras's own loader (as ``pretrained=True`` does)."""
    from vit_keras import utils

    grid = image_size // patch_size
    utils.load_weights_numpy(model=model, params_path=str(path), pretrained_top=True,
                             num_x_patches=grid, num_y_patches=grid)


# The tiny ViT both environments build (the course's architecture: 28x28, patch 4).
TINY_VIT = dict(image_size=28, patch_size=4, num_layers=4, hidden_size=64, num_heads=4,
                mlp_dim=128, classes=10, dropout=0.0, activation="linear")


def build_tiny_vit(name: str = "tiny_vit", config: dict | None = None):
    """A vit-keras ``build_model`` ViT with ``config`` (default :data:`TINY_VIT`)."""
    from vit_keras import vit

    return vit.build_model(name=name, **(config or TINY_VIT))


def block_attention_model(model):
    """A model returning every block's attention weights, found as ``attention_map`` finds them
    (by type among the top-level layers)."""
    import keras  # Keras 2.15 in the legacy environment (the same object as tf.keras), Keras 3 in the course's
    from vit_keras import layers

    outputs = [l.output[1] for l in model.layers if isinstance(l, layers.TransformerBlock)]
    return keras.models.Model(inputs=model.inputs, outputs=outputs)


def perturb_weights(model, seed: int, scale: float = 0.05) -> None:
    """Add small seeded noise to every weight, so that zero-initialised ones (class token,
    biases) and one-initialised ones (LayerNorm scales) also take distinct values: a
    mix-up of any two weights in an export would then change the outputs."""
    rng = np.random.default_rng(seed)
    model.set_weights([w + scale * rng.standard_normal(w.shape).astype(w.dtype) for w in model.get_weights()])
