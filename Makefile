# Quick start: `make run` (set up and start the console), `make test` (the suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed

.PHONY: run test lint format setup bench

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

setup: $(STAMP)
	DJANGO_DEBUG=1 $(PY) manage.py migrate --noinput
	DJANGO_DEBUG=1 $(PY) manage.py sync_flows
	DJANGO_DEBUG=1 $(PY) manage.py prepare_demo

run: setup
	DJANGO_DEBUG=1 $(PY) manage.py run_console

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

# A cluster name of its own: a console running from the same checkout (same
# var/cache, same Redis) neither sees nor disturbs the test clusters' reports.
test: lint
	DJANGO_SECRET_KEY=test-only-insecure-key FLOWFORGE_CLUSTER_NAME=flowforge-test $(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) bench/bench_definitions.py
