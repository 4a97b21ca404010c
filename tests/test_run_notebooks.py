"""The notebook tests (tests/run_notebooks.py) store what they executed for the website.

Two throwaway notebooks run through pytest in a subprocess, with a temporary build folder:
the one that passes lands in the website's cache under the key tools/book.py computes for it,
with the metadata of that run and the outputs Jupyter would show; the one that fails does not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.run_notebooks import book_tool

ROOT = Path(__file__).resolve().parents[1]
book = book_tool()

START = "import course_utils\ncourse_utils.start({name!r}, quiet=True)"
# A line rewritten in place, as course_utils.training.EpochLog does each epoch.
UPDATED_DISPLAY = (
    "from IPython.display import display\n"
    "handle = display({'text/plain': 'epoch 1/2'}, raw=True, display_id=True)\n"
    "handle.update({'text/plain': 'done, 2 epochs'}, raw=True)"
)


def _notebook(path: Path, *sources: str) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell(f"# {path.stem}")]
    notebook.cells += [nbformat.v4.new_code_cell(source) for source in sources]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


@pytest.mark.slow
def test_a_notebook_that_passes_lands_in_the_website_cache_and_one_that_fails_does_not(
    tmp_path, monkeypatch, capsys
):
    passes = _notebook(
        tmp_path / "notebooks" / "zz_cache_probe.ipynb",
        START.format(name="zz_cache_probe"),
        UPDATED_DISPLAY,
        "print('hello from the kernel')\ncourse_utils.record('answer', 42)",
    )
    fails = _notebook(
        tmp_path / "notebooks" / "zz_cache_fails.ipynb",
        START.format(name="zz_cache_fails"),
        "assert 1 + 1 == 3, 'a claim that does not hold'",
        "print('never reached')",
    )
    build = tmp_path / "build"
    env = {**os.environ, "COURSE_BUILD_DIR": str(build)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.run_notebooks", "-c", str(ROOT / "pyproject.toml")]
        + ["--rootdir", str(ROOT), str(passes), str(fails)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 1, out  # the failing notebook fails the run
    assert "zz_cache_fails.ipynb, Cell 1:" in out and "a claim that does not hold" in out, out
    assert "SKIPPED" in out and "Cell 1 failed; the notebook runs top to bottom" in out, out
    assert "stored 1 notebook(s) that passed" in out, out

    # the key and the place are those the website's builder computes (same build folder)
    monkeypatch.setattr(book, "EXECUTED", build / "executed")
    key = book.cache_key(passes, book.dependency_digest(), book.profile())
    stored_nb, stored_meta = book.cached_paths(book.notebook_at(passes), key)
    assert stored_nb.exists() and stored_meta.exists(), sorted(p.name for p in build.rglob("*"))
    assert not list((build / "executed").rglob("zz_cache_fails.*.ipynb"))

    record = json.loads(stored_meta.read_text())
    assert record["key"] == key and record["executed_by"] == book.EXECUTED_BY_TESTS
    assert record["results"]["_meta"]["notebook"] == "zz_cache_probe"
    assert record["results"]["answer"] == 42
    assert record["profile"] == book.profile() and record["machine"]["cpu_model"]
    assert 0 < record["executed_seconds"] < 600

    executed = nbformat.read(stored_nb, as_version=4)
    code = [cell for cell in executed.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == [1, 2, 3]
    shown = [out.get("data", {}).get("text/plain") for out in code[1].outputs]
    assert shown == ["done, 2 epochs"]  # the display as Jupyter shows it after its update
    assert code[2].outputs[0].text == "hello from the kernel\n"
    assert executed.metadata.language_info.name == "python"
    # the clean notebook is untouched (the repository keeps notebooks without outputs)
    assert all(not cell.get("outputs") for cell in nbformat.read(passes, as_version=4).cells)

    # and the website's execute step finds it: nothing is executed again
    monkeypatch.setattr(book, "selected", lambda only: [book.notebook_at(passes)])
    assert book.execute(None) == 0
    printed = capsys.readouterr().out
    assert "book: executed 0 notebook(s)" in printed and "reused 1 of 1" in printed, printed
    assert f"1 executed by {book.EXECUTED_BY_TESTS}" in printed, printed
