"""The workshop kit's schedule: ``docs/workshop.md``'s table, generated from measured times.

``python -m course_utils.workshop schedule`` rewrites the schedule table of
``docs/workshop.md`` (between its two ``schedule`` markers) from the measured notebook times
in ``course_utils/reference_times.json`` (the doctor's reference, rewritten by the maintainers
after a test run), so the plan follows the measurements. ``--check`` only compares (a test
runs it). The slides are built by ``course_utils.slides`` (``make slides``).

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
START_MARK, END_MARK = (
    "<!-- schedule:start (generated: python -m course_utils.workshop schedule) -->",
    "<!-- schedule:end -->",
)

PLAN = {
    "day_starts": "09:00",
    "setup_check_minutes": 30,  # everyone runs `make doctor`; helpers fix what it reports
    "teach_minutes": 20,  # walk through a lesson's prose and figures (a plan, not a measurement)
    "laptop_factor": 3,  # a learner's laptop in a busy room vs the 2-core reference machine (a plan)
    "live_exercise_minutes": 20,
    "home_exercise_minutes": 5,  # introduce it, show the checker, leave it for after the day
    "live_if_solution_runs_under_s": 5.0,  # measured: the solution notebook's run-all time
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


def lessons(reference: dict) -> list[tuple[str, str, float]]:
    """``(number, notebook name, measured seconds)`` of each lesson notebook, in order."""
    found = []
    for key, seconds in reference["notebooks"].items():
        match = re.fullmatch(r"notebooks/((\d\d)_\w+)\.ipynb", key)
        if match:
            found.append((match.group(2), match.group(1), float(seconds)))
    return sorted(found)


def schedule(reference: dict, plan: dict = PLAN) -> list[Slot]:
    """The day: a set-up check, then each lesson (teaching + measured run time x the laptop
    factor + its exercise, rounded up to 5 minutes), with breaks and lunch in between."""
    from course_utils.progress import exercises

    by_lesson = {e.lesson: e for e in exercises()}
    solution_s = {
        re.match(r"solutions/(\d\d)_", key).group(1): s
        for key, s in reference["notebooks"].items()
        if key.startswith("solutions/")
    }
    clock = _minutes(plan["day_starts"])
    slots = [Slot(clock, plan["setup_check_minutes"], "Set-up check: `make doctor` on every machine")]
    clock += plan["setup_check_minutes"]
    since_break, had_lunch = plan["setup_check_minutes"], False
    for number, name, seconds in lessons(reference):
        exercise = by_lesson.get(number)
        live = (
            exercise is not None and solution_s.get(number, math.inf) < plan["live_if_solution_runs_under_s"]
        )
        minutes = plan["teach_minutes"] + math.ceil(seconds * plan["laptop_factor"] / 60)
        if exercise is not None:
            minutes += plan["live_exercise_minutes"] if live else plan["home_exercise_minutes"]
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
        label = "" if exercise is None else f"`{exercise.name}` ({'live' if live else 'at home'})"
        slots.append(Slot(clock, minutes, f"{name}", seconds, label))
        clock += minutes
        since_break += minutes
    slots.append(Slot(clock, 15, "Wrap-up: `make progress`, questions, what to do at home"))
    return slots


def schedule_markdown(reference: dict | None = None, plan: dict = PLAN) -> str:
    reference = reference or read_reference()
    slots = schedule(reference, plan)
    lines = [
        "| Time | Minutes | Session | Run all, measured (s) | Exercise |",
        "|---|---:|---|---:|---|",
    ]
    for slot in slots:
        measured = "" if slot.run_all_s is None else f"{slot.run_all_s:.1f}"
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
        f"(a learner's laptop in a busy room) + the exercise ({plan['live_exercise_minutes']} min live "
        f"when the solution notebook runs in under {plan['live_if_solution_runs_under_s']:g} s on the "
        f"reference machine, otherwise {plan['home_exercise_minutes']} min to introduce it for home), "
        f"rounded up to 5 minutes; a {plan['break_minutes']}-min break before a session would pass "
        f"{plan['break_after_minutes']} min without one, lunch at the first break after "
        f"{plan['lunch_after']}.",
    ]
    return "\n".join(lines)


def update_guide(path: Path = GUIDE, check: bool = False) -> bool:
    """Write the table between the markers; with ``check``, only say whether it is current."""
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
    sched = sub.add_parser("schedule", help="rewrite docs/workshop.md's schedule from reference_times.json")
    sched.add_argument("--check", action="store_true", help="only check that the committed table is current")
    args = parser.parse_args(argv)
    if args.command == "schedule":
        if args.check:
            if update_guide(check=True):
                print(f"{GUIDE.relative_to(REPO_ROOT)}: schedule is current")
                return 0
            print(
                f"{GUIDE.relative_to(REPO_ROOT)}: schedule is out of date; "
                "run python -m course_utils.workshop schedule"
            )
            return 1
        update_guide()
        print(f"wrote the schedule into {GUIDE.relative_to(REPO_ROOT)}")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
