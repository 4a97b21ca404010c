"""Build the course website (``make book``): executed lessons, solutions and guides as HTML.

Three steps, run by the Makefile; no renderer of our own (Sphinx + myst-nb do the HTML):

1. ``execute`` (course venv, course kernel): run every notebook with nbclient into
   ``build/executed/``, a cache keyed by what the outputs depend on (the notebook's bytes,
   ``course_utils``'s files, the locks and ``COURSE_PROFILE``). An unchanged notebook is not
   executed again. Each executed notebook is stored with the recorded results' metadata
   (``build/results/<name>.json``, see ``course_utils/results.py``) of *that* execution.
   The notebook tests store into the same cache (tests/run_notebooks.py calls
   ``store_execution``): in ``make test`` every notebook is executed once, by the tests.
2. ``assemble``: lay out the Sphinx source tree ``build/book-src/``: the home page from the
   README (its course table decides the lesson order; lessons missing from the table follow
   in file order), one page per executed lesson and solution (with a note saying which
   profile, machine and date produced its numbers, and how to run it locally), the set-up
   and workshop pages from the README's sections (``docs/workshop.md`` if it exists), every
   ``docs/*.md`` and ``CONTRIBUTING.md``. Relative links to repository files that are not
   pages become links to the repository (``BOOK_REPO_URL``) or plain text.
3. ``sphinx-build`` (book venv, execution off, warnings as errors), then ``check``: the built
   pages load no script or style sheet from the network. ``test`` then runs the browser
   checks (book/test_site.py) and judges rendering + browser checks against the site's budget.

``--only PATTERN`` (``make book NB=03``) limits the notebooks to names containing PATTERN
(several patterns separated by commas: ``NB=00,solutions``), for quick work on a few pages.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = Path(os.environ.get("COURSE_BUILD_DIR", ROOT / "build")).expanduser()
EXECUTED = BUILD / "executed"
SOURCE = BUILD / "book-src"
KERNEL = "transformers-course"
CELL_TIMEOUT_S = 900  # per cell, here and in the notebook tests (tests/run_notebooks.py)
EXECUTED_BY_BOOK = "make book (tools/book.py execute)"
EXECUTED_BY_TESTS = "make test (the notebook tests, tests/run_notebooks.py)"

# What a notebook's outputs depend on besides its own text: a change here re-executes all.
DEPENDENCIES = ["course_utils", "requirements.txt", "requirements-data.txt", "pyproject.toml"]
DEPENDENCY_SUFFIXES = {".py", ".json", ".h5", ".md", ".txt", ".toml"}


# --- which pages, in which order ---------------------------------------------------------
@dataclass(frozen=True)
class Notebook:
    path: Path  # the clean notebook (no outputs)
    rel: str  # its path in the repository, e.g. notebooks/03_multi_head_attention.ipynb

    @property
    def name(self) -> str:
        return self.path.stem


def readme_notebook_order(readme: str) -> list[str]:
    """Repository paths of the notebooks linked from the README's table rows, in order."""
    order = []
    for line in readme.splitlines():
        if line.lstrip().startswith("|"):
            for target in re.findall(r"\]\(([^)\s]+\.ipynb)\)", line):
                if target not in order:
                    order.append(target)
    return order


def lessons(root: Path = ROOT) -> list[Notebook]:
    """Every ``notebooks/*.ipynb``: the README table's order first, then the rest by name."""
    found = {p.relative_to(root).as_posix(): p for p in sorted((root / "notebooks").glob("*.ipynb"))}
    order = [rel for rel in readme_notebook_order((root / "README.md").read_text()) if rel in found]
    order += [rel for rel in found if rel not in order]
    return [Notebook(found[rel], rel) for rel in order]


def solutions(root: Path = ROOT) -> list[Notebook]:
    return [Notebook(p, p.relative_to(root).as_posix()) for p in sorted((root / "solutions").glob("*.ipynb"))]


def matches(nb: Notebook, only: str | None) -> bool:
    """``only``: None (every notebook) or comma-separated parts of names."""
    return not only or any(part.strip() and part.strip() in nb.name for part in only.split(","))


