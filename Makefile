# The commands the README tells people to type.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
WORKERS ?= 2
export APP_ENV ?= development

.PHONY: run test lint format bench migrate install install-test clean screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python tests/browser/node_modules/axe-core/axe.min.js
	$(BIN)/pip install --quiet -e ".[test]"

# axe-core, the accessibility engine the browser tests run on every page (pinned in its lock).
tests/browser/node_modules/axe-core/axe.min.js: tests/browser/package-lock.json
	npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
	@touch $@

# The local setup's own settings, written once: development mode, a generated secret and the
# local test payment page's signing key, so every later command (.venv/bin/flask --app wsgi
# ...) runs as the server does.
instance/settings.env:
	@mkdir -p instance
	@umask 077 && printf 'APP_ENV=development\nSECRET_KEY=%s\nPAYMENT_CALLBACK_SECRET=%s\n' \
	  "$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(32))')" \
	  "$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(32))')" > $@
	@echo "wrote $@ (development settings, a new secret and the test payments' signing key)"

migrate: install instance/settings.env
	$(BIN)/flask --app wsgi db upgrade

# Serve the API with gunicorn and run one job consumer beside it, and the SIP2 server for
# self-check machines when SIP2_ENABLED is set; Ctrl-C stops them all.
run: migrate
	$(BIN)/flask --app wsgi seed-demo
	$(BIN)/flask --app wsgi archive reindex --if-stale
	@echo "HAPPY-HUB on http://127.0.0.1:$(PORT)  (API docs: http://127.0.0.1:$(PORT)/api/docs)"
	@trap 'trap - INT TERM EXIT; kill 0' INT TERM EXIT; \
	  $(BIN)/flask --app wsgi jobs worker & \
	  $(BIN)/flask --app wsgi library sip2-serve --if-enabled & \
	  $(BIN)/gunicorn --no-control-socket --preload --workers $(WORKERS) --bind 127.0.0.1:$(PORT) wsgi:app & \
	  wait

test: install-test
	APP_ENV=testing $(BIN)/pytest $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install-test
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# Pictures of the main pages for docs/screenshots/ (a fresh demo instance, headless Chromium).
screenshots: install-test
	$(BIN)/python docs/screenshots.py

clean:
	rm -rf $(VENV) instance .pytest_cache
