# The two commands a newcomer needs are `make run` and `make test`; both start with `make setup`,
# which first installs what the machine lacks (scripts/bootstrap: system packages, uv) and is a
# no-op once .venv matches uv.lock and web/dist its sources.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# uv from PATH, else the one pip puts beside python3 (installed on first use).
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
STAMP := $(VENV)/.synced
# The dashboard is rebuilt when its lock file or any of its sources change.
WEB_DEPS := web/node_modules/.installed
WEB_BUILD := web/dist/.built
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) \
	web/index.html web/docs.html web/package.json web/tsconfig.json web/vite.config.ts

.PHONY: setup bootstrap bootstrap-test run test unit integration e2e fast check lint typecheck \
	contracts bench clean

setup: bootstrap $(STAMP) $(WEB_BUILD)

# Ordered before the stamps so a fresh machine has python3, uv, node and npm when they run.
bootstrap:
	@scripts/bootstrap run

# The browser tests also need Debian's Chromium.
bootstrap-test:
	@scripts/bootstrap test

# Bytecode is compiled here, once: a process then starts without compiling its imports (the
# engine's cold start is timed, and PYTHONDONTWRITEBYTECODE would have it compile every time).
$(STAMP): pyproject.toml uv.lock Makefile | bootstrap
	$(UV) sync --frozen --python 3.11 --compile-bytecode
	$(BIN)/python -m compileall -q src >/dev/null
	@touch $(STAMP)

$(WEB_DEPS): web/package-lock.json | bootstrap
	cd web && npm ci --no-audit --no-fund
	@touch $@

$(WEB_BUILD): $(WEB_DEPS) $(WEB_SOURCES)
	cd web && npm run build
	@touch $@

run: setup
	$(BIN)/cryptocfd up

# Everything, as CI runs it. The tiers below run a part; `slow` marks the tests that take
# minutes (crash seeds, fuzzing, embedded servers, every browser test), which `fast` leaves out.
test: bootstrap-test setup
	$(BIN)/pytest -q

unit: bootstrap-test setup
	$(BIN)/pytest -q tests/unit

integration: bootstrap-test setup
	$(BIN)/pytest -q tests/integration

e2e: bootstrap-test setup
	$(BIN)/pytest -q tests/e2e

fast: bootstrap-test setup
	$(BIN)/pytest -q -m "not slow"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

contracts: setup
	$(BIN)/lint-imports

# Exactly what CI cares about, plus the house rules.
check: lint typecheck contracts test

bench: setup
	$(BIN)/cryptocfd bench engine

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache web/node_modules web/dist
