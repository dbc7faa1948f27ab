# The front door. `make` lists the targets; every target sets up what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install test test-floors lint demo bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the package with its dev tools

test: $(STAMP)  ## run the whole test suite
	$(BIN)/python -m pytest -n 2 -q

FLOORS := .venv-floors

test-floors:  ## the suite on the oldest dependency releases pyproject.toml allows (tests/floors.txt)
	test -d $(FLOORS) || $(PYTHON) -m venv $(FLOORS)
	$(FLOORS)/bin/python -m pip install --quiet --upgrade pip
	$(FLOORS)/bin/python -m pip install --quiet -c tests/floors.txt -e ".[dev]"
	$(FLOORS)/bin/python -m pytest -n 2 -q -p no:cacheprovider

lint: $(STAMP)  ## ruff and mypy
	$(BIN)/ruff check importer tests benchmarks
	$(BIN)/ruff format --check importer tests benchmarks
	$(BIN)/mypy importer

demo: $(STAMP)  ## send sample_data/ through the embedded sandbox and show the results workbook
	@# Exit 4 is expected: the sample has rows that are invalid on purpose.
	$(BIN)/enerflo-import send sample_data/leads.xlsx -m mappings/sample.yaml --sandbox --fresh \
		|| [ $$? -eq 4 ]
	@echo "Open out/leads.sandbox.results.xlsx: every row with its status; the invalid ones say why."

bench: $(STAMP)  ## run the benchmarks (ratios against a baseline measured in the same run)
	$(BIN)/python benchmarks/run.py

clean:  ## remove out/ and caches (keeps .venv)
	rm -rf out .pytest_cache .ruff_cache .mypy_cache