def selected(only: str | None) -> list[Notebook]:
    return [nb for nb in lessons() + solutions() if matches(nb, only)]


# --- 1. execute, with a cache ------------------------------------------------------------
def dependency_digest(root: Path = ROOT) -> str:
    digest = hashlib.sha256()
    for entry in DEPENDENCIES:
        path = root / entry
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.suffix in DEPENDENCY_SUFFIXES and "__pycache__" not in file.parts:
                digest.update(file.relative_to(root).as_posix().encode() + b"\0")
                digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()


def cache_key(notebook: Path, deps: str, profile: str) -> str:
    digest = hashlib.sha256(notebook.read_bytes())
    digest.update(f"\0{deps}\0profile={profile}".encode())
    return digest.hexdigest()[:16]


def cached_paths(nb: Notebook, key: str) -> tuple[Path, Path]:
    folder = EXECUTED / nb.path.parent.name
    return folder / f"{nb.name}.{key}.ipynb", folder / f"{nb.name}.{key}.json"


def machine_description() -> dict:
    """The machine that executes (the kernel runs here too)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu_model": cpu, "os": platform.platform(terse=True), "timezone": time.strftime("%Z")}


def profile() -> str:
    return os.environ.get("COURSE_PROFILE", "default")


def notebook_at(path: Path) -> Notebook:
    """The :class:`Notebook` of a file (its ``rel`` is repository-relative when it is inside)."""
    path = Path(path).resolve()
    try:
        rel = path.relative_to(ROOT).as_posix()
    except ValueError:
        rel = path.as_posix()
    return Notebook(path, rel)


def kernel_log(nb: Notebook) -> Path:
    """Where the kernel's stderr goes (TensorFlow's C++ start-up lines, not for the page)."""
    return EXECUTED / f"{nb.name}.kernel.log"


def store_execution(
    nb: Notebook, executed, key: str, started: float, seconds: float, executed_by: str
) -> str | None:
    """Put an executed notebook (outputs included) into the cache under ``key``, with the
    metadata its page shows: the recorded results of *this* execution, profile, machine, date.
    Used by ``execute`` below and by the notebook tests (tests/run_notebooks.py), so that a
    notebook executed by ``make test`` is not executed again by ``make book``.
    Returns None, or why the notebook was not stored."""
    import nbformat

    results_file = BUILD / "results" / f"{nb.name}.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    meta = results.get("_meta", {})
    when = meta.get("started")
    if not when or time.mktime(time.strptime(when, "%Y-%m-%dT%H:%M:%S")) < started - 2:
        return (
            f"{nb.rel}: no results metadata from this run in {results_file} "
            f"(does its first code cell call course_utils.start({nb.name!r})?)"
        )
    record = {
        "notebook": nb.rel,
        "key": key,
        "profile": profile(),
        "executed_seconds": round(seconds, 1),
        "executed_by": executed_by,
        "machine": machine_description(),
        "results": results,
    }
    out_nb, out_meta = cached_paths(nb, key)
    for old in out_nb.parent.glob(f"{nb.name}.*"):  # older executions of this notebook
        if old.suffix in (".ipynb", ".json"):
            old.unlink()
    out_nb.parent.mkdir(parents=True, exist_ok=True)
    nbformat.validate(executed)
    nbformat.write(executed, out_nb)
    out_meta.write_text(json.dumps(record, indent=2) + "\n")
    return None


def execute(only: str | None) -> int:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    deps = dependency_digest()
    todo = selected(only)
    ran, reused, started_all = [], [], time.time()
    reused_from: dict[str, int] = {}
    for nb in todo:
        key = cache_key(nb.path, deps, profile())
        out_nb, out_meta = cached_paths(nb, key)
        if out_nb.exists() and out_meta.exists():
            reused.append(nb.rel)
            by = json.loads(out_meta.read_text()).get("executed_by", "?")
            reused_from[by] = reused_from.get(by, 0) + 1
            continue
        print(f"executing {nb.rel} (profile {profile()}) ...", flush=True)
        notebook = nbformat.read(nb.path, as_version=4)
        start = time.time()
        client = NotebookClient(
            notebook,
            kernel_name=KERNEL,
            timeout=CELL_TIMEOUT_S,
            resources={"metadata": {"path": str(nb.path.parent)}},
        )
        log = kernel_log(nb)
        log.parent.mkdir(parents=True, exist_ok=True)
        try:
            with log.open("w") as stderr:
                client.execute(stderr=stderr)
        except CellExecutionError as error:
            print(
                f"\n{nb.rel} failed; the website shows only notebooks that run cleanly.\n{error}",
                file=sys.stderr,
            )
            return 1
        seconds = time.time() - start
        if problem := store_execution(nb, notebook, key, start, seconds, EXECUTED_BY_BOOK):
            print(problem, file=sys.stderr)
            return 1
        ran.append((nb.rel, seconds))
        print(f"  done in {seconds:.0f} s", flush=True)
    total = time.time() - started_all
    sources = ", ".join(f"{n} executed by {by}" for by, n in sorted(reused_from.items()))
    print(
        f"book: executed {len(ran)} notebook(s) in {total:.0f} s, reused {len(reused)} of {len(todo)} "
        f"from {EXECUTED}" + (f" ({sources})" if sources else "")
    )
    return 0


# --- 2. assemble the Sphinx source tree --------------------------------------------------
# A Markdown link, or code (fenced or inline), whichever starts first: code is never rewritten.
LINK = re.compile(
    r"(?P<code>```.*?```|`[^`\n]*`)|(?<!!)\[(?P<text>[^\]\n]*)\]\((?P<target>[^)\s]+)\)", re.DOTALL
)


def repo_url() -> str | None:
    """``BOOK_REPO_URL``, else the https form of ``git remote get-url origin``, else None."""
    url = os.environ.get("BOOK_REPO_URL", "").strip()
    if not url:
        try:
            url = subprocess.run(
                ["git", "remote", "get-url", "origin"], cwd=ROOT, capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None
        url = re.sub(r"^git@([^:]+):", r"https://\1/", url)
    url = re.sub(r"\.git$", "", url.rstrip("/"))
    return url if url.startswith("https://") else None


def repo_ref() -> str:
    return os.environ.get("BOOK_REPO_REF", "main")


class Site:
    """The pages of the site, by repository path, and how to link between them."""

    def __init__(
        self, pages: dict[str, str], url: str | None, anchors: dict[tuple[str, str], str] | None = None
    ):
        self.pages = pages  # repository path -> path of the page in the source tree
        self.url = url
        self.anchors = anchors or {}  # (repository path, #anchor) -> page, for a split README

    def rewrite_links(self, text: str, origin: str, page: str) -> str:
        """Rewrite relative links in Markdown written at repository path ``origin``, now
        placed at source path ``page``: links to pages stay links, others go to the repository."""

        def fix(match: re.Match) -> str:
            if match["code"]:
                return match[0]
            label, target = match["text"], match["target"]
            if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                return match[0]
            path, _, anchor = target.partition("#")
            repo_path = os.path.normpath(os.path.join(os.path.dirname(origin), path)).replace(os.sep, "/")
            if repo_path.startswith(".."):
                return match[0]
            if repo_path in self.pages:
                target_page = self.anchors.get((repo_path, anchor), self.pages[repo_path])
                rel = os.path.relpath(target_page, os.path.dirname(page) or ".")
                return f"[{label}]({rel}{'#' + anchor if anchor else ''})"
            if self.url:
                kind = "tree" if (ROOT / repo_path).is_dir() else "blob"
                return f"[{label}]({self.url}/{kind}/{repo_ref()}/{repo_path})"
            shown = repo_path + ("/" if (ROOT / repo_path).is_dir() else "")
            return f"{label} (`{shown}` in the repository)" if label.strip("`") != shown else label

        return LINK.sub(fix, text)


def slug(heading: str) -> str:
    """The anchor of a heading, as GitHub and MyST (``myst_heading_anchors``) make it."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def split_sections(markdown: str) -> tuple[str, list[tuple[str, str]]]:
    """(text before the first ``## `` heading, [(heading, section text incl. heading)])."""
    parts = re.split(r"(?m)^(?=## )", markdown)
    head, sections = parts[0], []
    for part in parts[1:]:
        heading = part.splitlines()[0][3:].strip()
        sections.append((heading, part))
    return head, sections


