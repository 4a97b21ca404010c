"""The CPU quota and TensorFlow's threads (course_utils.machine)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jupytext
import pytest

from course_utils import machine

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.py"))


def _cgroup_file(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cpu_quota_read_from_cgroup_v1_and_v2_the_smallest_ancestor_counts(tmp_path):
    proc = tmp_path / "proc_cgroup"
    # cgroup v1: the cpu controller's hierarchy; the user's group and its parent both limited
    proc.write_text("4:memory:/hub/user\n2:cpu,cpuacct:/hub/user\n0::/\n")
    v1 = tmp_path / "v1"
    _cgroup_file(v1 / "cpu,cpuacct" / "hub" / "user" / "cpu.cfs_quota_us", "150000\n")
    _cgroup_file(v1 / "cpu,cpuacct" / "hub" / "user" / "cpu.cfs_period_us", "100000\n")
    _cgroup_file(v1 / "cpu,cpuacct" / "hub" / "cpu.cfs_quota_us", "50000\n")
    _cgroup_file(v1 / "cpu,cpuacct" / "hub" / "cpu.cfs_period_us", "100000\n")
    _cgroup_file(v1 / "cpu,cpuacct" / "cpu.cfs_quota_us", "-1\n")  # the root: unlimited
    _cgroup_file(v1 / "cpu,cpuacct" / "cpu.cfs_period_us", "100000\n")
    assert machine.cpu_quota(v1, proc) == pytest.approx(0.5)
    # cgroup v2: cpu.max, "max" means unlimited
    proc.write_text("0::/user.slice/jupyter\n")
    v2 = tmp_path / "v2"
    _cgroup_file(v2 / "user.slice" / "jupyter" / "cpu.max", "67000 100000\n")
    _cgroup_file(v2 / "user.slice" / "cpu.max", "max 100000\n")
    assert machine.cpu_quota(v2, proc) == pytest.approx(0.67)
    (v2 / "user.slice" / "jupyter" / "cpu.max").write_text("max 100000\n")
    assert machine.cpu_quota(v2, proc) is None
    assert machine.cpu_quota(tmp_path / "nowhere", tmp_path / "no_proc_file") is None


def test_threads_one_per_operation_on_two_cpus_and_match_a_quota():
    assert machine.tensorflow_threads(None, cpus=2) == (1, 2)  # 2 cores: 2 operations at once, 1 thread each
    assert machine.tensorflow_threads(None, cpus=1) == (1, 1)
    assert machine.tensorflow_threads(0.45, cpus=2) == (1, 1)  # less than one core's time: one thread in all
    assert machine.tensorflow_threads(0.05, cpus=2) == (1, 1)
    assert machine.tensorflow_threads(1.5, cpus=2) == (1, 2)
    assert machine.tensorflow_threads(1.5, cpus=4) == (1, 2)
    assert machine.tensorflow_threads(2.0, cpus=2) == (1, 2)  # a quota of the whole machine: as without one
    assert machine.tensorflow_threads(3.0, cpus=8) == (3, 3)  # a quota below many cores: ceil(quota) per pool
    assert machine.tensorflow_threads(2.5, cpus=8) == (3, 3)
    assert machine.tensorflow_threads(None, cpus=8) is None  # > 2 cores, no quota: TensorFlow's defaults
    assert machine.tensorflow_threads(8.0, cpus=8) is None


def test_large_operations_get_two_threads_each_on_two_cpus_only():
    assert machine.tensorflow_threads(None, cpus=2, large_operations=True) == (2, 2)  # notebook 05's MiniLM
    assert machine.tensorflow_threads(None, cpus=1, large_operations=True) == (1, 1)
    assert machine.tensorflow_threads(0.45, cpus=2, large_operations=True) == (1, 1)  # a quota still decides
    assert machine.tensorflow_threads(3.0, cpus=8, large_operations=True) == (3, 3)
    assert machine.tensorflow_threads(None, cpus=8, large_operations=True) is None


def _run_with_quota(code: str, build_dir: Path, quota: float | None = 0.45) -> str:
    """Run ``code`` in a fresh Python that sees ``quota`` (None: none) on 2 cores; return its output."""
    fake = f"import course_utils.machine as m\nm.cpu_quota = lambda: {quota}\nm.usable_cpus = lambda: 2\n"
    result = subprocess.run(
        [sys.executable, "-c", fake + code + CHECK_THREADS],
        cwd=REPO,
        env={
            **os.environ,
            "COURSE_BUILD_DIR": str(build_dir),
        },  # start() writes a results file: not the course's
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


CHECK_THREADS = textwrap.dedent("""
    import tensorflow as tf
    import threadpoolctl
    print("threads", tf.config.threading.get_intra_op_parallelism_threads(),
          tf.config.threading.get_inter_op_parallelism_threads())
    print("blas threads", sorted({pool["num_threads"] for pool in threadpoolctl.threadpool_info()
                                  if pool["user_api"] == "blas"}))
""")


def _first_cells(notebook: Path) -> str:
    """A notebook's code cells up to and including the one that calls ``course_utils.start(...)``."""
    cells = [cell.source for cell in jupytext.read(notebook).cells if cell.cell_type == "code"]
    first = next(i for i, source in enumerate(cells) if "course_utils.start(" in source)
    return "\n".join(cells[: first + 1])


QUOTA_NOTE = "CPU quota 0.45 CPU: TensorFlow runs 1 operation at a time, 1 thread each"


def test_every_notebook_sets_the_threads_before_tensorflow_starts(tmp_path):
    """No notebook runs a TensorFlow operation before ``course_utils.start(...)``.

    If one did (say a layer called in an import cell), TensorFlow's thread pools would already
    exist and a learner under a quota would keep the default threads. The notebooks run two at a
    time (each process imports TensorFlow: several seconds).
    """
    with ThreadPoolExecutor(max_workers=2) as pool:
        printed = dict(
            zip(NOTEBOOKS, pool.map(lambda nb: _run_with_quota(_first_cells(nb), tmp_path), NOTEBOOKS))
        )
    wrong = [nb.stem for nb, out in printed.items() if QUOTA_NOTE not in out or "threads 1 1" not in out]
    assert not wrong, f"TensorFlow started before course_utils.start(...) in {wrong}: {printed}"


def test_too_late_is_said_not_hidden(tmp_path):
    started = "import tensorflow as tf\ntf.constant(1.0) + 1\n"  # an operation: the pools now exist
    printed = _run_with_quota(started + "import course_utils\ncourse_utils.start('late')\n", tmp_path)
    assert "TensorFlow had already started" in printed
    assert "threads 0 0" in printed  # 0: TensorFlow's default, the cores it sees
    assert "blas threads [1]" in printed  # NumPy's BLAS can still be limited


def test_two_cpus_one_thread_per_operation_two_at_once(tmp_path):
    printed = _run_with_quota("import course_utils\ncourse_utils.start('two')\n", tmp_path, quota=None)
    assert "2 CPUs: TensorFlow runs up to 2 operations at once, 1 thread each" in printed
    assert "threads 1 2" in printed and "blas threads [1]" in printed
