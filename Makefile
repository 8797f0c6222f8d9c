# The two commands a user needs: `make demo` and `make test` (`make test-all` is CI's). Everything
# runs from a project-local virtualenv (.venv) and a project-local AIRFLOW_HOME (.airflow).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AIRFLOW_HOME := $(CURDIR)/.airflow

.PHONY: install constraints test test-all test-compat lint demo airflow celery emulator bench clean

# pyproject.toml says which versions work (ranges); constraints.txt pins the ones the tests ran
# with, so every install, CI's included, gets exactly those. After changing a range, refresh it:
# `make constraints`.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

constraints: $(STAMP)
	$(BIN)/pip install --quiet --upgrade -e '.[dev]'
	$(BIN)/pip freeze --exclude-editable > constraints.txt

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The tiers select by the marks tests/conftest.py gives (TIER_MARKS). `make test`, before each
# commit: whatever needs no server beyond the emulator and fits the fast budget. `make test-all`,
# CI's: everything, tests that bring up a whole Airflow one at a time, the rest WORKERS at a time.
# pytest's exit code 5 (no test selected, as a tier narrowed by ARGS=-k... can be) is no failure.
FAST := not (slow or deploy or chaos or standalone or browser or postgres)
WHOLE_AIRFLOW := deploy or standalone
WORKERS ?= 2
PYTEST := $(BIN)/pytest -n $(WORKERS) --dist worksteal
NONE_SELECTED_IS_OK := || [ $$? -eq 5 ]

test: lint
	$(PYTEST) -m "$(FAST)" $(ARGS) $(NONE_SELECTED_IS_OK)

test-all: lint
	$(PYTEST) -m "not ($(WHOLE_AIRFLOW))" $(ARGS) $(NONE_SELECTED_IS_OK)
	$(BIN)/pytest -m "$(WHOLE_AIRFLOW)" $(ARGS) $(NONE_SELECTED_IS_OK)
	$(BIN)/python tests/compat/run.py --ci

# The provider on each older Airflow minor release (constraints/airflow-3.X.txt), in venvs of its
# own built with uv and cached outside the tree: the hook, operator, sensor and trigger tests,
# the plugin, both example DAGs and a user's DAG end to end. `make test-all` runs a selection of
# it (run.py --ci). COMPAT="3.1" runs one; COMPAT_JOBS=1 runs them one after another.
test-compat: $(STAMP)
	$(BIN)/python tests/compat/run.py $(COMPAT)

demo: $(STAMP)
	$(BIN)/python -m x_compliance_demo.run_demo

airflow: $(STAMP)
	$(BIN)/python -m x_compliance_demo.standalone

# The tweets DAG on two CeleryExecutor workers, PostgreSQL, Redis and S3 (moto); needs the Debian
# packages postgresql and redis-server. ARGS=--once stops after the run.
celery: $(STAMP)
	$(BIN)/python -m x_compliance_demo.deploy $(ARGS)

emulator: $(STAMP)
	$(BIN)/x-compliance-emulator --token emulator-token --port 8765

# The benchmark: N IDs through every stage, side by side with the limit and the naive way.
N ?= 1000000
bench: $(STAMP)
	$(BIN)/python bench/run.py --n $(N) $(ARGS)

clean:
	rm -rf $(VENV) .airflow .pytest_cache .ruff_cache
