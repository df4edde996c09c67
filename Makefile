# Two commands set everything up on a fresh machine with Python 3.11 and make:
#   make run    install into .venv, migrate the database, start gunicorn on $PORT (8000)
#               and the periodic work (ivr periodic) beside it
#   make test   install the dev tools into .venv, run ruff, mypy and pytest
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT

.PHONY: run test lint typecheck unit bench drill journeys screenshots lock clean

# Every install takes the versions in constraints.txt: what the tests last passed with.
PIP := $(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt

$(VENV)/installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) -e .
	touch $@

$(VENV)/installed-dev: $(VENV)/installed
	$(PIP) -e '.[dev]'
	touch $@

run: $(VENV)/installed
	$(BIN)/ivr db upgrade
	$(BIN)/ivr info
	@echo "Serving on http://localhost:$(PORT)/ (Ctrl-C stops it)"
	# The periodic work beside gunicorn, as the Procfile's worker; stopped with it.
	$(BIN)/ivr periodic & periodic=$$!; trap 'kill $$periodic 2>/dev/null' EXIT INT TERM; \
		$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

test: lint typecheck unit

lint: $(VENV)/installed-dev
	$(BIN)/ruff check .

typecheck: $(VENV)/installed-dev
	$(BIN)/mypy

unit: $(VENV)/installed-dev
	$(BIN)/pytest -q

bench: $(VENV)/installed-dev
	$(BIN)/python -m bench.webhooks
	$(BIN)/python -m bench.calls
	$(BIN)/python -m bench.calls --calls 1000 --concurrency 50
	$(BIN)/python -m bench.calls --calls 1000 --concurrency 50 --full
	$(BIN)/python -m bench.calls --calls 200 --concurrency 50 --think 1 --full
	$(BIN)/python -m bench.queue_page
	$(BIN)/python -m bench.chats

drill: $(VENV)/installed-dev
	$(BIN)/python -m bench.drill

journeys: $(VENV)/installed-dev
	$(BIN)/python -m bench.journeys

# The operators' page in Ukrainian at 1280 and 390 px, on a demo database (needs chromium).
screenshots: $(VENV)/installed-dev
	$(BIN)/python -m bench.screenshots bench/out/screenshots/demo

# Take the newest releases pyproject.toml's ranges allow into constraints.txt (then run
# `make test`, and commit constraints.txt with what changed).
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'
	{ sed -n '/^#/p' constraints.txt; .venv-lock/bin/pip freeze --exclude-editable; } \
		> constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf .venv-lock
	@echo "constraints.txt updated: run make test, then commit it"

clean:
	rm -rf $(VENV) instance .mypy_cache .ruff_cache .pytest_cache .hypothesis
