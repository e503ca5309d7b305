# The two commands: `make demo` and `make test`. Everything else here serves them.
VENV ?= .venv
PYTHON ?= $(shell scripts/find-python)
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: demo test install lint lock migrate clean run-web run-worker run-beat

demo: install
	@scripts/ensure-node-tools
	$(PY) -m vox_simulator.demo

# ruff, then the whole suite on SQLite and, beside it, the mirror's and the workers' tests (calls,
# directory, webhooks, placements, campaigns, worker; the alerts' and the audit log's database rules)
# again on PostgreSQL, as production runs them (scripts/test-postgres says which). Both at once
# (scripts/test-passes): the PostgreSQL pass mostly waits on the processes it starts.
test: install
	@scripts/ensure-chromium
	@scripts/ensure-node-tools
	@scripts/ensure-nginx
	@scripts/ensure-redis-server
	@$(MAKE) --no-print-directory lint
	PY=$(PY) scripts/test-passes $(PYTEST_ARGS)

install: $(INSTALLED)

$(PY):
	@test -n "$(PYTHON)" || { echo "No Python >= 3.12 found (see above)."; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Both locks: the runtime one (what production installs) and the development one beside it (tests,
# browser tests, lint, the lock tool). Every file is checked against its hash. Reinstall only when a
# lock changes.
LOCKS := requirements.txt requirements-dev.txt

$(INSTALLED): $(LOCKS) | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes $(addprefix -r ,$(LOCKS))
	@touch $@

# ruff with the configuration in pyproject.toml. It changes nothing (`ruff format` and
# `ruff check --fix` do, by hand); both checks run, so one failing does not hide the other. The format
# check names the files (`ruff format --diff` shows what would change).
lint: install
	@status=0; \
	$(VENV)/bin/ruff check . || status=1; \
	$(VENV)/bin/ruff format --check --output-format concise . || status=1; \
	exit $$status

# Regenerate both locks from pyproject.toml after changing its dependencies. Every pin that still
# fits is kept, so nothing moves by accident; LOCK_ARGS=--upgrade (or "--upgrade-package NAME")
# moves pins on purpose. The dev lock is constrained by the runtime one, so a package both need
# (packaging) has one version. --universal: one lock for every platform and Python >= 3.12.
LOCK := $(VENV)/bin/uv pip compile --quiet --universal --python-version 3.12 --generate-hashes \
	--custom-compile-command "make lock" $(LOCK_ARGS)

# $(call relock,LOCKFILE,SOURCES): uv keeps the pins of the file it writes, so it writes a copy;
# the lock is replaced only when it changed, so an unchanged lock reinstalls nothing.
define relock
	cp $(1) $(1).new 2>/dev/null || true
	$(LOCK) $(2) -o $(1).new
	cmp -s $(1).new $(1) && rm $(1).new || mv $(1).new $(1)
endef

lock: install
	$(call relock,requirements.txt,pyproject.toml)
	$(call relock,requirements-dev.txt,--group pyproject.toml:dev -c requirements.txt)

migrate: install
	$(PY) manage.py migrate

# Production processes (configure with the environment; see README "Running in production"), started
# by the deploy recipe's one script, as systemd and the container start them.
run-web: install
	VOXDASH_VENV=$(abspath $(VENV)) deploy/voxdash web

run-worker: install
	VOXDASH_VENV=$(abspath $(VENV)) deploy/voxdash worker

run-beat: install
	VOXDASH_VENV=$(abspath $(VENV)) deploy/voxdash beat

clean:
	rm -rf var staticfiles .pytest_cache
