# Every target depends on `setup`, so a fresh machine needs only `make run` or `make test`.
SHELL := /bin/bash
# Rasa would otherwise try to send telemetry to a host this network cannot reach.
export RASA_TELEMETRY_ENABLED := false
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
SHOPBOT := $(VENV)/bin/shopbot
# pyenv keeps 3.10 out of PATH unless selected, so the finder also looks in its versions folder.
PYTHON310 := $(shell scripts/find-python310)
SETUP_STAMP := $(VENV)/.setup-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
# npm ci writes this file; it is newer than the lock file only after a complete install.
WEB_STAMP := web/node_modules/.package-lock.json

.PHONY: help setup system-deps web run run-scaled test lint typecheck db seed train clean

help:
	@echo "make run    - set up, seed the demo store, train, start every service"
	@echo "make test   - set up and run the whole suite"

$(SETUP_STAMP): pyproject.toml
	@if [ -z "$(PYTHON310)" ]; then \
	  echo "ERROR: Python 3.10 not found. Rasa 3.6 needs Python >=3.8,<3.11."; \
	  echo "Install it, e.g. 'pyenv install 3.10.13' or 'apt-get install python3.10 python3.10-venv', then rerun."; \
	  exit 1; fi
	@echo "Using $(PYTHON310)"
	@[ -x $(PY) ] || $(PYTHON310) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip<25" wheel
	$(PY) -m pip install -q -e ".[dev]"
	@rm -f $(VENV)/.setup-*
	@touch $@

setup: $(SETUP_STAMP)

system-deps:
	@scripts/install-system-deps

# The chat widget's Socket.IO client comes from the npm registry at set-up, never from a CDN at run time.
$(WEB_STAMP): web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "ERROR: npm not found; install Node.js >= 18 (apt-get install nodejs npm)"; exit 1; }
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

web: $(WEB_STAMP)

db: setup
	$(SHOPBOT) db init

seed: db
	$(SHOPBOT) seed-demo --if-empty

run: seed web
	$(SHOPBOT) run

# Two Rasa processes on 5005/5006 sharing a PostgreSQL tracker store and a Redis lock store.
run-scaled: seed web
	$(SHOPBOT) run --scaled 2

test: setup system-deps web
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy

clean:
	rm -rf var/ .pytest_cache web/node_modules
