"""Register the course's Jupyter kernel inside .venv (run by `make setup`).

Same as `python -m ipykernel install --sys-prefix --name transformers-course`, plus one
setting: TensorFlow prints C++ start-up messages (oneDNN, CPU features) straight to the
process's stderr, before any Python log level applies. ipykernel would forward them into
every notebook as red text; with capture_fd_output=False they go to the terminal that
started Jupyter instead, and Python's own warnings and errors still show in the notebook.

The kernel application's own log goes to that terminal too; at its default level it warns
at every start that "Kernel is running over TCP without encryption" (the kernel listens on
127.0.0.1 only), which a learner cannot act on: its log level is ERROR.
"""

import json
import sys
from pathlib import Path

from ipykernel.kernelspec import install

NAME = "transformers-course"
DISPLAY_NAME = f"Python {sys.version_info.major}.{sys.version_info.minor} (transformers-course)"

path = Path(install(kernel_name=NAME, display_name=DISPLAY_NAME, prefix=sys.prefix))
spec_file = path / "kernel.json"
spec = json.loads(spec_file.read_text())
for option in ("--IPKernelApp.capture_fd_output=False", "--IPKernelApp.log_level=ERROR"):
    if option not in spec["argv"]:
        spec["argv"].append(option)
spec_file.write_text(json.dumps(spec, indent=1) + "\n")
print(f"kernel '{NAME}' registered in {path}")
