"""Budget report for executed notebooks (a pytest plugin, loaded by the root conftest.py).

tests/run_notebooks.py runs each notebook as one pytest item per code cell in a fresh
kernel. This plugin adds up each notebook's wall time (kernel start to shutdown) and reads
the kernel's peak resident memory (Linux ``VmHWM``, which only grows, sampled after every
cell). At the end
it prints the course's results table (``build/results/*.json``) and the budget table, and
writes ``build/budget.json``. A notebook over twice its budget fails the run.

Beside each notebook's wall seconds the table shows its seconds normalised to the reference
machine (wall seconds / this machine's speed factor), so that a time means the same on a slow
and on a fast machine. The factor comes from the doctor's probe (``course_utils.doctor``): the
one saved in ``build/probe.json`` if it is under 15 minutes old, else a probe run once at the
end of the session (10-15 s). The judgement stays on wall seconds.
"""

from __future__ import annotations

import json
from collections import defaultdict

import psutil
import pytest

NOTEBOOK_BUDGET_S = 180.0  # 3 minutes per notebook on 2 cores
TOTAL_BUDGET_S = 20 * 60.0  # all notebooks and solutions
MEMORY_BUDGET_B = 4 * 1024**3  # 4 GiB peak per kernel
FAIL_FACTOR = 2.0  # over twice a budget fails the run

_seconds: dict[str, float] = defaultdict(float)
_peak: dict[str, int] = defaultdict(int)
_failures: list[str] = []
_speed: dict = {}


def speed_of_this_machine(reference: dict | None = None, probe: dict | None = None) -> dict:
    """``{"factor", "source", "busy_reasons", "probe"}``: how many times slower than the reference
    machine this one is (factor None, with the reason in ``source``, if it cannot be measured)."""
    from course_utils import doctor

    reference = doctor.read_reference() if reference is None else reference
    source = "the probe given"
    if probe is None:
        probe = doctor.read_saved_probe()
        source = "build/probe.json (the doctor's probe, under 15 minutes old)"
    if probe is None:
        try:
            probe = doctor.cpu_probe()
            source = "a probe run at the end of this session"
        except Exception as exc:  # noqa: BLE001 - a failed probe must not hide the budget table
            return {"factor": None, "source": f"the probe failed ({exc})", "busy_reasons": [], "probe": None}
    factor = doctor.speed_factor(doctor.reference_parts(reference), probe)
    if factor is None:
        source = (
            "course_utils/reference_times.json has no times for this probe (maintainers: "
            "`python -m course_utils.doctor --write-reference build/budget.json`)"
        )
    return {
        "factor": None if factor is None else round(factor, 3),
        "source": source,
        "busy_reasons": doctor.busy_reasons(probe, reference),
        "probe": probe,
    }


def normalised(seconds: float, factor: float | None) -> float | None:
    """Seconds on this machine expressed in seconds on the reference machine."""
    return None if factor is None else round(seconds / factor, 1)


def _notebook_of(nodeid: str) -> str | None:
    path = nodeid.split("::", 1)[0]
    return path if path.endswith(".ipynb") else None


