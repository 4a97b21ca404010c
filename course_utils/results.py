"""Recording what a notebook measured.

Every number a notebook's summary states is recorded with :func:`record`; the test run
collects ``build/results/<notebook>.json`` into the course's results table, so the
numbers in the prose, in the tests and in the closing report are the same numbers.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

from course_utils.machine import match_threads_to_machine
from course_utils.paths import build_dir
from course_utils.profile import PROFILE

_current_notebook: str | None = None


def start(notebook: str, seed: int = 42, quiet: bool = False, large_operations: bool = False) -> None:
    """Begin a notebook: name its results file, seed every RNG, size TensorFlow's threads, print the set-up.

    Call it in the first code cell, e.g. ``course_utils.start("03_multi_head_attention")``.
    ``large_operations=True`` asks for two threads per operation on a 2-CPU machine (a model with
    large matrix products, notebook 05's; see :func:`course_utils.machine.match_threads_to_machine`).
    """
    global _current_notebook
    _current_notebook = notebook
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras  # imported here so that light tools (doctor, fetch) stay fast

    threads_note = match_threads_to_machine(
        large_operations
    )  # before TensorFlow's first operation (course_utils.machine)
    keras.utils.set_random_seed(seed)
    path = results_path(notebook)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"_meta": _meta(notebook)}, indent=2) + "\n")
    if not quiet:
        print(
            f"{notebook}: profile={PROFILE}, seed={seed}, keras {keras.__version__} "
            f"(backend {keras.backend.backend()}), results -> {path.relative_to(path.parents[2])}"
        )
        if threads_note:
            print(threads_note)


def results_path(notebook: str) -> Path:
    return build_dir() / "results" / f"{notebook}.json"


def _meta(notebook: str) -> dict[str, Any]:
    return {
        "notebook": notebook,
        "profile": PROFILE,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def record(key: str, value: Any) -> Any:
    """Append one measured value to this notebook's results file and return it.

    ``value`` must be JSON-serialisable (NumPy scalars and arrays are converted).
    """
    notebook = _current_notebook or "unnamed"
    path = results_path(notebook)
    data = json.loads(path.read_text()) if path.exists() else {"_meta": _meta(notebook)}
    data[key] = _to_json(value)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)
    return value


def _to_json(value: Any) -> Any:
    if hasattr(value, "tolist"):  # NumPy / TF scalars and arrays
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    return value


def load_all_results(directory: Path | None = None) -> dict[str, dict[str, Any]]:
    """Read every ``build/results/*.json`` into ``{notebook: {key: value}}``."""
    directory = directory or build_dir() / "results"
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.json")):
        out[path.stem] = json.loads(path.read_text())
    return out
