# The Transformers course. Two commands matter (see README.md):
#   make lab    set up, check, and open JupyterLab on notebooks/00_start_here.ipynb
#   make test   set up, then run every test (unit tests, every notebook and solution, budgets)
# Everything is installed into .venv from the pinned, hashed lock files; a second run with
# unchanged lock files reinstalls nothing.

SHELL        := /bin/bash
VENV         := .venv
PY           := $(VENV)/bin/python
LOCK         ?= requirements.txt
DATA_LOCK    := requirements-data.txt
STAMP        := $(VENV)/.installed
KERNEL       := transformers-course
LAB_PORT     ?= 8888
SERVE_PORT   ?= 8000
NAME         ?=
PYTEST_ARGS  ?=
export PYTHONWARNINGS ?= ignore::DeprecationWarning
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: help setup lab test test-unit test-notebooks test-legacy fetch serve doctor bench lock lock-universal sync-notebooks clean progress slides schedule

help:
	@echo "make lab     set up and open the course in JupyterLab"
	@echo "make test    set up and run every test (notebooks included), then the budget report"
	@echo "make setup   set up only (.venv, pinned packages, Jupyter kernel)"
	@echo "make fetch [NAME=imdb|fashion-mnist|flowers|vit-b32]   pre-download full data and weights"
	@echo "make serve   serve the data cache to a workshop room (COURSE_MIRROR)"
	@echo "make doctor  pre-flight check;  make bench  timing benchmarks"
	@echo "make progress [NOTEBOOKS=dir]   every exercise's status (passed / not yet / not attempted / error)"
	@echo "make slides [NB=03]   reveal.js decks of the lessons' key figures and asserts in build/slides/"

# --- set-up -----------------------------------------------------------------------------
$(PY):
	@tools/check_platform.sh || [ "$(LOCK)" != "requirements.txt" ]
	@python=$$(tools/find_python.sh) && echo "Creating $(VENV) with $$python" && "$$python" -m venv $(VENV)

$(STAMP): $(LOCK) $(DATA_LOCK) pyproject.toml tools/install_kernel.py | $(PY)
	@echo "Installing the pinned packages into $(VENV) (about a minute on a fast connection)..."
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r $(LOCK)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r $(DATA_LOCK)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(PY) tools/install_kernel.py >/dev/null
	@touch $(STAMP)

setup: $(STAMP)
	@echo "Set-up complete: $(VENV) ($$($(PY) --version)), kernel '$(KERNEL)'."

# --- the two commands ----------------------------------------------------------------------
lab: setup
	-$(PY) -m course_utils.doctor --quick
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 --port=$(LAB_PORT) $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/00_start_here.ipynb

test: setup
	@$(MAKE) --no-print-directory test-legacy
	$(PY) -m pytest $(PYTEST_ARGS)

test-unit: setup
	$(PY) -m pytest $(PYTEST_ARGS) tests

test-notebooks: setup
	$(PY) -m pytest $(PYTEST_ARGS) notebooks solutions

test-legacy:
	@if [ -f environments/legacy/Makefile ]; then $(MAKE) --no-print-directory -C environments/legacy test; \
	else echo "environments/legacy: not built yet (issue 7)"; fi

# --- data, workshop, checks, benchmarks --------------------------------------------------
fetch: setup
	$(PY) -m course_utils.fetch $(if $(NAME),$(NAME),--all)

serve: setup
	$(PY) -m course_utils.serve --port $(SERVE_PORT)

doctor: setup
	$(PY) -m course_utils.doctor

bench: setup
	$(PY) -m benchmarks.run

# --- workshop kit (docs/workshop.md) ----------------------------------------------------
NOTEBOOKS ?= notebooks
NB        ?=
REVEAL    := build/vendor/node_modules/reveal.js/dist/reveal.js
REVEAL_VERSION := 4.6.1

progress: setup
	@$(PY) -m course_utils.progress --notebooks $(NOTEBOOKS)

# reveal.js from the npm registry once (into build/vendor/); after that the build is offline.
$(REVEAL):
	@command -v npm >/dev/null || { echo "make slides needs npm once, to fetch reveal.js (e.g. apt-get install npm)"; exit 1; }
	npm install --no-save --no-audit --no-fund --prefix build/vendor reveal.js@$(REVEAL_VERSION)

slides: setup $(REVEAL)
	$(PY) -m course_utils.slides $(NB)

schedule: setup
	$(PY) -m course_utils.workshop schedule

# --- maintenance --------------------------------------------------------------------------
lock:
	pip-compile --generate-hashes --strip-extras --allow-unsafe -o requirements.txt requirements.in

# Same pins as requirements.txt (used as constraints), hashes for every platform.
lock-universal: requirements.txt
	@mkdir -p build
	grep -E '^[A-Za-z0-9_.-]+==' requirements.txt | sed 's/ .*//' > build/constraints.txt
	uv pip compile --universal --python-version 3.11.5 --generate-hashes -c build/constraints.txt -o requirements.universal.txt requirements.in

sync-notebooks: setup
	$(VENV)/bin/jupytext --sync notebooks/*.ipynb solutions/*.ipynb

clean:
	rm -rf build .pytest_cache
