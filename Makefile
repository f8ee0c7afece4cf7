# leadsync: the two commands of the README, and the pieces they are made of.
#   make run    install, start Kafka + PostgreSQL, migrate, start leadsync, print where to look
#   make test   install, start Kafka + PostgreSQL, run lint, type checks and the whole test suite
#   make stop   stop everything `make run` started
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV := .cache/tools/bin/uv
VENV := .venv
LEADSYNC := $(VENV)/bin/leadsync

# The local stack's defaults; leadsync/settings.py uses the same ones.
# `make run KAFKA_BROKERS=3`: a three-broker Kafka cluster (stack/kafka.sh), every process
# bootstrapping from all three, topics with three replicas (and so min.insync.replicas 2).
export KAFKA_BROKERS ?= 1
ifneq ($(KAFKA_BROKERS),1)
export LEADSYNC_KAFKA_BOOTSTRAP_SERVERS ?= $(shell KAFKA_BROKERS=$(KAFKA_BROKERS) bash stack/kafka.sh bootstrap)
export LEADSYNC_TOPIC_REPLICATION_FACTOR ?= $(shell echo $$(( $(KAFKA_BROKERS) < 3 ? $(KAFKA_BROKERS) : 3 )))
endif
export LEADSYNC_KAFKA_BOOTSTRAP_SERVERS ?= 127.0.0.1:29092
export LEADSYNC_DATABASE_URL ?= postgresql://leadsync:leadsync@127.0.0.1:25432/leadsync
# `make run` talks to the bundled LinkedIn sandbox, never to linkedin.com.
RUN_ENV := LEADSYNC_DEMO=true LEADSYNC_DATABASE_APP_PASSWORD=leadsync_app \
	LEADSYNC_LINKEDIN_API_URL=http://127.0.0.1:8090/rest \
	LEADSYNC_LINKEDIN_OAUTH_URL=http://127.0.0.1:8090/oauth/v2

# The console's browser tests drive Debian's chromium (stack-notes: never `playwright
# install`, which downloads a browser build this machine cannot fetch).
CHROMIUM := /usr/bin/chromium
NPM_STAMP := node_modules/.installed

.PHONY: help install services run stop status test check lint typecheck layers unit format \
	browser chromium faults

help:
	@echo "make run   - start Kafka, PostgreSQL and leadsync locally (demo mode)"
	@echo "make test  - lint, type-check and run the whole test suite against the local stack"
	@echo "make stop  - stop everything make run started"
	@echo "make faults - the fault run: 20,000 leads over 5 minutes with everything failing"

$(UV):
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --target .cache/tools uv

# uv.lock pins every version; --frozen refuses to run with a lock that is out of date.
$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	PYTHONPATH=.cache/tools $(UV) sync --frozen --python $(PYTHON)
	@touch $@

# The console's JavaScript from the npm registry: htmx for the pages, Swagger UI for /docs,
# axe-core for the browser tests' accessibility scan; package-lock.json pins them, and no
# install script runs (one of Swagger UI's dependencies would send usage analytics). `npm ci` starts from an
# empty node_modules, so it runs only when the lock (or package.json) changes.
$(NPM_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "make: npm is missing; the console needs htmx from the" \
		"npm registry: install Node.js and npm (Debian: apt-get install nodejs npm)" >&2; exit 1; }
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

install: $(VENV)/.installed $(NPM_STAMP)

# Installed only when missing, with apt-get update first when the package lists are stale.
$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "make: $@ is missing and this is not a Debian" \
		"machine: install chromium so that $@ exists (the browser tests need it)" >&2; exit 1; }
	@sudo=; if [ "$$(id -u)" -ne 0 ]; then \
		command -v sudo >/dev/null || { echo "make: $@ is missing and installing it needs root:" \
			"run \`apt-get install chromium\` as root (the browser tests need it)" >&2; exit 1; }; \
		sudo=sudo; fi; \
	echo "make: installing Debian's chromium (apt-get install chromium)"; \
	export DEBIAN_FRONTEND=noninteractive; \
	$$sudo apt-get install -y -qq chromium >/dev/null 2>&1 \
		|| { $$sudo apt-get update -qq && $$sudo apt-get install -y -qq chromium; } \
		|| { echo "make: could not install Debian's chromium (apt-get install chromium);" \
			"the browser tests need $@" >&2; exit 1; }
	@test -x $@ || { echo "make: the chromium package did not provide $@" >&2; exit 1; }

