"""Every exercise's status in one table: ``python -m course_utils.progress`` (``make progress``).

One row per checker: every ``check_*`` function of ``course_utils/checks/lessonNN.py``
(from its ``__all__``; a lesson with two checkers gives two rows). The learner's names it
checks come from the checker's label, ``run_checker(EXERCISE, ...)`` (``"rnn_forward"``, or
``"split_heads / merge_heads"`` for two functions). For each, this reads the learner's notebook
``NN_*.ipynb``, finds the code cell(s) that define those names (``def name`` or ``class name``),
and runs them and the checker in a clean process, offline, with a time limit. The rest of
the notebook is never executed (no data loading, no training). The processes are forked from
one start-up process that imports TensorFlow, Keras and the checkers once (the imports cost
more CPU time than all the checks together); each exercise still gets a fresh process of its
own.

Which cells run, the rule: the exercise's own cell(s), preceded by the statements of the cells
above it that are ``import`` statements or constants (``N_HEADS = 4``, literal values only)
*and* define a name the exercise's cell uses. Anything else the exercise needs from the
notebook is reported as an error naming the missing name. The time limit (``--timeout``, 30 s)
is CPU time of the learner's cell(s) and the checker, after the imports (so a busy machine does
not stop a correct exercise), with a wall-clock cap of 10 times that.

Statuses: ``passed``, ``not yet`` (with the checker's hint), ``not attempted`` (the
``raise NotImplementedError  # your code here`` stub is still there) and ``error`` (no
notebook, a syntax error, an exception while defining the exercise, the time limit), each
with a one-line explanation. The command never fails because of learner code: it exits 0
whatever the statuses (2 only for a wrong command line).

Examples::

    python -m course_utils.progress                          # the notebooks/ of this checkout
    python -m course_utils.progress --notebooks handed_in/ana --json ana.json
    python -m course_utils.progress --room handed_in/*.json  # a room's JSON files in one table

Layer: tools (a command-line tool; lessons never import it).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import getpass
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import psutil

from course_utils.paths import REPO_ROOT

CHECKS_DIR = Path(__file__).resolve().parent / "checks"
DEFAULT_TIMEOUT = 30.0  # CPU seconds for the learner's cell and the checker, after the imports
WALL_FACTOR = 10  # ... and at most this many times that on the clock (code that sleeps or waits)
STARTUP_LIMIT = 300.0  # seconds for the imports (TensorFlow) of one check, on an overloaded machine
STATUSES = ("passed", "not yet", "not attempted", "error")


@dataclass(frozen=True)
class Exercise:
    """One row of the checks table: a checker and the learner's names it checks.

    ``name`` is the checker's label (``run_checker``'s first argument, e.g. ``"rnn_forward"``
    or ``"split_heads / merge_heads"``); ``names`` are the functions or classes the learner
    writes, passed to the checker in this order.
    """

    lesson: str
    name: str
    names: tuple[str, ...]
    checker_module: str
    checker: str


@dataclass
class Row:
    """One line of the progress table."""

    lesson: str
    exercise: str
    status: str
    hint: str
    solution: str
    notebook: str = ""
    seconds: float = 0.0  # the learner's cell and the checker, on the clock (the limit is CPU time)
    startup_seconds: float = (
        0.0  # the start-up's imports (TensorFlow, once for all), not limited by --timeout
    )
    cpu_seconds: float = 0.0  # CPU time of the exercise's own process (setup, learner's cells, checker)
    startup_cpu_seconds: float = 0.0  # CPU time of the shared start-up (the same on every row)


# --- the exercises, derived from the checkers (never listed here) ----------------------------
def _checker_label(function: ast.FunctionDef, constants: dict[str, object]) -> object:
    """The first argument of the ``run_checker(...)`` call inside a checker: its label."""
    for node in ast.walk(function):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "run_checker"
            and node.args
        ):
            first = node.args[0]
            if isinstance(first, ast.Name):
                return constants.get(first.id)
            if isinstance(first, ast.Constant):
                return first.value
    return None


def exercises(checks_dir: Path = CHECKS_DIR) -> list[Exercise]:
    """One exercise per checker: every ``check_*`` in a ``checks/lessonNN.py``'s ``__all__``,
    in the order the module defines them (a lesson with two checkers gives two rows).

    The learner's names come from the checker's label, ``run_checker(EXERCISE, ...)``, split
    at ``/`` (``"split_heads / merge_heads"``: two functions), and must match the checker's
    parameters without a default. Read with ``ast``, so listing the exercises imports neither
    the checkers nor TensorFlow; a checker that does not follow the convention is an error
    naming its file.
    """
    found = []
    for path in sorted(checks_dir.glob("lesson[0-9][0-9].py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants: dict[str, object] = {}
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
            ):
                try:
                    constants[node.targets[0].id] = ast.literal_eval(node.value)
                except ValueError:
                    continue
        public = {str(name) for name in constants.get("__all__", []) if str(name).startswith("check_")}
        functions = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in public]
        if not functions or len(functions) != len(public):
            raise ValueError(f"{path}: every check_* in __all__ must be a function defined in the module")
        lesson = path.stem.removeprefix("lesson")
        for function in functions:
            label = _checker_label(function, constants)
            if not isinstance(label, str) or not label.strip():
                raise ValueError(
                    f"{path}: {function.name} must call run_checker(NAME, ...) with NAME a string "
                    "(or a module constant) naming the learner's function(s)"
                )
            names = tuple(part.strip() for part in label.split("/"))
            positional = function.args.posonlyargs + function.args.args
            required = positional[: len(positional) - len(function.args.defaults)]
            if len(required) != len(names) or not all(n.isidentifier() for n in names):
                raise ValueError(
                    f"{path}: {function.name}'s label {label!r} names {len(names)} learner object(s) "
                    f"but it takes {len(required)} argument(s) without a default"
                )
            found.append(Exercise(lesson, label, names, f"course_utils.checks.{path.stem}", function.name))
    return found


# --- reading a notebook ----------------------------------------------------------------------
def find_notebook(folder: Path, lesson: str) -> Path | None:
    """The learner's notebook for a lesson: ``NN_*.ipynb`` in ``folder`` (the shipped name
    first; otherwise the most recently saved match, e.g. ``01_rnn_limitations-Copy1.ipynb``)."""
    matches = [p for p in folder.glob(f"{lesson}_*.ipynb") if ".ipynb_checkpoints" not in p.parts]
    if not matches:
        return None
    shipped = {p.name for p in (REPO_ROOT / "notebooks").glob(f"{lesson}_*.ipynb")}
    for path in sorted(matches):
        if path.name in shipped:
            return path
    return max(matches, key=lambda p: p.stat().st_mtime)


_MAGIC = re.compile(r"^(\s*)([%!].*)$")


def python_source(cell_source: str) -> str:
    """A cell's code as plain Python: IPython magics and shell lines (``%time``, ``!pip``)
    become comments, so line numbers stay those the learner sees."""
    return "\n".join(_MAGIC.sub(r"\1pass  # \2", line) for line in cell_source.splitlines())


def _defines(tree: ast.Module, name: str) -> bool:
    return any(
        isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name
        for node in tree.body
    )


def _bound_names(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.Import):
        return {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    if isinstance(node, ast.ImportFrom):
        return {alias.asname or alias.name for alias in node.names}
    if isinstance(node, ast.Assign):
        return {t.id for t in node.targets if isinstance(t, ast.Name)}
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return {node.target.id}
    return set()


def _is_setup(node: ast.stmt) -> bool:
    """An import, or an assignment of a literal constant (cheap, no side effects)."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
        try:
            ast.literal_eval(node.value)
        except ValueError:
            return False
        return True
    return False


