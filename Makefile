# The project's commands. `make run` and `make test` work on a fresh Debian machine as root:
# they install what is missing (apt packages, the .venv), then do their job.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
PORT ?= 5000
RP_PORT ?= 5001
TEST_POSTGRES_URL ?= postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres
export PORTAL_INSTANCE_PATH ?= $(CURDIR)/instance

# Debian packages: Python build tools, PostgreSQL and Redis, Chromium and CJK fonts for
# browser tests and PDFs, the PC/SC stack and SoftHSM2 for card tests, wrk for benchmarks,
# nginx for the two-node test (tests/deploy), pg_dump/pg_restore for the backup drill.
APT_PACKAGES := python3 python3-venv python3-dev build-essential swig libpcsclite-dev \
	pcscd vsmartcard-vpcd softhsm2 opensc chromium fonts-noto-cjk poppler-utils zbar-tools \
	libpango-1.0-0 libpangoft2-1.0-0 postgresql postgresql-client redis-server wrk tzdata nginx

.PHONY: card-helper run test test-sqlite test-postgresql lint bench system-deps venv translations i18n-update services

# The worker (outbox mail, back-channel logout, daily jobs) and the demo relying party for
# 戒菸服務系統 (demo_rp/, client cessation-demo, registered here with a fresh secret each run)
# run in the background beside gunicorn; when gunicorn ends (Ctrl-C), the trap stops them
# too. The two gunicorn workers share their metrics through PROMETHEUS_MULTIPROC_DIR
# (emptied by gunicorn at start); the app logs each request.
RP_URL := http://127.0.0.1:$(RP_PORT)
run: system-deps venv translations ## migrate, load demo data, serve on 127.0.0.1:$(PORT) with the worker and the demo RP on $(RP_PORT)
	PORTAL_ENV=development $(FLASK) db upgrade
	PORTAL_ENV=development $(FLASK) load-demo
	PORTAL_ENV=development $(FLASK) register-client cessation-demo --replace \
		--subsystem cessation --name 戒菸服務系統（示範） \
		--redirect-uri $(RP_URL)/callback --post-logout-redirect-uri $(RP_URL)/signed-out \
		--backchannel-logout-uri $(RP_URL)/backchannel-logout \
		--initiate-login-uri $(RP_URL)/login --secret-file instance/demo-rp-secret
	PORTAL_ENV=development $(FLASK) worker & worker=$$!; \
	PORTAL_ISSUER=http://127.0.0.1:$(PORT) RP_PORT=$(RP_PORT) RP_CLIENT_SECRET_FILE=instance/demo-rp-secret \
		RP_STORE=instance/demo_rp.sqlite $(VENV)/bin/gunicorn --bind 127.0.0.1:$(RP_PORT) \
		--workers 1 --threads 4 --worker-class gthread 'demo_rp:create_app()' & rp=$$!; \
	trap 'kill $$worker $$rp 2>/dev/null; wait $$worker $$rp' EXIT; \
	PORTAL_ENV=development PROMETHEUS_MULTIPROC_DIR=$(PORTAL_INSTANCE_PATH)/metrics \
		$(VENV)/bin/gunicorn -c python:portal.gunicorn_config --bind 127.0.0.1:$(PORT) \
		--workers 2 --threads 4 --worker-class gthread wsgi:app

test: system-deps venv translations services ## the whole suite on SQLite, then on PostgreSQL
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgresql

test-sqlite:
	TEST_DATABASE=sqlite $(PY) -m pytest -p no:cacheprovider

test-postgresql:
	TEST_DATABASE=postgresql TEST_POSTGRES_URL=$(TEST_POSTGRES_URL) $(PY) -m pytest -p no:cacheprovider

lint: venv
	$(VENV)/bin/ruff check portal card_helper demo_rp tests bench
	$(VENV)/bin/ruff format --check portal card_helper demo_rp tests bench

bench: system-deps venv translations services ## load scenarios; prints their figures
	$(PY) -m bench.registration
	$(PY) -m bench.sign_in
	$(PY) -m bench.review
	$(PY) -m bench.apply_change
	$(PY) -m bench.qr_match
	$(PY) -m bench.public_pages
	$(PY) -m bench.oidc

# The card helper as a clinic installs it: card-helper.pyz (a zipapp of card_helper/, run
# with Python 3.11+ and pyscard) with the install notes and start-at-login files, zipped
# where 下載專區 picks it up (BUILT_DOWNLOADS_DIR/card-helper.zip).
CARD_HELPER_BUILD := build/card-helper
BUILT_DOWNLOADS_DIR ?= build/downloads
card-helper: venv ## build $(BUILT_DOWNLOADS_DIR)/card-helper.zip
	rm -rf $(CARD_HELPER_BUILD) && mkdir -p $(CARD_HELPER_BUILD)/app $(BUILT_DOWNLOADS_DIR)
	$(PY) -c "import shutil; shutil.copytree('card_helper', '$(CARD_HELPER_BUILD)/app/card_helper', \
		ignore=shutil.ignore_patterns('__pycache__', 'packaging', 'PROFILE.md'))"
	$(PY) -m zipapp $(CARD_HELPER_BUILD)/app -m 'card_helper.__main__:main' \
		-p '/usr/bin/env python3' -c -o $(CARD_HELPER_BUILD)/card-helper.pyz
	$(PY) $(CARD_HELPER_BUILD)/card-helper.pyz --version | cut -d' ' -f2 > $(CARD_HELPER_BUILD)/VERSION
	cp card_helper/packaging/* $(CARD_HELPER_BUILD)/
	rm -f $(BUILT_DOWNLOADS_DIR)/card-helper.zip
	cd $(CARD_HELPER_BUILD) && $(CURDIR)/$(PY) -m zipfile -c $(abspath $(BUILT_DOWNLOADS_DIR))/card-helper.zip \
		card-helper.pyz VERSION INSTALL.txt card-helper.service card-helper.desktop card-helper-startup.cmd
	@echo "built $(BUILT_DOWNLOADS_DIR)/card-helper.zip, version $$(cat $(CARD_HELPER_BUILD)/VERSION)"

system-deps:
	@missing=$$(for package in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$package 2>/dev/null | grep -q "ok installed" || echo $$package; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

translations: venv
	$(PY) -m babel.messages.frontend -q compile -d portal/translations

# After changing user-facing text: refresh the catalog, then translate what is new in
# portal/translations/en/LC_MESSAGES/messages.po (tests/unit/test_translations_complete.py checks).
i18n-update: venv
	$(VENV)/bin/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext -c TRANSLATORS: \
		--no-location --sort-output --no-wrap --project=preventive-care-portal --version=0.1.0 \
		-o portal/translations/messages.pot .
	$(VENV)/bin/pybabel -q update -N -i portal/translations/messages.pot -d portal/translations \
		--no-wrap --ignore-pot-creation-date

# PostgreSQL and Redis: start them if they are not running, and let tests log in as
# postgres/postgres over TCP (Debian's default for 127.0.0.1 is a password).
services:
	@pg_isready -q -h 127.0.0.1 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for attempt in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
	@PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -qtAc 'select 1' >/dev/null 2>&1 || \
		su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\""
	@redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 \
		--port 6379 --save "" --appendonly no
