"""Run the tweets DAG once against the emulator and judge the outcome against the fates.

The promise under test: after any run the warehouse is either exactly right or exactly as it
was, and a failed run says why.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from tests.dags.conftest import LOGICAL_DATE, load_dag, read_table
from tests.dags.expected import Expected, after_tweets_run, checked_on


@dataclass
class Outcome:
    state: str
    before: dict[int, tuple]
    expected: Expected
    tweets: dict[int, tuple]
    users_unchanged: bool
    audit: set[tuple]
    jobs: list[dict]
    task_states: dict[str, str]
    links: dict[str, str]  # each task's "X compliance job" link, as Airflow stored it

    def exactly_right(self) -> bool:
        return (
            self.tweets == self.expected.tweets and self.audit == self.expected.audit and self.users_unchanged
        )

    def unchanged(self) -> bool:
        return self.tweets == self.before and not self.audit and self.users_unchanged


def audit_rows(path: Path) -> set[tuple]:
    with sqlite3.connect(path) as db:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'compliance_audit'").fetchone():
            return set()
        return set(db.execute("SELECT record_id, table_name, change, reason FROM compliance_audit"))


def run_tweets_dag(dag_env, logical_date=LOGICAL_DATE) -> Outcome:
    path, emulator = dag_env["warehouse"], dag_env["emulator"]
    tweets, users = read_table(path, "tweets"), read_table(path, "users")
    run = load_dag("x_compliance_tweets").test(logical_date=logical_date)
    # Only real ids can have a fate; a bad-input test plants others, which must make the run fail.
    partition = checked_on(tweets, logical_date.date())
    expected = after_tweets_run(tweets, users, partition, lambda i: emulator.emulator.fate("tweets", i))
    return Outcome(
        state=str(run.state),
        before=tweets,
        expected=expected,
        tweets=read_table(path, "tweets"),
        users_unchanged=read_table(path, "users") == users,
        audit=audit_rows(path),
        jobs=emulator.emulator.jobs(),
        task_states={ti.task_id: str(ti.state) for ti in run.get_task_instances()},
        links=job_links(run),
    )


def job_links(run) -> dict[str, str]:
    """The job link each task of ``run`` stored (Airflow keeps a computed link as an XCom)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from x_compliance.operators.links import XComplianceJobLink

    query = select(XComModel).where(
        XComModel.dag_id == run.dag_id,
        XComModel.run_id == run.run_id,
        XComModel.key == XComplianceJobLink().xcom_key,
    )
    with create_session() as session:
        return {row.task_id: XComModel.deserialize_value(row) for row in session.scalars(query)}
