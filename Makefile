# mirrorbot — the two commands: `make demo` and `make test`. Both set up .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run.stamp
STAMP_DEV := $(VENV)/.installed-dev.stamp

.PHONY: demo test test-fast lint types pytest venv install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(STAMP_RUN)

venv: $(BIN)/python
install: $(STAMP_RUN)
install-dev: $(STAMP_DEV)

demo: $(STAMP_RUN)
	$(BIN)/mirrorbot demo

lint: $(STAMP_DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP_DEV)
	$(BIN)/mypy

# The ledger (and pipeline) tests also run on PostgreSQL: scripts/postgres.sh starts or reuses a local
# test server (installing it with apt-get if needed) unless MIRROR_TEST_PG_URL already names one.
# The bus and cluster tests need Redis the same way: scripts/redis.sh, unless MIRROR_TEST_REDIS_URL is set;
# where the package cannot be installed they are skipped with that reason (failed under CI=true).
pytest: $(STAMP_DEV)
	@pg_url="$${MIRROR_TEST_PG_URL:-$$(scripts/postgres.sh start)}" || exit 1; \
	redis_url="$${MIRROR_TEST_REDIS_URL:-$$(scripts/redis.sh start)}" \
		|| { echo "make: no Redis (scripts/redis.sh failed above): the bus and cluster tests are skipped"; redis_url=""; }; \
	export MIRROR_TEST_PG_URL="$$pg_url" MIRROR_TEST_REDIS_URL="$$redis_url"; \
	$(BIN)/python -m pytest -q

test: lint types pytest

# The fast kinds only (markers applied by tests/conftest.py): in process, no server, no database server.
test-fast: $(STAMP_DEV)
	$(BIN)/python -m pytest -q -m "unit or property"

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
