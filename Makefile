# OneMap — two commands: `make serve` and `make test`. Each installs what is missing first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: serve test deps system-deps viewer lint typecheck imports pytest notebooks bench-data clean

serve: deps ## Run OneMap on http://127.0.0.1:8000 (embedded PostGIS unless ONEMAP_DATABASE_URL)
	@test -n "$$ONEMAP_PUBLISHER_TOKEN" || echo "note: POST /ingest refuses uploads until ONEMAP_PUBLISHER_TOKEN is set (clients send 'Authorization: Bearer <token>'); locally: $(BIN)/onemap ingest FILE"
	$(BIN)/onemap serve

test: deps lint typecheck imports pytest ## Lint, types, import rules, the tests on real PostGIS (the notebooks among them)

deps: system-deps $(STAMP) viewer

system-deps: ## PostgreSQL + PostGIS + pgRouting + GDAL tools, python3-venv, Node.js + npm, chromium, when missing
	@bash scripts/install-system-deps.sh

# The map viewer (docs/adr/0012-viewer.md): OpenLayers bundled with esbuild by the system
# Node into package data, rebuilt when a source changes; npm ci installs exactly the
# versions package-lock.json pins (from npm's cache when it has them).
VIEWER_OUT := ogc/html/static/viewer
VIEWER_MODULES := viewer/node_modules/.package-lock.json

viewer: $(VIEWER_OUT)/viewer.js ## Build the map viewer's bundle when missing or out of date

$(VIEWER_OUT)/viewer.js: $(VIEWER_MODULES) viewer/build.mjs $(wildcard viewer/src/*)
	cd viewer && node build.mjs

$(VIEWER_MODULES): viewer/package.json viewer/package-lock.json
	cd viewer && npm ci --prefer-offline --no-audit --no-fund --loglevel=error

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "OneMap needs Python >= 3.11"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

NOTEBOOK_MODULES := notebooks/onemap_client.py notebooks/onemap_plots.py notebooks/onemap_notebook.py

lint:
	$(BIN)/ruff check . $(NOTEBOOK_MODULES)

typecheck:
	$(BIN)/mypy
	$(BIN)/mypy notebooks/onemap_client.py notebooks/onemap_plots.py

imports:
	$(BIN)/lint-imports

# Two workers (one per core of the CI machine): most of the suite's wall time is spent
# waiting on servers, browsers and clusters it starts, which overlap well. Each worker has a
# database (and, without ONEMAP_TEST_DATABASE_URL, an embedded cluster) of its own; a test
# file stays on one worker, so its module fixtures are built once.
PYTEST_WORKERS ?= 2
# A test that hangs fails after this many seconds, with every thread's stack, instead of
# holding CI forever (the longest test takes about 130 s).
PYTEST_TIMEOUT ?= 900

pytest:
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --timeout $(PYTEST_TIMEOUT)

# The notebooks run inside pytest (tests/spatial/test_notebooks.py: against the live test
# server, every declared figure drawn); this target runs only them.
notebooks: ## Run the worked-example notebooks top to bottom and check their figures
	$(BIN)/pytest tests/spatial/test_notebooks.py -p no:cacheprovider

clean: ## Remove the virtual environment, the viewer build and the embedded cluster's data (also a relocated cluster)
	@test ! -x $(BIN)/python || $(BIN)/python -c 'import pathlib, shutil; \
	from layers.pg_host import cluster_root; data = pathlib.Path(".onemap").resolve(); \
	root = cluster_root(data); root == data / "pg" or shutil.rmtree(root.parent, ignore_errors=True)'
	rm -rf $(VENV) .onemap .mypy_cache .ruff_cache .pytest_cache viewer/node_modules $(VIEWER_OUT) tests/viewer/screenshots
