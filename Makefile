# The two commands: `make demo` and `make test`. Everything else here serves them.
VENV ?= .venv
PYTHON ?= $(shell scripts/find-python)
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: demo test install migrate clean run-web run-worker run-beat

demo: install
	$(PY) -m voxdash.demo

# The whole suite on SQLite, then the mirror's and the workers' tests (calls, directory, webhooks,
# placements, worker) again on PostgreSQL, as production runs them.
test: install
	@scripts/ensure-chromium
	@scripts/ensure-axe
	@scripts/ensure-redis-server
	$(PY) -m pytest -m "not postgres" $(PYTEST_ARGS)
	PY=$(PY) scripts/test-postgres $(PYTEST_ARGS)

install: $(INSTALLED)

$(PY):
	@test -n "$(PYTHON)" || { echo "No Python >= 3.12 found (see above)."; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Reinstall only when requirements.txt changes.
$(INSTALLED): requirements.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

migrate: install
	$(PY) manage.py migrate

# Production processes (configure with the environment; see README "Running in production").
run-web: install
	$(VENV)/bin/gunicorn --config gunicorn.conf.py voxdash.wsgi

run-worker: install
	$(VENV)/bin/celery -A voxdash worker --loglevel INFO

run-beat: install
	$(VENV)/bin/celery -A voxdash beat --loglevel INFO

clean:
	rm -rf var staticfiles .pytest_cache
