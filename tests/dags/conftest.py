"""Fixtures for running the example DAGs end to end: Airflow's metadata DB, a seeded SQLite
warehouse, the emulator, and the connections and storage root the DAGs read."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import ROOT, TOKEN

LOGICAL_DATE = datetime(2026, 11, 19, tzinfo=UTC)  # checks the Posts created that day + its rotation slot
WAREHOUSE_END = datetime(2026, 11, 21, tzinfo=UTC)


@pytest.fixture(scope="session")
def airflow_db():
    from airflow.utils import db

    db.initdb()


@pytest.fixture(scope="session")
def dagbag(airflow_db):
    from airflow.dag_processing.dagbag import BundleDagBag

    bag = BundleDagBag(dag_folder=str(ROOT / "dags"), bundle_path=ROOT / "dags", bundle_name="dags-folder")
    assert not bag.import_errors, bag.import_errors
    return bag


@pytest.fixture
def warehouse(tmp_path) -> Path:
    from x_compliance_demo.warehouse import seed

    return seed(tmp_path / "warehouse.db", tweets=4000, users=400, days=4, end=WAREHOUSE_END, seed=11)


@pytest.fixture
def dag_env(emulator, warehouse, tmp_path, monkeypatch):
    """Point the DAGs' connections and storage at this test's emulator, warehouse and folder."""
    config = emulator.emulator.config
    config.processing_seconds_base = 0.5
    config.rate_limit_window_seconds = 30  # pro tier: 150 calls / 30 s, so polls every ~0.2 s
    monkeypatch.setenv(
        "AIRFLOW_CONN_X_COMPLIANCE_DEFAULT",
        json.dumps({"conn_type": "x_compliance", "host": emulator.url, "password": TOKEN}),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_WAREHOUSE_DEFAULT", json.dumps({"conn_type": "sqlite", "host": str(warehouse)})
    )
    monkeypatch.setenv("X_COMPLIANCE_STORAGE_ROOT", (tmp_path / "storage").as_uri())
    monkeypatch.setenv("X_COMPLIANCE_POLL_SECONDS", "0.1")
    monkeypatch.setenv("X_COMPLIANCE_RETRY_DELAY_SECONDS", "1")
    return {"emulator": emulator, "warehouse": warehouse, "storage": tmp_path / "storage"}


def read_table(path: Path, table: str) -> dict[int, tuple]:
    with sqlite3.connect(path) as db:
        return {row[0]: tuple(row) for row in db.execute(f"SELECT * FROM {table}")}


def load_dag(dag_id: str):
    """Parse the DAG file now, after the test's environment is set (the DAG reads it at parse)."""
    from airflow.dag_processing.dagbag import BundleDagBag

    bag = BundleDagBag(dag_folder=str(ROOT / "dags"), bundle_path=ROOT / "dags", bundle_name="dags-folder")
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag(dag_id)


@pytest.fixture
def id_file_for(tmp_path):
    """Start another app's job on the emulator (created and uploaded), holding the type's slot."""

    def start(emulator, name: str, job_type: str = "tweets") -> dict:
        from x_compliance.hooks.x_compliance import XComplianceHook
        from x_compliance.operators.steps import upload_ids

        ids = tmp_path / f"{name}.txt"
        ids.write_text("".join(f"{1_200_000_000_000_000_000 + i}\n" for i in range(100)))
        hook = XComplianceHook()  # the connection dag_env points at this test's emulator
        job = hook.create_job(job_type, name=name)
        upload_ids(hook, job, ids)
        return {"id": job.id, "name": name}

    return start
