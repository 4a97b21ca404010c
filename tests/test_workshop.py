"""The workshop kit: the guide's schedule is generated from the measured times; the slides
build offline (no script or style sheet from the network)."""

from __future__ import annotations

import copy
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from course_utils import slides, workshop
from course_utils.paths import REPO_ROOT


def test_committed_schedule_equals_the_generated_one():
    assert workshop.update_guide(check=True), (
        f"docs/workshop.md's schedule is out of date: run {workshop.REGENERATE}"
    )
    assert workshop.main(["schedule", "--check"]) == 0


def test_check_fails_on_a_stale_table(tmp_path, monkeypatch):
    stale = tmp_path / "workshop.md"
    text = workshop.GUIDE.read_text(encoding="utf-8")
    stale.write_text(text.replace("| 09:00 |", "| 08:00 |", 1), encoding="utf-8")
    monkeypatch.setattr(workshop, "GUIDE", stale)
    monkeypatch.setattr(workshop, "REPO_ROOT", tmp_path)
    assert workshop.main(["schedule", "--check"]) == 1
    assert workshop.main(["schedule", "--write"]) == 0
    assert stale.read_text(encoding="utf-8") == text


def test_every_lesson_has_a_slot_and_every_checker_its_exercise():
    from course_utils.progress import exercises

    reference = workshop.read_reference()
    slots = {s.what: s for s in workshop.schedule(reference)}
    shipped = sorted(p.stem for p in (REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert [name for _, name, _ in workshop.lessons(reference)] == shipped
    for exercise in exercises():
        lesson = next(name for name in shipped if name.startswith(exercise.lesson + "_"))
        assert f"`{exercise.name}`" in slots[lesson].exercise, (lesson, exercise.name)


def test_a_lesson_missing_from_the_reference_is_marked_not_measured():
    reference = copy.deepcopy(workshop.read_reference())
    _, name, _ = workshop.lessons(reference)[3]
    reference["notebooks"].pop(f"notebooks/{name}.ipynb", None)
    table = workshop.schedule_markdown(reference)
    row = next(line for line in table.splitlines() if f"| {name} |" in line)
    assert f"| {workshop.NOT_MEASURED} |" in row
    assert f"**Not measured yet:** {name}" in table
    measured = {n for _, n, s in workshop.lessons(reference) if s is not None}
    for line in table.splitlines():
        if any(f"| {n} |" in line for n in measured):
            assert workshop.NOT_MEASURED not in line


def test_readme_links_the_guide():
    assert "docs/workshop.md" in (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def test_schedule_follows_the_reference_times():
    reference = workshop.read_reference()
    plan = workshop.PLAN
    lessons = [lesson for lesson in workshop.lessons(reference) if lesson[2] is not None]
    assert lessons, "no lesson notebook in reference_times.json"
    slots = {s.what: s for s in workshop.schedule(reference)}
    for _number, name, seconds in lessons:
        slot = slots[name]
        assert slot.run_all_s == seconds
        assert slot.minutes >= plan["teach_minutes"] + math.ceil(seconds * plan["laptop_factor"] / 60)
    # A notebook measured 20 minutes slower gets a longer slot, and the day ends later.
    number, name, seconds = lessons[-1]
    slower = copy.deepcopy(reference)
    slower["notebooks"][f"notebooks/{name}.ipynb"] = seconds + 1200
    slow_slots = workshop.schedule(slower)
    assert {s.what: s for s in slow_slots}[name].minutes >= slots[name].minutes + 1200 * plan[
        "laptop_factor"
    ] // 60
    assert slow_slots[-1].start > workshop.schedule(reference)[-1].start


def test_schedule_has_breaks_and_never_runs_too_long_without_one():
    slots = workshop.schedule(workshop.read_reference())
    since = 0
    for slot in slots:
        if slot.what in ("Break", "Lunch"):
            since = 0
        else:
            since += slot.minutes
            assert since <= workshop.PLAN["break_after_minutes"] or slot is slots[-1], slot
    assert sum(s.what == "Lunch" for s in slots) <= 1
    assert all(b.start == a.start + a.minutes for a, b in zip(slots, slots[1:])), "slots follow each other"


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.refs.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.refs.append(attrs["href"])


def _reveal_source(tmp_path: Path) -> Path:
    """The npm reveal.js if ``make slides`` installed it, else a stand-in with the same files."""
    real = slides.default_reveal_source()
    if (real / "dist" / "reveal.js").exists():
        return real
    fake = tmp_path / "reveal-stand-in"
    for part in (
        "dist/reveal.js",
        "dist/reveal.css",
        "dist/theme/simple.css",
        "plugin/notes/notes.js",
        "LICENSE",
    ):
        (fake / part).parent.mkdir(parents=True, exist_ok=True)
        (fake / part).write_text("/* stand-in */\n")
    return fake


_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="


def test_slides_reuse_the_cache_of_executed_notebooks(tmp_path, monkeypatch):
    """An executed copy in build/executed/ under tools/book.py's key is used as it is (no kernel):
    the deck shows its outputs; a copy under another key (an edited notebook) is not used."""
    import nbformat

    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path / "build"))
    path = slides.lesson_notebooks(["00"])[0]
    cache = slides.BookCache()
    key = cache.book.cache_key(path, cache.deps, cache.profile)
    executed, meta = cache.book.cached_paths(cache.book.notebook_at(path), key)
    assert executed.is_relative_to(tmp_path / "build" / "executed")
    notebook = nbformat.read(path, as_version=4)
    tagged = [c for c in notebook.cells if "slide" in c.metadata.get("tags", [])]
    assert tagged
    for cell in tagged:
        cell.outputs = [
            nbformat.v4.new_output("stream", name="stdout", text="output from the cache\n"),
            nbformat.v4.new_output("display_data", data={"image/png": _PNG}),
        ]
    executed.parent.mkdir(parents=True)
    nbformat.write(notebook, executed)
    meta.write_text("{}")
    out = tmp_path / "slides"
    assert slides.build_slides(["00"], out, _reveal_source(tmp_path)) == 0
    html = (out / "00_start_here.slides.html").read_text(encoding="utf-8")
    assert _PNG in html
    assert not (tmp_path / "build" / "slides" / "executed").exists(), "nothing was executed"
    other = executed.with_name(f"{path.stem}.0000000000000000.ipynb")
    executed.rename(other)
    assert slides.BookCache().lookup(path) is None


@pytest.mark.slow
def test_slides_build_offline_for_one_notebook(tmp_path, monkeypatch):
    reveal = _reveal_source(tmp_path)
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path / "build"))  # no cache: executes the notebook
    out = tmp_path / "slides"
    assert slides.build_slides(["00"], out, reveal) == 0
    deck = out / "00_start_here.slides.html"
    html = deck.read_text(encoding="utf-8")
    parser = _Refs()
    parser.feed(html)
    assert parser.refs, "the deck loads reveal.js"
    for ref in parser.refs:
        assert not re.match(r"(https?:)?//", ref), f"loads from the network: {ref}"
        assert (out / ref).exists(), f"the deck refers to a missing local file: {ref}"
    assert slides.remote_references(html) == []
    # The tagged cells are there: the figure (as an image, without its plotting code) and the assert.
    assert "data:image/png;base64" in html
    assert "a review is in both train and test" in html
    assert "ax_len.hist" not in html
    assert (out / "index.html").read_text().count("<li>") == 1
