# Two entry points: `make demo` and `make test`. Both set up .venv on first use.
# `make bench` is the full benchmark suite, `make bench-quick` its smoke run (benchmarks/README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench bench-quick docs clean ha-up ha-down ha-test

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
	$(BIN)/ruff check ledger tests examples benchmarks ha
	$(BIN)/ruff format --check ledger tests examples benchmarks ha

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

# High availability (SPEC §12): a local Patroni cluster (etcd + 3 members, 127.0.0.1 only) from
# Debian's packages, and the failover test on it: writers, a follower and a deliverer while the
# primary is killed -9. `make ha-test` brings the cluster up first; `make ha-down` removes it.
HA_PACKAGES := patroni etcd-server

ha-up: $(STAMP)
	@command -v patroni >/dev/null && command -v etcd >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(HA_PACKAGES))
	ha/cluster.sh up

ha-down:
	ha/cluster.sh down

ha-test: ha-up
	$(BIN)/python ha/ha_test.py

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache .hypothesis
