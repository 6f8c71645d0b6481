# Two entry points do all the set-up: `make reproduce` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: reproduce test test-fast quantization lab clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e ".[dev]"
	touch $(STAMP)

reproduce: $(STAMP)
	$(VENV)/bin/simcc-lab reproduce --mode quick --out reports

test: $(STAMP)
	MPLBACKEND=Agg SIMCC_LAB_FAST=1 $(PY) -m pytest -p no:cacheprovider --nbval-lax -q -ra

quantization: $(STAMP)
	$(VENV)/bin/simcc-lab quantization --out reports/quantization

# Jupytext's contents manager pairs NN_name.py with NN_name.ipynb (notebooks/jupytext.toml): saving either updates both.
lab: $(STAMP)
	$(VENV)/bin/jupyter lab --ServerApp.contents_manager_class=jupytext.TextFileContentsManager notebooks/

clean:
	rm -rf $(VENV) .pytest_cache