def meta_note(record: dict, nb: Notebook, url: str | None, download: str, twin: str | None) -> str:
    meta = record["results"].get("_meta", {})
    machine = record.get("machine", {})
    when = f"{meta.get('started', '?').replace('T', ' ')} {machine.get('timezone', '')}".strip()
    executed_by = record.get("executed_by", EXECUTED_BY_BOOK).split(" (")[0]  # make test / make book
    source_links = f"{{download}}`the notebook without outputs <{download}>`"
    if twin:
        source_links += f", {{download}}`its jupytext twin <{twin}>`"
    if url:
        source_links += f", [the source in the repository]({url}/blob/{repo_ref()}/{nb.rel})"
    return "\n".join(
        [
            ":::{admonition} How these outputs were made",
            ":class: note course-run-info",
            (
                f"Executed on **{when}** by `{executed_by}` in the profile **`{meta.get('profile', '?')}`** "
                f"(`COURSE_PROFILE`) on a **{meta.get('cpus', '?')}-CPU {meta.get('machine', '?')}** machine "
                f"({machine.get('cpu_model', 'CPU model unknown')}, {machine.get('os', '?')}), "
                f"Python {meta.get('python', '?')}; the notebook ran in "
                f"{record.get('executed_seconds', '?')} s. These are the values recorded in "
                f"`build/results/{nb.name}.json` by that run; on your machine the numbers that depend "
                "on timing or on the profile will differ."
            ),
            "",
            (
                f"**Run it yourself:** clone the repository, run `make lab` and open `{nb.rel}` "
                f"(see [Set-up](../docs/setup.md)). Source: {source_links}."
            ),
            ":::",
        ]
    )


