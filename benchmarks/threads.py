"""TensorFlow's and BLAS's threads per operation on this machine (``make bench-threads``).

``course_utils.machine.tensorflow_threads`` gives TensorFlow one thread per operation and as
many operations at once as CPUs on a machine of at most 2 CPUs, and NumPy's/scikit-learn's BLAS
one thread too. This benchmark measures that choice against the libraries' defaults, each in a
fresh Python (thread pools are fixed when a library starts):

* an epoch of notebook 04's Transformer (the seed's sizes) on the course's training reviews;
* the doctor's TF-IDF + logistic-regression part and its NumPy matrix products.

Prints one line per setting and workload (best and median of the repetitions, wall and CPU
seconds) and writes ``build/bench_threads.json``. Idle machine: close everything else.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SETTINGS = {
    "defaults": {},
    "one thread per operation": {
        "TF_NUM_INTRAOP_THREADS": "1",
        "TF_NUM_INTEROP_THREADS": "2",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
    },
}

# Run in a child Python: no course_utils.start (it would choose the threads itself).
CHILD = textwrap.dedent("""
    import json, statistics, sys, time
    import numpy as np

    def timed(step, repeats):
        step()  # warm-up: builds, traces
        walls, cpus = [], []
        for _ in range(repeats):
            wall, cpu = time.perf_counter(), time.process_time()
            step()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        return {"wall_best": min(walls), "wall_median": statistics.median(walls),
                "cpu_best": min(cpus), "cpu_median": statistics.median(cpus)}

    import keras
    from course_utils.data import load_reviews
    from course_utils.doctor import _blas_part, _tfidf_part
    from course_utils.text_models import build_text_classifier

    reviews = load_reviews()
    vectorize = keras.layers.TextVectorization(max_tokens=20000, output_sequence_length=56)
    vectorize.adapt(reviews.x_train)
    x_train = vectorize(reviews.x_train).numpy()
    keras.utils.set_random_seed(42)
    model = build_text_classifier(56, 20000)
    epoch = lambda: model.fit(x_train, reviews.y_train, batch_size=64, epochs=1, verbose=0)
    repeats = int(sys.argv[1])
    print(json.dumps({"transformer epoch (notebook 04)": timed(epoch, repeats),
                      "TF-IDF + logistic regression (doctor)": timed(_tfidf_part(), 5 * repeats),
                      "NumPy products (doctor)": timed(_blas_part(), 5 * repeats)}))
""")


def measure(setting: dict[str, str], repeats: int) -> dict:
    """One setting's timings, in a fresh Python with ``setting``'s environment variables."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS["one thread per operation"]}
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(repeats)],
        cwd=ROOT,
        env={**env, **setting, "TF_CPP_MIN_LOG_LEVEL": "2"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="epochs per setting (default 3)")
    args = parser.parse_args(argv)
    results = {}
    for name, setting in SETTINGS.items():
        results[name] = measure(setting, args.repeats)
        for workload, t in results[name].items():
            print(
                f"{name:26s} {workload:40s} wall best {t['wall_best']:.3f} s "
                f"(median {t['wall_median']:.3f}), CPU best {t['cpu_best']:.3f} s"
            )
    out = ROOT / "build" / "bench_threads.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {"cpus": os.cpu_count(), "settings": SETTINGS, "results": results}
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"-> {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
