"""Every notebook as pytest items, one per code cell, executed by nbclient (a pytest plugin,
loaded by the root conftest.py), and each notebook that passes stored for the website.

``pytest notebooks/03_multi_head_attention.ipynb`` starts the course kernel in the notebook's
folder and runs its code cells in order, one pytest item per cell (``...ipynb::Cell 4``); a
failing cell shows its source and the traceback, and the cells after it are skipped (the
notebook runs top to bottom). Outputs are not compared: the notebooks assert what they claim.

One execution per notebook: when every code cell of a notebook passed, the executed notebook
(outputs included) is written into the website's cache ``build/executed/`` under the key
``tools/book.py`` computes, with the metadata the website's own execution stores (the recorded
results of this run, profile, machine, date). ``make test-book`` after the tests then executes
nothing again. The key, the cache layout, the kernel name and the cell timeout have one home,
tools/book.py; this plugin imports them.

Why nbclient and not nbval (which ran the notebooks before): nbval 0.11 drops the kernel's
``update_display_data`` and ``clear_output`` messages, so the outputs it keeps are not what
Jupyter shows (``course_utils.training.EpochLog`` rewrites its line each epoch: nbval keeps
its first state). nbclient is what Jupyter and the website's builder execute with.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_stored: list[str] = []
_not_stored: list[str] = []


def book_tool():
    """tools/book.py as a module (tools/ is scripts, not a package)."""
    name = "course_book"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / "book.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules[name]


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if file_path.suffix == ".ipynb":
        return NotebookFile.from_parent(parent, path=file_path)
    return None


async def _start_kernel(client, stderr) -> None:
    """nbclient's own start-up (as in ``NotebookClient.async_execute``), then cell by cell."""
    from nbclient.util import ensure_async

    client.km = client.create_kernel_manager()
    await client.async_start_new_kernel(stderr=stderr)
    await client.async_start_new_kernel_client()
    reply = await client.async_wait_for_reply(await ensure_async(client.kc.kernel_info()))
    client.nb.metadata["language_info"] = reply["content"]["language_info"]


class NotebookFile(pytest.File):
    """A notebook: a kernel from the first cell's set-up to the last cell's tear-down."""

    def collect(self):
        import nbformat

        book = book_tool()
        # the key of the bytes read here: if the notebook or course_utils changes before the
        # notebook has run, the key at the end differs and nothing is stored
        self.key = book.cache_key(self.path, book.dependency_digest(), book.profile())
        self.notebook = nbformat.read(self.path, as_version=4)
        self.client = None
        self.first_failure: str | None = None
        self.passed: set[int] = set()
        self.code_cells = [i for i, cell in enumerate(self.notebook.cells) if cell.cell_type == "code"]
        for number, index in enumerate(self.code_cells):
            yield NotebookCell.from_parent(self, name=f"Cell {number}", index=index)

    def setup(self) -> None:
        from nbclient import NotebookClient
        from nbclient.util import run_sync

        book = book_tool()
        self.book_nb = book.notebook_at(self.path)
        self.started = time.time()
        self.client = NotebookClient(
            self.notebook,
            kernel_name=book.KERNEL,
            timeout=book.CELL_TIMEOUT_S,
            resources={"metadata": {"path": str(self.path.parent)}},
        )
        log = book.kernel_log(self.book_nb)
        log.parent.mkdir(parents=True, exist_ok=True)
        self.stderr = log.open("w")
        run_sync(_start_kernel)(self.client, self.stderr)

    def teardown(self) -> None:
        if self.client is None:
            return
        try:
            self.client.set_widgets_metadata()
            if self.client.km is not None:
                self.client._cleanup_kernel()
        finally:
            self.stderr.close()
        seconds = time.time() - self.started
        self.client = None
        self._store_for_website(seconds)

    def _store_for_website(self, seconds: float) -> None:
        """Into the website's cache, only if every code cell ran and passed."""
        book = book_tool()
        rel = self.book_nb.rel
        if self.passed != set(self.code_cells):
            if self.first_failure is None:  # a selection of cells (-k, ::Cell N) was run
                _not_stored.append(f"{rel}: only {len(self.passed)} of {len(self.code_cells)} cells ran")
            return
        key = book.cache_key(self.path, book.dependency_digest(), book.profile())
        if key != self.key:
            _not_stored.append(f"{rel}: the notebook or course_utils changed during the test run")
            return
        problem = book.store_execution(
            self.book_nb, self.notebook, key, self.started, seconds, book.EXECUTED_BY_TESTS
        )
        if problem:
            _not_stored.append(problem)
        else:
            _stored.append(rel)


class NotebookCell(pytest.Item):
    def __init__(self, *, index: int, **kwargs):
        super().__init__(**kwargs)
        self.index = index

    def runtest(self) -> None:
        notebook = self.parent
        if notebook.first_failure is not None:
            pytest.skip(f"{notebook.first_failure} failed; the notebook runs top to bottom")
        client = notebook.client
        try:
            client.execute_cell(
                notebook.notebook.cells[self.index],
                self.index,
                execution_count=client.code_cells_executed + 1,
            )
        except BaseException:
            notebook.first_failure = self.name
            raise
        notebook.passed.add(self.index)

    def repr_failure(self, excinfo, style=None):
        from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

        if isinstance(excinfo.value, CellExecutionError | CellTimeoutError | DeadKernelError):
            return f"{self.path.name}, {self.name}:\n{_ANSI.sub('', str(excinfo.value))}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"{self.path.name}::{self.name}"


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not (_stored or _not_stored):
        return
    tr = terminalreporter
    tr.section("executed notebooks for the website (build/executed/)")
    tr.write_line(f"stored {len(_stored)} notebook(s) that passed: `make book` will not execute them again")
    for line in _not_stored:
        tr.write_line(f"not stored: {line}")
