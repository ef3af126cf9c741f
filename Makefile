# hpdash: `make run` starts everything; `make test` runs the whole suite.
# As root, trainers run as an unprivileged user, in their job's environment built from the
# Python the venv was made from, which that user must be able to run: venv_python.py picks one
# they can (see its docstring). The checkout itself may be private (a 0700 home).
PYTHON ?= $(shell python3 hpdash/ops/venv_python.py)
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run worker test install install-test lint bench bench-smoke bench-peers clean

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

# A second machine: DATABASE_URL=… REDIS_URL=… make worker (README, "Scaling out").
worker: $(VENV)/.installed
	$(PY) manage.py workers

# mypy --strict (pyproject) on the product, the benchmarks and the tests' shared helpers. The test
# modules are type-checked too, bodies included, but their ~1,100 pytest functions and fixtures
# may go unannotated: the --allow-untyped-* flags below, and nothing else, are relaxed there.
# pytest imports every conftest.py as the module `conftest`, so mypy takes those below tests/
# one at a time.
TEST_HELPERS := tests/support.py tests/keras_runs.py tests/cli/cli_stub.py tests/e2e/harness.py \
	tests/e2e/netns.py
MYPY_TESTS := $(PY) -m mypy --allow-untyped-defs --allow-incomplete-defs --allow-untyped-calls \
	--follow-imports=silent --cache-dir=.mypy_cache/tests

lint: $(VENV)/.installed-test
	$(PY) -m ruff check hpdash tests examples benchmarks
	$(PY) -m mypy hpdash benchmarks $(TEST_HELPERS)
	$(MYPY_TESTS) --exclude '^tests/(.+/conftest|support|keras_runs|cli/cli_stub|e2e/harness|e2e/netns)\.py$$' tests
	for conftest in tests/*/conftest.py; do $(MYPY_TESTS) $$conftest || exit 1; done

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
