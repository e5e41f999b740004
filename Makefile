# The two commands a newcomer runs: `make run` and `make test`. See README.md.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: run test proof install install-dev system-deps lint migrations-check test-sqlite test-postgres clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Stamp files re-run pip only when the requirements change.
# The project itself goes in editable, without dependencies: it provides .venv/bin/elue.
$(VENV)/.installed: requirements.txt pyproject.toml | $(PY)
	$(PIP) install -q --disable-pip-version-check -r requirements.txt
	$(PIP) install -q --disable-pip-version-check --no-deps -e .
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt pyproject.toml | $(PY)
	$(PIP) install -q --disable-pip-version-check -r requirements-dev.txt
	$(PIP) install -q --disable-pip-version-check --no-deps -e .
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## run: install, migrate, seed, then serve on PORT (default 8000) with one worker
run: install
	scripts/run.sh

## test: lint, migrations check, the whole suite on SQLite, the database tests on PostgreSQL
test: install-dev system-deps lint migrations-check test-sqlite test-postgres

## proof: load, fault and fuzz runs on a production-shaped server on loopback (about 10 min;
## results in var/proof/, explained in docs/reliability.md)
proof: install-dev system-deps
	$(PY) proof/read_load.py
	$(PY) proof/write_load.py
	$(PY) proof/write_load.py --faults
	$(PY) proof/write_load.py --two-machines
	$(PY) proof/write_load.py --two-machines --kill-worker
	$(PY) proof/fuzz.py

# Chromium, bubblewrap, docker-compose and wrk from Debian, installed when missing.
system-deps:
	scripts/system-deps.sh

# ruff; the import contracts of .importlinter (evaluator is pure, its stages import only
# downwards, no import cycles); mypy over the evaluator.
lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy

migrations-check: install-dev
	$(PY) manage.py makemigrations --check --dry-run

# Test processes per run (pytest-xdist; 0 runs the tests in this process, one after another).
# More than the machine's two cores: a typical test spends most of its time waiting for the
# workers, servers and sandboxes it starts. Whole modules go to one process (--dist loadscope),
# so a module's servers and models are set up once.
TEST_WORKERS ?= 3
PYTEST := $(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadscope

test-sqlite: install-dev
	$(PYTEST)

# PostgreSQL at DATABASE_URL (default: the local server, trust auth). Only the tests that
# touch the database (and the pipeline with real workers) run twice; the pure evaluator tests
# do not depend on it.
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/elue
POSTGRES_TESTS := $(wildcard tests/leaderboard tests/elue tests/pipeline tests/web tests/api \
                            tests/cli tests/sandbox)
test-postgres: install-dev
	DATABASE_URL=$(TEST_POSTGRES_URL) $(PYTEST) $(POSTGRES_TESTS)

clean:
	rm -rf var .pytest_cache .ruff_cache
