# Quick start: `make demo` (install, demo data, local OIDC provider + portal) and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export PORTAL_DATA_DIR ?= var

.PHONY: install demo test test-fast browser bench clean-data

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
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

## The whole suite: unit, integration (SQLite and PostgreSQL), app and browser tests.
test: install browser
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q tests/unit tests/app

bench: install
	$(PY) bench/bench_my_data.py --employees 5000 --days 365

clean-data:
	rm -rf var
