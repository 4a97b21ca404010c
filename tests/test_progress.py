"""``python -m course_utils.progress``: every exercise's status, from the learner's notebooks.

Three real runs: the shipped notebooks (all "not attempted"), the solutions (all "passed"),
and copies of the shipped notebooks with planted mistakes (a wrong result, a syntax error, an
endless loop, an exception, a deleted exercise, a solved one). Each exercise runs in its own
process; the time limit is shortened to keep the endless loop's cost small.
"""

from __future__ import annotations

import importlib
import json
import shutil
import time
from pathlib import Path

import nbformat
import pytest

from course_utils import progress
from course_utils.paths import REPO_ROOT

pytestmark = pytest.mark.slow
NOTEBOOKS = REPO_ROOT / "notebooks"
SOLUTIONS = REPO_ROOT / "solutions"
TIMEOUT = 15.0  # CPU seconds: a correct check needs a few; the endless loop stops after 15


def test_exercises_come_from_the_checkers():
    found = progress.exercises()
    modules = sorted(p.stem for p in progress.CHECKS_DIR.glob("lesson[0-9][0-9].py"))
    assert [f"lesson{e.lesson}" for e in found] == modules
    for exercise in found:
        module = importlib.import_module(exercise.checker_module)
        assert exercise.name == module.EXERCISE
        assert callable(getattr(module, exercise.checker))
        notebook = progress.find_notebook(NOTEBOOKS, exercise.lesson)
        assert notebook is not None, f"no notebook for lesson {exercise.lesson}"
        assert progress.extract(notebook, exercise.name) is not None, (
            f"{notebook.name} defines no {exercise.name}"
        )
        assert "(no solution" not in progress.solution_location(exercise)


def test_setup_rule_takes_only_the_imports_and_constants_the_exercise_uses(tmp_path):
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "import numpy as np\nimport pandas as pd\nSCALE = 2.0\ndata = np.load('big.npy')"
            ),
            nbformat.v4.new_code_cell("%matplotlib inline\ndef double(x):\n    return SCALE * np.asarray(x)"),
        ]
    )
    path = tmp_path / "99_toy.ipynb"
    nbformat.write(nb, path)
    extracted = progress.extract(path, "double")
    assert extracted.setup.splitlines() == ["import numpy as np", "SCALE = 2.0"]
    assert extracted.cell_number == 2
    assert extracted.cell.splitlines()[0].startswith("pass  # %matplotlib")  # line numbers kept


def _statuses(rows):
    return {row.lesson: row.status for row in rows}


def test_shipped_notebooks_are_all_not_attempted():
    rows = progress.progress(NOTEBOOKS)  # the default limit, as make progress
    assert len(rows) == len(progress.exercises())
    assert set(_statuses(rows).values()) == {"not attempted"}, progress.format_table(rows)
    assert all("raise NotImplementedError" in row.hint for row in rows)


def test_solutions_all_pass():
    rows = progress.progress(SOLUTIONS)  # the default limit, as make progress
    assert set(_statuses(rows).values()) == {"passed"}, progress.format_table(rows)


def _replace_exercise_cell(path: Path, name: str, source: str | None) -> None:
    """Put ``source`` in place of the cell defining ``name`` (None: delete that cell)."""
    nb = nbformat.read(path, as_version=4)
    index = next(
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and (f"def {name}(" in c.source or f"class {name}(" in c.source)
    )
    if source is None:
        del nb.cells[index]
    else:
        nb.cells[index].source = source
    nbformat.write(nb, path)


def _solution_cell(lesson: str, name: str) -> str:
    path = progress.find_notebook(SOLUTIONS, lesson)
    nb = nbformat.read(path, as_version=4)
    return next(c.source for c in nb.cells if c.cell_type == "code" and f"def {name}(" in c.source)