@dataclass
class Extracted:
    """What runs for one exercise: the setup lines and the cell(s) defining the learner's names."""

    setup: str
    cells: list[tuple[int, str]]  # (1-based cell number as Jupyter counts them, source), in order
    syntax_error: str = ""
    missing: tuple[str, ...] = ()  # names no cell defines (the others were found)

    @property
    def cell_number(self) -> int:
        return self.cells[0][0]

    @property
    def cell(self) -> str:
        return self.cells[0][1]

    @property
    def where(self) -> str:
        numbers = [str(number) for number, _ in self.cells]
        return f"cell {numbers[0]}" if len(numbers) == 1 else f"cells {', '.join(numbers)}"


def extract(notebook: Path, names: str | tuple[str, ...] | list[str]) -> Extracted | None:
    """The cell(s) defining ``names`` and the setup statements they need (see the module's rule).

    ``None`` when no cell defines any of the names; ``missing`` lists those not found when
    others are. A cell that does not parse cannot be searched with ``ast``: one whose text
    contains ``def name`` / ``class name`` is returned with its syntax error.
    """
    import nbformat

    names = (names,) if isinstance(names, str) else tuple(names)
    nb = nbformat.read(notebook, as_version=4)
    patterns = {
        name: re.compile(rf"^\s*(?:async\s+)?(?:def|class)\s+{re.escape(name)}\b", re.MULTILINE)
        for name in names
    }
    earlier: list[tuple[str, ast.Module]] = []
    found: list[tuple[int, str, ast.Module]] = []
    defined: set[str] = set()
    for number, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        source = python_source(cell.source)
        try:
            tree = ast.parse(source)
        except SyntaxError as exc:
            hit = next((name for name in names if patterns[name].search(source)), None)
            if hit is not None:
                where = f"line {exc.lineno}: {(exc.text or '').strip()}" if exc.lineno else ""
                return Extracted(
                    "",
                    [(number, source)],
                    f"syntax error in cell {number} (the one that defines {hit}), {where} ({exc.msg})",
                )
            continue
        here = {name for name in names if name not in defined and _defines(tree, name)}
        if here:
            found.append((number, source, tree))
            defined |= here
        else:
            earlier.append((source, tree))
        if len(defined) == len(names):
            break
    if not found:
        return None
    used = {node.id for _, _, tree in found for node in ast.walk(tree) if isinstance(node, ast.Name)}
    setup = [
        ast.get_source_segment(src, node)
        for src, mod in earlier
        for node in mod.body
        if _is_setup(node) and _bound_names(node) & used
    ]
    return Extracted(
        "\n".join(s for s in setup if s),
        [(number, source) for number, source, _ in found],
        missing=tuple(name for name in names if name not in defined),
    )


