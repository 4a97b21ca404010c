"""``python -m course_utils.progress``: every exercise's status, from the learner's notebooks.

Three real runs: the shipped notebooks (all "not attempted"), the solutions (all "passed"),
and copies of the shipped notebooks with planted mistakes (a wrong result, a syntax error, an
endless loop, an exception, a deleted exercise, a solved one; lesson 03's second checker and
lesson 05's each with a typical mistake). Each exercise runs in its own
process; the time limit is shortened to keep the endless loop's cost small.
"""

from __future__ import annotations

import importlib
import inspect
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


def test_one_exercise_per_checker_from_the_checks_table():
    """Every check_* of every checks/lessonNN.py is a row (lesson03 has two), with the learner's
    names its checker takes, found in the shipped notebook and in a solution."""
    found = progress.exercises()
    expected = []
    for path in sorted(progress.CHECKS_DIR.glob("lesson[0-9][0-9].py")):
        module = importlib.import_module(f"course_utils.checks.{path.stem}")
        expected += [(path.stem[-2:], name) for name in module.__all__ if name.startswith("check_")]
    assert sorted((e.lesson, e.checker) for e in found) == sorted(expected)
    assert [e.checker for e in found if e.lesson == "03"] == [
        "check_scaled_dot_product_attention",
        "check_split_merge_heads",
    ]
    assert {e.lesson for e in found} >= {"01", "02", "03", "04", "05", "06", "07", "08"}
    for exercise in found:
        checker = getattr(importlib.import_module(exercise.checker_module), exercise.checker)
        required = [
            p for p in inspect.signature(checker).parameters.values() if p.default is inspect.Parameter.empty
        ]
        assert len(required) == len(exercise.names), exercise
        notebook = progress.find_notebook(NOTEBOOKS, exercise.lesson)
        assert notebook is not None, f"no notebook for lesson {exercise.lesson}"
        extracted = progress.extract(notebook, exercise.names)
        assert extracted is not None and not extracted.missing, f"{notebook.name} lacks {exercise.names}"
        assert "(no solution" not in progress.solution_location(exercise)


def test_checks_table_rules(tmp_path):
    """A module with two checkers gives two rows, in definition order, names from the label;
    a checker whose label does not match its parameters is an error naming the file."""
    (tmp_path / "lesson42.py").write_text(
        'from x import run_checker\n__all__ = ["check_b", "check_a"]\nEXERCISE = "f"\n'
        "def check_a(fn, verbose=True):\n    return run_checker(EXERCISE, None)\n"
        "def check_b(g, h, verbose=True):\n    return run_checker('g / h', None)\n"
    )
    rows = progress.exercises(tmp_path)
    assert [(e.lesson, e.name, e.names, e.checker) for e in rows] == [
        ("42", "f", ("f",), "check_a"),
        ("42", "g / h", ("g", "h"), "check_b"),
    ]
    (tmp_path / "lesson43.py").write_text(
        '__all__ = ["check_c"]\ndef check_c(fn, other, verbose=True):\n    return run_checker("c", None)\n'
    )
    with pytest.raises(ValueError, match="lesson43.py"):
        progress.exercises(tmp_path)


def test_exercise_in_two_cells_runs_both(tmp_path):
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("import numpy as np\nHEADS = 2"),
            nbformat.v4.new_code_cell("def split(x):\n    return np.split(x, HEADS)"),
            nbformat.v4.new_markdown_cell("and back"),
            nbformat.v4.new_code_cell("def merge(parts):\n    return np.concatenate(parts)"),
        ]
    )
    path = tmp_path / "99_toy.ipynb"
    nbformat.write(nb, path)
    extracted = progress.extract(path, ("split", "merge"))
    assert [number for number, _ in extracted.cells] == [2, 4]
    assert extracted.where == "cells 2, 4"
    assert extracted.setup.splitlines() == ["import numpy as np", "HEADS = 2"]
    assert progress.extract(path, ("split", "gone")).missing == ("gone",)


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
    return {(row.lesson, row.exercise): row.status for row in rows}


def test_shipped_notebooks_are_all_not_attempted():
    rows = progress.progress(NOTEBOOKS)  # the default limit, as make progress
    assert [(r.lesson, r.exercise) for r in rows] == [(e.lesson, e.name) for e in progress.exercises()]
    assert set(_statuses(rows).values()) == {"not attempted"}, progress.format_table(rows)
    assert all("raise NotImplementedError" in row.hint for row in rows)


def test_solutions_all_pass():
    rows = progress.progress(SOLUTIONS)  # the default limit, as make progress
    assert len(rows) == len(progress.exercises())
    assert set(_statuses(rows).values()) == {"passed"}, progress.format_table(rows)
    assert all(r.cpu_seconds > 0 and r.startup_cpu_seconds > 0 for r in rows)  # measured, per process


