# The two commands a newcomer needs are `make run` and `make test`; both start with `make setup`,
# which is a no-op once .venv matches uv.lock.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
UV := $(shell command -v uv 2>/dev/null)
STAMP := $(VENV)/.synced

.PHONY: setup run test check lint typecheck contracts unit bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml uv.lock
	@if [ -z "$(UV)" ]; then python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv; fi
	uv sync --frozen --python 3.11
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
