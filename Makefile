# The two commands of this course repo:
#   make demo   prepare the QuickDraw data, release the assignments, run a leaderboard with simulated
#               students and grade a simulated class (feedback, Canvas export)
#   make test   check the import layers (import-linter), the declared dependencies (deptry) and the
#               lint rules (ruff), then run the whole test suite (pytest)
# Both create the virtual environment in .venv on first use and reuse it afterwards.
# `make help` lists every target.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
STAMP := $(VENV)/.installed
SYSTEM_STAMP := $(VENV)/.system-packages
# Debian packages the sandbox and the browser/database tests use: command -> package.
SYSTEM_PACKAGES := bwrap:bubblewrap chromium:chromium pg_ctlcluster:postgresql
# nbgrader calls `alembic` from PATH, so the venv's bin/ goes first.
export PATH := $(BIN):$(PATH)
# The similarity engine (`autograder similarity`): Dolos's library from npm, pinned, built into a folder
# of this repo (gitignored); it needs Node >= 18 and npm (the Debian packages nodejs and npm).
DOLOS_VERSION := 3.5.1
DOLOS_DIR := .tools/dolos
DOLOS_STAMP := $(DOLOS_DIR)/.installed-$(DOLOS_VERSION)

.PHONY: demo test venv system-packages similarity-engine demo-data demo-release clean-data help

help:
	@echo "make demo               every demo stage below, in order (creates .venv on first use)"
	@echo "  make demo-data        prepare the QuickDraw homework and competition datasets (data/quickdraw/)"
	@echo "  make demo-release     release every assignment (solutions/ -> assignments/)"
	@echo "  make demo-course      the course server on 127.0.0.1 with a simulated class handing in xor"
	@echo "  make demo-leaderboard a SQLite leaderboard with simulated students over HTTP, Ladder board"
	@echo "  make demo-grade       grade a simulated class in parallel sandboxes (build/demo-class),"
	@echo "                        write its feedback, export its grades as Canvas and nbgrader CSV"
	@echo "make test               lint-imports (layers), deptry (declared dependencies), ruff check (lint),"
	@echo "                        then pytest (the whole suite)"
	@echo "make venv               create .venv and install the course with its test extra"
	@echo "make system-packages    install bubblewrap, chromium and postgresql when missing (as root)"
	@echo "make similarity-engine  install Dolos (npm, pinned) into $(DOLOS_DIR) for autograder similarity"
	@echo "make clean-data         delete the prepared datasets (keeps the instructor secret)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing the course environment into $(VENV) (first run only, about 2 minutes)..."
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]' \
		2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
	@touch $@

venv: $(STAMP)

# Installs what is missing when we may (root with apt-get); otherwise says what to install.
$(SYSTEM_STAMP): | $(STAMP)
	@missing=""; for pair in $(SYSTEM_PACKAGES); do \
		command -v "$${pair%%:*}" >/dev/null || missing="$$missing $${pair##*:}"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing system packages:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "error: please install these system packages first:$$missing" >&2; exit 1; \
		fi; \
	fi
	@touch $@

system-packages: $(SYSTEM_STAMP)

# Dolos's tree-sitter parsers are compiled by npm (node-gyp, about 1.5 minutes, 450 MB), once per version.
$(DOLOS_STAMP):
	@command -v npm >/dev/null || { echo "error: autograder similarity needs Node.js >= 18 and npm (Debian: nodejs npm)" >&2; exit 1; }
	@echo "Installing Dolos $(DOLOS_VERSION) into $(DOLOS_DIR) (first run only, about 2 minutes)..."
	@mkdir -p $(DOLOS_DIR) && echo '{"private": true}' > $(DOLOS_DIR)/package.json
	@npm install --prefix $(DOLOS_DIR) --no-audit --no-fund --loglevel=error @dodona/dolos-lib@$(DOLOS_VERSION)
	@touch $@

similarity-engine: $(DOLOS_STAMP)

# Static checks first (seconds), then the suite: layers, declared dependencies, lint, tests.
test: $(STAMP) $(SYSTEM_STAMP) $(DOLOS_STAMP)
	$(BIN)/lint-imports
	$(BIN)/deptry .
	$(BIN)/ruff check
	$(BIN)/python -m pytest

# ---- make demo: each stage is its own target, run in order -------------------------
demo: demo-data demo-release demo-course demo-leaderboard demo-grade
	@echo
	@echo "Demo finished. Datasets: data/quickdraw/  Released assignments: assignments/"

demo-data: $(STAMP)
	@echo "== 1. QuickDraw datasets =="
	$(BIN)/autograder data quickdraw prepare all

demo-release: $(STAMP)
	@echo "== 2. Release the assignments (solutions/ -> assignments/) =="
	$(BIN)/autograder release --all

.PHONY: demo-course
demo-course: $(STAMP) $(SYSTEM_STAMP) demo-data demo-release
	@echo "== The course server: simulated students download xor over HTTP, hand in, read their feedback =="
	$(BIN)/autograder demo-course build/demo-course

.PHONY: demo-leaderboard
demo-leaderboard: $(STAMP) demo-data
	@echo "== Competition leaderboard: SQLite, simulated students over HTTP, Ladder board =="
	$(BIN)/python -m autograder.leaderboard.demo

.PHONY: demo-grade
DEMO_CLASS := build/demo-class
demo-grade: $(STAMP) $(SYSTEM_STAMP) demo-data demo-release
	@echo "== Grade a simulated class per assignment: parallel sandboxes, gradebook, feedback, export =="
	$(BIN)/autograder demo $(DEMO_CLASS)
	COURSE_ROOT=$(abspath $(DEMO_CLASS)) $(BIN)/autograder export --format canvas --out $(DEMO_CLASS)/grades-canvas.csv
	COURSE_ROOT=$(abspath $(DEMO_CLASS)) $(BIN)/autograder export --format csv --out $(DEMO_CLASS)/grades.csv
	@cat $(DEMO_CLASS)/grades-canvas.csv

clean-data:  # keeps the instructor secret (data/quickdraw/instructor/secret): it draws the hidden sets
	rm -rf data/quickdraw/homework data/quickdraw/competition
	find data/quickdraw/instructor -mindepth 1 -maxdepth 1 ! -name secret -exec rm -rf {} + 2>/dev/null || true
