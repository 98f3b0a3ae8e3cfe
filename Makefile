# revloop — two commands on a fresh machine:  `make run`  and  `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast lint bench clean-data help

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first: the CPU build comes from the machine's local wheel (pip's find-links)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install revloop with pinned dependencies

run: install  ## install, start the Dagster UI and the review app, run one loop on the demo world
	bash scripts/run_local.sh

test: install  ## install and run every test tier (unit, integration, e2e)
	$(BIN)/pytest

test-fast: install  ## unit tests only
	$(BIN)/pytest tests/unit -m "not slow"

bench: install  ## run every benchmark in benchmarks/ (each prints figures and a ratio to its baseline)
	@set -e; for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f; done

lint: install  ## ruff
	$(BIN)/ruff check .

clean-data:  ## delete all local state (the .data directory)
	rm -rf .data
