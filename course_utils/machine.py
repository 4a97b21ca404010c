"""What this machine lets the course use: its CPU quota, and TensorFlow's threads to match it.

JupyterHub, Binder and container platforms often limit a user's CPU time with a quota (Linux
CFS bandwidth control: so many microseconds of CPU per 100-ms period) instead of giving fewer
cores, so ``os.cpu_count()`` still shows every core of the host. TensorFlow sizes its thread
pools from the cores it sees, so under a quota of 0.45 CPU on a 2-core machine it runs two
worker threads (and spins them while they wait) on less than half a core's worth of time.
Measured here (notebook 04 under a 0.45-CPU quota): one thread each for TensorFlow's two pools
took 220 s of wall time against 336 s with the defaults.

:func:`match_threads_to_quota` is called by ``course_utils.start`` (the first cell of every
notebook) and by the doctor's probe, before TensorFlow runs its first operation: the thread
pools are created then and cannot change afterwards.
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


def threads_for_quota(quota: float | None, cpus: int) -> int | None:
    """TensorFlow threads per pool for a quota: ``ceil(quota)``; None when it does not limit (the default)."""
    if quota is None or quota >= cpus:
        return None
    return max(1, math.ceil(quota))


def match_threads_to_quota() -> str | None:
    """Under a CPU quota smaller than the cores, give TensorFlow's two thread pools ``ceil(quota)`` threads.

    Returns a one-line note saying what
    was set (or why it could not be), None when there is no quota to match. Must run before
    TensorFlow's first operation; afterwards the pools exist, and the note says so.
    """
    quota = cpu_quota()
    threads = threads_for_quota(quota, usable_cpus())
    if threads is None:
        return None
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # TensorFlow has already run an operation: its pools are fixed
        return (
            f"CPU quota {quota:.2g} CPU: TensorFlow had already started, so it keeps its default threads "
            "(restart the kernel and run the first cell first)"
        )
    return f"CPU quota {quota:.2g} CPU: TensorFlow uses {threads} thread{'s' if threads > 1 else ''} per pool"
