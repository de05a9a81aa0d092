# `make dashboards` works on a fresh clone with only Python 3.11+: it bootstraps .venv when no
# virtualenv is active. `make test` also installs the Debian packages the tests run (as root or via sudo).
PYTHON ?= python3
ifdef VIRTUAL_ENV
BIN := $(VIRTUAL_ENV)/bin
else
BIN := .venv/bin
endif
INSTALLED := $(BIN)/.obs-installed

.PHONY: dashboards build check validate lint test test-e2e bench stack-local system-deps clean

dashboards: $(INSTALLED)
	$(BIN)/obs build

build: dashboards

check: $(INSTALLED)
	$(BIN)/obs build --check

validate: $(INSTALLED)
	$(BIN)/obs validate

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/obs lint

test: $(INSTALLED) system-deps
	$(BIN)/ruff check .
	$(BIN)/obs build --check
	$(BIN)/obs validate
	$(BIN)/obs lint
	$(BIN)/pytest -q

test-e2e: $(INSTALLED) system-deps
	$(BIN)/pytest -q -m e2e

# Prometheus, Alertmanager, node-exporter and demo exporters on loopback; Ctrl-C stops everything.
stack-local: $(INSTALLED) system-deps
	$(BIN)/obs build
	$(BIN)/obs stack-local

bench: $(INSTALLED)
	$(BIN)/python benchmarks/bench_build.py

system-deps:
	@bash scripts/install-system-deps.sh

$(INSTALLED): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv .venv
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@# An editable install leaves the toolkit uncompiled; compile it once, as a regular install would.
	$(BIN)/python -m compileall -q obs
	@touch $@

clean:
	rm -rf .venv .pytest_cache .ruff_cache *.egg-info
