# Ruxguide: `make run` serves the app, `make test` runs the whole suite. Both set everything up.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
HOST_PORT ?= 127.0.0.1:8000
SERVE_HOST_PORT ?= 127.0.0.1:8443
WORKERS ?= 2
# pytest workers (pytest-xdist): one more than the cores, as some tests mostly wait (on a server, on
# 200 slow clients for 30 s) while the cores have other tests to run: 4 min 56 s with 3 workers on
# 2 cores against 5 min 26 s with 2. TEST_WORKERS=0 runs the suite in one process.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) + 1 )))

# Candidates for a Python >= 3.12, best first: an explicit choice, pyenv's newest, then PATH.
PYTHON_CANDIDATES = $(RUXGUIDE_PYTHON) \
	$$(ls -d $(HOME)/.pyenv/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV) \
	python3.14 python3.13 python3.12 python3
# make's own commands run the app for local development only.
LOCAL := DJANGO_DEBUG=true

.PHONY: help run serve serve-edge nginx-installed observatory lighthouse lforms bench test test-fast test-postgres lint messages setup clean

help:
	@echo "make run    set up .venv, migrate, load the default rules, serve http://$(HOST_PORT)"
	@echo "make test   set up the same, then run the whole test suite"
	@echo "make test-fast  the suite without the browser and slow tests (no Chromium), for the edit loop"
	@echo "make serve  production shape: nginx (TLS) in front of gunicorn, https://$(SERVE_HOST_PORT)"
	@echo "make test-postgres  the whole suite against a private PostgreSQL cluster"
	@echo "make lighthouse  Lighthouse performance, accessibility, best practices of make serve (all 100)"
	@echo "make lforms  install LHC-Forms (npm lforms) for its browser test; make test does it first"
	@echo "make bench  the patient flow under load, as ratios to a bare view and a static file"
	@echo "make lint   ruff (check and format), mypy --strict and the missing-migrations check"
	@echo "make messages  update the Chinese interface catalogue after changing strings (needs gettext)"

# pip does not byte-compile every installed module (half the install's time): setup compiles them beside its other work.
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
	$(PY) -m pip install --quiet --disable-pip-version-check --no-compile --group test -e .; \
	touch $@

# Static files are collected, and the installed modules byte-compiled (pip left that out), beside
# the migration rather than after it: a fresh clone's setup waited on each in turn with a core idle,
# and each test worker and server then compiled the modules it imported for itself.
setup: $(INSTALLED)
	@mkdir -p var
	@set -e; \
	$(PY) -m compileall -q -j 0 $(VENV)/lib >/dev/null 2>&1 & compiling=$$!; \
	$(LOCAL) $(PY) manage.py collectstatic --noinput -v 0 & collecting=$$!; \
	$(LOCAL) $(PY) manage.py migrate --noinput -v 0; \
	$(LOCAL) $(PY) manage.py ensure_default_rules; \
	wait $$collecting; \
	wait $$compiling || true

run: setup
	$(LOCAL) $(PY) manage.py runserver $(HOST_PORT)

test: setup lforms
	$(VENV)/bin/ruff check --quiet .
	$(LOCAL) $(PY) manage.py makemigrations --check --dry-run -v 0
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist worksteal

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

# nginx in front (TLS, buffering, limits, static files, security headers on its own pages too) and
# gunicorn behind it on a unix socket, as in production (ruxguide/deploy/). Ctrl-C stops both.
serve: setup var/secret_key var/tls/cert.pem
	@$(MAKE) --no-print-directory serve-edge

