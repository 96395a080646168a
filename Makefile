# Set-up on a fresh machine needs only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench bench-pytest clean

$(STAMP): pyproject.toml Makefile
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "minifw needs Python 3.11 or newer; $(PYTHON) is Python " + sys.version.split()[0] + ". Run e.g. make PYTHON=python3.11 test")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e ".[dev,plot]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m minifw demo

test: $(STAMP)
	$(PY) -m pytest tests minifw -q

lint: $(STAMP)
	$(PY) -m ruff check minifw tests benchmarks examples

bench: $(STAMP)
	$(PY) -m benchmarks.compare

bench-pytest: $(STAMP)
	$(PY) -m pytest benchmarks --benchmark-only

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks build *.egg-info
