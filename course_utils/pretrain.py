"""Pretrain the course's tiny ViT once and ship it: ``python -m course_utils.pretrain``.

Google's ViT weights cannot be fetched offline, so the course makes its own pretrained
ViT: vit-keras's ``build_model`` architecture (see :data:`course_utils.vision.TINY_VIT_CONFIG`),
trained from scratch on the Fashion-MNIST *training* images of 5 source classes
(:data:`course_utils.vision.SOURCE_CLASSES`). Notebook 07 then transfers it to the 5 other
classes, which it never saw.

The run is seeded (NumPy, Python, TensorFlow, plus TensorFlow's deterministic ops), takes a
few minutes on 2 CPU cores, shows one progress bar, and writes into ``--out``
(default ``course_utils/weights``):

* ``<name>.weights.h5`` -- the weights (vit-keras models hold ``Lambda`` layers, so the
  course ships weights and rebuilds the architecture with :func:`course_utils.vision.build_tiny_vit`);
* ``<name>.json`` -- the model card: architecture, data, classes and why, epochs, seconds,
  history, test accuracy on the source classes, the weights' sha256;
* ``<name>.md`` -- the same card for people.

Run it a second time with ``--out /tmp/rerun`` to check that it reproduces the shipped
accuracy without touching the shipped files.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from course_utils.data import FASHION_CLASSES, load_fashion_mnist  # noqa: E402
from course_utils.paths import WEIGHTS_DIR  # noqa: E402
from course_utils.training import EpochLog  # noqa: E402
from course_utils.vision.pipeline import accuracy, make_dataset, select_classes  # noqa: E402
from course_utils.vision.tiny_vit import (  # noqa: E402
    CLASS_CHOICE,
    SOURCE_CLASSES,
    TARGET_CLASSES,
    TINY_VIT_CONFIG,
    TINY_VIT_NAME,
    build_tiny_vit,
)
from course_utils.vision.weights import sha256_of  # noqa: E402

DEFAULTS = {
    "epochs": 8,
    "batch_size": 128,
    "learning_rate": 1e-3,
    "weight_decay": 0.05,
    "warmup_epochs": 1,
    "validation_images": 3000,
    "seed": 0,
}


class ProgressBar(keras.callbacks.Callback):
    """One tqdm bar over all training steps, with the latest loss and accuracy."""

    def __init__(self, total_steps: int):
        super().__init__()
        self.total_steps = total_steps

    def on_train_begin(self, logs=None):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=self.total_steps, desc="pretraining", unit=" steps", mininterval=1.0)

    def on_train_batch_end(self, batch, logs=None):
        self.bar.update(1)
        if batch % 20 == 0 and logs:
            self.bar.set_postfix(loss=f"{logs['loss']:.3f}", accuracy=f"{logs['accuracy']:.3f}")

    def on_epoch_end(self, epoch, logs=None):
        values = "  ".join(f"{k} {v:.4f}" for k, v in (logs or {}).items() if k != "learning_rate")
        self.bar.write(f"epoch {epoch + 1}/{self.params['epochs']}  {values}")

    def on_train_end(self, logs=None):
        self.bar.close()


def pretrain(
    epochs: int = DEFAULTS["epochs"],
    batch_size: int = DEFAULTS["batch_size"],
    learning_rate: float = DEFAULTS["learning_rate"],
    weight_decay: float = DEFAULTS["weight_decay"],
    warmup_epochs: int = DEFAULTS["warmup_epochs"],
    validation_images: int = DEFAULTS["validation_images"],
    seed: int = DEFAULTS["seed"],
    max_train_images: int | None = None,
    max_test_images: int | None = None,
    out_dir: Path = WEIGHTS_DIR,
    name: str = TINY_VIT_NAME,
    progress: bool = True,
) -> dict[str, Any]:
    """Train the tiny ViT on the source classes, write weights + card into ``out_dir``, return the card.

    ``max_train_images`` / ``max_test_images`` shrink the run (the unit test trains a few
    steps); the shipped checkpoint uses all 27,000 training and 5,000 test images.
    """
    keras.utils.set_random_seed(seed)  # Python, NumPy and TensorFlow generators
    tf.config.experimental.enable_op_determinism()  # same seed, same numbers (on the same machine)

    data = load_fashion_mnist()
    x_all, y_all = select_classes(data.x_train, data.y_train, SOURCE_CLASSES)
    x_test, y_test = select_classes(data.x_test, data.y_test, SOURCE_CLASSES)
    order = np.random.default_rng(seed).permutation(len(x_all))
    val_idx, train_idx = order[:validation_images], order[validation_images:]
    if max_train_images is not None:
        train_idx = train_idx[:max_train_images]
    if max_test_images is not None:
        x_test, y_test = x_test[:max_test_images], y_test[:max_test_images]
    size = TINY_VIT_CONFIG["image_size"]
    train_ds = make_dataset(x_all[train_idx], y_all[train_idx], size, batch_size, shuffle=True, seed=seed)
    val_ds = make_dataset(x_all[val_idx], y_all[val_idx], size, 256)

    model = build_tiny_vit(classes=len(SOURCE_CLASSES), name=name)
    steps_per_epoch = math.ceil(len(train_idx) / batch_size)
    total_steps = epochs * steps_per_epoch
    warmup_steps = min(warmup_epochs * steps_per_epoch, total_steps - 1)
    # Linear warm-up then cosine decay: the usual ViT schedule (the paper uses the same shape).
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0,
        decay_steps=max(total_steps - warmup_steps, 1),
        warmup_target=learning_rate,
        warmup_steps=warmup_steps,
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=schedule, weight_decay=weight_decay),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),  # the head outputs logits
        metrics=["accuracy"],
    )
    callbacks = [ProgressBar(total_steps)] if progress else [EpochLog("pretraining")]
    start = time.perf_counter()
    # shuffle=False: the tf.data pipeline already reshuffles every epoch (seeded)
    history = model.fit(
        train_ds, validation_data=val_ds, epochs=epochs, shuffle=False, verbose=0, callbacks=callbacks
    )
    train_seconds = time.perf_counter() - start
    test_accuracy = accuracy(model, x_test, y_test, size)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    weights_file = out_dir / f"{name}.weights.h5"
    model.save_weights(weights_file)
    card = {
        "name": name,
        "description": "The course's tiny Vision Transformer, pretrained on 5 Fashion-MNIST source classes "
        "for transfer to the 5 others (notebook 07).",
        "architecture": {
            "builder": "vit_keras.vit.build_model",
            **TINY_VIT_CONFIG,
            "classes": len(SOURCE_CLASSES),
            "activation": "linear (logits)",
            "tokens": (size // TINY_VIT_CONFIG["patch_size"]) ** 2 + 1,
            "parameters": int(model.count_params()),
            "input": "28×28 RGB (the grey image repeated), float32, vit.preprocess_inputs: pixel / 127.5 - 1",
            "rebuild": "course_utils.vision.build_tiny_vit(); model.load_weights(...)",
        },
        "data": {
            "dataset": "Fashion-MNIST (Zalando Research, MIT license)",
            "loaded_from": data.info.source,
            "source_classes": list(SOURCE_CLASSES),
            "source_class_names": [FASHION_CLASSES[c] for c in SOURCE_CLASSES],
            "label_order": "model output i = source_classes[i]",
            "target_classes": list(TARGET_CLASSES),
            "target_class_names": [FASHION_CLASSES[c] for c in TARGET_CLASSES],
            "why_these_classes": CLASS_CHOICE,
            "train_images": int(len(train_idx)),
            "validation_images": int(len(val_idx)),
            "test_images": int(len(x_test)),
            "split": f"training images of the source classes, seeded permutation (seed {seed}); "
            "the first validation_images are held out; test = the official test images of the source classes",
        },
        "training": {
            "epochs": epochs,
            "batch_size": batch_size,
            "optimizer": f"keras.optimizers.AdamW(weight_decay={weight_decay}) (decay is scaled by the "
            "learning rate)",
            "learning_rate": f"linear warm-up over {warmup_epochs} epoch(s) to {learning_rate}, then cosine "
            "decay to 0",
            "loss": "SparseCategoricalCrossentropy(from_logits=True)",
            "seed": seed,
            "deterministic_ops": True,
            "steps": total_steps,
            "seconds": round(train_seconds, 1),
            "history": {
                k: [round(float(v), 4) for v in vals]
                for k, vals in history.history.items()
                if k != "learning_rate"
            },
        },
        "results": {
            "test_accuracy": round(test_accuracy, 4),
            "final_validation_accuracy": round(float(history.history["val_accuracy"][-1]), 4),
            "chance": 1 / len(SOURCE_CLASSES),
        },
        "weights_file": weights_file.name,
        "sha256": sha256_of(weights_file),
        "environment": {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "vit_keras": _version("vit-keras"),
            "cpus": os.cpu_count(),
            "machine": platform.machine(),
        },
        "command": "python -m course_utils.pretrain"
        + ("" if out_dir == WEIGHTS_DIR else f" --out {out_dir}"),
        "created": time.strftime("%Y-%m-%d"),
    }
    (out_dir / f"{name}.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    (out_dir / f"{name}.md").write_text(card_markdown(card))
    return card


def _version(dist: str) -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def card_markdown(card: dict[str, Any]) -> str:
    """The model card for people, from the JSON card."""
    a, d, t, r = card["architecture"], card["data"], card["training"], card["results"]
    architecture = (
        f"`{a['builder']}`: {a['image_size']}×{a['image_size']} input, patch {a['patch_size']} "
        f"({a['tokens']} tokens with the class token), {a['num_layers']} layers, hidden {a['hidden_size']}, "
        f"{a['num_heads']} heads, MLP {a['mlp_dim']}, dropout {a['dropout']}, exact GELU; "
        f"{a['parameters']:,} parameters"
    )
    source = ", ".join(f"{n} ({c})" for n, c in zip(d["source_class_names"], d["source_classes"]))
    target = ", ".join(f"{n} ({c})" for n, c in zip(d["target_class_names"], d["target_classes"]))
    images = f"{d['train_images']:,} train, {d['validation_images']:,} validation, {d['test_images']:,} test"
    training = (
        f"{t['epochs']} epochs, batch {t['batch_size']}, {t['optimizer']}, {t['learning_rate']}, "
        f"seed {t['seed']}, deterministic ops"
    )
    return f"""# Model card: {card["name"]}