def _kinds(names: tuple[str, ...]) -> str:
    return ", ".join(f"{'class' if n[:1].isupper() else 'def'} {n}" for n in names)


def solution_location(exercise: Exercise, solutions_dir: Path | None = None) -> str:
    """Where the reference solution is.

    E.g. ``solutions/01_rnn_limitations_solutions.ipynb (def rnn_forward)``.
    """
    solutions_dir = solutions_dir or REPO_ROOT / "solutions"
    for path in sorted(solutions_dir.glob(f"{exercise.lesson}_*_solutions.ipynb")):
        try:
            shown = path.relative_to(REPO_ROOT)
        except ValueError:
            shown = path
        return f"{shown} ({_kinds(exercise.names)})"
    return "(no solution notebook found)"


# --- running each exercise in a clean process --------------------------------------------------
# One start-up process imports TensorFlow, Keras and the checkers once (about 10 s of CPU time,
# which nine separate processes would pay nine times), then forks a fresh child per exercise:
# each exercise still runs in its own clean process (only the libraries are already imported,
# never another learner's or exercise's code), in its own process group, offline, with its own
# time limit. Forking after the imports is safe here because the start-up runs no TensorFlow
# operation (the thread pools start in each child).
_SERVER = r"""
import importlib, json, linecache, os, resource, signal, socket, sys, traceback

def refuse(*args, **kwargs):
    raise OSError("course_utils.progress runs exercises offline: no network")

socket.socket.connect = refuse  # offline, whatever the learner's code or a library tries
socket.socket.connect_ex = refuse
socket.create_connection = refuse

for module in json.loads(sys.argv[1]):  # the start-up: TensorFlow's import, once for all
    importlib.import_module(module)
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # finished children are reaped by the kernel
protocol = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stray prints never reach the protocol
protocol.write("ready\n")


def check(spec):
    out_path = spec["out"]

    def report(status, hint):
        usage = resource.getrusage(resource.RUSAGE_SELF)  # this process only (reset by the fork)
        with open(out_path, "w", encoding="utf-8") as out:
            json.dump({"status": status, "hint": hint, "cpu": usage.ru_utime + usage.ru_stime}, out)
        os._exit(0)

    namespace = {"__name__": "__main__"}

    def run(source, label):
        linecache.cache[label] = (len(source), None, source.splitlines(True), label)  # tracebacks show it
        exec(compile(source, label, "exec"), namespace)

    def learner_line(exc, labels):
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in labels]
        return f" (line {frames[-1].lineno}: {frames[-1].line})" if frames else ""

    try:
        checker = getattr(importlib.import_module(spec["checker_module"]), spec["checker"])
        run(spec["setup"], "imports from the cells above")
    except Exception as exc:
        report("error", f"the imports the exercise needs failed: {type(exc).__name__}: {exc}")
    open(spec["ready_file"], "w").close()  # the time limit starts now
    labels = []
    for number, source in spec["cells"]:
        label = f"cell {number}"
        labels.append(label)
        try:
            run(source, label)
        except SyntaxError as exc:
            where = f"line {exc.lineno}: {(exc.text or '').strip()} ({exc.msg})"
            report("error", f"syntax error in {label} (the one that defines {spec['name']}), {where}")
        except NameError as exc:
            report("error", f"{label} uses a name defined elsewhere in the notebook: {exc}"
                            f"{learner_line(exc, [label])}. Progress runs only the exercise's cell and "
                            "the imports above it: define it in the exercise's cell.")
        except Exception as exc:
            report("error", f"{label} raised {type(exc).__name__}: {exc}{learner_line(exc, [label])}")
    learners = []
    for name in spec["names"]:
        if namespace.get(name) is None:
            report("error", f"{spec['where']} did not define {name}")
        learners.append(namespace[name])
    try:
        result = checker(*learners, verbose=False)
    except Exception as exc:  # a checker should not raise; say so rather than crash the table
        report("error", f"the checker raised {type(exc).__name__}: {exc}{learner_line(exc, labels)}")
    if not result.attempted:
        report("not attempted", result.hint)
    report("passed" if result.passed else "not yet", result.hint)


for line in sys.stdin:
    spec = json.loads(line)
    pid = os.fork()
    if pid == 0:
        try:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os.setsid()  # its own process group: a time-out kills everything it started
            os.chdir(spec["dir"])
            os.dup2(os.open(spec["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
            sys.stdin = open(os.devnull)
            check(spec)
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(1)
    protocol.write(f"{pid}\n")
"""

