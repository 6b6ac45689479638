# Two commands for a fresh machine: `make run` and `make test`. Both create or reuse .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: run test test-slow lint clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "leadscore needs Python 3.11+, found " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing leadscore and its dependencies into $(VENV) (first time: about a minute)..."
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@# setuptools warns about every editable install that maps a folder (data/ -> leadscore_data): nothing to act on
	@PYTHONWARNINGS='ignore:Editable installation' $(BIN)/python -m pip install --quiet -e '.[test]'
	@rm -f $(VENV)/.installed-* && touch $@

run: $(STAMP)  ## the weekly job end to end on the bundled sample (list in workspace/lists/latest.csv)
	$(BIN)/leadscore weekly --leads data/sample/leads.csv.gz --activities data/sample/activities.csv.gz \
		--config data/configs/synthetic.toml --workspace workspace

test: $(STAMP)  ## the default test suite (a few minutes)
	$(BIN)/python -m pytest

test-slow: $(STAMP)  ## only the slow tests (large generated data)
	$(BIN)/python -m pytest -m slow

lint: $(STAMP)  ## ruff lint and format check, then the import layers (import-linter)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports

clean:  ## remove the workspace and caches (keeps .venv)
	rm -rf workspace .pytest_cache .ruff_cache .import_linter_cache
