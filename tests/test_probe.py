"""The doctor's speed probe: its arithmetic and its busy-machine verdict, with injected timings.

No real timing here (the real probe runs in tests/test_cli.py, marked slow): each test builds
a probe result by hand, so that the expected factor, prediction or verdict follows from it.
"""

from __future__ import annotations

import json
import math
import re

import pytest

from benchmarks import predict as bench_predict
from course_utils import doctor
from tests import budget


def fake_probe(best: dict[str, float], spread: float = 1.0, cpu_per_wall: float = 1.5, others=0.0, cpus=2):
    """A probe result with these best seconds per part; its other repetitions ``spread`` times slower."""
    parts = {}
    for name, seconds in best.items():
        walls = [seconds * spread, seconds, seconds * spread, seconds * spread, seconds * spread]
        parts[name] = {"wall": walls, "cpu": [w * cpu_per_wall for w in walls]}
    return {"parts": parts, "warmup": {}, "import_seconds": 1.0, "busy_before_percent": others, "cpus": cpus}


REF_PARTS = {"text": 0.4, "vision": 0.5, "blas": 0.1, "tfidf": 0.8}
REFERENCE = {
    "probe_parts": REF_PARTS,
    "probe_cpu_share": 1.5,
    "cpus": 2,
    "notebooks": {"notebooks/01_a.ipynb": 60.0, "notebooks/02_b.ipynb": 100.0},
}


def test_factor_is_the_geometric_mean_of_the_parts_ratios():
    twice = fake_probe({k: 2 * v for k, v in REF_PARTS.items()})
    assert doctor.speed_factor(REF_PARTS, twice) == pytest.approx(2.0)
    mixed = fake_probe({"text": 0.8, "vision": 2.0, "blas": 0.1, "tfidf": 0.8})  # ratios 2, 4, 1, 1
    assert doctor.speed_factor(REF_PARTS, mixed) == pytest.approx(math.sqrt(math.sqrt(8)))
    # the best repetition counts, not the slow ones
    assert doctor.speed_factor(REF_PARTS, fake_probe(REF_PARTS, spread=3.0)) == pytest.approx(1.0)
    # only the parts both have; none shared (a reference from an older probe): no factor
    assert doctor.speed_factor({"text": 0.2}, twice) == pytest.approx(4.0)
    assert doctor.speed_factor({}, twice) is None
    assert doctor.reference_parts({"probe_seconds": 0.2, "notebooks": {}}) == {}


def test_prediction_scales_each_notebook_by_the_factor():
    assert doctor.predict(REFERENCE, 2.5) == {"notebooks/01_a.ipynb": 150.0, "notebooks/02_b.ipynb": 250.0}


def test_idle_and_busy_classification():
    idle = fake_probe(REF_PARTS, spread=1.1, cpu_per_wall=1.5, others=10.0)
    assert doctor.busy_reasons(idle, REFERENCE) == []
    spread = fake_probe(REF_PARTS, spread=1.6)
    assert any("text part" in r and "1.60x" in r for r in doctor.busy_reasons(spread, REFERENCE))
    loaded = fake_probe(REF_PARTS, others=52.0)  # e.g. one CPU burner on a 2-CPU machine
    assert doctor.busy_reasons(loaded, REFERENCE) == [
        "other programs used 52 % of the CPUs just before the probe"
    ]
    starved = fake_probe(REF_PARTS, cpu_per_wall=0.9)  # 0.9 < 0.7 * 1.5 CPU seconds per second
    assert "CPU seconds per second" in doctor.busy_reasons(starved, REFERENCE)[0]
    # the CPU share is only compared between machines with as many CPUs
    assert doctor.busy_reasons(fake_probe(REF_PARTS, cpu_per_wall=0.9, cpus=8), REFERENCE) == []


def test_doctor_reports_factor_predictions_and_busy_machine():
    slow = fake_probe({k: 2 * v for k, v in REF_PARTS.items()})
    checks, table = doctor.check_cpu(REFERENCE, probe=slow)
    assert "2.0x the reference" in checks[0].detail
    assert [c.name for c in checks] == ["CPU probe", "speed"]
    assert "02_b" in checks[1].detail and "01_a" not in checks[1].detail  # 200 s > 180 s, 120 s is not
    assert re.search(r"01_a\s+60s\s+120s", "\n".join(table))

    busy = fake_probe({k: 2 * v for k, v in REF_PARTS.items()}, others=60.0)
    checks, table = doctor.check_cpu(REFERENCE, probe=busy)
    note = next(c for c in checks if c.name == "busy machine")
    assert note.status == "note" and "looks busy" in note.detail and "rough" in note.detail
    assert "rough" in table[-1]

    old_reference = {"probe_seconds": 0.2, "cpus": 2, "notebooks": REFERENCE["notebooks"]}
    checks, table = doctor.check_cpu(old_reference, probe=slow)
    assert "no reference times for this probe" in checks[0].detail and table == []