# What the start-up process imports once: TensorFlow and Keras (through the checkers).
PRELOAD = ["numpy", "keras", "course_utils.checks"]


def _cpu_seconds(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


class CheckServer:
    """The start-up process (see ``_SERVER``): ``fork(spec)`` gives a fresh child's pid."""

    def __init__(self, startup_limit: float = STARTUP_LIMIT):
        import threading

        self.tmp = tempfile.TemporaryDirectory(prefix="progress-")
        script = Path(self.tmp.name, "server.py")
        script.write_text(_SERVER, encoding="utf-8")
        self.log_path = Path(self.tmp.name, "server-stderr.txt")
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in close()
        env = {
            **os.environ,
            "MPLBACKEND": "Agg",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "PYTHONWARNINGS": "ignore",
            "CUDA_VISIBLE_DEVICES": "",
            "HF_HUB_OFFLINE": "1",
            "TF_NUM_INTEROP_THREADS": "1",
        }
        self.lock = threading.Lock()
        started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, str(script), json.dumps(PRELOAD)],
            cwd=self.tmp.name,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        self.problem = ""
        ready = self._read_line(startup_limit)
        self.startup_seconds = round(time.monotonic() - started, 1)
        self.startup_cpu_seconds = round(_cpu_seconds(psutil.Process(self.process.pid)), 1)
        if ready != "ready":
            if self.process.poll() is None:
                self.problem = (
                    f"the check's start-up (importing TensorFlow) took over {startup_limit:g} s: the machine "
                    "is overloaded; close other programs and run progress again"
                )
            else:
                lines = self.log_path.read_text(errors="replace").splitlines()
                last = next((x for x in reversed(lines) if x.strip()), "no message")
                self.problem = f"the check's start-up failed: {last.strip()}"
            self.close()

    def _read_line(self, limit: float) -> str:
        import select

        ready, _, _ = select.select([self.process.stdout], [], [], limit)
        return self.process.stdout.readline().strip() if ready else ""

    def fork(self, spec: dict) -> int | None:
        with self.lock:
            if self.problem or self.process.poll() is not None:
                return None
            try:
                self.process.stdin.write(json.dumps(spec) + "\n")
                self.process.stdin.flush()
                answer = self._read_line(60.0)
            except (OSError, ValueError):
                return None
        return int(answer) if answer.isdigit() else None

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                _kill_group(self.process.pid)
                self.process.wait()
        self.log.close()
        self.tmp.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _wait(pid: int, ready: Path, timeout: float) -> tuple[str, float, float]:
    """Wait for an exercise's process and stop it when the learner's part (after the ready
    file) has used ``timeout`` seconds of CPU time, or ``WALL_FACTOR`` times that in
    wall-clock time (code that sleeps or waits).

    CPU time, not wall-clock time: on a loaded machine (a room of laptops running notebooks)
    a correct exercise's check takes longer on the clock, but not in CPU time. Returns the
    reason it was stopped ("" if not; a template with {where} and {name}), the learner's
    part's wall-clock seconds and the process's CPU seconds at the last look.
    """
    try:
        watched = psutil.Process(pid)
    except psutil.Error:
        return "", 0.0, 0.0
    started, ready_at, cpu_at_ready, total = time.monotonic(), None, 0.0, 0.0
    while _alive(watched):
        now = time.monotonic()
        total = max(total, _cpu_seconds(watched))
        if ready_at is None and ready.exists():
            ready_at, cpu_at_ready = now, total
        start = ready_at if ready_at is not None else started  # the child's own imports count too
        cpu = total - cpu_at_ready
        if cpu > timeout or now - start > WALL_FACTOR * timeout:
            _kill_group(pid)
            return (
                f"stopped after the time limit ({cpu:.0f} s of CPU time, "
                f"{now - start:.0f} s on the clock; "
                f"limit {timeout:g} s of CPU time): an endless loop (a `while` whose condition never "
                "changes?) or far too much work in {where} (the one that defines {name})",
                now - start,
                total,
            )
        time.sleep(0.05)
    end = time.monotonic()
    return "", end - (ready_at or end), total


