# Two entry points: `make demo` and `make test`. Both set up .venv on first use.
# `make bench` is the full benchmark suite, `make bench-quick` its smoke run (benchmarks/README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench bench-quick docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,cli,webhooks]"
	touch $(STAMP)

# A fresh SQLite store each time: `ledger demo` refuses a store that holds events.
demo: $(STAMP)
	rm -rf build/demo && mkdir -p build/demo
	$(BIN)/ledger --url sqlite:///build/demo/ledger.db demo

lint: $(STAMP)
	$(BIN)/ruff check ledger tests examples benchmarks
	$(BIN)/ruff format --check ledger tests examples benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist worksteal

test: lint typecheck unit

# Rewrite the blocks of docs/rules.md that are made from the code (the role table, the markets).
docs: $(STAMP)
	UPDATE_DOCS=1 $(BIN)/python -m pytest -q tests/test_docs.py

# The benchmark suite (B1–B8 and SM): one table on stdout, JSON in benchmarks/results/.
# The full run loads 1M events per store for B6 (about 16 minutes of it on 2 cores) and more
# for B3; plan on half an hour or more.
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# Under 2 minutes; CI runs it as a smoke check (it asserts nothing about speed).
bench-quick: $(STAMP)
	$(BIN)/python benchmarks/run.py --quick

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache .hypothesis