# The serving processes alone, over whatever database DATABASE_URL names: `make serve` after its
# set-up, and the tests that start the real thing on their own port and folder. nginx's workers run
# as whoever runs make (root in CI): they read the project's files, which may sit in a private
# folder (a CI clone under a 0700 mktemp), and listen on loopback only. A real deployment uses
# Debian's nginx.conf, whose workers run as www-data (README, "Deploying").
SERVE_DIR ?= var/serve
SERVE_TLS_CERT ?= var/tls/cert.pem
SERVE_TLS_KEY ?= var/tls/key.pem
# nginx's JSON access lines go to the terminal; the benchmark sends them to /dev/null.
SERVE_ACCESS_LOG ?= /dev/stdout
DEPLOY := ruxguide/deploy
serve-edge: nginx-installed
	@set -euo pipefail; \
	dir="$(abspath $(SERVE_DIR))"; mkdir -p "$$dir/tmp"; chmod 755 "$$dir"; rm -f "$$dir/gunicorn.sock"; \
	export DJANGO_SECRET_KEY="$${DJANGO_SECRET_KEY:-$$(cat var/secret_key)}"; \
	export DJANGO_ALLOWED_HOSTS="$${DJANGO_ALLOWED_HOSTS:-127.0.0.1,localhost}"; \
	export DJANGO_BEHIND_TLS_PROXY=true GUNICORN_BIND="unix:$$dir/gunicorn.sock" GUNICORN_WORKERS="$(WORKERS)"; \
	$(PY) manage.py write_edge_pages "$$dir/edge" >/dev/null; \
	user_line=""; [ "$$(id -u)" = 0 ] && user_line="user root root;"; \
	sed -e "s|@@APP_SERVERS@@|server unix:$$dir/gunicorn.sock;|" -e "s|@@LISTEN@@|$(SERVE_HOST_PORT)|" \
		-e "s|@@SERVER_NAME@@|localhost 127.0.0.1|" -e "s|@@TLS_CERT@@|$(abspath $(SERVE_TLS_CERT))|" \
		-e "s|@@TLS_KEY@@|$(abspath $(SERVE_TLS_KEY))|" -e "s|@@ACCESS_LOG@@|$(SERVE_ACCESS_LOG)|" \
		-e "s|@@EDGE_PAGES@@|$$dir/edge|" -e "s|@@STATIC_ROOT@@|$(CURDIR)/var/staticfiles|" \
		-e "s|@@DEPLOY_DIR@@|$(CURDIR)/$(DEPLOY)|" $(DEPLOY)/nginx/ruxguide.conf.template > "$$dir/ruxguide.conf"; \
	sed -e "s|@@SERVE_DIR@@|$$dir|g" -e "s|@@USER_LINE@@|$$user_line|" $(DEPLOY)/nginx/local.conf.template > "$$dir/nginx.conf"; \
	nginx=$$(command -v nginx || echo /usr/sbin/nginx); \
	"$$nginx" -t -q -p "$$dir" -e "$$dir/nginx-error.log" -c "$$dir/nginx.conf"; \
	trap 'kill -TERM $$app $$edge 2>/dev/null || true; wait' EXIT INT TERM; \
	$(VENV)/bin/gunicorn -c $(DEPLOY)/gunicorn.conf.py ruxguide.wsgi & app=$$!; \
	"$$nginx" -p "$$dir" -e "$$dir/nginx-error.log" -c "$$dir/nginx.conf" -g "daemon off;" & edge=$$!; \
	echo "Serving https://$(SERVE_HOST_PORT) (nginx in front of gunicorn; Ctrl-C stops both)" >&2; \
	wait -n

# Debian's nginx for `make serve` (CI installs it the same way in .ci/run).
nginx-installed:
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; \
		else echo "make serve needs nginx: sudo apt-get install nginx"; exit 1; fi; }

# Throughput and latency of the patient flow as ratios to this machine's own limits (about 2 minutes).
bench: setup
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(PY) -m tests.system.bench

# Grade the security headers of `make serve` with the MDN HTTP Observatory (installs it from npm).
observatory: setup
	.ci/observatory

# Lighthouse (mobile, its defaults) on four patient pages of `make serve`; fails under 100 (installs it from npm).
lighthouse: setup
	.ci/lighthouse

# LHC-Forms (npm lforms, pinned) in var/lforms for its browser test; make test (and so test-postgres) runs it.
lforms:
	@.ci/lforms

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