def test_a_cpu_quota_is_named_and_is_not_a_busy_machine():
    """A quota of 0.67 CPU gives the probe about 0.63 CPU seconds per second (measured under slow.sh 0.67):
    the doctor names the quota instead of telling the learner to close programs; a probe that gets far
    less than its quota is still busy."""
    slow = fake_probe({k: 2 * v for k, v in REF_PARTS.items()}, cpu_per_wall=0.63)
    assert doctor.busy_reasons(slow, REFERENCE) != []  # without knowing the quota it looks busy
    limited = {**slow, "cpu_quota": 0.67}
    assert doctor.busy_reasons(limited, REFERENCE) == []
    checks, table = doctor.check_cpu(REFERENCE, probe=limited)
    assert [c.name for c in checks] == ["CPU probe", "CPU quota", "speed"]
    assert "0.67 CPU of its 2" in checks[1].detail and "quota" in checks[1].detail
    assert "rough" not in table[-1]
    # the repetitions of a short part vary under a quota (under slow.sh 0.45: tfidf median 1.67x its best)
    assert (
        doctor.busy_reasons(
            {**fake_probe(REF_PARTS, spread=1.7, cpu_per_wall=0.63), "cpu_quota": 0.67}, REFERENCE
        )
        == []
    )
    starved = {**fake_probe(REF_PARTS, cpu_per_wall=0.3), "cpu_quota": 0.67}  # 0.3 < 0.7 * 0.67
    assert "CPU seconds per second" in doctor.busy_reasons(starved, REFERENCE)[0]
    unlimited = {**fake_probe(REF_PARTS), "cpu_quota": None}
    assert [c.name for c in doctor.check_cpu(REFERENCE, probe=unlimited)[0]] == ["CPU probe"]


def test_write_reference_stores_the_run_probe_and_round_trips(tmp_path):
    probe = fake_probe(REF_PARTS, cpu_per_wall=1.4)
    budget_json = tmp_path / "budget.json"
    budget_json.write_text(
        json.dumps(
            {
                "notebooks": [{"notebook": "notebooks/01_a.ipynb", "seconds": 60.0}],
                "speed": {"factor": 1.0, "probe": probe},
            }
        )
    )
    reference = doctor.write_reference(budget_json, path=tmp_path / "ref.json")
    assert json.loads((tmp_path / "ref.json").read_text()) == reference
    assert reference["probe_parts"] == REF_PARTS
    assert reference["probe_cpu_share"] == pytest.approx(1.4)
    assert reference["notebooks"] == {"notebooks/01_a.ipynb": 60.0}
    assert doctor.speed_factor(doctor.reference_parts(reference), probe) == pytest.approx(1.0)


def test_saved_probe_is_reused_only_while_fresh(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path))
    probe = {**fake_probe(REF_PARTS), "taken": 1000.0}
    (tmp_path / doctor.PROBE_FILE_NAME).write_text(json.dumps(probe))
    assert doctor.read_saved_probe(max_age_s=60, now=1030.0) == probe
    assert doctor.read_saved_probe(max_age_s=60, now=1100.0) is None


def test_budget_report_shows_normalised_seconds(monkeypatch):
    slow = fake_probe({k: 2 * v for k, v in REF_PARTS.items()})
    speed = budget.speed_of_this_machine(REFERENCE, probe=slow)
    assert speed["factor"] == pytest.approx(2.0) and speed["busy_reasons"] == []
    rows = [
        {
            "notebook": "notebooks/01_a.ipynb",
            "seconds": 150.0,
            "normalised_seconds": None,
            "peak_memory_mib": 900,
        }
    ]
    rows[0]["normalised_seconds"] = budget.normalised(150.0, speed["factor"])
    assert rows[0]["normalised_seconds"] == 75.0
    lines = budget.budget_table(rows, speed)
    assert re.search(r"01_a\.ipynb\s+150\.0\s+75\.0\s+180", lines[1])
    assert "wall seconds / 2.00" in lines[-1]

    unknown = budget.speed_of_this_machine({"notebooks": {}}, probe=slow)
    assert unknown["factor"] is None and budget.normalised(150.0, None) is None
    lines = budget.budget_table([{**rows[0], "normalised_seconds": None}], unknown)
    assert "n/a" in lines[1] and "no times for this probe" in lines[-1]

    busy = budget.speed_of_this_machine(REFERENCE, probe=fake_probe(REF_PARTS, others=60.0))
    assert "looked busy" in budget.budget_table(rows, busy)[-1]


def test_benchmark_compares_prediction_with_reality():
    result = bench_predict.compare(
        {"a": 100.0, "b": 100.0, "c": 100.0, "d": 50.0}, {"a": 100.0, "b": 140.0, "c": 70.0, "e": 10.0}
    )
    assert [r["notebook"] for r in result["rows"]] == ["a", "b", "c"]  # only notebooks in both
    assert [r["within"] for r in result["rows"]] == [True, True, False]  # ratios 1.0, 0.714, 1.43
    assert result["share_within"] == pytest.approx(2 / 3)
    table = "\n".join(bench_predict.format_table(result))
    assert "within +-30%: 2 of 3 (67%)" in table


def test_a_probe_that_times_out_is_a_busy_machine_not_a_broken_setup(monkeypatch):
    def too_slow(*args, **kwargs):
        raise doctor.subprocess.TimeoutExpired("python", 300)

    monkeypatch.setattr(doctor, "cpu_probe", too_slow)
    checks, table = doctor.check_cpu(REFERENCE)
    assert checks[0].status == "note" and "did not finish within 300 s" in checks[0].detail and table == []
