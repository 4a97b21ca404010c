"""The pretraining script, on a tiny run (a few steps): files, card, sha256, loadable, seeded.

The runs happen in a subprocess because ``pretrain`` switches on TensorFlow's deterministic
ops for the whole process, which other tests should not inherit.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from course_utils import vision

SCRIPT = """
import json, sys
from pathlib import Path
from course_utils.pretrain import pretrain
out = Path(sys.argv[1])
cards = [pretrain(epochs=1, batch_size=32, max_train_images=64, validation_images=32, max_test_images=64,
                  out_dir=out / run, progress=False) for run in ("a", "b")]
print(json.dumps([c["results"]["test_accuracy"] for c in cards]))
"""


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("pretrain")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(out)], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out, json.loads(done.stdout.strip().splitlines()[-1]), done.stdout


@pytest.mark.slow
def test_tiny_run_writes_weights_and_a_complete_card(tiny_runs):
    out, accuracies, stdout = tiny_runs
    folder = out / "a"
    card = json.loads((folder / f"{vision.TINY_VIT_NAME}.json").read_text())
    assert card["sha256"] == vision.sha256_of(folder / card["weights_file"])
    assert card["results"]["test_accuracy"] == accuracies[0]
    assert card["data"]["train_images"] == 64 and card["data"]["test_images"] == 64
    assert (
        card["training"]["epochs"] == 1 and card["training"]["steps"] == 2 and card["training"]["seconds"] > 0
    )
    assert 0.0 <= card["results"]["test_accuracy"] <= 1.0
    assert card["architecture"]["parameters"] == vision.build_tiny_vit().count_params()
    assert (
        (folder / f"{vision.TINY_VIT_NAME}.md")
        .read_text()
        .startswith(f"# Model card: {vision.TINY_VIT_NAME}")
    )
    assert "pretraining  epoch 1/1  accuracy" in stdout  # the one-line progress without the bar
    model = vision.load_tiny_vit(weights_dir=folder)  # loads through the sha256 check
    assert tuple(model.output_shape) == (None, 5)


@pytest.mark.slow
def test_same_seed_gives_the_same_weights(tiny_runs):
    out, accuracies, _ = tiny_runs
    first, second = (vision.load_tiny_vit(weights_dir=out / run) for run in ("a", "b"))
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)  # bit for bit: seeded, deterministic ops
    assert accuracies[0] == accuracies[1]