chromium: $(CHROMIUM)

services: install
	bash stack/postgres.sh start
	bash stack/kafka.sh start
	LEADSYNC_DEMO=true $(LEADSYNC) db upgrade
	LEADSYNC_DEMO=true $(LEADSYNC) topics create

.env:
	cp stack/demo.env .env

run: services .env
	$(RUN_ENV) bash stack/processes.sh start
	@# The demo account and its public token (demo mode only); idempotent.
	$(RUN_ENV) $(LEADSYNC) accounts create demo --demo-token
	@# Connect the sandbox's demo member (OAuth) for it and discover its forms; idempotent.
	$(RUN_ENV) $(LEADSYNC) linkedin connect --account demo
	@# A console user, Test Form's leads and an audience for the demo account; idempotent.
	$(RUN_ENV) bash stack/demo-data.sh
	@echo
	@echo "leadsync is running (demo mode). Where to look:"
	@echo "  console:     http://127.0.0.1:8000/console/   (demo@leadsync.example / leadsync-demo-password)"
	@echo "               the operator's Accounts pages: operator@leadsync.example / leadsync-demo-password"
	@echo "  processes:   bash stack/processes.sh status   (logs in .cache/logs/)"
	@echo "  admin API:   http://127.0.0.1:8000/docs   (operator token: leadsync-demo-admin-token)"
	@echo "  account:     demo   ($(LEADSYNC) accounts list; its API token is printed above;"
	@echo "               .env sets LEADSYNC_ACCOUNT=demo, so the commands below act for it)"
	@echo "  forms:       $(LEADSYNC) forms list          (settings: .env, from stack/demo.env)"
	@echo "  import one:  $(LEADSYNC) forms import 7234246 on && $(LEADSYNC) sync 7234246 --all-submissions"
	@echo "  LinkedIn:    the sandbox on http://127.0.0.1:8090 (leadsync sandbox --help)"
	@echo "  Kafka:       $(LEADSYNC_KAFKA_BOOTSTRAP_SERVERS)   (topics leadsync.*)"
	@echo "  PostgreSQL:  psql $(LEADSYNC_DATABASE_URL)"
	@echo "  contacts:    curl -H 'Authorization: Bearer lsk_demo-account-token' http://127.0.0.1:8000/api/contacts"
	@echo "  changes:     $(LEADSYNC) tail"
	@echo "  stop:        make stop"

stop:
	-bash stack/processes.sh stop
	-bash stack/kafka.sh stop
	-bash stack/postgres.sh stop

status:
	-bash stack/processes.sh status
	-bash stack/kafka.sh status
	-bash stack/postgres.sh status

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The layer contract (pyproject's [tool.importlinter]): an import that points up fails here.
layers: install
	$(VENV)/bin/lint-imports

check: lint typecheck layers

unit: install
	$(VENV)/bin/pytest tests/unit

test: services check chromium
	$(VENV)/bin/pytest

# The console's browser tests alone (Playwright driving chromium against the whole stack);
# `make browser BROWSER_TESTS=tests/browser/test_sign_in.py` for one module.
BROWSER_TESTS ?= tests/browser
browser: services chromium
	$(VENV)/bin/pytest $(BROWSER_TESTS)

# The fault run (bench/faults.py): its own three-broker Kafka cluster and database, about ten
# minutes; `make faults FAULTS_ARGS="--leads 5000 --minutes 2"` for a shorter one.
FAULTS_ARGS ?=
faults: services
	$(VENV)/bin/python bench/faults.py $(FAULTS_ARGS)
