# Jixiao — the two commands that matter: `make up` (run the suite) and `make test` (pass the tests).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
SERVICES := goals feedback incentives compliance notifications
PACKAGES := libs/contracts libs/formula libs/chassis $(addprefix services/,$(SERVICES)) gateway
STAMP := $(VENV)/.installed
# eventlet announces its deprecation on every import; nameko 2.14 needs it, so the notice is noise here
export PYTHONWARNINGS ?= ignore::DeprecationWarning,ignore::Warning:nameko.cli.commands

.PHONY: help install deps up test test-fast lint migrate docs bench clean backup restore

help:
	@echo "make up        run the whole suite (embedded: one process, no setup; AMQP_URI set: one process per service)"
	@echo "make test      run every test against the real RabbitMQ and PostgreSQL on localhost"
	@echo "make migrate   apply every service's database migrations"
	@echo "make docs      regenerate docs/ (AsyncAPI, JSON Schemas, OpenAPI)"
	@echo "make bench     run the benchmarks (figures in bench/README.md)"
	@echo "make lint      ruff"
	@echo "make backup    encrypted backup of every service database (JIXIAO_BACKUP_KEY); make restore"

$(STAMP): constraints.txt requirements-dev.txt $(addsuffix /pyproject.toml,$(PACKAGES))
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -r requirements-dev.txt $(addprefix -e ,$(PACKAGES))
	touch $(STAMP)

install: $(STAMP)

# System tools the tests and benchmarks use: promtool (metrics format), shellcheck, wrk (bench/gateway's load
# generator), node packages (AsyncAPI validation). Installed only when missing.
deps: install
	@command -v promtool >/dev/null && command -v shellcheck >/dev/null && command -v wrk >/dev/null && command -v tc >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus shellcheck wrk iproute2 >/dev/null; }
	@if [ -f tools/package.json ]; then cd tools && npm ci --no-audit --no-fund --silent; fi

up: install
	$(PY) -m chassis.suite up

migrate: install
	$(PY) -m chassis.suite migrate

test: deps
	$(PY) -m chassis.testing $(PYTEST_ARGS)

test-fast: install
	$(VENV)/bin/pytest -m fast $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .

docs: install
	$(PY) -m contracts.catalogue docs

bench: install
	$(PY) bench/run_all.py

# Encrypted backup / restore of every service's database (key: JIXIAO_BACKUP_KEY; make one with
# `.venv/bin/python -m compliance.backup keygen`). Restore verifies every archive before replacing anything.
BACKUP_DIR ?= var/backups
backup: install
	$(PY) -m compliance.backup backup --dir $(BACKUP_DIR)

restore: install
	$(PY) -m compliance.backup restore --dir $(BACKUP_DIR)

clean:
	rm -rf var .hypothesis .ruff_cache tools/node_modules

# The web app (web/: Vue 3 + TypeScript + Vite), built from the npm registry; the gateway serves web/dist at /.
# `make up` and `make test` build it when it is missing or older than its sources. Browser tests use Debian's
# chromium (no browser download).
.PHONY: web web-test web-deps
WEB_DEPS := web/node_modules/.installed
WEB_STAMP := web/dist/.built
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/package.json \
	web/package-lock.json web/vite.config.ts web/tsconfig.json

$(WEB_DEPS): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(WEB_STAMP): $(WEB_DEPS) $(WEB_SOURCES)
	cd web && npm run --silent build
	touch $@

web: $(WEB_STAMP)

web-deps: $(WEB_DEPS)
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

web-test: $(WEB_DEPS)
	cd web && npx vitest run

deps: web-deps
up: $(WEB_STAMP)
test: web-test $(WEB_STAMP)
