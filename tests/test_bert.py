"""course_utils.bert and course_utils.bert_encoder: all-MiniLM-L6-v2 in the course's own layers.

The reference nobody here wrote: sentence-transformers 6.2 (PyTorch) embeddings of texts the
course never uses elsewhere (accents, emoji, numbers, one text longer than 256 word pieces),
made by ``environments/golden_minilm/make_golden.py`` and committed as ``golden.npz``; and the
similarities published on sbert.net. The test needs neither PyTorch nor sentence-transformers.
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import keras
import numpy as np
import pytest

from course_utils import bert
from course_utils.bert_encoder import (
    BertConfig,
    bert_parameter_count,
    build_bert_encoder,
)
from course_utils.layers import BertEmbeddings, MeanPool

GOLDEN = Path(__file__).resolve().parents[1] / "environments" / "golden_minilm" / "golden.npz"


@pytest.fixture(scope="module")
def loaded():
    return bert.shared_encoder()


def test_matches_sentence_transformers_on_unseen_texts(loaded):
    golden = np.load(GOLDEN)
    texts = [str(t) for t in golden["texts"]]
    assert len(texts) >= 10 and golden["word_pieces"].max() > bert.MAX_WORD_PIECES
    ours = bert.sentence_embeddings(texts, batch_size=4)
    assert ours.shape == (len(texts), 384) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(ours, golden["embeddings"], atol=1e-5)
    # the same texts in another order and batch size give the same vectors
    again = bert.sentence_embeddings(texts[::-1], batch_size=64)[::-1]
    np.testing.assert_allclose(again, ours, atol=1e-5)


def test_published_similarities(loaded):
    # https://sbert.net/docs/quickstart.html (all-MiniLM-L6-v2): 0.6660, 0.1046, 0.1411
    e = bert.sentence_embeddings(
        ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
    )
    sims = e @ e.T
    assert [round(float(sims[0, 1]), 4), round(float(sims[0, 2]), 4), round(float(sims[1, 2]), 4)] == [
        0.6660,
        0.1046,
        0.1411,
    ]


def test_every_tensor_mapped_and_every_weight_set_once(loaded):
    rows = loaded.mapping_rows
    used = [r for r in rows if r["how"] != "unused"]
    assert len(rows) == 104  # tensors in model.safetensors
    assert len({r["keras"] for r in used}) == len(used) == len(loaded.encoder.weights)
    assert {r["checkpoint"] for r in rows if r["how"] == "unused"} == set(bert.UNUSED)
    assert loaded.encoder.count_params() == bert_parameter_count(loaded.config) == 22_565_376
    assert bert_parameter_count(loaded.config, pooler=True) == 22_713_216  # the model card's 22.7 M


def test_assign_weights_refuses_a_wrong_shape():
    encoder = build_bert_encoder(
        BertConfig(vocab_size=50, max_positions=16, embed_dim=8, num_layers=1, num_heads=2, ff_dim=12)
    )
    tensors = {"embeddings.word_embeddings.weight": np.zeros((51, 8), "float32")}
    mapping = [
        bert.WeightMapping(
            "embeddings.word_embeddings.weight", "embeddings/token_embeddings/embeddings", "copy"
        )
    ]
    with pytest.raises(bert.BertModelError, match="cannot become"):
        bert.assign_weights(encoder, tensors, mapping)


def test_tokenizer_truncates_at_256_and_pads_per_batch():
    tokenizer = bert.load_tokenizer()
    batch = bert.tokenize(["short text", "a somewhat longer text than the first"], tokenizer)
    assert batch["token_ids"].shape[1] < 128  # not padded to the shipped 128
    assert batch["attention_mask"][0].sum() == 4  # [CLS] short text [SEP]
    long = bert.tokenize(["word " * 600], tokenizer)
    assert long["token_ids"].shape == (1, 256) and long["token_ids"][0, -1] == 102  # [SEP] kept at the end
    pieces = tokenizer.encode("Crème Brûlée").tokens
    assert (
        pieces[0] == "[CLS]" and pieces[-1] == "[SEP]" and pieces[1:3] == ["cr", "##eme"]
    )  # lower-cased, accents stripped, sub-words


def test_files_are_verified_and_a_missing_package_names_the_fix(monkeypatch):
    paths = bert.verify_files()
    assert set(paths) == set(bert.FILES)

    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(bert.BertModelError, match="make setup"):
        bert.model_folder()


def test_model_card_facts():
    paths = bert.verify_files()
    card = paths["README.md"].read_text(encoding="utf-8")
    assert "license: apache-2.0" in card
    config = json.loads(paths["config.json"].read_text())
    assert (config["num_hidden_layers"], config["hidden_size"], config["num_attention_heads"]) == (6, 384, 12)


def test_small_encoder_keras_round_trip(tmp_path):
    config = BertConfig(vocab_size=40, max_positions=12, embed_dim=8, num_layers=2, num_heads=2, ff_dim=16)
    encoder = build_bert_encoder(config)
    ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    mask = keras.Input(shape=(None,), dtype="int32", name="attention_mask")
    out = MeanPool()([encoder({"token_ids": ids, "attention_mask": mask}), mask])
    model = keras.Model({"token_ids": ids, "attention_mask": mask}, out)
    batch = {
        "token_ids": np.array([[2, 5, 7, 0], [3, 4, 0, 0]], "int32"),
        "attention_mask": np.array([[1, 1, 1, 0], [1, 1, 0, 0]], "int32"),
    }
    before = model.predict(batch, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(batch, verbose=0), before, atol=1e-6)
    assert any(isinstance(layer, BertEmbeddings) for layer in loaded.get_layer(encoder.name).layers)
    # padding content does not change the embedding
    changed = {"token_ids": batch["token_ids"].copy(), "attention_mask": batch["attention_mask"]}
    changed["token_ids"][1, 2:] = 9
    np.testing.assert_allclose(model.predict(changed, verbose=0), before, atol=1e-5)


def test_doctor_reports_the_text_model(monkeypatch):
    from course_utils import doctor

    check = doctor.check_text_model()
    assert check.status == "ok" and "sha256 of 7 files verified" in check.detail

    def broken():
        raise bert.BertModelError(
            "model.safetensors does not match its checksum. Fix: `make setup` reinstalls it."
        )

    monkeypatch.setattr(bert, "verify_files", broken)
    check = doctor.check_text_model()
    assert check.status == "problem" and "make setup" in check.fix
