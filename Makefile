# Set-up on a fresh machine needs only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CORE := $(VENV)/.installed-core
DEV := $(VENV)/.installed-dev

.PHONY: demo test docs lint bench bench-pytest clean

# The demo needs minifw alone (NumPy, SciPy, tqdm); the tests add the dev extra.
$(CORE): pyproject.toml Makefile
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "minifw needs Python 3.11 or newer; $(PYTHON) is Python " + sys.version.split()[0] + ". Run e.g. make PYTHON=python3.11 test")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e .
	touch $(CORE)

$(DEV): $(CORE)
	$(PY) -m pip install --quiet -e ".[dev,plot]"
	touch $(DEV)

demo: $(CORE)
	$(PY) -m minifw demo

test: $(DEV)
	$(PY) -m pytest tests minifw -q

docs: $(DEV)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

lint: $(DEV)
	$(PY) -m ruff check minifw tests benchmarks examples

bench: $(DEV)
	$(PY) -m benchmarks.compare

bench-pytest: $(DEV)
	$(PY) -m pytest benchmarks --benchmark-only

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks build *.egg-info
