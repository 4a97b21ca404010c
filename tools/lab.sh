#!/usr/bin/env bash
# Start JupyterLab the way the course expects. `make lab` runs this, and so does
# tests/test_browser.py, so the test sees exactly what a learner gets.
#   - the server's root is the repository (notebooks/, solutions/, docs/, README.md all reachable);
#   - the printed URL opens notebooks/00_start_here.ipynb in the course kernel;
#   - the course's settings come from tools/jupyter/ (see jupyter_server_config.py there).
# Extra arguments go to `jupyter lab` (the test adds --no-browser and its own token).
# Environment: VENV (default .venv), LAB_PORT (default 8888).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${VENV:-$root/.venv}"
export JUPYTER_CONFIG_PATH="$root/tools/jupyter${JUPYTER_CONFIG_PATH:+:$JUPYTER_CONFIG_PATH}"
export PYTHONWARNINGS="${PYTHONWARNINGS:-ignore::DeprecationWarning}"
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
extra=()
if [ "$(id -u)" = "0" ]; then extra+=(--allow-root); fi
cd "$root"
exec "$venv/bin/jupyter" lab --ServerApp.root_dir="$root" --port="${LAB_PORT:-8888}" "${extra[@]}" "$@"
