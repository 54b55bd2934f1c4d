# The two commands of the README:
#   make demo   set up .venv, then run the main job on the generated demo case
#   make test   set up .venv (with the Slicer-side test packages), then ruff and the whole test suite
# Both start from nothing but Python 3.11+ and pip, and set up only once (stamp files).
# Both install the versions recorded in requirements/constraints.txt, the ones the tests passed with
# (`make lock` refreshes it on purpose); pyproject.toml keeps ranges, so PRIMELib still installs beside
# Slicer's own packages.

# The first Python >= 3.11 that really runs (a version-manager shim may exist without its Python).
PYTHON ?= $(shell for p in python3.11 python3.12 python3.13 python3; do \
	$$p -c 'import sys; assert sys.version_info >= (3, 11)' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check
CONSTRAINTS := requirements/constraints.txt
# Every extra `make test` needs; the lock covers them all (medsam's torch is installed by hand, see README).
TEST_EXTRAS := dev,slicer-test,cluster,parquet

.PHONY: demo demo-model test lint lock format bench clean stock-slicer-env

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "PRIME needs Python 3.11 or newer (python3.11, python3.12 or python3 on PATH)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade "pip>=24"

# The library and its runtime dependencies (PyRadiomics included; see README, "Installing").
$(VENV)/.installed-base: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) install --quiet --constraint $(CONSTRAINTS) -e .
	@touch $@

# Plus linting, pytest, hypothesis, the Slicer-side harnesses (slicer-core, PySide6) and Dask.
$(VENV)/.installed-test: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) install --quiet --constraint $(CONSTRAINTS) -e ".[$(TEST_EXTRAS)]"
	@touch $@ $(VENV)/.installed-base

demo: $(VENV)/.installed-base
	$(BIN)/prime demo --output prime-demo

# The shipped demonstration model, rebuilt from nothing: a synthetic two-centre cohort with CT phantoms
# (prime synth) -> radiomics of both phases (prime batch) -> PRIME-R and PRIME-S trained on centre A,
# validated on centre B (prime train) -> PRIMELib/resources/models/prime_demo.prime. About an hour on
# 2 cores (35 min of radiomics, 17 of training with nested validation); a rerun resumes the cohort and
# the extraction where they stopped.
DEMO_MODEL_DIR ?= build/demo-model
DEMO_SEED := 2026
DEMO_SYNTH := --seed $(DEMO_SEED) --n-a 113 --n-b 133 --spacing 1.4 1.4 5
DEMO_BATCH := --params prime_quick --workers 2
DEMO_TRAIN := --external-centre B --radiomics-params prime_quick --seed $(DEMO_SEED) --grid default --n-jobs 2
demo-model: $(VENV)/.installed-base
	$(BIN)/prime synth --output $(DEMO_MODEL_DIR)/cohort $(DEMO_SYNTH)
	$(BIN)/prime batch $(DEMO_MODEL_DIR)/cohort/manifest.csv --output $(DEMO_MODEL_DIR)/radiomics $(DEMO_BATCH)
	$(BIN)/prime train --clinical $(DEMO_MODEL_DIR)/cohort/clinical.csv \
		--features $(DEMO_MODEL_DIR)/radiomics/features.csv $(DEMO_TRAIN) \
		--name "PRIME demonstration model (synthetic)" \
		--trained-on "Synthetic two-centre cohort (PRIMELib.synth, 113 + 133 patients, no real patient), \
built by make demo-model: prime synth $(DEMO_SYNTH); prime batch $(DEMO_BATCH); prime train $(DEMO_TRAIN)" \
		--intended-use "Trained on synthetic data, for trying the software, not for patients." \
		--warning "Demonstration model trained on synthetic data: for trying the software, not for patients." \
		--output $(DEMO_MODEL_DIR)/prime_demo.prime
	cp $(DEMO_MODEL_DIR)/prime_demo.prime PRIMELib/resources/models/prime_demo.prime

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/deptry . PRIME $(wildcard Testing/*/)

# Refresh the constraints on purpose: resolve pyproject.toml's ranges afresh in a throwaway venv and
# record what it installed. Then run `make clean test` before committing the new file.
LOCK_VENV := build/lock-venv
lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip --disable-pip-version-check install --quiet --upgrade "pip>=24"
	$(LOCK_VENV)/bin/python -m pip --disable-pip-version-check install --quiet -e ".[$(TEST_EXTRAS)]"
	@mkdir -p $(dir $(CONSTRAINTS))
	{ echo "# The versions make demo and make test install: resolved from pyproject.toml's ranges by"; \
	  echo "# \`make lock\` on Python $$($(LOCK_VENV)/bin/python -c 'import platform; print(platform.python_version())')" \
	       "and passed by make test. A constraints file: it fixes versions, it installs nothing."; \
	  $(LOCK_VENV)/bin/python -m pip --disable-pip-version-check freeze --exclude-editable; \
	} > $(CONSTRAINTS).tmp
	mv $(CONSTRAINTS).tmp $(CONSTRAINTS)
	rm -rf $(LOCK_VENV)

# A Python holding only what a stock Slicer 5.10 bundles (read from Slicer's SuperBuild) plus slicer-core
# and PySide6; Testing/StockSlicer runs the module in it. Slicer's Python 3.12 when found, else
# $(PYTHON). About 1.6 GB, under a minute; built once (stamp file).
STOCK_SLICER_VENV := build/stock-slicer-venv
STOCK_SLICER_STAMP := $(STOCK_SLICER_VENV)/.stock-slicer-stamp.json
$(STOCK_SLICER_STAMP): Testing/StockSlicer/make_env.py Testing/StockSlicer/slicer-5.10-python-requirements.txt $(CONSTRAINTS)
	@test -n "$(PYTHON)" || { echo "PRIME needs Python 3.11 or newer (python3.11, python3.12 or python3 on PATH)"; exit 1; }
	$(PYTHON) Testing/StockSlicer/make_env.py --venv $(STOCK_SLICER_VENV)
stock-slicer-env: $(STOCK_SLICER_STAMP)

test: lint $(STOCK_SLICER_STAMP)
	QT_QPA_PLATFORM=offscreen PRIME_REQUIRE_SLICER_CORE=1 PRIME_REQUIRE_STOCK_SLICER=1 $(BIN)/python -m pytest

format: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Benchmarks print numbers (time, memory, throughput); they are measurements, not pass/fail tests.
bench: $(VENV)/.installed-test
	@for script in Testing/bench/bench_*.py; do \
		echo "== $$script"; $(BIN)/python $$script || exit 1; \
	done

clean:
	rm -rf $(VENV) prime-demo .pytest_cache .ruff_cache build *.egg-info
