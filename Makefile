# The README's two set-up commands are `make quickstart` and `make test`; CI runs `make test`.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
# Tests that do not touch TensorFlow-only code run a second time under the JAX backend.
BACKEND_NEUTRAL_TESTS := tests/analysis tests/layers tests/losses tests/models tests/sampling/test_negative_sampler.py tests/sampling/test_keras_dataset.py tests/evaluation

.PHONY: install dev quickstart test test-tf test-jax lint format clean

$(VENV)/.installed: setup.cfg pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[serving]"  # the quickstart exports with TF Serving warm-up requests
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed
dev: $(VENV)/.installed-dev

quickstart: $(VENV)/.installed
	$(PY) -m tfrec.quickstart

test: test-tf test-jax

test-tf: $(VENV)/.installed-dev
	$(PY) -m pytest -n 2 --durations=15

test-jax: $(VENV)/.installed-dev
	KERAS_BACKEND=jax $(PY) -m pytest -n 2 $(BACKEND_NEUTRAL_TESTS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check tfrec tests benchmarks notebooks
	$(VENV)/bin/ruff format --check tfrec tests benchmarks notebooks

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff format tfrec tests benchmarks notebooks
	$(VENV)/bin/ruff check --fix tfrec tests benchmarks notebooks

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
