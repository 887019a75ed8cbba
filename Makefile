# The two set-up commands (README): `make run` and `make test`. Both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= config.example.toml
STAMP := $(VENV)/.installed

.PHONY: run test check lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/heartbeat --config $(CONFIG) demo init --if-missing
	exec $(BIN)/heartbeat --config $(CONFIG) run

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -q -n auto

# The quick inner loop (under a minute): everything but the tests marked slow (real daemons,
# kills, the benchmark, memory bounds over large inputs). `make test` runs them all.
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -q -n auto -m "not slow"

# The benchmark (docs/performance.md): make bench ARGS="--products 1000000 --db sqlite"
bench: $(STAMP)
	$(BIN)/python -c 'import rq' 2>/dev/null || $(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) data .pytest_cache
