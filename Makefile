# qgate — every target first sets up whatever is missing, so each works on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.qgate-installed
BROWSER_STAMP := $(VENV)/.qgate-browser
# Allure 3 (npm) renders allure-results as HTML without Java; kept inside .venv/.
ALLURE := $(VENV)/allure/node_modules/.bin/allure
# wapiti3 (the security suite's embedded scanner) pins versions that clash with ours: own venv.
SCANNER_VENV := .scanner-venv
WAPITI := $(SCANNER_VENV)/bin/wapiti
PYTEST_ARGS ?=

.PHONY: setup demo test bench lint docs clean

setup: $(STAMP) $(BROWSER_STAMP) $(ALLURE) $(WAPITI)

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml setup.py Makefile | $(PY)
	$(PY) -m pip install --quiet -e '.[all,dev]'
	touch $@

# Playwright's own Chromium where downloads work; else Debian's chromium (+ ffmpeg for video).
$(BROWSER_STAMP): | $(STAMP)
	@if timeout 300 $(PY) -m playwright install chromium >/dev/null 2>&1; then \
	  echo "browser: Playwright's Chromium installed"; \
	elif command -v chromium >/dev/null 2>&1 && command -v ffmpeg >/dev/null 2>&1; then \
	  echo "browser: using system $$(command -v chromium)"; \
	else \
	  echo "browser: playwright install failed; installing Debian chromium + ffmpeg"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium ffmpeg >/dev/null; \
	fi
	@$(PY) -c "from harness.e2e.browser import discover_browser as d; print('browser:', d('') or 'playwright chromium')"
	touch $@

$(ALLURE):
	@command -v npm >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null)
	npm install --silent --no-audit --no-fund --prefix $(VENV)/allure allure@3 >/dev/null
	@echo "allure: $$($(ALLURE) --version 2>/dev/null | head -1)"

$(WAPITI):
	$(PYTHON) -m venv $(SCANNER_VENV)
	$(SCANNER_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SCANNER_VENV)/bin/python -m pip install --quiet 'wapiti3>=3.2,<3.4'
	@echo "wapiti: $$($(WAPITI) --version 2>/dev/null | tail -1)"

demo: setup
	$(VENV)/bin/qgate demo

# the docs are built strictly inside the tests too (tests/harness/test_docs.py)
test: setup
	$(VENV)/bin/pytest $(PYTEST_ARGS)

docs: setup
	$(PY) docs/gen_reference.py
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict -d site

bench: setup
	@command -v wrk >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)
	@mkdir -p benchmarks/results
	@for f in benchmarks/[!_]*.py; do echo "== $$f"; $(PY) $$f || exit $$?; done

lint: setup
	$(VENV)/bin/ruff check harness demostore suites tests benchmarks
	$(VENV)/bin/mypy

clean:
	rm -rf reports .pytest_cache site