def assemble(only: str | None) -> int:
    import nbformat

    current = profile()
    deps = dependency_digest()
    url = repo_url()
    readme = (ROOT / "README.md").read_text()
    lesson_list = [nb for nb in lessons() if matches(nb, only)]
    solution_list = [nb for nb in solutions() if matches(nb, only)]
    missing = [
        nb.rel
        for nb in lesson_list + solution_list
        if not cached_paths(nb, cache_key(nb.path, deps, current))[0].exists()
    ]
    if missing:
        print(f"not executed yet (run `tools/book.py execute` first): {', '.join(missing)}", file=sys.stderr)
        return 1

    docs = sorted((ROOT / "docs").glob("*.md"))
    pages: dict[str, str] = {nb.rel: nb.rel for nb in lesson_list + solution_list}
    pages.update({p.relative_to(ROOT).as_posix(): p.relative_to(ROOT).as_posix() for p in docs})
    pages.update(
        {
            "README.md": "index.md",
            "CONTRIBUTING.md": "CONTRIBUTING.md",
            "docs/setup.md": "docs/setup.md",
            "docs/workshop.md": "docs/workshop.md",
        }
    )
    if solution_list:
        pages["solutions"] = "solutions/index.md"
    # README -> home page (title, intro, course table), set-up page, workshop page.
    head, sections = split_sections(readme)
    course = [s for s in sections if readme_notebook_order(s[1])]
    workshop = [s for s in sections if "workshop" in s[0].lower()]
    setup = [s for s in sections if s not in course and s not in workshop]
    anchors = {
        ("README.md", slug(h)): page
        for part, page in ((course, "index.md"), (workshop, "docs/workshop.md"), (setup, "docs/setup.md"))
        for h, _ in part
    }
    site = Site(pages, url, anchors)

    if SOURCE.exists():
        shutil.rmtree(SOURCE)
    (SOURCE / "docs").mkdir(parents=True)
    records = {}
    for nb in lesson_list + solution_list:
        records[nb.rel] = json.loads(cached_paths(nb, cache_key(nb.path, deps, current))[1].read_text())

    def toctree(caption: str, entries: list[str]) -> str:
        return "\n".join(["```{toctree}", ":hidden:", f":caption: {caption}", "", *entries, "```", ""])

    guides = (
        ["docs/setup", "docs/workshop"]
        + [f"docs/{p.stem}" for p in docs if p.stem not in ("setup", "workshop")]
        + ["CONTRIBUTING"]
    )
    table = ["| page | profile | machine | executed | seconds |", "|---|---|---|---|---|"]
    for nb in lesson_list + solution_list:
        meta = records[nb.rel]["results"].get("_meta", {})
        table.append(
            f"| [{nb.name}]({nb.rel}) | `{meta.get('profile')}` | {meta.get('cpus')}-CPU "
            f"{meta.get('machine')} | {meta.get('started', '').replace('T', ' ')} | "
            f"{records[nb.rel]['executed_seconds']} |"
        )
    index = [site.rewrite_links(head, "README.md", "index.md")]
    index += [site.rewrite_links(text, "README.md", "index.md") for _, text in course]
    index += [
        "## Reading this website\n",
        (
            "Every lesson and solution page shows the notebook *with its outputs*: figures, tables "
            "and the numbers it measured, executed (by `make test` or `make book`) from the notebooks in the "
            "repository. "
            "Each page says which profile and machine produced its numbers, and when (table below). "
            "To run a lesson yourself, see [Set-up](docs/setup.md).\n"
        ),
        "\n".join(table) + "\n",
        toctree("Lessons", [nb.rel.removesuffix(".ipynb") for nb in lesson_list]),
    ]
    if solution_list:
        index.append(toctree("Worked exercises", ["solutions/index"]))
    index.append(toctree("Guides", guides))
    (SOURCE / "index.md").write_text("\n".join(index))

    setup_text = ["# Set-up\n", "From the repository's README.\n"]
    setup_text += [site.rewrite_links(text, "README.md", "docs/setup.md") for _, text in setup]
    (SOURCE / "docs" / "setup.md").write_text("\n".join(setup_text))
    if not (ROOT / "docs" / "workshop.md").exists():
        # one README section becomes the page (its heading the title); several go under a title
        text = [] if len(workshop) == 1 else ["# Running a workshop\n"]
        for _, section in workshop:
            section = re.sub(r"^## ", "# ", section) if len(workshop) == 1 else section
            text.append(site.rewrite_links(section, "README.md", "docs/workshop.md"))
        if not workshop:
            text = ["# Running a workshop\n", "The README has no workshop section yet.\n"]
        (SOURCE / "docs" / "workshop.md").write_text("\n".join(text))
    for doc in docs:
        rel = doc.relative_to(ROOT).as_posix()
        (SOURCE / rel).write_text(site.rewrite_links(doc.read_text(), rel, rel))
    (SOURCE / "CONTRIBUTING.md").write_text(
        site.rewrite_links((ROOT / "CONTRIBUTING.md").read_text(), "CONTRIBUTING.md", "CONTRIBUTING.md")
    )

    if solution_list:
        (SOURCE / "solutions").mkdir()
        (SOURCE / "solutions" / "index.md").write_text(
            "\n".join(
                [
                    "# Solutions\n",
                    "The completed exercises of each lesson, executed: every checker passes.\n",
                    "```{toctree}",
                    ":maxdepth: 1",
                    "",
                    *[nb.rel.removeprefix("solutions/").removesuffix(".ipynb") for nb in solution_list],
                    "```",
                    "",
                ]
            )
        )

    # Executed notebooks, each with the note on how its outputs were made.
    for nb in lesson_list + solution_list:
        executed = nbformat.read(cached_paths(nb, cache_key(nb.path, deps, current))[0], as_version=4)
        for cell in executed.cells:
            if cell.cell_type == "markdown":
                cell.source = site.rewrite_links(cell.source, nb.rel, nb.rel)
        # clean sources for download, outside the documents Sphinx reads
        downloads = SOURCE / "_sources_clean" / nb.path.parent.name
        downloads.mkdir(parents=True, exist_ok=True)
        shutil.copy2(nb.path, downloads / nb.path.name)
        twin = nb.path.with_suffix(".py")
        if twin.exists():
            shutil.copy2(twin, downloads / twin.name)
        note = meta_note(
            records[nb.rel],
            nb,
            url,
            f"../_sources_clean/{nb.rel}",
            f"../_sources_clean/{twin.relative_to(ROOT).as_posix()}" if twin.exists() else None,
        )
        insert_note(executed, nbformat.v4.new_markdown_cell(note))
        executed.metadata.pop("widgets", None)
        (SOURCE / nb.rel).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(executed, SOURCE / nb.rel)
    print(f"book: assembled {len(lesson_list)} lesson(s), {len(solution_list)} solution(s) into {SOURCE}")
    return 0


