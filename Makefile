# Two commands matter: `make run` and `make test`. Both create (or reuse) .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint unit validate clean

run: $(STAMP)
	$(PY) -m bot

test: $(STAMP) lint validate unit

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

validate: $(STAMP)
	$(PY) -m knowledge validate

unit: $(STAMP)
	sh tools/ensure_browser.sh
	$(PY) -m pytest -q

$(STAMP): pyproject.toml tools/bootstrap.sh
	sh tools/bootstrap.sh "$(PYTHON)" "$(VENV)"
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