def _replace_exercise_cell(path: Path, name: str, source: str | None) -> None:
    """Put ``source`` in place of the (first) cell defining ``name`` (None: delete that cell)."""
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
SPLIT_RESHAPE_ONLY = """def split_heads(x, num_heads):
    batch, length, width = ops.shape(x)
    return ops.reshape(x, (batch, num_heads, length, width // num_heads))


def merge_heads(x):
    batch, heads, length, size = ops.shape(x)
    return ops.reshape(ops.transpose(x, (0, 2, 1, 3)), (batch, length, heads * size))
"""
MEAN_WITH_PADDING = """def mean_pool(token_vectors, attention_mask):
    pooled = keras.ops.mean(token_vectors, axis=1)
    return pooled / keras.ops.norm(pooled, axis=-1, keepdims=True)
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
    nb = lambda lesson: progress.find_notebook(folder, lesson)  # noqa: E731
    _replace_exercise_cell(nb("01"), "rnn_forward", LAST_STATE_ONLY)
    _replace_exercise_cell(nb("02"), "positional_encoding", SYNTAX_ERROR)
    _replace_exercise_cell(nb("03"), "scaled_dot_product_attention", ENDLESS)
    _replace_exercise_cell(nb("03"), "split_heads", SPLIT_RESHAPE_ONLY)
    _replace_exercise_cell(nb("05"), "mean_pool", MEAN_WITH_PADDING)
    _replace_exercise_cell(nb("06"), "extract_patches", RAISES)
    _replace_exercise_cell(nb("07"), "build_transfer_model", None)
    _replace_exercise_cell(nb("08"), "attention_rollout", _solution_cell("08", "attention_rollout"))
    start = time.perf_counter()
    rows = progress.progress(folder, timeout=TIMEOUT)
    seconds = time.perf_counter() - start
    print(progress.format_table(rows, width=100), f"\nchecked in {seconds:.0f} s")  # shown by pytest -rP
    return {row.exercise: row for row in rows}, seconds, folder


def test_planted_wrong_result_gets_the_checkers_hint(planted):
    from course_utils.checks import lesson01

    rows, _, _ = planted
    assert rows["rnn_forward"].status == "not yet"
    assert rows["rnn_forward"].hint == lesson01.HINT_LAST_STATE_ONLY
    assert rows["rnn_forward"].solution.startswith("solutions/01_")


def test_planted_syntax_error_names_the_line(planted):
    rows, _, folder = planted
    assert rows["positional_encoding"].status == "error"
    cell = progress.extract(progress.find_notebook(folder, "02"), "positional_encoding")
    assert rows["positional_encoding"].hint.startswith(
        f"syntax error in cell {cell.cell_number} (the one that defines positional_encoding), line 2: "
    )
    assert rows["positional_encoding"].seconds < 1, "a syntax error is found without starting a process"


def test_planted_endless_loop_is_stopped_at_the_time_limit(planted):
    rows, _, _ = planted
    assert rows["scaled_dot_product_attention"].status == "error"
    assert "time limit" in rows["scaled_dot_product_attention"].hint
    # At least the limit (a single thread cannot use more CPU time than clock time), at most the cap.
    assert TIMEOUT <= rows["scaled_dot_product_attention"].seconds < progress.WALL_FACTOR * TIMEOUT + 5


def test_planted_exception_names_the_learners_line(planted):
    rows, _, _ = planted
    assert rows["extract_patches"].status == "not yet"
    assert "NameError" in rows["extract_patches"].hint
    assert (
        "line 3: return images.reshape(batch, -1, patch_size * patch_size * undefined_channels)"
        in rows["extract_patches"].hint
    )


def test_planted_second_checker_of_a_lesson_is_its_own_row(planted):
    from course_utils.checks import lesson03

    rows, _, _ = planted
    split = rows["split_heads / merge_heads"]
    assert split.lesson == "03" and split.status == "not yet"
    assert lesson03.SPLIT_HINTS["reshape_only"] in split.hint
    assert rows["scaled_dot_product_attention"].status == "error"  # the endless loop, same notebook


def test_planted_mean_pool_with_padding(planted):
    rows, _, _ = planted
    assert rows["mean_pool"].lesson == "05" and rows["mean_pool"].status == "not yet"
    assert "the padding is averaged in: you took the mean over all T positions" in rows["mean_pool"].hint


def test_planted_deleted_unchanged_and_solved(planted):
    rows, _, _ = planted
    assert (
        rows["build_transfer_model"].status == "error"
        and "no code cell defines" in rows["build_transfer_model"].hint
    )
    assert rows["TransformerBlock"].status == "not attempted"
    assert rows["attention_rollout"].status == "passed"


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
    rows = json.loads(out.read_text())["rows"]
    assert [r["status"] for r in rows if r["lesson"] == "01"] == ["not attempted"]
    missing = [r for r in rows if r["lesson"] != "01"]
    assert missing and all(r["status"] == "error" and "no notebook" in r["hint"] for r in missing)
    assert "not attempted" in printed and "no notebook" in printed
