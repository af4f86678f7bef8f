# lightnb — two commands do all the set-up:
#   make workbook   install lightnb with its workbook extra, build the sample, open JupyterLab on notebook 01
#   make test       install what the tests need (workbook extra, test tools, Debian packages), pass the gates,
#                   run every test
# The gates, also on their own:
#   make lint       ruff over the code, and the import contracts (the CLI and the panels only go through steps)
#   make typecheck  mypy over lightnb/
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HASH   := $(shell cat pyproject.toml | sha1sum | cut -c1-12)
STAMP  := $(VENV)/.installed-test-$(HASH)
WORKBOOK_STAMP := $(VENV)/.installed-workbook-$(HASH)
export UV_COMPILE_BYTECODE := 1
PYTEST := $(BIN)/python -m pytest

.PHONY: install install-workbook system-deps test test-core test-notebooks test-browser workbook notebooks bench clean \
        lint imports typecheck

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || \
	  (rm -rf $(VENV) && bash scripts/install-system-deps.sh venv && $(PYTHON) -m venv $(VENV))
	$(BIN)/python -m pip install -q --disable-pip-version-check uv

# Everything the tests need: the workbook extra and the test tools.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/uv pip install -q --python $(BIN)/python --compile-bytecode -e '.[workbook,test]'
	rm -f $(VENV)/.installed-*
	touch $@ $(WORKBOOK_STAMP)

# The workbook alone: lightnb with its workbook extra, no test tools.
$(WORKBOOK_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/uv pip install -q --python $(BIN)/python --compile-bytecode -e '.[workbook]'
	rm -f $(VENV)/.installed-workbook-*
	touch $@

install: $(STAMP)
install-workbook: $(WORKBOOK_STAMP)

# Debian packages the tests need: chromium for the browser tests, sqlite3 for benchmarks,
# postgresql (+ contrib) for the PostgreSQL backend's private clusters.
system-deps:
	@bash scripts/install-system-deps.sh

test: install system-deps lint typecheck
	$(PYTEST) -n 2 tests
	$(PYTEST) -p no:xdist --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=300 notebooks

# The import contracts of pyproject.toml ([tool.importlinter]): the door, the views above the core, no circles.
imports: install
	$(BIN)/lint-imports --no-cache

lint: install imports
	$(BIN)/ruff check lightnb tests bench notebooks scripts

typecheck: install
	$(BIN)/mypy

workbook: install-workbook
	$(BIN)/python -m lightnb workbook

# Rebuild notebooks/*.ipynb from notebooks/build.py (executes them; stores deterministic outputs).
notebooks: install-workbook
	$(BIN)/python notebooks/build.py

bench: install system-deps
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache build *.egg-info