def insert_note(notebook, note_cell) -> None:
    """Put the note right under the page title (splitting the title cell after its ``# `` line)."""
    import nbformat

    for i, cell in enumerate(notebook.cells):
        lines = cell.source.lstrip().splitlines()
        if cell.cell_type == "markdown" and lines and lines[0].startswith("# "):
            rest = "\n".join(lines[1:]).strip()
            cell.source = lines[0]
            extra = [nbformat.v4.new_markdown_cell(rest)] if rest else []
            notebook.cells[i + 1 : i + 1] = [note_cell, *extra]
            return
    notebook.cells.insert(0, note_cell)


# --- 3. checks on the built site -----------------------------------------------------------
class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.remote: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        url = None
        if tag == "script":
            url = attrs.get("src")
        elif tag == "link" and any(
            r in (attrs.get("rel") or "") for r in ("stylesheet", "preload", "modulepreload", "icon")
        ):
            url = attrs.get("href")
        elif tag in ("img", "iframe", "video", "audio", "source"):
            url = attrs.get("src")
        if url and re.match(r"^(https?:)?//", url):
            self.remote.append(f"<{tag}> {url}")


def check(site: Path) -> int:
    """No page loads a script, style sheet, image or font from the network."""
    problems = []
    pages = sorted(site.rglob("*.html"))
    for page in pages:
        parser = _Assets()
        parser.feed(page.read_text(errors="replace"))
        problems += [f"{page.relative_to(site)}: {item}" for item in parser.remote]
    for css in site.rglob("*.css"):
        for url in re.findall(r"url\(\s*['\"]?((?:https?:)?//[^'\")]+)", css.read_text(errors="replace")):
            problems.append(f"{css.relative_to(site)}: url({url})")
    for problem in problems:
        print(f"remote asset: {problem}", file=sys.stderr)
    size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    print(f"book: {len(pages)} HTML pages, {size / 2**20:.1f} MiB in {site}; remote assets: {len(problems)}")
    return 1 if problems or not pages else 0


