#!/usr/bin/env sh
# Print the path of a Python 3.11 interpreter, or explain how to get one and fail.
# The course needs exactly 3.11: vit-keras 0.2.0 (the Keras-3 version) declares
# Requires-Python <3.12, and on 3.12 pip silently falls back to vit-keras 0.1.0, which
# imports the end-of-life tensorflow-addons and breaks under Keras 3.
for candidate in "${PYTHON:-}" python3.11 python3 python; do
  [ -n "$candidate" ] || continue
  path=$(command -v "$candidate" 2>/dev/null) || continue
  # 3.11.5 or newer 3.11: some pinned wheels (e.g. soupsieve) need >= 3.11.5
  ok=$("$path" -c 'import sys; print(sys.version_info[:2] == (3, 11) and sys.version_info[2] >= 5)' 2>/dev/null) || continue
  if [ "$ok" = "True" ]; then echo "$path"; exit 0; fi
done
cat >&2 <<'MSG'
This course needs Python 3.11 (3.11.5 or newer), and none was found (tried $PYTHON, python3.11, python3, python).
Why: vit-keras 0.2.0, the Keras-3 version the course uses, requires Python <3.12; newer
Pythons silently get vit-keras 0.1.0, which needs the end-of-life tensorflow-addons.
How to get it, then run the same make command again:
  - Debian/Ubuntu:   sudo apt-get install python3.11 python3.11-venv   (or use pyenv / uv)
  - macOS:           brew install python@3.11
  - any system:      uv python install 3.11  (https://docs.astral.sh/uv), then PYTHON=$(uv python find 3.11) make lab
  - conda:           conda env create -f environment.yml && conda activate transformers-course
Or point the course at an interpreter: PYTHON=/path/to/python3.11 make lab
MSG
exit 1
