"""Benchmarks (``make bench``): timings on this machine, not part of the tests.

* set-up: ``make setup`` in a fresh clone of this repository with an empty ``.venv``
  (pip may reuse its download cache, as a learner's second install would);
* notebooks: each notebook and solution executed top to bottom in the course kernel.

Writes ``build/bench.json`` and a markdown table ``build/bench.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bench_setup() -> dict:
    """Seconds for `make setup` on a fresh clone (venv creation + pinned install + kernel)."""
    with tempfile.TemporaryDirectory(prefix="course-bench-") as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        start = time.perf_counter()
        subprocess.run(["make", "-s", "setup"], cwd=clone, check=True, stdout=subprocess.DEVNULL)
        first = time.perf_counter() - start
        start = time.perf_counter()
        subprocess.run(["make", "-s", "setup"], cwd=clone, check=True, stdout=subprocess.DEVNULL)
        second = time.perf_counter() - start
    return {"fresh_setup_seconds": round(first, 1), "second_setup_seconds": round(second, 2)}


def bench_notebook(path: Path, timeout: int = 1800) -> float:
    """Seconds to execute one notebook in the course kernel (nbclient, in its folder)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="transformers-course",
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-setup", action="store_true", help="do not time a fresh set-up")
    parser.add_argument("notebooks", nargs="*", help="notebooks to time (default: all)")
    args = parser.parse_args(argv)

    results: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "profile": os.environ.get("COURSE_PROFILE", "default"),
    }
    if not args.skip_setup:
        print("timing `make setup` in a fresh clone ...", flush=True)
        results["setup"] = bench_setup()
        print(f"  {results['setup']}")
    paths = [Path(p).resolve() for p in args.notebooks] or sorted(
        (ROOT / "notebooks").glob("*.ipynb")
    ) + sorted((ROOT / "solutions").glob("*.ipynb"))
    results["notebooks"] = {}
    for path in paths:
        print(f"timing {path.relative_to(ROOT)} ...", flush=True)
        results["notebooks"][str(path.relative_to(ROOT))] = round(bench_notebook(path), 1)
        print(f"  {results['notebooks'][str(path.relative_to(ROOT))]} s")
    results["notebooks_total_seconds"] = round(sum(results["notebooks"].values()), 1)

    out = ROOT / "build"
    out.mkdir(exist_ok=True)
    (out / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = ["| what | seconds |", "|---|---:|"]
    for key, value in results.get("setup", {}).items():
        lines.append(f"| {key.replace('_', ' ')} | {value} |")
    for name, seconds in results["notebooks"].items():
        lines.append(f"| {name} | {seconds} |")
    lines.append(f"| all notebooks | {results['notebooks_total_seconds']} |")
    (out / "bench.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
