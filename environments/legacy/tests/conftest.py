"""Shared set-up of the legacy tests: the legacy side's inputs, one run of the Keras 3 side
(in the course's own venv), and the results file.

The two stacks cannot live in one Python (tensorflow-addons 0.23 needs TF <= 2.15, the
course needs Keras 3), so the legacy tests write their inputs to a folder, run
``crossenv/keras3_side.py`` with the course's Python, and compare its outputs here.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

LEGACY_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = LEGACY_DIR.parents[1]
CROSSENV = LEGACY_DIR / "crossenv"
sys.path.insert(0, str(CROSSENV))

import vit_npz  # noqa: E402

# Numbers the tests measured, written to <repo>/build/results/legacy.json at the end so
# that they appear in the course's results table.
MEASURED: dict[str, object] = {}


def record(key: str, value) -> None:
    MEASURED[key] = value.item() if hasattr(value, "item") else value


def course_python() -> Path:
    """The course's Python (Keras 3): ``$COURSE_MAIN_PYTHON`` or ``<repo>/.venv/bin/python``."""
    path = Path(os.environ.get("COURSE_MAIN_PYTHON", REPO_ROOT / ".venv" / "bin" / "python"))
    if not path.exists():
        pytest.fail(f"the course's environment is missing ({path}): run `make setup` at the repository root first, "
                    "the legacy tests compare against it")
    return path


# The problems both sides solve ---------------------------------------------------------------
GELU_X = np.concatenate([np.linspace(-6.0, 6.0, 2401), np.random.default_rng(0).normal(0, 2, 1000)]).astype("float32")
ADAMW_LR = 1e-3
ADAMW_WD_TFA = 1e-2  # large enough for the unconverted mistake to show
ADAMW_STEPS = 10


def adamw_problem() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    w0 = rng.normal(0, 1, (8, 5)).astype("float32")
    grads = rng.normal(0, 0.1, (ADAMW_STEPS, 8, 5)).astype("float32")
    return w0, grads


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("crossenv")


@pytest.fixture(scope="session")
def legacy_vit(workdir):
    """A seeded tiny ViT built by vit-keras 0.1.2, exported to ``legacy_vit.npz`` (Google's
    layout) and ``legacy_vit.h5`` (Keras 2 ``save_weights``)."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(3)
    model = vit_npz.build_tiny_vit("legacy_own")
    vit_npz.perturb_weights(model, seed=3)
    vit_npz.export_google_npz(model, workdir / "legacy_vit.npz")
    model.save_weights(workdir / "legacy_vit.h5")  # Keras 2's HDF5 weights file, as old code saved them
    return model


@pytest.fixture(scope="session")
def keras3(workdir, legacy_vit):
    """Run the Keras 3 side once; its outputs (dict of arrays) and versions."""
    w0, grads = adamw_problem()
    np.savez(workdir / "legacy_inputs.npz", gelu_x=GELU_X, adamw_w0=w0, adamw_grads=grads,
             adamw_lr=np.float32(ADAMW_LR), adamw_wd_tfa=np.float32(ADAMW_WD_TFA))
    start = time.perf_counter()
    done = subprocess.run([str(course_python()), str(CROSSENV / "keras3_side.py"), str(workdir)],
                          capture_output=True, text=True, cwd=CROSSENV, timeout=600)
    if done.returncode != 0:
        pytest.fail(f"the Keras 3 side failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    record("keras3_side_seconds", round(time.perf_counter() - start, 1))
    outputs = dict(np.load(workdir / "keras3_outputs.npz"))
    meta = json.loads((workdir / "keras3_meta.json").read_text())
    return outputs, meta


def _build_dir() -> Path:
    env = os.environ.get("COURSE_BUILD_DIR")
    return Path(env).expanduser() if env else REPO_ROOT / "build"


def pytest_sessionfinish(session, exitstatus) -> None:
    if not MEASURED:
        return
    import tensorflow as tf
    import importlib.metadata as md

    meta = {"notebook": "legacy", "environment": "environments/legacy", "python": platform.python_version(),
            "tensorflow": tf.__version__, "tensorflow_addons": md.version("tensorflow-addons"),
            "vit_keras": md.version("vit-keras"), "tests_exit_status": int(exitstatus),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    out = _build_dir() / "results" / "legacy.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"_meta": meta, **dict(sorted(MEASURED.items()))}, indent=2) + "\n")
