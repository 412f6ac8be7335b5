# Two commands on a fresh machine: `make run` (the console, on SQLite) and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN = $(VENV)/bin

.PHONY: run test setup lint bench

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: setup
	$(BIN)/python -m bot console

test: setup
	scripts/with-postgres $(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check analysis bench bot commands reports storage testkit tests

bench: setup
	PYTHON=$(BIN)/python bench/run
