# The two commands a new user needs: `make test` and `make demo`. Both do all their own set-up.
# Python 3.11 is chosen explicitly: Azure Functions' Python 3.11 worker is the deployment target, and
# azure-functions 2.x (Python >= 3.13) is a different API.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := .tools
AZURITE_VERSION := 3.35.0
AZURITE := $(TOOLS)/node_modules/.bin/azurite
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)

.PHONY: all install test lint typecheck pytest demo clean

all: test

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"need Python 3.11, $(PYTHON) is {sys.version}"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $@

# Azurite 3.35.0 is the newest release that runs on Node 20 (3.36+ needs Node >= 21); npm would silently pick it anyway.
$(AZURITE):
	npm install --prefix $(TOOLS) --no-audit --no-fund --loglevel=error azurite@$(AZURITE_VERSION)

install: $(STAMP) $(AZURITE)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(STAMP)
	$(PY) -m mypy

# pytest runs inside devhost.azurite, which starts Azurite in memory on free loopback ports, exports the
# connection strings (AzureWebJobsStorage included) and stops it afterwards, even when tests fail.
pytest: install
	$(PY) -m devhost.azurite -- $(PY) -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

demo: install
	$(PY) -m devhost.azurite -- $(PY) -m devhost.demo

clean:
	rm -rf $(VENV) $(TOOLS) .devhost .mypy_cache .ruff_cache .pytest_cache
