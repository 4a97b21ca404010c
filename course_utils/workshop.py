"""The workshop kit's schedule: ``docs/workshop.md``'s table, generated from measured times.

``python -m course_utils.workshop schedule --write`` (``make schedule``) rewrites the
schedule table of ``docs/workshop.md`` (between its two ``schedule`` markers) from the measured
notebook times in ``course_utils/reference_times.json`` (the doctor's reference, rewritten by
the maintainers after a test run), so the plan follows the measurements; without ``--write``
it prints the table, ``--check`` only compares (exit 1 when the committed table differs; a
test does the same). Every lesson notebook of the repository gets a slot; one the reference
has no time for yet is marked "not measured yet" in the table. The slides are built by
``course_utils.slides`` (``make slides``).

What is measured and what is planned: "run all" is the measured seconds of a whole notebook
on the reference machine; the other parts of a slot are the plan's choices, written once in
:data:`PLAN` and printed under the table, so an instructor can change them and regenerate.

Layer: tools (a command-line tool; lessons never import it).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from course_utils.paths import REPO_ROOT

REFERENCE_FILE = Path(__file__).resolve().parent / "reference_times.json"
GUIDE = REPO_ROOT / "docs" / "workshop.md"
REGENERATE = "python -m course_utils.workshop schedule --write"
START_MARK, END_MARK = (
    f"<!-- schedule:start (generated: {REGENERATE}) -->",
    "<!-- schedule:end -->",
)

PLAN = {
    "day_starts": "09:00",
    "setup_check_minutes": 30,  # everyone runs `make doctor`; helpers fix what it reports
    "teach_minutes": 20,  # walk through a lesson's prose and figures (a plan, not a measurement)
    "laptop_factor": 3,  # a learner's laptop in a busy room vs the 2-core reference machine (a plan)
    "live_exercise_minutes": 20,
    "home_exercise_minutes": 5,  # introduce it, show the checker, leave it for after the day
    # vs the solution notebook's measured run-all time: 07 and 08, whose solutions train or load
    # a ViT (8-14 s on the 2026-11-26 reference), are left for home
    "live_if_solution_runs_under_s": 6.5,
    "break_after_minutes": 120,
    "break_minutes": 15,
    "lunch_after": "12:00",
    "lunch_minutes": 60,
}


@dataclass
class Slot:
    start: int  # minutes after midnight
    minutes: int
    what: str
    run_all_s: float | None = None
    exercise: str = ""


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _minutes(clock: str) -> int:
    hours, mins = clock.split(":")
    return int(hours) * 60 + int(mins)


def read_reference(path: Path = REFERENCE_FILE) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


NOT_MEASURED = "not measured yet"


def lessons(reference: dict, root: Path = REPO_ROOT) -> list[tuple[str, str, float | None]]:
    """``(number, notebook name, measured seconds or None)`` of each lesson notebook of the
    repository (``notebooks/NN_*.ipynb``), in order; ``None`` when the reference has no time
    for it yet (a new lesson, before the maintainers rewrite the reference)."""
    measured = reference.get("notebooks", {})
    found = []
    for path in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        seconds = measured.get(f"notebooks/{path.name}")
        found.append((path.name[:2], path.stem, None if seconds is None else float(seconds)))
    return found


def schedule(reference: dict, plan: dict = PLAN) -> list[Slot]:
    """The day: a set-up check, then each lesson (teaching + measured run time x the laptop
    factor + its exercises, rounded up to 5 minutes), with breaks and lunch in between.

    A lesson whose run-all time is not in the reference yet gets no run-time share (its slot
    says so, see :func:`schedule_markdown`); its exercises are planned for home."""
    from course_utils.progress import exercises

    by_lesson: dict[str, list] = {}
    for exercise in exercises():  # one per checker: a lesson may have several
        by_lesson.setdefault(exercise.lesson, []).append(exercise)
    solution_s = {
        match.group(1): float(s)
        for key, s in reference.get("notebooks", {}).items()
        if (match := re.match(r"solutions/(\d\d)_", key))
    }
    clock = _minutes(plan["day_starts"])
    slots = [Slot(clock, plan["setup_check_minutes"], "Set-up check: `make doctor` on every machine")]
    clock += plan["setup_check_minutes"]
    since_break, had_lunch = plan["setup_check_minutes"], False
    for number, name, seconds in lessons(reference):
        lesson_exercises = by_lesson.get(number, [])
        live = (
            bool(lesson_exercises)
            and solution_s.get(number, math.inf) < plan["live_if_solution_runs_under_s"]
        )
        minutes = plan["teach_minutes"] + (
            0 if seconds is None else math.ceil(seconds * plan["laptop_factor"] / 60)
        )
        per_exercise = plan["live_exercise_minutes"] if live else plan["home_exercise_minutes"]
        minutes += per_exercise * len(lesson_exercises)
        minutes = 5 * math.ceil(minutes / 5)
        if since_break + minutes > plan["break_after_minutes"]:
            if not had_lunch and clock >= _minutes(plan["lunch_after"]):
                slots.append(Slot(clock, plan["lunch_minutes"], "Lunch"))
                clock += plan["lunch_minutes"]
                had_lunch = True
            else:
                slots.append(Slot(clock, plan["break_minutes"], "Break"))
                clock += plan["break_minutes"]
            since_break = 0
        label = ", ".join(f"`{e.name}`" for e in lesson_exercises)
        if label:
            label += f" ({'live' if live else 'at home'})"
        slots.append(Slot(clock, minutes, f"{name}", seconds, label))
        clock += minutes
        since_break += minutes
    slots.append(Slot(clock, 15, "Wrap-up: `make progress`, questions, what to do at home"))
    return slots


def schedule_markdown(reference: dict | None = None, plan: dict = PLAN) -> str:
    reference = reference or read_reference()
    slots = schedule(reference, plan)
    lessons_here = {name for _, name, _ in lessons(reference)}
    missing = [name for _, name, seconds in lessons(reference) if seconds is None]
    lines = [
        "| Time | Minutes | Session | Run all, measured (s) | Exercise |",
        "|---|---:|---|---:|---|",
    ]
    for slot in slots:
        if slot.run_all_s is not None:
            measured = f"{slot.run_all_s:.1f}"
        else:
            measured = NOT_MEASURED if slot.what in lessons_here else ""
        lines.append(
            f"| {_clock(slot.start)} | {slot.minutes} | {slot.what} | {measured} | {slot.exercise} |"
        )
    end = slots[-1].start + slots[-1].minutes
    lines += [
        "",
        f'Ends at {_clock(end)}. Measured: "run all", the seconds a whole notebook took on the reference '
        f"machine ({reference.get('machine', '?')}, {reference.get('cpus', '?')} CPUs, written "
        f"{reference.get('written', '?')}). Planned (edit `PLAN` in `course_utils/workshop.py` and "
        "regenerate): each lesson's slot is "
        f"{plan['teach_minutes']} min of teaching + the run-all time x {plan['laptop_factor']} "
        f"(a learner's laptop in a busy room) + each exercise ({plan['live_exercise_minutes']} min live "
        f"when the solution notebook runs in under {plan['live_if_solution_runs_under_s']:g} s on the "
        f"reference machine, otherwise {plan['home_exercise_minutes']} min to introduce it for home), "
        f"rounded up to 5 minutes; a {plan['break_minutes']}-min break before a session would pass "
        f"{plan['break_after_minutes']} min without one, lunch at the first break after "
        f"{plan['lunch_after']}.",
    ]
    if missing:
        lines += [
            "",
            f"**Not measured yet:** {', '.join(missing)}: the reference "
            "(`course_utils/reference_times.json`) has no run-all time for it, so its slot counts "
            "teaching and exercises only and the day will end later than shown. After a full test run, "
            "rewrite the reference (`python -m course_utils.doctor --write-reference build/budget.json`) "
            f"and regenerate (`{REGENERATE}`).",
        ]
    return "\n".join(lines)


def update_guide(path: Path | None = None, check: bool = False) -> bool:
    """Write the table between the markers; with ``check``, only say whether it is current."""
    path = path or GUIDE
    text = path.read_text(encoding="utf-8")
    if START_MARK not in text or END_MARK not in text:
        raise SystemExit(f"{path}: the markers {START_MARK!r} and {END_MARK!r} are missing")
    head, rest = text.split(START_MARK, 1)
    _, tail = rest.split(END_MARK, 1)
    new = f"{head}{START_MARK}\n{schedule_markdown()}\n{END_MARK}{tail}"
    if check:
        return new == text
    path.write_text(new, encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.workshop")
    sub = parser.add_subparsers(dest="command", required=True)
    sched = sub.add_parser(
        "schedule", help="print the schedule from reference_times.json (--write: into docs/workshop.md)"
    )
    action = sched.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="rewrite docs/workshop.md's schedule table")
    action.add_argument(
        "--check", action="store_true", help="only check that the committed table is current (exit 1 if not)"
    )
    args = parser.parse_args(argv)
    if args.command != "schedule":
        return 2
    guide = GUIDE.relative_to(REPO_ROOT)
    if args.check:
        if update_guide(check=True):
            print(f"{guide}: schedule is current")
            return 0
        print(f"{guide}: schedule is out of date; run {REGENERATE}")
        return 1
    if args.write:
        update_guide()
        print(f"wrote the schedule into {guide}")
        return 0
    print(schedule_markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