# --- all steps, timed against the budgets ---------------------------------------------------
EXECUTE_BUDGET_S = 20 * 60.0  # executing every notebook and solution: the course's budget (tests/budget.py)
# The website itself, notebook execution excluded (in `make test` the notebook tests execute
# each notebook once and the build reuses them): assembling, Sphinx and the offline check
# (rendering), plus the browser checks of book/test_site.py, on 2 cores.
SITE_BUDGET_S = 5 * 60.0
FAIL_FACTOR = 2.0  # as tests/budget.py: over twice a budget fails the build
TIMINGS = BUILD / "book-timings.json"


def build(only: str | None, site: Path, sphinx: str) -> int:
    start = time.time()
    if rc := execute(only):
        return rc
    executed = time.time()
    if rc := assemble(only):
        return rc
    for folder in (site, BUILD / "book-doctrees"):
        shutil.rmtree(folder, ignore_errors=True)
    # -W: every warning (a broken cross-reference above all) is an error; -n: nitpicky references
    command = [
        sphinx,
        "-q",
        "-W",
        "--keep-going",
        "-n",
        "-b",
        "html",
        "-c",
        str(ROOT / "book"),
        "-d",
        str(BUILD / "book-doctrees"),
        str(SOURCE),
        str(site),
    ]
    if rc := subprocess.run(command, check=False).returncode:
        print(f"book: Sphinx failed (exit {rc}); its warnings are above", file=sys.stderr)
        return rc
    if rc := check(site):
        return rc
    rendered = time.time()
    timings = {
        "execute_s": round(executed - start, 1),
        "render_s": round(rendered - executed, 1),
        "total_s": round(rendered - start, 1),
        "only": only,
        "size_bytes": sum(p.stat().st_size for p in site.rglob("*") if p.is_file()),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    TIMINGS.write_text(json.dumps(timings, indent=2) + "\n")
    print(
        f"book: {timings['total_s']:.0f} s in all: executing {timings['execute_s']:.0f} s "
        f"(budget {EXECUTE_BUDGET_S:.0f} s), rendering {timings['render_s']:.0f} s "
        f"(the site's budget, with the browser checks: {SITE_BUDGET_S:.0f} s); "
        f"open {site / 'index.html'}"
    )
    over = [
        f"{name} took {timings[key]:.0f} s, over {FAIL_FACTOR:g} x its budget of {budget:.0f} s"
        for name, key, budget in (
            ("executing", "execute_s", EXECUTE_BUDGET_S),
            ("rendering", "render_s", SITE_BUDGET_S),
        )
        if timings[key] > FAIL_FACTOR * budget
    ]
    for line in over:
        print(f"book: {line}", file=sys.stderr)
    return 1 if over else 0


def test_site(pytest_args: list[str]) -> int:
    """The browser checks (book/test_site.py) of the site just built, timed: rendering plus
    browser checks are judged against the site's budget."""
    timings = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    start = time.time()
    command = [sys.executable, "-m", "pytest", *pytest_args, str(ROOT / "book" / "test_site.py")]
    rc = subprocess.run(command, cwd=ROOT, check=False).returncode
    timings["browser_s"] = round(time.time() - start, 1)
    render = timings.get("render_s")
    if render is None:
        print(f"book: browser checks {timings['browser_s']:.0f} s (no {TIMINGS}: build the site first)")
        return rc or 1
    timings["site_s"] = round(render + timings["browser_s"], 1)
    TIMINGS.write_text(json.dumps(timings, indent=2) + "\n")
    print(
        f"book: the site in {timings['site_s']:.0f} s: rendering {render:.0f} s + browser checks "
        f"{timings['browser_s']:.0f} s (budget {SITE_BUDGET_S:.0f} s on 2 cores, notebook execution "
        f"not included; it took {timings.get('execute_s', 0):.0f} s)"
    )
    if timings["site_s"] > FAIL_FACTOR * SITE_BUDGET_S:
        print(f"book: the site took over {FAIL_FACTOR:g} x its budget", file=sys.stderr)
        return rc or 1
    return rc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="`test [PYTEST ARGS]` runs the browser checks (book/test_site.py) of the built site.",
    )
    parser.add_argument("step", choices=["build", "execute", "assemble", "check", "test"])
    parser.add_argument(
        "--only",
        default=os.environ.get("NB") or None,
        help="only notebooks whose name contains this (or one of these, comma-separated)",
    )
    parser.add_argument("--site", type=Path, default=BUILD / "book")
    parser.add_argument("--sphinx", default=str(ROOT / ".venv-book" / "bin" / "sphinx-build"))
    args, rest = parser.parse_known_args(argv)
    if args.step == "test":
        return test_site(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.step == "build":
        return build(args.only, args.site, args.sphinx)
    if args.step == "execute":
        return execute(args.only)
    if args.step == "assemble":
        return assemble(args.only)
    return check(args.site)


if __name__ == "__main__":
    sys.exit(main())
