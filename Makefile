# Two commands on a fresh machine: `make demo` and `make test`. Each creates the virtualenv it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check
# The CPU build of torch is installed first, pinned, so that nothing resolves a bare `torch` to a CUDA build.
TORCH := torch==2.13.0

.PHONY: install demo test test-all lint docs bench postgres-server postgres chromium clean

$(STAMP): setup.cfg pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install $(TORCH)
	$(PIP) install -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python experiments/demo.py

test: $(STAMP)
	$(BIN)/python -m pytest

test-all: $(STAMP)
	$(BIN)/python -m pytest -m ''

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The documentation site: warnings (a broken reference, a public name without a docstring) are errors.
docs: $(STAMP)
	$(BIN)/sphinx-build -E -W --keep-going -q -b html docs docs/_build/html

bench: $(STAMP)
	$(BIN)/python experiments/bench_env.py

# Debian's PostgreSQL server, for distributed Optuna studies and their tests (needs root or sudo).
postgres-server:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y postgresql; }

# Start a local server in .postgres/ (port 5433) and print the URL for `sb3-ccddpg tune --storage`.
postgres: $(STAMP) postgres-server
	$(BIN)/python -m sb3_ccddpg.studies.local_postgres start .postgres

# Debian's Chromium and its WebDriver, for the documentation site's browser test (needs root or sudo).
chromium:
	@command -v chromedriver >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y chromium chromium-driver; }

clean:
	rm -rf $(VENV) build *.egg-info