{card["description"]}

| | |
|---|---|
| architecture | {architecture} |
| input | {a["input"]} |
| output | {a["classes"]} logits, one per source class |
| data | {d["dataset"]}, from the {d["loaded_from"].removeprefix("Fashion-MNIST from the ")} |
| source classes (pretraining) | {source} |
| target classes (never seen; notebook 07) | {target} |
| images | {images} |
| training | {training} |
| time | {t["seconds"]:.0f} s of training on {card["environment"]["cpus"]} CPU cores |
| **test accuracy (source classes)** | **{r["test_accuracy"]:.2%}** (chance {r["chance"]:.0%}) |
| weights | `{card["weights_file"]}`, sha256 `{card["sha256"]}` |

**Why these classes.** {d["why_these_classes"]}

**Use.** `course_utils.vision.load_tiny_vit()` rebuilds the architecture, checks the sha256 above and
loads the weights; `include_top=False` gives the backbone (the class token's {a["hidden_size"]} features).

**Reproduce.** `{card["command"]}` (add `--out /tmp/rerun` to leave these files alone). Software:
Python {card["environment"]["python"]}, TensorFlow {card["environment"]["tensorflow"]}, Keras
{card["environment"]["keras"]}, vit-keras {card["environment"]["vit_keras"]}.

**Limits.** 28×28 grey clothing only; 5 classes; a few minutes of CPU training. It is a teaching
stand-in for Google's ViT-B/32 (ImageNet-21k), not a general-purpose image model.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.pretrain", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    parser.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    parser.add_argument(
        "--out",
        type=Path,
        default=WEIGHTS_DIR,
        help="output folder (default: the shipped course_utils/weights)",
    )
    parser.add_argument("--name", default=TINY_VIT_NAME)
    args = parser.parse_args(argv)
    card = pretrain(
        epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, out_dir=args.out, name=args.name
    )
    print(
        f"{card['name']}: test accuracy {card['results']['test_accuracy']:.2%} on the source classes, "
        f"{card['training']['seconds']:.0f} s of training; wrote {args.out / card['weights_file']} "
        f"(sha256 {card['sha256'][:12]}…) and its card"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
