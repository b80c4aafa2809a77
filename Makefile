# The two commands: `make run` brings Lunas up, `make test` runs every test.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install lint services fuzz compose-smoke chaos

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# The Bahasa Indonesia catalog, compiled from its source (app/i18n.py, scripts/translations.sh).
CATALOG := translations/id/LC_MESSAGES/messages

$(CATALOG).mo: $(CATALOG).po $(BIN)/.installed
	BIN=$(BIN) scripts/translations.sh compile

install: $(BIN)/.installed $(CATALOG).mo

services:
	scripts/ensure-services.sh
	scripts/ensure-chromium.sh
	scripts/ensure-snippet-runtimes.sh

run: install
	scripts/run.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The whole suite on PostgreSQL (with the chaos suite's short form, about 4 minutes), then
# again on SQLite (the development default), minus the tests that need PostgreSQL's row locks,
# the one that starts the whole product with `make run` and the chaos suite, which brings its
# own PostgreSQL (deselected there, not skipped).
test: install services lint
	LUNAS_TEST_DATABASE=postgresql $(BIN)/pytest
	LUNAS_TEST_DATABASE=sqlite $(BIN)/pytest -m "not postgres_only and not whole_product and not chaos"

# Many more schemathesis cases than `make test` runs, with a fresh seed (printed on failure).
fuzz: install services
	SCHEMATHESIS_SEED=$${SCHEMATHESIS_SEED:-$$(date +%s)} SCHEMATHESIS_EXAMPLES=$${SCHEMATHESIS_EXAMPLES:-200} \
		LUNAS_TEST_DATABASE=postgresql $(BIN)/pytest tests/contract

# `docker compose up` checked end to end where a Docker engine runs (exits 2 where none does).
compose-smoke:
	scripts/compose-smoke.sh

# The chaos suite's long form: every fault at its full length under load (about 25 minutes);
# writes docs/RELIABILITY.md. It brings its own PostgreSQL and Redis, so it needs no services.
chaos: install
	CHAOS_SCHEDULE=long CHAOS_REPORT=docs/RELIABILITY.md LUNAS_TEST_DATABASE=postgresql \
		$(BIN)/pytest -m chaos tests/chaos
