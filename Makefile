# Two entry points: `make run` serves the onboarding flow, `make test` runs the tests.
# Both create .venv on first use and reinstall when pyproject.toml changes.
# `make bench` measures the product against a bare Litestar stack (BENCH_ARGS=--quick).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install run test check bench

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/workflow serve

check: install
	$(BIN)/workflow check execution_plan.toml

test: install
	$(BIN)/pytest

$(BIN)/.bench-installed: $(BIN)/.installed
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

bench: $(BIN)/.bench-installed
	$(BIN)/python -m bench $(BENCH_ARGS)
