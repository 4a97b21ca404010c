"""The website builder's own logic (tools/book.py): page order, links, cache keys, offline check.

The built site itself is tested in a browser by book/test_site.py (make test-book).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.run_notebooks import book_tool

ROOT = Path(__file__).resolve().parents[1]
book = book_tool()  # tools/book.py


def _repo(tmp_path: Path, table_rows: list[str], notebooks: list[str]) -> Path:
    (tmp_path / "notebooks").mkdir()
    for name in notebooks:
        (tmp_path / "notebooks" / name).write_text("{}")
    rows = "\n".join(f"| {i} | [x]({row}) | y |" for i, row in enumerate(table_rows))
    (tmp_path / "README.md").write_text(
        "# Course\n\nSee [notebooks/b.ipynb](notebooks/b.ipynb).\n\n"
        f"## The course\n\n| # | nb | m |\n|---|---|---|\n{rows}\n"
    )
    return tmp_path


def test_lessons_follow_the_readme_table_then_new_notebooks_by_name(tmp_path):
    repo = _repo(
        tmp_path,
        ["notebooks/b.ipynb", "notebooks/a.ipynb"],
        ["a.ipynb", "b.ipynb", "c.ipynb", "05_new.ipynb"],
    )
    order = [nb.rel for nb in book.lessons(repo)]
    # the table decides; notebooks missing from it still appear (after it, by name)
    assert order == ["notebooks/b.ipynb", "notebooks/a.ipynb", "notebooks/05_new.ipynb", "notebooks/c.ipynb"]


def test_the_real_readme_lists_every_lesson_in_its_table():
    in_table = book.readme_notebook_order((ROOT / "README.md").read_text())
    assert in_table and in_table[0] == "notebooks/00_start_here.ipynb"
    assert [nb.rel for nb in book.lessons()][: len(in_table)] == [r for r in in_table if (ROOT / r).exists()]


def test_links_to_pages_stay_links_relative_to_the_new_place():
    site = book.Site(
        {
            "docs/legacy.md": "docs/legacy.md",
            "README.md": "index.md",
            "notebooks/01_rnn_limitations.ipynb": "notebooks/01_rnn_limitations.ipynb",
        },
        url=None,
    )
    # README's link, moved from the root into docs/setup.md
    assert (
        site.rewrite_links("see [legacy](docs/legacy.md#why)", "README.md", "docs/setup.md")
        == "see [legacy](legacy.md#why)"
    )
    # a notebook's link to a doc, one folder up
    text = "[old stack](../docs/legacy.md)"
    assert (
        site.rewrite_links(text, "notebooks/01_rnn_limitations.ipynb", "notebooks/01_rnn_limitations.ipynb")
        == "[old stack](../docs/legacy.md)"
    )


def test_links_to_repository_files_go_to_the_repository_or_become_text():
    text = "Read [CONTRIBUTING.md](CONTRIBUTING.md) and [the env](environments/legacy)."
    assert (
        book.Site({"solutions": "solutions/index.md"}, url=None).rewrite_links(
            "in [`solutions/`](solutions/)", "README.md", "index.md"
        )
        == "in [`solutions/`](solutions/index.md)"
    )
    offline = book.Site({}, url=None).rewrite_links(text, "README.md", "index.md")
    assert "](" not in offline and "`environments/legacy/` in the repository" in offline
    online = book.Site({}, url="https://example.org/course").rewrite_links(text, "README.md", "index.md")
    assert "[CONTRIBUTING.md](https://example.org/course/blob/main/CONTRIBUTING.md)" in online
    assert "[the env](https://example.org/course/tree/main/environments/legacy)" in online


@pytest.mark.parametrize(
    "text",
    [
        "[paper](https://arxiv.org/abs/1706.03762)",
        "![fig](figure.png)",
        "[top](#summary)",
        "`x[i](j)`",
        "```\n[a](b.md)\n```",
    ],
)
def test_external_links_images_and_anchors_are_left_alone(text):
    assert book.Site({}, url=None).rewrite_links(text, "README.md", "index.md") == text


def test_cache_key_changes_with_the_notebook_the_code_and_the_profile(tmp_path):
    notebook = tmp_path / "n.ipynb"
    notebook.write_text('{"cells": []}')
    key = book.cache_key(notebook, "deps1", "default")
    assert key == book.cache_key(notebook, "deps1", "default")
    assert key != book.cache_key(notebook, "deps2", "default")
    assert key != book.cache_key(notebook, "deps1", "full")
    notebook.write_text('{"cells": [1]}')
    assert key != book.cache_key(notebook, "deps1", "default")


def test_dependency_digest_follows_course_code(tmp_path):
    (tmp_path / "course_utils").mkdir()
    module = tmp_path / "course_utils" / "layers.py"
    module.write_text("A = 1\n")
    for name in ("requirements.txt", "requirements-data.txt", "pyproject.toml"):
        (tmp_path / name).write_text("x\n")
    before = book.dependency_digest(tmp_path)
    (tmp_path / "course_utils" / "__pycache__").mkdir()
    (tmp_path / "course_utils" / "__pycache__" / "layers.cpython-311.pyc").write_bytes(b"\0")
    assert book.dependency_digest(tmp_path) == before  # byte code is not a dependency
    module.write_text("A = 2\n")
    assert book.dependency_digest(tmp_path) != before


def test_readme_sections_split_at_level_two_headings():
    head, sections = book.split_sections("# T\nintro\n## One\na\n### sub\n## Two workshop\nb\n")
    assert head == "# T\nintro\n"
    assert [h for h, _ in sections] == ["One", "Two workshop"]
    assert "### sub" in sections[0][1]


def test_offline_check_flags_remote_scripts_and_styles(tmp_path, capsys):
    (tmp_path / "index.html").write_text(
        '<script src="_static/a.js"></script><link rel="stylesheet" href="_static/a.css">'
    )
    assert book.check(tmp_path) == 0
    (tmp_path / "page.html").write_text('<script src="https://cdn.example.org/mathjax.js"></script>')
    (tmp_path / "a.css").write_text("@font-face { src: url(//fonts.example.org/f.woff) }")
    assert book.check(tmp_path) == 1
    err = capsys.readouterr().err
    assert "cdn.example.org" in err and "fonts.example.org" in err


def test_book_lock_pins_every_builder_package_with_hashes():
    lock = (ROOT / "requirements-book.txt").read_text()
    pins = dict(re.findall(r"(?m)^([A-Za-z0-9_.\-]+)==(\S+)", lock))
    for line in (ROOT / "requirements-book.in").read_text().splitlines():
        name = line.split("#", 1)[0].strip()
        if name:
            assert name in pins, f"{name} is not in requirements-book.txt: run `make lock-book`"
    blocks = [b for b in re.split(r"\n(?=[A-Za-z0-9])", lock) if re.match(r"[A-Za-z0-9_.\-]+==", b)]
    assert blocks and all("--hash=sha256:" in b for b in blocks)
    # the learner's lock does not carry the builder
    assert "sphinx==" not in (ROOT / "requirements.txt").read_text().lower()


def test_the_run_note_goes_right_under_the_title():
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# 03 · Title\n\nIntro text."),
        nbformat.v4.new_code_cell("x = 1"),
    ]
    book.insert_note(notebook, nbformat.v4.new_markdown_cell("NOTE"))
    assert [c.source for c in notebook.cells] == ["# 03 · Title", "NOTE", "Intro text.", "x = 1"]


def test_links_to_readme_sections_follow_the_section_to_its_page():
    assert book.slug("Running a `workshop`") == "running-a-workshop"
    site = book.Site(
        {"README.md": "index.md"}, url=None, anchors={("README.md", "running-a-workshop"): "docs/workshop.md"}
    )
    text = "[the room](../README.md#running-a-workshop) and [home](../README.md)"
    assert (
        site.rewrite_links(text, "docs/legacy.md", "docs/legacy.md")
        == "[the room](workshop.md#running-a-workshop) and [home](../index.md)"
    )


def test_only_selects_notebooks_by_parts_of_their_names():
    lesson = book.Notebook(
        Path("notebooks/03_multi_head_attention.ipynb"), "notebooks/03_multi_head_attention.ipynb"
    )
    solution = book.Notebook(Path("solutions/01_rnn_solutions.ipynb"), "solutions/01_rnn_solutions.ipynb")
    assert book.matches(lesson, None) and book.matches(solution, None)
    assert book.matches(lesson, "03") and not book.matches(solution, "03")
    assert [book.matches(nb, "00,solutions") for nb in (lesson, solution)] == [False, True]
    assert [book.matches(nb, "03, solutions") for nb in (lesson, solution)] == [True, True]
