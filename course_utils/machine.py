"""What this machine lets the course use: its CPU quota, and TensorFlow's threads to match it.

TensorFlow has two thread pools: *intra-op* threads split one operation (a matrix product)
between cores, *inter-op* threads run independent operations (the query, key and value
projections; the gradients of different layers) at the same time. It sizes both from the cores
it sees. Two things make that a poor fit for this course:

* **Small operations on 2 cores.** The course's models are small: splitting one of their
  operations between two threads costs about as much in hand-over as it gains. With one thread
  per operation and two operations at once, an epoch of notebook 04's Transformer took
  2.71-2.80 instead of 3.45-3.65 CPU seconds and 1.92-1.95 instead of 2.17-2.36 s of wall time
  on this 2-core machine (``make bench-threads``, three runs);
  notebooks 02, 04 and 07 ran 11-16 % faster (measurements in CONTRIBUTING.md). Notebook 05's
  pretrained MiniLM has larger products that a second thread does speed up: it asks for two
  threads per operation (``course_utils.start(..., large_operations=True)``).
* **A CPU quota.** JupyterHub, Binder and container platforms often limit a user's CPU time with
  a quota (Linux CFS bandwidth control: so many microseconds of CPU per 100-ms period) instead of
  giving fewer cores, so ``os.cpu_count()`` still shows every core of the host. Under a quota of
  0.45 CPU on a 2-core machine TensorFlow's defaults run two worker threads (and spin them while
  they wait) on less than half a core's worth of time. Measured here (notebook 04 under a
  0.45-CPU quota): one thread for each pool took 220 s of wall time against 336 s with the defaults.

:func:`match_threads_to_machine` is called by ``course_utils.start`` (the first cell of every
notebook) and by the doctor's probe, before TensorFlow runs its first operation: the thread
pools are created then and cannot change afterwards. With more than 2 CPUs and no quota it
leaves TensorFlow's defaults (not measured here).
"""

from __future__ import annotations

import math
import os
from pathlib import Path


def cpu_quota(
    cgroup_root: Path = Path("/sys/fs/cgroup"), proc_cgroup: Path = Path("/proc/self/cgroup")
) -> float | None:
    """How many CPUs this process may use under a cgroup CPU quota (e.g. 0.67); None without one.

    The quota is read from the process's cgroup and its ancestors (the smallest counts), for
    cgroup v2 (``cpu.max``) and v1 (``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``).
    """
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return None
    quotas = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":  # cgroup v2: one hierarchy
            mounts, read = [cgroup_root, cgroup_root / "unified"], _quota_v2  # unified: the hybrid layout
        elif "cpu" in controllers.split(","):  # cgroup v1: the cpu controller's own hierarchy
            mounts, read = [cgroup_root / name for name in ("cpu", "cpu,cpuacct", "cpuacct,cpu")], _quota_v1
        else:
            continue
        for mount in (m for m in mounts if m.is_dir()):
            folder = mount / path.strip("/")
            for directory in [folder, *folder.parents]:  # the cgroup, then each ancestor up to the mount
                quota = read(directory)
                if quota is not None:
                    quotas.append(quota)
                if directory == mount:
                    break
    return min(quotas) if quotas else None


def _quota_v2(directory: Path) -> float | None:
    try:
        quota, period = (directory / "cpu.max").read_text().split()
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        return None


def _quota_v1(directory: Path) -> float | None:
    try:
        quota = int((directory / "cpu.cfs_quota_us").read_text())
        period = int((directory / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None if quota <= 0 or period <= 0 else quota / period


def usable_cpus() -> int:
    """The cores this process may run on (its CPU affinity, else ``os.cpu_count()``)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no sched_getaffinity
        return os.cpu_count() or 1


def tensorflow_threads(
    quota: float | None, cpus: int, large_operations: bool = False
) -> tuple[int, int] | None:
    """TensorFlow's ``(intra_op, inter_op)`` threads for ``cpus`` cores and a CPU quota; None: its defaults.

    The CPUs the course may use are the cores, or ``ceil(quota)`` under a smaller quota. On at
    most 2 of them: one thread per operation (as many as CPUs with ``large_operations``, for a
    model whose matrix products are large enough to share), and as many operations at once as
    CPUs. On more, under a quota: ``ceil(quota)`` threads in each pool; without one,
    TensorFlow's defaults.
    """
    limited = quota is not None and quota < cpus
    budget = max(1, math.ceil(quota)) if limited else cpus
    if budget <= 2:
        return (budget if large_operations else 1), budget
    return (budget, budget) if limited else None


def match_threads_to_machine(large_operations: bool = False) -> str | None:
    """Give TensorFlow's two thread pools the sizes :func:`tensorflow_threads` chooses for this machine.

    ``large_operations``: the notebook's matrix products are large enough for two threads each
    (notebook 05's MiniLM: the notebook took 50.7 and 53.4 s with one thread per operation,
    48.8 and 51.7 s with two, idle, 2026-11-26).

    NumPy's and scikit-learn's BLAS and OpenMP libraries get the threads per operation of the
    rule without ``large_operations`` (``threadpoolctl`` for the libraries already loaded,
    environment variables for those loaded later): their products in this course are small
    too, and a second OpenBLAS thread mostly waits, busy (the doctor's TF-IDF part: 0.03-0.04 s
    with one thread, 0.06-0.11 s with two, on this 2-core machine idle and under a 0.45-CPU
    quota).

    Returns a one-line note saying what was set (or why it could not be), None when TensorFlow
    keeps its defaults. Must run before TensorFlow's first operation; afterwards the pools
    exist, and the note says so.
    """
    quota, cpus = cpu_quota(), usable_cpus()
    threads = tensorflow_threads(quota, cpus, large_operations)
    if threads is None:
        return None
    intra, inter = threads
    # BLAS keeps the rule's threads without large_operations: scikit-learn's fits here are small
    blas_threads = tensorflow_threads(quota, cpus)[0]
    _limit_blas_threads(blas_threads)
    import tensorflow as tf

    limited = quota is not None and quota < cpus
    where = f"CPU quota {quota:.2g} CPU" if limited else f"{cpus} CPU{'s' if cpus > 1 else ''}"
    blas = f"NumPy and scikit-learn {blas_threads} thread{'s' if blas_threads > 1 else ''}"
    try:
        tf.config.threading.set_intra_op_parallelism_threads(intra)
        tf.config.threading.set_inter_op_parallelism_threads(inter)
    except RuntimeError:  # TensorFlow has already run an operation: its pools are fixed
        return (
            f"{where}: TensorFlow had already started, so it keeps its default threads "
            f"(restart the kernel and run the first cell first); {blas}"
        )
    at_once = "1 operation at a time" if inter == 1 else f"up to {inter} operations at once"
    return f"{where}: TensorFlow runs {at_once}, {intra} thread{'s' if intra > 1 else ''} each; {blas}"


def _limit_blas_threads(threads: int) -> None:
    """At most ``threads`` threads per BLAS or OpenMP call, in this process's libraries now and later."""
    from threadpoolctl import threadpool_limits

    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, str(threads))  # read by a library when it loads
    threadpool_limits(limits=threads)  # the libraries already loaded (NumPy's OpenBLAS, ...)
