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
    assert workshop.update_guide(check=True), "run: python -m course_utils.workshop schedule"


def test_readme_links_the_guide():
    assert "docs/workshop.md" in (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def test_schedule_follows_the_reference_times():
    reference = workshop.read_reference()
    plan = workshop.PLAN
    lessons = workshop.lessons(reference)
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
