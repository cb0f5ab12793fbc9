# The two commands a new user needs: `make test` and `make demo`. Both do all their own set-up.
# Python 3.11 is chosen explicitly: Azure Functions' Python 3.11 worker is the deployment target, and
# azure-functions 2.x (Python >= 3.13) is a different API.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
AZURITE_DIR := tools/azurite
AZURITE := $(AZURITE_DIR)/node_modules/.bin/azurite
# Content hash of the requirement files (hashlib, so it works where sha1sum does not, e.g. macOS).
STAMP := $(VENV)/.installed-$(shell $(PYTHON) -c 'import hashlib,sys; print(hashlib.sha1(b"".join(open(f,"rb").read() for f in sys.argv[1:])).hexdigest()[:12])' requirements.txt requirements-dev.txt constraints.txt)

.PHONY: all install test lint typecheck pytest demo docs clean constraints

all: test

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"need Python 3.11, $(PYTHON) is {sys.version}"'
	@# A venv left by another Python is rebuilt, not reused.
	$(PY) -c 'import sys; assert sys.version_info[:2] == (3, 11)' 2>/dev/null || rm -rf $(VENV)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $@

# Azurite 3.35.0 is the newest release that runs on Node 20 (3.36+ needs Node >= 21); the committed
# package-lock.json fixes it and everything it pulls in, and npm ci installs exactly that.
$(AZURITE): $(AZURITE_DIR)/package-lock.json
	npm ci --prefix $(AZURITE_DIR) --no-audit --no-fund --loglevel=error
	touch $@

# Regenerate constraints.txt from a fresh environment built from the requirement files alone
# (copies without the -c line, so the old constraints do not hold versions back).
constraints:
	rm -rf .venv-constraints .constraints-src && mkdir .constraints-src
	grep -v '^-c ' requirements.txt > .constraints-src/requirements.txt
	cp requirements-dev.txt .constraints-src/
	$(PYTHON) -m venv .venv-constraints
	.venv-constraints/bin/pip install --quiet --disable-pip-version-check -r .constraints-src/requirements-dev.txt
	{ sed -n '1,/^#   make constraints/p' constraints.txt; .venv-constraints/bin/pip freeze; } > constraints.new
	mv constraints.new constraints.txt && rm -rf .venv-constraints .constraints-src

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

# The README's settings table is written from the settings catalog (shared/config); a unit test fails
# when it is out of date.
docs: $(STAMP)
	$(PY) -m shared.config.reference

clean:
	rm -rf $(VENV) $(AZURITE_DIR)/node_modules .devhost .mypy_cache .ruff_cache .pytest_cache
