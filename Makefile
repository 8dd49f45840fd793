# Ruxguide: `make run` serves the app, `make test` runs the whole suite. Both set everything up.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
HOST_PORT ?= 127.0.0.1:8000
SERVE_HOST_PORT ?= 127.0.0.1:8443
WORKERS ?= 2
# pytest workers: one per core (pytest-xdist); TEST_WORKERS=0 runs the suite in one process.
TEST_WORKERS ?= auto

# Candidates for a Python >= 3.12, best first: an explicit choice, pyenv's newest, then PATH.
PYTHON_CANDIDATES = $(RUXGUIDE_PYTHON) \
	$$(ls -d $(HOME)/.pyenv/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV) \
	python3.14 python3.13 python3.12 python3
# make's own commands run the app for local development only.
LOCAL := DJANGO_DEBUG=true

.PHONY: help run serve observatory bench test test-fast test-postgres lint messages setup clean

help:
	@echo "make run    set up .venv, migrate, load the default rules, serve http://$(HOST_PORT)"
	@echo "make test   set up the same, then run the whole test suite"
	@echo "make test-fast  the suite without the browser and slow tests (no Chromium), for the edit loop"
	@echo "make serve  production settings under gunicorn, over local TLS: https://$(SERVE_HOST_PORT)"
	@echo "make test-postgres  the whole suite against a private PostgreSQL cluster"
	@echo "make bench  the patient flow under load, as ratios to a bare view and a static file"
	@echo "make lint   ruff (check and format), mypy --strict and the missing-migrations check"
	@echo "make messages  update the Chinese interface catalogue after changing strings (needs gettext)"

$(INSTALLED): pyproject.toml
	@set -e; \
	if [ ! -x "$(PY)" ]; then \
		found=""; \
		for candidate in $(PYTHON_CANDIDATES); do \
			if command -v "$$candidate" >/dev/null 2>&1 && \
			   "$$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
				found="$$candidate"; break; \
			fi; \
		done; \
		if [ -z "$$found" ]; then \
			echo "Ruxguide needs Python 3.12 or newer (Django 6.1 requires it), and none was found."; \
			echo "Install one, e.g. 'apt-get install python3.12' or 'pyenv install 3.13',"; \
			echo "or point RUXGUIDE_PYTHON at it: make RUXGUIDE_PYTHON=/path/to/python3.13 test"; \
			exit 1; \
		fi; \
		echo "Using $$found ($$("$$found" --version))"; \
		"$$found" -m venv $(VENV); \
	fi; \
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade "pip>=25.1"; \
	$(PY) -m pip install --quiet --disable-pip-version-check --group test -e .; \
	touch $@

setup: $(INSTALLED)
	@mkdir -p var
	@$(LOCAL) $(PY) manage.py migrate --noinput -v 0
	@$(LOCAL) $(PY) manage.py ensure_default_rules
	@$(LOCAL) $(PY) manage.py collectstatic --noinput -v 0

run: setup
	$(LOCAL) $(PY) manage.py runserver $(HOST_PORT)

test: setup
	$(VENV)/bin/ruff check --quiet .
	$(LOCAL) $(PY) manage.py makemigrations --check --dry-run -v 0
	$(VENV)/bin/pytest -n $(TEST_WORKERS)

# The edit loop: everything but the real-browser tests and the slow ones (servers, wrk, long
# hypothesis runs), so no Chromium is needed. Under a minute; `make test` still runs everything.
test-fast: setup
	$(VENV)/bin/pytest -n $(TEST_WORKERS) -m "not browser and not slow"

# Production settings, environment only. For a local run it makes a secret key and a self-signed
# certificate under var/ (kept out of git); a real deployment sets DJANGO_SECRET_KEY itself.
var/secret_key:
	@mkdir -p var && umask 077 && $(PY) -c 'import secrets; print(secrets.token_urlsafe(64))' > $@

var/tls/cert.pem:
	@mkdir -p var/tls && openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=localhost \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout var/tls/key.pem -out $@ 2>/dev/null

serve: setup var/secret_key var/tls/cert.pem
	DJANGO_SECRET_KEY="$${DJANGO_SECRET_KEY:-$$(cat var/secret_key)}" \
	DJANGO_ALLOWED_HOSTS="$${DJANGO_ALLOWED_HOSTS:-127.0.0.1,localhost}" \
	$(VENV)/bin/gunicorn ruxguide.wsgi --workers $(WORKERS) --bind $(SERVE_HOST_PORT) \
		--certfile var/tls/cert.pem --keyfile var/tls/key.pem

# Throughput and latency of the patient flow as ratios to this machine's own limits (about 2 minutes).
bench: setup
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(PY) -m tests.system.bench

# Grade the security headers of `make serve` with the MDN HTTP Observatory (installs it from npm).
observatory: setup
	.ci/observatory

# The whole suite again, against a private PostgreSQL cluster that lives only for this run.
test-postgres: $(INSTALLED)
	.ci/with-postgres $(MAKE) --no-print-directory test

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(LOCAL) $(VENV)/bin/mypy
	$(LOCAL) $(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis

# The compiled catalogue (.mo) is committed, so make run and make test need no gettext; after
# changing interface strings, run this, translate the new entries in the .po, and run it again.
messages: $(INSTALLED)
	@command -v msgfmt >/dev/null || { echo "make messages needs GNU gettext: apt-get install gettext"; exit 1; }
	$(LOCAL) $(PY) manage.py makemessages --locale zh_Hans --no-location --ignore .venv --ignore var --ignore tests
	$(LOCAL) $(PY) manage.py compilemessages --ignore .venv