def _kernel_peak_rss() -> int:
    """Largest peak RSS (VmHWM) among this process's children: the running kernel."""
    peak = 0
    for child in psutil.Process().children(recursive=True):
        try:
            with open(f"/proc/{child.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) * 1024)
        except OSError:
            continue
    return peak


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    notebook = _notebook_of(report.nodeid)
    if notebook is None:
        return
    _seconds[notebook] += report.duration
    if report.when == "call":
        _peak[notebook] = max(_peak[notebook], _kernel_peak_rss())


def _rows() -> list[dict]:
    factor = _speed.get("factor")
    return [
        {
            "notebook": nb,
            "seconds": round(_seconds[nb], 1),
            "normalised_seconds": normalised(_seconds[nb], factor),
            "peak_memory_mib": round(_peak[nb] / 2**20),
        }
        for nb in sorted(_seconds)
    ]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _seconds:
        return
    _speed.update(speed_of_this_machine())
    rows = _rows()
    total = sum(r["seconds"] for r in rows)
    for row in rows:
        if row["seconds"] > FAIL_FACTOR * NOTEBOOK_BUDGET_S:
            _failures.append(
                f"{row['notebook']} took {row['seconds']:.0f} s, over twice its {NOTEBOOK_BUDGET_S:.0f} s "
                "budget"
            )
        if row["peak_memory_mib"] * 2**20 > FAIL_FACTOR * MEMORY_BUDGET_B:
            _failures.append(
                f"{row['notebook']} peaked at {row['peak_memory_mib']} MiB, over twice the 4 GiB budget"
            )
    from course_utils.paths import build_dir

    out = build_dir() / "budget.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "budgets": {
                    "notebook_seconds": NOTEBOOK_BUDGET_S,
                    "total_seconds": TOTAL_BUDGET_S,
                    "peak_memory_mib": MEMORY_BUDGET_B // 2**20,
                },
                "cpus": psutil.cpu_count(),
                "notebooks": rows,
                "total_seconds": round(total, 1),
                "total_normalised_seconds": normalised(total, _speed.get("factor")),
                "speed": _speed,
                "failures": _failures,
            },
            indent=2,
        )
        + "\n"
    )
    if _failures and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _results_lines() -> list[str]:
    from course_utils.results import load_all_results

    lines = []
    for notebook, values in load_all_results().items():
        items = [(k, v) for k, v in values.items() if k != "_meta"]
        if not items:
            continue
        lines.append(f"{notebook}:")
        for key, value in items:
            shown = f"{value:.4g}" if isinstance(value, float) else json.dumps(value)
            lines.append(f"    {key:<40} {shown if len(shown) < 100 else shown[:97] + '...'}")
    return lines


def _shown(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def budget_table(rows: list[dict], speed: dict) -> list[str]:
    """The budget table's lines: wall and normalised seconds, memory, status (judged on wall time)."""
    total = sum(r["seconds"] for r in rows)
    factor = speed.get("factor")
    width = max(len(r["notebook"]) for r in rows) + 1
    lines = [
        f"{'notebook':<{width}} {'seconds':>8} {'normalised':>10} {'budget':>7} {'peak MiB':>9} "
        f"{'budget':>7}  status"
    ]
    for r in rows:
        ok = r["seconds"] <= NOTEBOOK_BUDGET_S and r["peak_memory_mib"] <= MEMORY_BUDGET_B // 2**20
        lines.append(
            f"{r['notebook']:<{width}} {r['seconds']:>8.1f} {_shown(r.get('normalised_seconds')):>10} "
            f"{NOTEBOOK_BUDGET_S:>7.0f} {r['peak_memory_mib']:>9} {MEMORY_BUDGET_B // 2**20:>7}  "
            f"{'ok' if ok else 'OVER'}"
        )
    lines.append(
        f"{'total':<{width}} {total:>8.1f} {_shown(normalised(total, factor)):>10} {TOTAL_BUDGET_S:>7.0f} "
        f"{'':>9} {'':>7}  {'ok' if total <= TOTAL_BUDGET_S else 'OVER'}"
    )
    if factor is None:
        lines.append(f"normalised: not available: {speed.get('source', 'no probe')}")
    else:
        lines.append(
            f"normalised = wall seconds / {factor:.2f}, this machine's speed factor against the reference "
            f"machine (from {speed['source']}); the budgets are judged on wall seconds"
        )
    if speed.get("busy_reasons"):
        lines.append(
            "the machine looked busy during the probe (" + "; ".join(speed["busy_reasons"]) + "): if the "
            "load did not last through the notebooks, the factor is too high and the normalised seconds "
            "too low"
        )
    return lines


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not _seconds:
        return
    tr = terminalreporter
    results = _results_lines()
    if results:
        tr.section("course results (build/results/*.json)")
        for line in results:
            tr.write_line(line)
    tr.section("budget report (build/budget.json)")
    for line in budget_table(_rows(), _speed):
        tr.write_line(line)
    for failure in _failures:
        tr.write_line(f"FAILED budget: {failure}", red=True)
