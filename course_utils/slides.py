"""Slides from the lessons (``make slides``): one reveal.js deck per lesson in ``build/slides/``.

A deck is the lesson's title cell, then every cell tagged ``slide`` (in the ``.py`` twin:
``# %% tags=["slide"]``): the lesson's key figures and key asserts, each on its own slide,
with the markdown cell just above it as speaker notes (press ``s`` in the deck). A cell whose
output is a figure shows the figure only; other cells show their code and output.

Outputs come from an executed copy of the notebook: the cache of executed notebooks
``build/executed/`` (filled by ``make book`` and the notebook tests; looked up with
``tools/book.py``'s own functions, so the key is the same: the notebook's bytes,
``course_utils``, the locks, ``COURSE_PROFILE``), otherwise the notebook is executed here with
the course kernel (nbclient) into ``build/slides/executed/`` (reused while its cells match). Everything is
offline: nbconvert's reveal.js export with a template (``slides_template/``) that loads
reveal.js from a local copy, ``build/slides/reveal.js/`` (copied from the npm package the
Makefile installs into ``build/vendor/``; ``--reveal DIR`` points elsewhere).

Layer: tools (lessons never import it).
"""

from __future__ import annotations

import copy
import importlib.util
import os
import re
import shutil
import sys
import time
from pathlib import Path

from course_utils.paths import REPO_ROOT, build_dir

TAG = "slide"
KERNEL = "transformers-course"
CELL_TIMEOUT_S = 900
TEMPLATE_DIR = Path(__file__).resolve().parent / "slides_template"
REVEAL_PREFIX = "reveal.js"  # the decks load reveal.js from this folder next to them


def default_reveal_source() -> Path:
    return build_dir() / "vendor" / "node_modules" / "reveal.js"


def lesson_notebooks(selection: list[str] | None = None) -> list[Path]:
    """The lesson notebooks (``notebooks/NN_*.ipynb``), all or those named by number or path."""
    every = sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not selection:
        return every
    chosen = []
    for item in selection:
        path = Path(item)
        if path.suffix == ".ipynb" and path.exists():
            chosen.append(path.resolve())
            continue
        matches = [p for p in every if p.name.startswith(f"{item}_") or p.stem == item]
        if not matches:
            raise SystemExit(f"slides: no lesson notebook matches {item!r} (try a number such as 03)")
        chosen += matches
    return chosen


def _same_cells(a, b) -> bool:
    strip = lambda nb: [(c.cell_type, c.source, tuple(c.metadata.get("tags", []))) for c in nb.cells]  # noqa: E731
    return strip(a) == strip(b)