def run_exercise(
    exercise: Exercise,
    notebook: Path | None,
    timeout: float = DEFAULT_TIMEOUT,
    server: CheckServer | None = None,
) -> Row:
    """Check one exercise of one notebook in a fresh process (never raises)."""
    row = Row(
        exercise.lesson,
        exercise.name,
        "error",
        "",
        solution_location(exercise),
        str(notebook) if notebook else "",
    )
    if notebook is None:
        row.hint = f"no notebook {exercise.lesson}_*.ipynb in this folder"
        return row
    try:
        extracted = extract(notebook, exercise.names)
    except Exception as exc:  # noqa: BLE001 - an unreadable file is a row, not a crash
        row.hint = f"cannot read {notebook.name}: {type(exc).__name__}: {exc}"
        return row
    if extracted is None or extracted.missing:
        missing = extracted.missing if extracted is not None else exercise.names
        row.hint = f"no code cell defines `{_kinds(missing)}` (deleted or renamed?)"
        return row
    if extracted.syntax_error:
        row.hint = extracted.syntax_error
        return row
    if server is None:
        with CheckServer() as own:
            return run_exercise(exercise, notebook, timeout, own)
    row.startup_seconds, row.startup_cpu_seconds = server.startup_seconds, server.startup_cpu_seconds
    if server.problem:
        row.hint = server.problem
        return row
    with tempfile.TemporaryDirectory(prefix="progress-") as tmp:
        spec = {
            "name": exercise.name,
            "names": list(exercise.names),
            "checker_module": exercise.checker_module,
            "checker": exercise.checker,
            "setup": extracted.setup,
            "cells": extracted.cells,
            "where": extracted.where,
            "dir": tmp,
            "out": str(Path(tmp, "result.json")),
            "stderr": str(Path(tmp, "stderr.txt")),
            "ready_file": str(Path(tmp, "ready")),
        }
        pid = server.fork(spec)
        if pid is None:
            row.hint = "the checking process stopped (run progress again)"
            return row
        stopped, checking, cpu = _wait(pid, Path(spec["ready_file"]), timeout)
        row.seconds, row.cpu_seconds = round(checking, 1), round(cpu, 3)
        if stopped:
            row.hint = stopped.format(where=extracted.where, name=exercise.name)
            return row
        out_path = Path(spec["out"])
        if out_path.exists():
            result = json.loads(out_path.read_text(encoding="utf-8"))
            row.status, row.hint = result["status"], result["hint"]
            row.cpu_seconds = round(result.get("cpu", cpu), 3)
        else:
            err = Path(spec["stderr"])
            lines = err.read_text(errors="replace").splitlines() if err.exists() else []
            last = next((line for line in reversed(lines) if line.strip()), "no message (out of memory?)")
            row.hint = f"the check stopped without a result: {last.strip()}"
    return row


def progress(notebooks_dir: Path, timeout: float = DEFAULT_TIMEOUT, jobs: int | None = None) -> list[Row]:
    """Every exercise's row, in lesson order; ``jobs`` exercises at a time (default: CPU count)."""
    jobs = jobs or max(1, os.cpu_count() or 1)
    todo = [(exercise, find_notebook(notebooks_dir, exercise.lesson)) for exercise in exercises()]
    with CheckServer() as server, ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda item: run_exercise(*item, timeout=timeout, server=server), todo))


