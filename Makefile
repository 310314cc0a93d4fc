# The two commands a newcomer needs are `make run` and `make test`; both start with `make setup`,
# which is a no-op once .venv matches uv.lock.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# uv from PATH, else the one pip puts beside python3 (installed on first use).
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
STAMP := $(VENV)/.synced

.PHONY: setup run test check lint typecheck contracts unit bench clean

setup: $(STAMP)

# Bytecode is compiled here, once: a process then starts without compiling its imports (the
# engine's cold start is timed, and PYTHONDONTWRITEBYTECODE would have it compile every time).
$(STAMP): pyproject.toml uv.lock Makefile
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv \
		|| python3 -m pip install --quiet --break-system-packages uv
	$(UV) sync --frozen --python 3.11 --compile-bytecode
	$(BIN)/python -m compileall -q src bench >/dev/null
	@touch $(STAMP)

run: setup
	$(BIN)/cryptocfd simulate

test: setup
	$(BIN)/pytest -q

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
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
