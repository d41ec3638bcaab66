# The README's two commands are `make demo` and `make test`; everything else here serves them.
SHELL := /bin/bash
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
DATA ?= ../shared/data
PYTEST_ARGS ?=

.PHONY: demo test install lint typecheck pytest browser model model-check serve migration bench clean

# Re-install whenever the dependency list changes.
$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "cxloop needs Python 3.11 or newer on PATH"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

install: $(VENV)/.installed

## Build the demo store, analyse it and serve the dashboard on http://127.0.0.1:8000
demo: install
	$(BIN)/cxloop demo

## Lint, type-check and run the whole test suite (SQLite and PostgreSQL, browser tests in Chromium)
test: install browser
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest $(PYTEST_ARGS)

# Browser tests drive the system Chromium (Playwright cannot download its own browser offline);
# the CJK font makes Chinese pages render in screenshots instead of empty boxes.
browser:
	@if { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
		|| command -v google-chrome >/dev/null 2>&1 || test -n "$$CXLOOP_CHROMIUM"; } \
		&& { ! command -v fc-list >/dev/null 2>&1 || fc-list :lang=zh | grep -q .; }; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Chromium and a CJK font for the browser tests (apt-get)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) \
		|| echo "could not install Chromium: browser tests will skip (and fail in CI)"; \
	else echo "Chromium not found: browser tests will skip (install chromium or set CXLOOP_CHROMIUM)"; fi

## Retrain the text models from the shared data (same code + same data = the same file, byte for byte)
model: install
	$(BIN)/python -m cxloop.text.train --data-dir $(DATA)

## Check that `make model` reproduces the shipped model byte for byte (trains into a temporary file)
model-check: install
	$(BIN)/python -m cxloop.text.train --data-dir $(DATA) --check

serve: install
	$(BIN)/cxloop serve

## Regenerate the initial migration from the models (before the first release only)
migration: install
	scripts/regen-initial-migration.sh

bench: install
	$(BIN)/python bench/import.py
	$(BIN)/python bench/text.py
	$(BIN)/python bench/dashboard.py
	$(BIN)/python bench/loop.py
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/delivery.py
	$(BIN)/python bench/journeys.py
	$(BIN)/python bench/surveys.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build src/*.egg-info