LAST_STATE_ONLY = """def rnn_forward(x, W_x, W_h, b):
    h = np.zeros((x.shape[0], W_h.shape[0]))
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ W_x + h @ W_h + b)
    return h
"""
SYNTAX_ERROR = """def positional_encoding(max_len, d_model):
    angles = np.arange(max_len)[:, None] / 10000 ** (np.arange(d_model)[None, :] / d_model
    return angles
"""
ENDLESS = """def scaled_dot_product_attention(q, k, v, mask=None):
    steps = 0
    while steps >= 0:
        steps += 1
    return q
"""
RAISES = """def extract_patches(images, patch_size):
    batch = images.shape[0]
    return images.reshape(batch, -1, patch_size * patch_size * undefined_channels)
"""


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """Copies of the shipped notebooks with one planted case per lesson, checked once."""
    folder = tmp_path_factory.mktemp("handed_in")
    for path in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"):
        shutil.copy(path, folder / path.name)
    names = {e.lesson: e.name for e in progress.exercises()}
    nb = lambda lesson: progress.find_notebook(folder, lesson)  # noqa: E731
    _replace_exercise_cell(nb("01"), names["01"], LAST_STATE_ONLY)
    _replace_exercise_cell(nb("02"), names["02"], SYNTAX_ERROR)
    _replace_exercise_cell(nb("03"), names["03"], ENDLESS)
    _replace_exercise_cell(nb("06"), names["06"], RAISES)
    _replace_exercise_cell(nb("07"), names["07"], None)
    _replace_exercise_cell(nb("08"), names["08"], _solution_cell("08", names["08"]))
    start = time.perf_counter()
    rows = progress.progress(folder, timeout=TIMEOUT)
    seconds = time.perf_counter() - start
    print(progress.format_table(rows, width=100), f"\nchecked in {seconds:.0f} s")  # shown by pytest -rP
    return {row.lesson: row for row in rows}, seconds, folder


def test_planted_wrong_result_gets_the_checkers_hint(planted):
    from course_utils.checks import lesson01

    rows, _, _ = planted
    assert rows["01"].status == "not yet"
    assert rows["01"].hint == lesson01.HINT_LAST_STATE_ONLY
    assert rows["01"].solution.startswith("solutions/01_")


def test_planted_syntax_error_names_the_line(planted):
    rows, _, folder = planted
    assert rows["02"].status == "error"
    cell = progress.extract(progress.find_notebook(folder, "02"), "positional_encoding")
    assert rows["02"].hint.startswith(
        f"syntax error in cell {cell.cell_number} (the one that defines positional_encoding), line 2: "
    )
    assert rows["02"].seconds < 1, "a syntax error is found without starting a process"


def test_planted_endless_loop_is_stopped_at_the_time_limit(planted):
    rows, _, _ = planted
    assert rows["03"].status == "error"
    assert "time limit" in rows["03"].hint
    # At least the limit (a single thread cannot use more CPU time than clock time), at most the cap.
    assert TIMEOUT <= rows["03"].seconds < progress.WALL_FACTOR * TIMEOUT + 5


def test_planted_exception_names_the_learners_line(planted):
    rows, _, _ = planted
    assert rows["06"].status == "not yet"
    assert "NameError" in rows["06"].hint
    assert (
        "line 3: return images.reshape(batch, -1, patch_size * patch_size * undefined_channels)"
        in rows["06"].hint
    )


def test_planted_deleted_unchanged_and_solved(planted):
    rows, _, _ = planted
    assert rows["07"].status == "error" and "no code cell defines" in rows["07"].hint
    assert rows["04"].status == "not attempted"
    assert rows["08"].status == "passed"


def test_planted_table_json_and_room(planted, tmp_path, capsys):
    rows, _, folder = planted
    table = progress.format_table(list(rows.values()), width=100)
    for row in rows.values():
        assert row.status in table and row.exercise in table
    report = progress.to_json(list(rows.values()), folder)
    (tmp_path / "ana.json").write_text(json.dumps(report))
    (tmp_path / "ben.json").write_text("{not json")
    room = progress.room_table([tmp_path / "ana.json", tmp_path / "ben.json"])
    assert "ana" in room and "unreadable" in room
    for row in rows.values():
        assert f"{row.lesson} {row.exercise}: {int(row.status == 'passed')}/2 passed" in room


def test_command_line_writes_json_and_reports_missing_notebooks(tmp_path, capsys):
    folder = tmp_path / "only01"
    folder.mkdir()
    shutil.copy(progress.find_notebook(NOTEBOOKS, "01"), folder)
    out = tmp_path / "progress.json"
    assert progress.main(["--notebooks", str(folder), "--json", str(out), "--timeout", str(TIMEOUT)]) == 0
    printed = capsys.readouterr().out
    rows = {r["lesson"]: r for r in json.loads(out.read_text())["rows"]}
    assert rows["01"]["status"] == "not attempted"
    missing = [r for lesson, r in rows.items() if lesson != "01"]
    assert missing and all(r["status"] == "error" and "no notebook" in r["hint"] for r in missing)
    assert "not attempted" in printed and "no notebook" in printed