def _book():
    """``tools/book.py``, the website's builder, which owns the cache of executed notebooks
    (loaded from its file: ``tools/`` is not a package). Loaded afresh, so that it reads the
    current ``COURSE_BUILD_DIR``."""
    spec = importlib.util.spec_from_file_location("course_book_for_slides", REPO_ROOT / "tools" / "book.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


class BookCache:
    """The executed copy of a notebook in ``build/executed/``, if there is one for its
    current key (computed by ``tools/book.py``: ``cache_key``, ``cached_paths``)."""

    def __init__(self):
        self.book = _book()
        self.deps = self.book.dependency_digest()
        self.profile = self.book.profile()

    def lookup(self, path: Path) -> Path | None:
        executed, meta = self.book.cached_paths(
            self.book.notebook_at(path), self.book.cache_key(path, self.deps, self.profile)
        )
        return executed if executed.exists() and meta.exists() else None


def executed_copy(path: Path, cache: BookCache | None = None):
    """The notebook with outputs: the cache's copy, the slides' own earlier run, or a fresh run."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    cached = (cache or BookCache()).lookup(path)
    if cached is not None:
        print(f"slides: {path.name}: outputs from {cached}")
        return nbformat.read(cached, as_version=4)
    own = build_dir() / "slides" / "executed" / path.name
    if own.exists():
        executed = nbformat.read(own, as_version=4)
        if _same_cells(executed, notebook):
            print(f"slides: {path.name}: outputs from {own}")
            return executed
    from nbclient import NotebookClient

    print(
        f"slides: executing {path.name} with the course kernel (not in {build_dir() / 'executed'}) ...",
        flush=True,
    )
    start = time.time()
    NotebookClient(
        notebook,
        kernel_name=KERNEL,
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    own.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, own)
    print(f"slides: executed {path.name} in {time.time() - start:.0f} s")
    return notebook


def _has_figure(cell) -> bool:
    return any(
        "image/png" in out.get("data", {}) or "image/svg+xml" in out.get("data", {})
        for out in cell.get("outputs", [])
    )


def deck(notebook):
    """The slide notebook: the title cell, then each tagged cell with its notes."""
    import nbformat

    cells = notebook.cells
    title = next((c for c in cells if c.cell_type == "markdown"), None)
    kept = []
    if title is not None:
        first = copy.deepcopy(title)
        first.metadata["slideshow"] = {"slide_type": "slide"}
        kept.append(first)
    for index, cell in enumerate(cells):
        if TAG not in cell.metadata.get("tags", []):
            continue
        shown = copy.deepcopy(cell)
        shown.metadata["slideshow"] = {"slide_type": "slide"}
        if cell.cell_type == "code" and _has_figure(cell):
            shown.metadata["transient"] = {"remove_source": True}  # the figure, not its plotting code
            shown.outputs = [o for o in shown.outputs if o.get("output_type") != "stream"]
        kept.append(shown)
        notes = next((c for c in reversed(cells[:index]) if c.cell_type == "markdown"), None)
        if notes is not None and notes is not title:
            aside = copy.deepcopy(notes)
            aside.metadata["slideshow"] = {"slide_type": "notes"}
            kept.append(aside)
    slides = nbformat.v4.new_notebook(metadata=copy.deepcopy(notebook.metadata), cells=kept)
    return slides, sum(TAG in c.metadata.get("tags", []) for c in cells)


def export(slides, name: str, out_dir: Path) -> Path:
    from nbconvert import SlidesExporter

    exporter = SlidesExporter(
        extra_template_basedirs=[str(TEMPLATE_DIR.parent)],
        template_name=TEMPLATE_DIR.name,
        reveal_url_prefix=REVEAL_PREFIX,
    )
    body, _ = exporter.from_notebook_node(slides, resources={"metadata": {"name": name}})
    target = out_dir / f"{name}.slides.html"
    target.write_text(body, encoding="utf-8")
    return target


def remote_references(html: str) -> list[str]:
    """The ``src``/``href`` of scripts, style sheets and imports that point at the network."""
    pattern = (
        r"""(?:<script[^>]*\ssrc|<link[^>]*\shref|import[^'"]*from\s*|@import\s+url\()"""
        r"""\s*=?\s*["']?(https?:)?//[^"')\s>]+"""
    )
    return [m.group(0) for m in re.finditer(pattern, html, flags=re.IGNORECASE)]


def copy_reveal(source: Path, out_dir: Path) -> None:
    if not (source / "dist" / "reveal.js").exists():
        raise SystemExit(
            f"slides: no reveal.js in {source}. Run `make slides` (it installs the npm package reveal.js "
            "into build/vendor/ once; needs the npm registry) or pass --reveal DIR with an unpacked "
            "reveal.js."
        )
    target = out_dir / REVEAL_PREFIX
    for part in ("dist", "plugin/notes"):
        shutil.copytree(source / part, target / part, dirs_exist_ok=True)
    shutil.copy2(source / "LICENSE", target / "LICENSE")


def build_slides(
    selection: list[str] | None = None, out_dir: Path | None = None, reveal_source: Path | None = None
) -> int:
    out_dir = out_dir or build_dir() / "slides"
    out_dir.mkdir(parents=True, exist_ok=True)
    copy_reveal(reveal_source or default_reveal_source(), out_dir)
    written = []
    cache = BookCache()
    for path in lesson_notebooks(selection):
        slides, tagged = deck(executed_copy(path, cache))
        if not tagged:
            print(f"slides: {path.name} has no cell tagged {TAG!r}: title slide only")
        target = export(slides, path.stem, out_dir)
        remote = remote_references(target.read_text(encoding="utf-8"))
        if remote:
            raise SystemExit(f"slides: {target} loads from the network: {remote[:3]}")
        written.append(target)
        print(
            f"slides: {target.relative_to(out_dir.parent) if out_dir.parent in target.parents else target} "
            f"({tagged} tagged cell(s))"
        )
    index = out_dir / "index.html"
    links = "\n".join(f'<li><a href="{p.name}">{p.stem.removesuffix(".slides")}</a></li>' for p in written)
    index.write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Course slides</title></head>"
        f"<body><h1>Transformers course: slides</h1><ul>\n{links}\n</ul>"
        f"<p>Press <kbd>s</kbd> in a deck for the speaker notes.</p></body></html>\n",
        encoding="utf-8",
    )
    print(f"slides: {len(written)} deck(s) in {out_dir} (open {index})")
    return 0


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m course_utils.slides", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "notebooks", nargs="*", help="lesson numbers or notebook paths (default: all lessons)"
    )
    parser.add_argument("--out", type=Path, default=None, help="output folder (default build/slides)")
    parser.add_argument(
        "--reveal", type=Path, default=None, help="an unpacked reveal.js (default build/vendor/...)"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    return build_slides(args.notebooks, args.out, args.reveal)


if __name__ == "__main__":
    sys.exit(main())
