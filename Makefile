# Thin wrappers; the README names the targets. Everything installs into .venv in the project root.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UI := ecosystem/timeline-ui

.PHONY: run test test-changestream test-ui test-fast lint typecheck bench smoke clean lock lock-check

# Installs come from the hashed lock files, never from whatever PyPI has today: requirements/dev.txt (what make run
# and make test install: the embedded, s3, speech and dev extras) and requirements/server.txt (the Dockerfile's:
# embedded, s3 and speech). `make lock` refreshes both from pyproject.toml, keeping every pin it can; `make lock-check` fails when
# pyproject.toml asks for something the locks do not hold.
LOCK := requirements/dev.txt
LOCK_SERVER := requirements/server.txt
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --generate-hashes --universal --python-version 3.11 --quiet \
	--custom-compile-command "make lock"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

## lock: re-resolve requirements/*.txt from pyproject.toml (existing pins are kept where they still fit)
lock: $(STAMP)
	$(UV_COMPILE) --extra embedded --extra s3 --extra speech --extra dev -o $(LOCK)
	$(UV_COMPILE) --extra embedded --extra s3 --extra speech -o $(LOCK_SERVER)

## lock-check: the locks hold what pyproject.toml asks for (a re-resolve keeping their pins changes nothing)
lock-check: $(STAMP)
	@tmp=$$(mktemp -d) && cp $(LOCK) $$tmp/dev.txt && cp $(LOCK_SERVER) $$tmp/server.txt \
		&& $(UV_COMPILE) --extra embedded --extra s3 --extra speech --extra dev -o $$tmp/dev.txt \
		&& $(UV_COMPILE) --extra embedded --extra s3 --extra speech -o $$tmp/server.txt \
		&& diff -q $(LOCK) $$tmp/dev.txt && diff -q $(LOCK_SERVER) $$tmp/server.txt \
		|| { echo "requirements/*.txt are stale: run make lock and commit them"; exit 1; }

# The UI is installed only when its lock changed (npm ci writes node_modules/.package-lock.json) and built only when
# a source, a config or the installed packages changed: a restart of `make run` costs nothing for the UI.
UI_MODULES := $(UI)/node_modules/.package-lock.json
UI_BUILT := $(UI)/dist/index.html
UI_SOURCES := $(shell find $(UI)/src $(UI)/index.html $(UI)/vite.config.ts $(UI)/tsconfig*.json -type f 2>/dev/null)

$(UI_MODULES): $(UI)/package-lock.json $(UI)/package.json
	cd $(UI) && npm ci --no-audit --no-fund --loglevel=error

$(UI_BUILT): $(UI_MODULES) $(UI_SOURCES)
	cd $(UI) && npm run build --silent

.PHONY: ui
## ui: install and build the timeline UI when its sources or lock changed (needs Node)
ui: $(UI_BUILT)

## run: install, build the UI when Node is available (and something changed), start the server on the embedded
## database
run: $(STAMP)
	@if command -v npm >/dev/null 2>&1 && [ -f $(UI)/package.json ]; then \
		$(MAKE) --no-print-directory ui || echo "UI build failed; starting the server without it"; \
	fi
	$(BIN)/python -m app

## test: install and run the whole test suite (pytest exits non-zero when a test fails or none ran), then the
## UI's tests when Node is installed (its browser tests when Chromium is there too)
test: $(STAMP)
	$(MAKE) --no-print-directory lock-check
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory test-changestream
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory test-ui; \
	else echo "npm not found: UI tests skipped"; fi

CHROMIUM ?= /usr/bin/chromium

## test-ui: the timeline UI's type check, generated-types check, Vitest unit tests and Playwright browser tests
test-ui: $(STAMP) $(UI_MODULES)
	cd $(UI) && npm run check:types && npm run check:asyncapi && npm run typecheck && npm test
	@if [ -x "$(CHROMIUM)" ]; then cd $(UI) && CHROMIUM_PATH=$(CHROMIUM) npm run test:e2e; \
	else echo "$(CHROMIUM) not found: browser tests skipped (apt-get install -y chromium)"; fi
	@$(MAKE) --no-print-directory ui >/dev/null && $(MAKE) -q ui \
		|| { echo "make ui would rebuild an unchanged UI (every make run would pay for it)"; exit 1; }

## test-changestream: the integration tests again with FANOUT=changestream (every event through MongoDB's change
## stream), so the protocol's guarantees are shown to hold in the scale-out mode too
test-changestream: $(STAMP)
	FANOUT=changestream $(BIN)/python -m pytest tests/integration

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check app protocol providers tests
	$(BIN)/ruff format --check app protocol providers tests

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m pytest tests/bench -s -p no:randomly -o addopts="" -o timeout=900

smoke: $(STAMP)
	$(BIN)/python ../shared/tools/protocol_smoke.py --python $(BIN)/python

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
