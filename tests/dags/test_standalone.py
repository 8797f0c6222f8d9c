"""The real thing: ``airflow standalone`` (scheduler, dag-processor, triggerer, API server,
LocalExecutor) with the emulator CLI, driven through the REST API.

A manual run for a date, one without a logical date and a two-day backfill of the tweets DAG
must succeed, each checking its date and rotation share: the trigger loads in the
real triggerer (not inline as in ``dag.test()``), tasks run in separate processes and share
data only through the storage root, and concurrent runs queue on X's one-job-per-type rule.
The same instance then serves the Compliance page to a real browser (headless Chromium).
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import requests

from tests.dags.browser import logged_in_browser, open_plugin_frame, require_chromium, screenshot
from tests.dags.conftest import read_table
from tests.dags.expected import after_tweets_run, checked_on
from x_compliance_demo import warehouse
from x_compliance_demo.stack import (
    EMULATOR_TOKEN,
    airflow_env,
    airflow_standalone,
    emulator_process,
    free_port,
)
from x_compliance_emulator import EmulatorConfig, EmulatorServer

DAG_ID = "x_compliance_tweets"
pytestmark = pytest.mark.timeout(900)  # tier marks: TIER_MARKS in tests/conftest.py


class Api:
    def __init__(self, url: str) -> None:
        self.url = url
        token = requests.post(
            f"{url}/auth/token", json={"username": "admin", "password": "admin"}, timeout=30
        )
        token.raise_for_status()
        self.headers = {"Authorization": f"Bearer {token.json()['access_token']}"}

    def call(self, method: str, path: str, **kw) -> requests.Response:
        return requests.request(method, f"{self.url}/api/v2{path}", headers=self.headers, timeout=30, **kw)

    def wait_for_dag(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.call("GET", f"/dags/{DAG_ID}").status_code != 200:
            assert time.monotonic() < deadline, "the dag-processor never parsed the DAG"
            time.sleep(2)

    def runs(self) -> list[dict]:
        return self.call("GET", f"/dags/{DAG_ID}/dagRuns", params={"limit": 50}).json()["dag_runs"]


@pytest.fixture(scope="module")
def standalone(tmp_path_factory) -> Iterator[SimpleNamespace]:
    """One Airflow standalone for the module: a dated and an undated manual run and a two-day
    backfill, finished."""
    tmp_path = tmp_path_factory.mktemp("standalone")
    end = datetime(2026, 11, 21, tzinfo=UTC)
    db = warehouse.seed(tmp_path / "warehouse.db", tweets=3000, users=300, days=4, end=end, seed=5)
    tweets, users = read_table(db, "tweets"), read_table(db, "users")
    with emulator_process(data_dir=tmp_path / "emulator", log=tmp_path / "emulator.log", seed=9) as emulator:
        env = airflow_env(
            airflow_home=tmp_path / "airflow", emulator_url=emulator.url, warehouse=db,
            storage=tmp_path / "storage", poll_seconds=1,
        )  # fmt: skip
        subprocess.run(["airflow", "db", "migrate"], env=env, check=True, capture_output=True)
        log = tmp_path / "standalone.log"
        with airflow_standalone(env, port=free_port(), log=log) as ui:
            api = Api(ui)
            api.wait_for_dag()
            api.call("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False}).raise_for_status()
            manual = api.call(
                "POST", f"/dags/{DAG_ID}/dagRuns", json={"logical_date": "2026-11-20T00:00:00Z"}
            )
            assert manual.status_code == 200, manual.text
            # No logical date (the REST default in Airflow 3): it checks the day before it was triggered.
            undated = api.call("POST", f"/dags/{DAG_ID}/dagRuns", json={"logical_date": None})
            assert undated.status_code == 200, undated.text
            body = {
                "dag_id": DAG_ID,
                "from_date": "2026-11-18T00:00:00Z",
                "to_date": "2026-11-19T00:00:00Z",
                "max_active_runs": 2,
            }
            for _ in range(20):  # SQLite metadata DB: "Database is locked" (503) while the scheduler writes
                backfill = api.call("POST", "/backfills", json=body)
                if backfill.status_code != 503:
                    break
                time.sleep(1)
            assert backfill.status_code == 200, backfill.text
            deadline, settled = time.monotonic() + 480, 0
            while True:
                runs = api.runs()
                states = sorted(r["state"] for r in runs)
                # Unpausing also schedules the latest date (yesterday): no new Posts, but its
                # rotation share. Done when every run has ended, twice in a row.
                settled = settled + 1 if len(runs) >= 4 and set(states) <= {"success", "failed"} else 0
                if settled == 2:
                    break
                assert time.monotonic() < deadline, f"runs did not finish: {states}"
                time.sleep(3)
            assert set(states) == {"success"}, f"{states}; see {log}"
            yield SimpleNamespace(
                ui=ui, api=api, db=db, tweets=tweets, users=users, runs=runs, states=states, log=log,
                jobs=emulator.admin().jobs(), tmp_path=tmp_path,
            )  # fmt: skip


def test_manual_run_and_backfill_in_airflow_standalone(standalone):
    runs, log, tweets, users, db = (
        standalone.runs,
        standalone.log,
        standalone.tweets,
        standalone.users,
        standalone.db,
    )
    jobs = standalone.jobs
    standalone_log = log.read_text(errors="replace")

    assert "Trigger failed to load code" not in standalone_log
    checked = set()
    for day in _checked_days(runs):
        checked |= checked_on(tweets, day)
    assert {"2026-11-18", "2026-11-19", "2026-11-20"} <= {str(day) for day in _checked_days(runs)}
    # One job per run (its new Posts + its rotation share): none duplicated, the one-job rule made them queue.
    named = sorted((j["name"][-16:], j["status"]) for j in jobs)
    assert len(jobs) == len(runs), f"{len(jobs)} jobs {named} for runs {_checked_days(runs)}"
    # The emulator process is gone; its fates follow from the seed, so a fresh one answers for it.
    # Runs overlap, but every fate is fixed here, so the end state depends only on what was checked.
    with EmulatorServer(EmulatorConfig(seed=9, data_dir=standalone.tmp_path / "fates")) as oracle:
        state = after_tweets_run(tweets, users, checked, lambda i: oracle.emulator.fate("tweets", i))
    assert read_table(db, "tweets") == state.tweets
    with sqlite3.connect(db) as conn:
        audited = set(conn.execute("SELECT record_id, table_name, change, reason FROM compliance_audit"))
    assert audited == state.audit


def _checked_days(runs: list[dict]) -> list:
    """The date each run checks: its logical date, or the day before it ran without one."""
    days = []
    for run in runs:
        if run["logical_date"]:
            days.append(datetime.fromisoformat(run["logical_date"].replace("Z", "+00:00")).date())
        else:
            days.append(datetime.fromisoformat(run["run_after"].replace("Z", "+00:00")).date() - timedelta(1))
    return days


def _warehouse(db, sql: str, *args) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql, args))


def test_compliance_page_in_a_real_browser(standalone):
    """The page shows what the warehouse's audit says, the run tab and extra link lead to the
    job, and nobody unauthenticated gets in."""
    require_chromium()
    ui, api, db = standalone.ui, standalone.api, standalone.db
    for cookies in ({}, {"_token": "not-a-jwt"}):
        refused = requests.get(f"{ui}/x-compliance/", cookies=cookies, timeout=30)
        assert refused.status_code in (401, 403), refused.text[:200]
    plugins = api.call("GET", "/plugins").json()["plugins"]
    assert "x_compliance" in [p["name"] for p in plugins]

    # The run whose job changed the most (runs whose days overlap find little left to change).
    ((job_id, run_id),) = _warehouse(
        db,
        "SELECT job_id, run_id FROM compliance_runs "
        "ORDER BY rows_deleted + rows_geo_scrubbed + rows_cascade_deleted DESC LIMIT 1",
    )
    audited = {
        (change, reason): n
        for change, reason, n in _warehouse(
            db, "SELECT change, reason, COUNT(*) FROM compliance_audit WHERE job_id = ? GROUP BY 1, 2", job_id
        )
    }
    assert audited, "the seed should flag some Posts"
    token = api.headers["Authorization"].split()[1]
    with logged_in_browser(ui, token) as driver:
        from selenium.webdriver.common.by import By

        open_plugin_frame(driver, f"{ui}/plugin/x-compliance")  # the nav entry, inside Airflow's UI
        (applied,) = _warehouse(db, "SELECT COUNT(*) FROM compliance_runs")
        assert (
            len(driver.find_elements(By.CSS_SELECTOR, "#runs tr")) - 1 == applied[0] == len(standalone.jobs)
        )
        # Coverage: the rows still stored that a run's date or rotation slot sent to X.
        stored = read_table(db, "tweets")
        sent = set()
        for day in _checked_days(standalone.runs):
            sent |= checked_on(stored, day)
        checked = len(sent)
        covered = driver.find_element(By.CSS_SELECTOR, "[data-coverage=tweets]").text
        assert f"{checked:,} of {len(stored):,} rows checked" in covered, covered
        page_source = driver.page_source
        screenshot(driver, "compliance-page.png", standalone.tmp_path)

        open_plugin_frame(driver, f"{ui}/dags/{DAG_ID}/runs/{run_id}/plugin/x-compliance-run")
        shown = {
            (cell.get_attribute("data-change"), cell.get_attribute("data-reason")): int(
                cell.text.replace(",", "")
            )
            for cell in driver.find_elements(By.CSS_SELECTOR, f"#job-{job_id} td[data-change]")
        }
        assert {key: n for key, n in shown.items() if n} == audited
        page_source += driver.page_source
        screenshot(driver, "compliance-run-tab.png", standalone.tmp_path)

        links = api.call(
            "GET",
            f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/compliance_job/links",
            params={"map_index": 0},
        ).json()
        link = links["extra_links"]["X compliance job"]
        driver.get(ui + link if link.startswith("/") else link)
        assert driver.find_element(By.CSS_SELECTOR, ".job").get_attribute("data-job") == job_id
        page_source += driver.page_source
    assert EMULATOR_TOKEN not in page_source and "upload_url" not in page_source
