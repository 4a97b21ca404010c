"""The course website (``build/book``, made by ``make book``) in a real browser.

Run by ``make test-book`` (the last step of ``make test``) after the site is built:
Playwright drives Debian's Chromium against a local HTTP server on 127.0.0.1. Every page is
loaded once; figures must load with a non-zero size, no page may show error output, maths
must be typeset by the local MathJax, the sidebar must reach every page, no internal link
may be broken (read from the built pages), search must answer, and no request may leave the
local server.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlparse

import pytest

from tests.browser_support import launch_chromium, require_browser

ROOT = Path(__file__).resolve().parents[1]
BUILD = Path(os.environ.get("COURSE_BUILD_DIR", ROOT / "build")).expanduser()
SITE = BUILD / "book"
SOURCE = BUILD / "book-src"
SCREENSHOTS = BUILD / "screenshots"
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\s*\w+(Error|Exception): ", re.MULTILINE)


def _documents() -> list[str]:
    """The page (``x/y.html``) of every document Sphinx read from the source tree."""
    docs = []
    for path in sorted(SOURCE.rglob("*")):
        rel = path.relative_to(SOURCE)
        if path.suffix in (".md", ".ipynb") and not rel.parts[0].startswith("_"):
            docs.append(rel.with_suffix(".html").as_posix())
    return docs


def _image_outputs(document: str) -> int:
    """How many image outputs the executed notebook behind a page holds (0 for other pages)."""
    source = SOURCE / Path(document).with_suffix(".ipynb")
    if not source.exists():
        return 0
    cells = json.loads(source.read_text())["cells"]
    return sum(
        1
        for cell in cells
        if cell["cell_type"] == "code"
        for out in cell.get("outputs", [])
        if any(mime.startswith("image/") for mime in out.get("data", {}))
    )


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.links: set[str] = set()  # every <a href> as written in the page

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)
            if tag == "a" and name == "href" and value:
                self.links.add(value)


@functools.cache
def _parsed(page: Path) -> _Ids:
    parser = _Ids()
    parser.feed(page.read_text(errors="replace"))
    return parser


def _ids(page: Path) -> frozenset[str]:
    return frozenset(_parsed(page).ids)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def base_url():
    if not (SITE / "index.html").exists():
        pytest.fail(f"no website in {SITE}: run `make book` first (make test-book does)")
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser_context():
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context, _ = launch_chromium(playwright)
        yield context
        context.close()


@pytest.fixture()
def page(browser_context, base_url):
    """A page whose every request must go to the local server (others are blocked and listed)."""
    page = browser_context.new_page()
    # local static files, but a shared 2-core machine under load can take longer than
    # Playwright's default 30 s to fire `load` (seen at load average 19)
    page.set_default_timeout(120_000)
    page.remote_requests = []
    host = urlparse(base_url).netloc

    def route(r):
        if urlparse(r.request.url).netloc == host or r.request.url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            page.remote_requests.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    yield page
    page.close()


def _load(page, url: str):
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status == 200, f"{url}: HTTP {response and response.status}"
    return response


def _check_page(page, base_url: str, document: str) -> list[str]:
    """Problems found on one page (empty when it is fine)."""
    problems = []
    page.remote_requests.clear()
    _load(page, urljoin(base_url, document))
    # figures: every image must load with a non-zero size; notebooks show all their image outputs
    page.evaluate(
        "Promise.all([...document.images].map(i => {"
        " i.loading = 'eager'; return i.decode().catch(() => null); }))"
    )
    images = page.evaluate(
        "[...document.images].map(i => ({src: i.getAttribute('src'), w: i.naturalWidth, h: i.naturalHeight,"
        " output: !!i.closest('.cell_output')}))"
    )
    broken = [i["src"] for i in images if not (i["w"] > 0 and i["h"] > 0)]
    if broken:
        problems.append(f"images not loaded: {broken}")
    expected = _image_outputs(document)
    shown = sum(1 for i in images if i["output"] and i["w"] > 0)
    if shown < expected:
        problems.append(f"{shown} of the notebook's {expected} figures shown")
    # no error output: no traceback or exception line in a cell's output, no Sphinx error box
    outputs = "\n".join(page.locator(".cell_output").all_inner_texts())
    found = TRACEBACK.search(outputs) or re.search(
        r"Traceback \(most recent call last\)", page.inner_text("article")
    )
    if found:
        problems.append(f"error output: {found[0].strip()!r}")
    if page.locator(".output.traceback, .output.error, .system-message, .problematic").count():
        problems.append("an error block (traceback, or a Sphinx system message)")
    # maths typeset by the local MathJax
    if page.locator(".math").count():
        try:
            page.wait_for_selector("mjx-container", timeout=20_000)
        except Exception:  # noqa: BLE001 - reported as a problem of this page
            problems.append("maths not typeset (no mjx-container)")
    # the note on how the outputs were made
    if document.startswith(("notebooks/", "solutions/")) and document != "solutions/index.html":
        note = (
            page.locator(".course-run-info").inner_text() if page.locator(".course-run-info").count() else ""
        )
        if not re.search(r"profile \S+", note) or "make lab" not in note:
            problems.append("no note on profile/machine/date and how to run it")
    if page.remote_requests:
        problems.append(f"requests off the local server: {page.remote_requests}")
    return problems


def test_every_page_loads_shows_its_figures_and_no_error(page, base_url):
    documents = _documents()
    assert "index.html" in documents and any(d.startswith("notebooks/") for d in documents)
    problems = {}
    for document in documents:
        found = _check_page(page, base_url, document)
        if found:
            problems[document] = found
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(
                path=SCREENSHOTS / f"book-FAILED-{document.replace('/', '_')}.png", full_page=False
            )
    assert not problems, "\n".join(f"{doc}: {p}" for doc, found in problems.items() for p in found)


def test_sidebar_reaches_every_page(page, base_url):
    _load(page, base_url)
    hrefs = page.eval_on_selector_all(".bd-sidebar-primary a.reference", "els => els.map(e => e.href)")
    reached = {urldefrag(h)[0].removeprefix(base_url) or "index.html" for h in hrefs}
    missing = sorted(set(_documents()) - reached)
    assert not missing, f"pages the sidebar does not link to: {missing}"
    # each of them loads in the browser in the test above; here: the sidebar points at files
    dead = sorted(d for d in reached if not (SITE / unquote(d)).is_file())
    assert not dead, f"sidebar links to missing pages: {dead}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "book-home.png", full_page=False)


def test_no_internal_link_is_broken(base_url):
    """Every link written in a page (read from the built HTML, resolved as the browser does;
    every page is loaded in the browser once, by the first test) reaches a file and anchor."""
    broken = []
    for document in _documents():
        page_url = urljoin(base_url, document)
        for href in {urljoin(page_url, link) for link in _parsed(SITE / document).links}:
            if not href.startswith(base_url):
                continue  # external: the repository, papers (not reachable offline)
            url, fragment = urldefrag(href)
            target = SITE / unquote(url.removeprefix(base_url) or "index.html")
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{document} -> {href} (no such file)")
            elif fragment and target.suffix == ".html" and unquote(fragment) not in _ids(target):
                broken.append(f"{document} -> {href} (no anchor #{fragment})")
    assert not broken, "\n".join(broken)


def test_search_answers_offline(page, base_url):
    _load(page, urljoin(base_url, "search.html?q=attention"))
    page.wait_for_selector("#search-results li", timeout=30_000)
    results = page.locator("#search-results li").count()
    assert results > 0
    assert not page.remote_requests, page.remote_requests


def test_lesson_page_screenshot(page, base_url):
    """A lesson page as a reader sees it, saved for the reviewer (build/screenshots/)."""
    lesson = next(d for d in _documents() if d.startswith("notebooks/") and _image_outputs(d))
    _load(page, urljoin(base_url, lesson))
    first_figure = page.locator(".cell_output img").first
    first_figure.scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "book-lesson.png", full_page=False)
    assert first_figure.evaluate("i => i.naturalWidth") > 0


def test_one_search_field_and_a_sidebar_on_a_phone(page, base_url):
    """One search field, in the sidebar (sphinx-book-theme 1.4 added a top bar with a second
    one: book/conf.py removes it), Ctrl+K opens the search dialog, and on a phone-width screen
    the article header's button still opens the sidebar."""
    _load(page, base_url)
    visible = page.locator(".search-button-field:visible, form.bd-search:visible").count()
    assert visible == 1, f"{visible} search fields visible on the home page (one expected, in the sidebar)"
    assert page.locator(".bd-sidebar-primary .search-button-field:visible").count() == 1
    page.keyboard.press("Control+k")
    page.wait_for_selector("dialog#pst-search-dialog[open] input", timeout=10_000)
    page.keyboard.press("Escape")
    page.set_viewport_size({"width": 400, "height": 800})
    _load(page, base_url)
    sidebar = page.locator(".bd-sidebar-primary")
    page.locator(".bd-header-article .primary-toggle").click()
    page.wait_for_timeout(500)  # the sidebar slides in
    opened = sidebar.locator("a.reference").first.is_visible()
    assert opened, "the sidebar did not open on a phone-width screen"
