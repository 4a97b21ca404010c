"""The layering of course_utils (see the package docstring and CONTRIBUTING.md), enforced.

Every module of the package is classified in LAYERS; a module may import modules of its own
layer or of a lower rank only (lesson < data < tools), so lesson code never imports data
loading, downloads or command-line tooling. The walk reads the source (``ast``), so it sees
imports inside functions too. A module missing from the table fails the test: classify it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import course_utils

PACKAGE = Path(course_utils.__file__).resolve().parent
RANK = {"lesson": 0, "data": 1, "tools": 2}

LAYERS = {
    # lesson: Keras/NumPy code the lessons teach
    "course_utils.attention": "lesson",
    "course_utils.diagrams": "lesson",
    "course_utils.layers": "lesson",
    "course_utils.rnn": "lesson",
    "course_utils.rollout": "lesson",
    "course_utils.stats": "lesson",
    "course_utils.text_models": "lesson",
    "course_utils.bert_encoder": "lesson",
    "course_utils.training": "lesson",
    "course_utils.display": "lesson",
    "course_utils.vision.analysis": "lesson",
    "course_utils.vision.patches": "lesson",
    "course_utils.vision.pipeline": "lesson",
    "course_utils.vision.tiny_vit": "lesson",
    "course_utils.vision.transfer": "lesson",
    "course_utils.checks": "lesson",
    "course_utils.checks._core": "lesson",
    "course_utils.checks.lesson01": "lesson",
    "course_utils.checks.lesson02": "lesson",
    "course_utils.checks.lesson03": "lesson",
    "course_utils.checks.lesson04": "lesson",
    "course_utils.checks.lesson05": "lesson",
    "course_utils.checks.lesson06": "lesson",
    "course_utils.checks.lesson07": "lesson",
    "course_utils.checks.lesson08": "lesson",
    # data: files, caches, downloads, the notebook front door
    "course_utils": "data",
    "course_utils.data": "data",
    "course_utils.bert": "data",
    "course_utils.paths": "data",
    "course_utils.machine": "data",
    "course_utils.profile": "data",
    "course_utils.results": "data",
    "course_utils.vision": "data",
    "course_utils.vision.flowers": "data",
    "course_utils.vision.google_weights": "data",
    "course_utils.vision.weights": "data",
    # tools: command-line tools
    "course_utils.doctor": "tools",
    "course_utils.fetch": "tools",
    "course_utils.pretrain": "tools",
    "course_utils.provision": "tools",
    "course_utils.serve": "tools",
    "course_utils.wheels": "tools",
    "course_utils.progress": "tools",
    "course_utils.slides": "tools",
    "course_utils.workshop": "tools",
}

# Standard-library and third-party modules that mean files, network or a command line:
# lesson code imports none of them.
NOT_IN_LESSON_CODE = {
    "argparse",
    "http",
    "pooch",
    "platformdirs",
    "requests",
    "shutil",
    "socket",
    "subprocess",
    "tarfile",
    "urllib",
    "zipfile",
}


def package_modules(root: Path = PACKAGE) -> dict[str, Path]:
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def imported_modules(path: Path, known: set[str]) -> list[tuple[int, str]]:
    """``(line, module)`` for every import in the file; ``from course_utils import data`` counts
    as importing ``course_utils.data`` when that is a module, else ``course_utils``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.append((node.lineno, "<relative import: write it absolute>"))
                continue
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.append((node.lineno, candidate if candidate in known else node.module))
    return found


def layering_violations(modules: dict[str, Path], root: Path = PACKAGE) -> list[str]:
    problems = [
        f"{name}: not classified in LAYERS (tests/test_layering.py)" for name in modules if name not in LAYERS
    ]
    problems += [f"{name}: in LAYERS but no such module" for name in LAYERS if name not in modules]
    known = set(modules)
    for name, path in modules.items():
        layer = LAYERS.get(name)
        if layer is None:
            continue
        for line, imported in imported_modules(path, known):
            top = imported.split(".")[0]
            where = f"{path.relative_to(root.parent)}:{line}"
            if imported.startswith("<"):
                problems.append(f"{where}: {imported}")
            elif top == "course_utils":
                target = LAYERS.get(imported)
                if target is not None and RANK[target] > RANK[layer]:
                    problems.append(f"{where}: {name} ({layer}) imports {imported} ({target})")
            elif layer == "lesson" and top in NOT_IN_LESSON_CODE:
                problems.append(f"{where}: {name} (lesson) imports {imported} (files, network or CLI)")
    return problems


def test_every_module_is_classified_and_no_import_crosses_the_layers():
    problems = layering_violations(package_modules())
    assert not problems, "layering broken:\n" + "\n".join(problems)


def test_the_package_docstring_names_every_module():
    # The architecture section of the package docstring is the table for readers.
    doc = course_utils.__doc__
    for name in LAYERS:
        short = name.removeprefix("course_utils.")
        if not short.startswith("checks.lesson"):
            assert f"``{short}``" in doc or short in doc, f"{name} is missing from course_utils' docstring"


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        (
            "course_utils.layers",
            "from course_utils.data import load_reviews\n",
            "(lesson) imports course_utils.data (data)",
        ),
        (
            "course_utils.layers",
            "def f():\n    from course_utils import fetch\n",
            "imports course_utils.fetch (tools)",
        ),
        ("course_utils.data", "import course_utils.doctor\n", "(data) imports course_utils.doctor (tools)"),
        ("course_utils.rollout", "import urllib.request\n", "imports urllib.request (files, network or CLI)"),
        ("course_utils.layers", "from . import data\n", "relative import"),
    ],
)
def test_the_walk_catches_a_forbidden_import(tmp_path, module, source, expected):
    # A copy of the package with one forbidden import added: the check must name it.
    copy = tmp_path / "course_utils"
    for name, path in package_modules().items():
        target = copy / path.relative_to(PACKAGE)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = path.read_text()
        target.write_text(text + "\n" + source if name == module else text)
    modules = package_modules(copy)
    assert any(expected in problem for problem in layering_violations(modules, copy)), expected


def test_an_unclassified_module_fails(tmp_path):
    modules = dict(package_modules())
    modules["course_utils.new_idea"] = tmp_path / "new_idea.py"
    modules["course_utils.new_idea"].write_text("import numpy\n")
    assert "course_utils.new_idea: not classified in LAYERS (tests/test_layering.py)" in layering_violations(
        modules
    )
