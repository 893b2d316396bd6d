# `make run` and `make test` work on a fresh clone with nothing installed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := demo/arxiv-snapshot-sample.jsonl.gz demo/arxiv-listing-2025-03_2026-07.jsonl.gz
HOST   ?= 127.0.0.1
PORT   ?= 8000
WORKERS ?= 2

.PHONY: run test test-dates install install-test chromium bench clean

# torch first, pinned to the CPU build: an unpinned torch would pull a multi-GB CUDA build.
TORCH  ?= torch==2.13.0

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

## Serve the demo instance on http://$(HOST):$(PORT) (imports the bundled papers once).
run: install
	$(BIN)/paperfeed init --demo $(word 1,$(DEMO)) --demo $(word 2,$(DEMO))
	$(BIN)/paperfeed serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

## Run every test (SQLite always; PostgreSQL too when PAPERFEED_TEST_POSTGRES_URL is set).
test: install-test chromium
	$(BIN)/pytest

## Run the date-sensitive tests under libfaketime on nine days (Mon-Sun, and across new year).
test-dates: install-test chromium
	scripts/test-dates

# Browser tests drive Debian's chromium; install it when it is missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

bench: install-test
	$(BIN)/pip install -q -e '.[test,bench]'
	$(BIN)/python bench/import_speed.py

clean:
	rm -rf $(VENV) build *.egg-info
