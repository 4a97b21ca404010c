"""The doctor's predicted notebook times against a real test run (``make bench-predict``).

Runs the doctor's probe now, predicts each notebook's seconds from the reference times
(``course_utils/reference_times.json``), reads the real seconds of a test run on this machine
(``build/budget.json``, written by ``make test``), and prints, per notebook, predicted and real
seconds, their ratio, and the share of notebooks predicted within +-30 %. Writes
``build/predict.json``.

    python -m benchmarks.predict                      # after `make test`, on this machine
    python -m benchmarks.predict --budget other.json  # another run's budget.json
    python -m benchmarks.predict --use-run-probe      # the probe stored in budget.json instead

Run it on an idle machine, then busy (e.g. ``python -c "while True: pass" &`` on one core,
killed afterwards by its pid): idle, the predictions should be within +-30 %; busy, the doctor
should say so.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 0.30  # the target: within +-30 % on an idle machine


def compare(predicted: dict[str, float], real: dict[str, float], tolerance: float = TOLERANCE) -> dict:
    """Rows ``(notebook, predicted, real, ratio, within)`` for the notebooks in both, and the share within."""
    rows = []
    for name in sorted(set(predicted) & set(real)):
        ratio = predicted[name] / real[name] if real[name] > 0 else float("inf")
        rows.append(
            {
                "notebook": name,
                "predicted": round(predicted[name], 1),
                "real": real[name],
                "ratio": round(ratio, 3),
                "within": abs(ratio - 1) <= tolerance,
            }
        )
    share = sum(r["within"] for r in rows) / len(rows) if rows else None
    return {"rows": rows, "share_within": share, "tolerance": tolerance}


def format_table(result: dict) -> list[str]:
    lines = [f"{'notebook':<52}{'predicted':>10}{'real':>8}{'ratio':>7}  within"]
    for r in result["rows"]:
        lines.append(
            f"{Path(r['notebook']).stem:<52}{r['predicted']:>9.0f}s{r['real']:>7.0f}s{r['ratio']:>7.2f}  "
            f"{'yes' if r['within'] else 'NO'}"
        )
    if result["rows"]:
        total_p = sum(r["predicted"] for r in result["rows"])
        total_r = sum(r["real"] for r in result["rows"])
        lines.append(f"{'all notebooks':<52}{total_p:>9.0f}s{total_r:>7.0f}s{total_p / total_r:>7.2f}")
        n_within = sum(r["within"] for r in result["rows"])
        lines.append(
            f"within +-{result['tolerance']:.0%}: {n_within} of {len(result['rows'])} "
            f"({result['share_within']:.0%})"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    from course_utils import doctor
    from course_utils.paths import build_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--budget", type=Path, default=None, help="a test run's budget.json (default: build/)"
    )
    parser.add_argument(
        "--use-run-probe", action="store_true", help="use the probe stored in budget.json, not a fresh one"
    )
    parser.add_argument("--repeats", type=int, default=5, help="repetitions of each probe part")
    args = parser.parse_args(argv)

    budget_path = args.budget or build_dir() / "budget.json"
    if not budget_path.is_file():
        print(f"{budget_path} not found: run `make test` first (it writes it), or pass --budget FILE.")
        return 2
    budget = json.loads(budget_path.read_text())
    reference = doctor.read_reference()
    if not doctor.reference_parts(reference):
        print(
            "course_utils/reference_times.json has no times for the current probe: on the reference "
            "machine, run `make test`, then "
            "`python -m course_utils.doctor --write-reference build/budget.json`."
        )
        return 2
    if args.use_run_probe:
        probe = (budget.get("speed") or {}).get("probe")
        if not probe:
            print(f"{budget_path} holds no probe (written before the probe was stored): drop --use-run-probe")
            return 2
        source = f"the probe stored in {budget_path}"
    else:
        print("running the doctor's probe (10-15 s) ...", flush=True)
        probe = doctor.cpu_probe(repeats=args.repeats)
        source = "a fresh probe"
    factor = doctor.speed_factor(doctor.reference_parts(reference), probe)
    reasons = doctor.busy_reasons(probe, reference)
    real = {row["notebook"]: row["seconds"] for row in budget["notebooks"]}
    result = compare(doctor.predict(reference, factor), real)
    result.update(
        {
            "factor": round(factor, 3),
            "probe_source": source,
            "probe_best_seconds": doctor.best_seconds(probe),
            "busy_reasons": reasons,
            "budget_json": str(budget_path),
            "run_factor": (budget.get("speed") or {}).get("factor"),
        }
    )
    lines = [
        f"speed factor {factor:.2f} (this machine vs the reference, from {source}); "
        f"probe best seconds: " + ", ".join(f"{k} {v:.3f}" for k, v in result["probe_best_seconds"].items()),
    ]
    if result["run_factor"] is not None:
        lines.append(f"factor measured during the test run: {result['run_factor']:.2f}")
    lines.append(
        "machine looks busy: " + "; ".join(reasons) if reasons else "machine looks idle to the probe"
    )
    lines += format_table(result)
    out = build_dir() / "predict.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print("\n".join(lines))
    print(f"(written to {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
