# The two commands a newcomer runs: `make run` and `make test`. See README.md.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: run test install install-dev lint migrations-check test-sqlite test-postgres clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Stamp files re-run pip only when the requirements change.
$(VENV)/.installed: requirements.txt | $(PY)
	$(PIP) install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## run: install, migrate, seed, then serve on PORT (default 8000) with one worker
run: install
	scripts/run.sh

## test: lint, migrations check, the whole suite on SQLite, the database tests on PostgreSQL
test: install-dev lint migrations-check test-sqlite test-postgres

lint: install-dev
	$(VENV)/bin/ruff check .

migrations-check: install-dev
	$(PY) manage.py makemigrations --check --dry-run

test-sqlite: install-dev
	$(VENV)/bin/pytest

# PostgreSQL at DATABASE_URL (default: the local server, trust auth). Only the tests that
# touch the database (and the pipeline with real workers) run twice; the pure evaluator tests
# do not depend on it.
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/elue
test-postgres: install-dev
	DATABASE_URL=$(TEST_POSTGRES_URL) $(VENV)/bin/pytest tests/leaderboard tests/elue tests/pipeline

clean:
	rm -rf var .pytest_cache .ruff_cache
