"""Shared test setup: a throwaway AIRFLOW_HOME, a real emulator on 127.0.0.1, and the marks
the test tiers select by.

Airflow reads its configuration at import time, so the environment is set here, before any
test module imports ``airflow``; every process imports this, each pytest-xdist worker too, so
each has an AIRFLOW_HOME (and metadata database) of its own.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RECORDED = ROOT / "tests" / "fixtures" / "recorded"  # real traffic; see its README

_AIRFLOW_HOME = tempfile.mkdtemp(prefix="xc-airflow-home-")
atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"

TOKEN = "test-bearer-token-0123456789"

# What a test brings up beyond this process, or that it is too slow for ``make test``: the
# Makefile's tiers select by these marks. Each mark is given to folders, files or tests (paths
# relative to tests/).
TIER_MARKS: dict[str, tuple[str, ...]] = {
    "deploy": ("deploy/",),
    "chaos": ("deploy/test_chaos.py",),
    "standalone": ("deploy/test_chaos.py", "dags/test_standalone.py"),
    "browser": ("dags/test_standalone.py::test_compliance_page_in_a_real_browser",),
    "postgres": ("deploy/", "dags/test_postgres_warehouse.py"),
    # The fast tier runs each example DAG once (test_end_to_end's tweets and users tests); the
    # other DAG runs are the full tier's.
    "slow": (
        "dags/test_fault_schedules.py",
        "dags/test_faults.py",
        "dags/test_bad_input.py",
        "dags/test_rotation.py",
        "dags/test_run_summary.py",
        "dags/test_secrets.py",
        "dags/test_end_to_end.py::test_two_day_backfill_checks_exactly_its_dates",
        "dags/test_end_to_end.py::test_empty_table_finishes_without_a_job",
        "dags/test_end_to_end.py::test_a_run_without_logical_date_checks_the_day_before_it_was_triggered",
        "dags/test_end_to_end.py::test_sweep_of_a_range_sends_the_fewest_jobs",
    ),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tests = ROOT / "tests"
    for item in items:
        if not item.path.is_relative_to(tests):
            continue
        places = _places(item.path.relative_to(tests), getattr(item, "originalname", item.name))
        for mark, marked in TIER_MARKS.items():
            if places & set(marked):
                item.add_marker(mark)


def _places(path: Path, test: str) -> set[str]:
    """Every way TIER_MARKS can name a test: its folders, its file, the test itself."""
    folders = {f"{parent.as_posix()}/" for parent in path.parents if parent != Path(".")}
    return folders | {path.as_posix(), f"{path.as_posix()}::{test}"}


@pytest.fixture(scope="session")
def recorded_dir() -> Path:
    return RECORDED


@pytest.fixture
def emulator(tmp_path):
    """A fresh emulator per test: real HTTP on a free port, its own clock and data dir.

    Starting one costs less than a test's first request to it, so one per test keeps tests
    apart (clock, jobs, faults, rate-limit windows) for nothing."""
    from x_compliance_emulator import EmulatorConfig, EmulatorServer

    server = EmulatorServer(EmulatorConfig(tokens=[TOKEN], seed=7, data_dir=tmp_path / "emulator"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
