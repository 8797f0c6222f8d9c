"""Shared test setup: a throwaway AIRFLOW_HOME and a real emulator on 127.0.0.1.

Airflow reads its configuration at import time, so the environment is set here, before any
test module imports ``airflow``.
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


@pytest.fixture(scope="session")
def recorded_dir() -> Path:
    return RECORDED


@pytest.fixture
def emulator(tmp_path):
    """A fresh emulator per test: real HTTP on a free port, its own clock and data dir."""
    from x_compliance_emulator import EmulatorConfig, EmulatorServer

    server = EmulatorServer(EmulatorConfig(tokens=[TOKEN], seed=7, data_dir=tmp_path / "emulator"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