# --- output -------------------------------------------------------------------------------------
def format_table(rows: list[Row], width: int | None = None) -> str:
    """One line per exercise; the hint (for the ones not passed) wrapped under its row."""
    width = width or shutil.get_terminal_size((110, 24)).columns
    header = ("lesson", "exercise", "status", "solution")
    cells = [(r.lesson, r.exercise, r.status, r.solution) for r in rows]
    sizes = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(header)]
    line = lambda values: "  ".join(v.ljust(s) for v, s in zip(values, sizes)).rstrip()  # noqa: E731
    out = [line(header), line(["-" * s for s in sizes])]
    for row, values in zip(rows, cells):
        out.append(line(values))
        if row.status != "passed" and row.hint:
            out += textwrap.wrap(
                row.hint,
                width=max(40, width - 8),
                initial_indent="        hint: ",
                subsequent_indent="              ",
            )
    counts = {s: sum(r.status == s for r in rows) for s in STATUSES}
    out.append(", ".join(f"{n} {s}" for s, n in counts.items()))
    return "\n".join(out)


def to_json(rows: list[Row], notebooks_dir: Path) -> dict:
    return {
        "learner": getpass.getuser(),
        "host": platform.node(),
        "notebooks": str(notebooks_dir),
        "written": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": [asdict(r) for r in rows],
    }


def room_table(files: list[Path]) -> str:
    """A room's handed-in JSON files as one table: a row per file, a column per exercise."""
    reports = []
    for path in files:
        try:
            reports.append((path.stem, json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError) as exc:
            reports.append((path.stem, {"rows": [], "problem": f"unreadable: {exc}"}))
    columns = sorted({(r["lesson"], r["exercise"]) for _, rep in reports for r in rep["rows"]})
    short = {"passed": "passed", "not yet": "not yet", "not attempted": "-", "error": "ERROR"}
    header = ["file"] + [f"{lesson} {name}" for lesson, name in columns]
    table = []
    for name, rep in reports:
        status = {(r["lesson"], r["exercise"]): short.get(r["status"], r["status"]) for r in rep["rows"]}
        table.append(
            [name] + [status.get(c, "?") for c in columns] + ([rep["problem"]] if "problem" in rep else [])
        )
    sizes = [max(len(row[i]) for row in [header] + table) for i in range(len(header))]
    fmt = lambda row: "  ".join(v.ljust(s) for v, s in zip(row, sizes + [0])).rstrip()  # noqa: E731
    lines = [fmt(header), fmt(["-" * s for s in sizes])] + [fmt(row) for row in table]
    for i, (lesson, name) in enumerate(columns, start=1):
        done = sum(row[i] == "passed" for row in table)
        lines.append(f"{lesson} {name}: {done}/{len(table)} passed")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.progress", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--notebooks",
        type=Path,
        default=REPO_ROOT / "notebooks",
        help="the folder with the learner's notebooks (default: this checkout's notebooks/)",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the table as JSON to FILE")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"CPU seconds per exercise before it is stopped (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--jobs", type=int, default=None, help="exercises checked at once (default: CPU count)"
    )
    parser.add_argument(
        "--room",
        type=Path,
        nargs="+",
        metavar="JSON",
        help="instead: one table from learners' JSON files (written with --json)",
    )
    args = parser.parse_args(argv)
    if args.room:
        print(room_table(args.room))
        return 0
    if not args.notebooks.is_dir():
        parser.error(f"--notebooks {args.notebooks}: no such folder")
    start = time.perf_counter()
    rows = progress(args.notebooks, timeout=args.timeout, jobs=args.jobs)
    print(
        f"Exercises in {args.notebooks} (each checked in a clean process, offline, "
        f"time limit {args.timeout:g} s of CPU time):\n"
    )
    print(format_table(rows))
    cpu = sum(r.cpu_seconds for r in rows) + max((r.startup_cpu_seconds for r in rows), default=0.0)
    print(
        f"checked in {time.perf_counter() - start:.0f} s "
        f"(CPU time {cpu:.0f} s, of which {max((r.startup_cpu_seconds for r in rows), default=0.0):.0f} s "
        "for the start-up's imports)"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(to_json(rows, args.notebooks), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
