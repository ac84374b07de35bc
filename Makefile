# Quick start: `make demo` (install, demo data, local OIDC provider + portal) and `make test`.
PYTHON ?= python3
# Test processes (pytest-xdist); each test file runs whole in one of them, with its own fixtures.
TEST_WORKERS ?= 2
VENV   := .venv
PY     := $(VENV)/bin/python
UV     := $(VENV)/bin/uv
STAMP  := $(VENV)/.installed-stamp
export PORTAL_DATA_DIR ?= var

.PHONY: install demo lint test test-fast browser bench clean-data messages

## Installs exactly the versions in uv.lock (and the project, editable) with uv, itself installed from PyPI.
## --locked stops if pyproject.toml changed without `uv lock`; --inexact keeps pip and uv in the venv.
$(STAMP): pyproject.toml uv.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip uv
	UV_PROJECT_ENVIRONMENT=$(VENV) UV_PYTHON_DOWNLOADS=never $(UV) sync --quiet --locked --inexact --extra dev
	touch $(STAMP)

install: $(STAMP)

## Start the demo: generates data on first run, then the OIDC provider (:9400) and the portal (:8501).
demo: install
	$(VENV)/bin/portal demo

## Debian's Chromium for the browser tests (needs root on a fresh machine).
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "Browser tests need Debian's chromium: sudo apt-get install -y chromium"; fi; }

## Lint (ruff) and type check (mypy); both are configured in pyproject.toml.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy portal

## The whole suite: lint and type check, then unit, integration (SQLite and PostgreSQL), app and browser tests.
test: install lint browser
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

messages: install
	$(PY) -m portal.core.message_catalogs update $(DOMAINS)

test-fast: install
	$(PY) -m pytest -q tests/unit tests/app

bench: install
	$(PY) bench/bench_my_data.py --employees 5000 --days 365
	$(PY) bench/bench_directory.py --people 100000
	$(PY) bench/bench_intake.py --rows 2000000
	$(PY) bench/bench_object_store.py --employees 1000 --days 30

clean-data:
	rm -rf var
