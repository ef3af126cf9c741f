# hpdash: `make run` starts everything; `make test` runs the whole suite.
# As root, trainers run as an unprivileged user, who must be able to run the venv's Python:
# venv_python.py picks one they can (see its docstring).
PYTHON ?= $(shell python3 hpdash/ops/venv_python.py)
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test install install-test lint bench bench-smoke bench-peers clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

run: $(VENV)/.installed
	$(PY) manage.py serve

lint: $(VENV)/.installed-test
	$(PY) -m ruff check hpdash tests examples benchmarks
	$(PY) -m mypy hpdash

test: $(VENV)/.installed-test lint
	$(PY) -m pytest

$(VENV)/.installed-bench: $(VENV)/.installed-test pyproject.toml
	$(PY) -m pip install -q -e '.[test,bench]'
	touch $@

# The peer tuners of the search-quality suite (Optuna GPSampler + torch CPU, OSS Vizier on JAX),
# each in a venv of its own under benchmarks/ (benchmarks/peers/README.md).
bench-peers:
	PYTHON=$(PYTHON) bash benchmarks/peers/setup.sh

# The benchmarks' own tests (benchmarks/tests): each suite's code paths on tiny inputs, nothing
# timed. Kept out of `make test`, which installs neither Optuna nor matplotlib. ~15 s of tests on
# 2 cores, plus ~1 min the first time to install the bench extra; CI runs it after `make test`.
bench-smoke: $(VENV)/.installed-bench
	$(PY) -m pytest -q benchmarks/tests

bench: $(VENV)/.installed-bench
	PYTHON=$(PYTHON) bash benchmarks/peers/setup.sh \
	  || echo "peer venvs not created: the search-quality suite reports them as not installed"
	$(PY) benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) *.egg-info
