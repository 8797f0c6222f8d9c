"""The tweets DAG with ``dag.test()`` and the warehouse on PostgreSQL (a throwaway cluster
from Debian's ``postgresql``): the SQL the provider writes must hold on a server that checks
what SQLite lets pass (``%`` beside psycopg's ``%s`` placeholders, VARCHAR lengths, a
``timestamptz`` compared with the day's bounds), and the export's ADBC route must read it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import psycopg
import pytest

from tests.dags.conftest import load_dag
from tests.dags.expected import after_tweets_run, checked_on
from tests.deploy.conftest import parts_required
from x_compliance_demo.deploy import read_audit, read_table, seed_postgres
from x_compliance_demo.services import postgres

pytestmark = pytest.mark.usefixtures("airflow_db")
DAY = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture(scope="module", params=["text", "timestamptz"])
def cluster(request):
    """The demo warehouse on PostgreSQL, ``created_at`` as the demo's text or as ``timestamptz``."""
    with parts_required(), postgres(databases=("warehouse",)) as running:
        seed_postgres(running, tweets=1500, users=150, seed=5)
        if request.param == "timestamptz":
            with psycopg.connect(running.dsn("warehouse")) as pg:
                pg.execute("ALTER DATABASE warehouse SET timezone TO 'UTC'")
                for table in ("tweets", "users"):
                    pg.execute(
                        f"ALTER TABLE {table} ALTER COLUMN created_at TYPE timestamptz "
                        "USING created_at::timestamptz"
                    )
        yield running


def test_a_daily_run_on_postgres_checks_its_day_and_rotation_share_and_records_the_run(
    dag_env, cluster, monkeypatch, caplog
):
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_DEFAULT", cluster.airflow_conn("warehouse"))
    emulator = dag_env["emulator"]
    tweets, users = read_table(cluster, "tweets"), read_table(cluster, "users")
    run = load_dag("x_compliance_tweets").test(logical_date=DAY)
    assert run.state == "success"
    assert "as Arrow columns through adbc-driver-postgresql" in caplog.text
    assert "again through DB-API" not in caplog.text  # whatever the column's type

    checked = checked_on(tweets, DAY.date())
    (job,) = emulator.emulator.jobs()
    assert job["ids_uploaded"] == len(checked)
    expected = after_tweets_run(tweets, users, checked, lambda i: emulator.emulator.fate("tweets", i))
    assert expected.audit
    assert read_table(cluster, "tweets") == expected.tweets
    assert set(read_audit(cluster, run.run_id)) == expected.audit
    with psycopg.connect(cluster.dsn("warehouse")) as pg:
        rows = list(pg.execute("SELECT job_id, scope_kind, ids_sent, rotation_slot FROM compliance_runs"))
    slot = (DAY.date() - date(1970, 1, 1)).days % 7
    assert rows == [(job["id"], "new rows + rotation share", len(checked), slot)]
