"""The real thing: ``airflow standalone`` (scheduler, dag-processor, triggerer, API server,
LocalExecutor) with the emulator CLI, driven through the REST API.

A manual run for a date, one without a logical date, a two-day backfill and the scheduled run of
the tweets DAG, then a re-run of the scheduled run's date, must succeed, each checking its date
and rotation share. The manual dated run and the backfill's runs send their IDs in two files
(``max_ids_per_job`` below a day's IDs): two jobs each, one after another: the trigger loads in
the real triggerer (not inline as in ``dag.test()``), tasks run in separate processes and share
data only through the storage root, and concurrent runs queue on X's one-job-per-type rule. The
users DAG never runs. The same instance then serves the Compliance page, checked over HTTP and
in a real browser (headless Chromium), against the warehouse and the results files.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pyarrow.parquet as pq
import pytest
import requests

from tests.dags.browser import (
    airflow_colour_mode,
    frame_state,
    logged_in_browser,
    open_plugin_frame,
    require_chromium,
    screenshot,
)
from tests.dags.conftest import read_table
from tests.dags.expected import after_tweets_run, checked_on
from x_compliance.operators.naming import job_name
from x_compliance.warehouse.run import SUBMIT_TASK
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
TWO_FILES = {"max_ids_per_job": 700}  # a day here is ~1,000 IDs: two X jobs
STEPS = ("decide_scope", "export_ids", "submit", "wait_for_job", "download_results", "apply_to_warehouse")
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
        # A generous timeout: a loaded machine (two runs applying, a backfill) slows the API server.
        return requests.request(method, f"{self.url}/api/v2{path}", headers=self.headers, timeout=90, **kw)

    def wait_for_dag(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.call("GET", f"/dags/{DAG_ID}").status_code != 200:
            assert time.monotonic() < deadline, "the dag-processor never parsed the DAG"
            time.sleep(2)

    def runs(self) -> list[dict]:
        return self.call("GET", f"/dags/{DAG_ID}/dagRuns", params={"limit": 50}).json()["dag_runs"]

    def backfill(self, body: dict) -> None:
        """Create it, riding out SQLite's "database is locked" (503, or 500 once the backfill
        was written before the lock hit): the backfill exists when this returns."""
        for _ in range(20):
            created = self.call("POST", "/backfills", json=body)
            if created.status_code == 200:
                return
            listed = self.call("GET", "/backfills", params={"dag_id": DAG_ID})
            if listed.status_code == 200 and listed.json()["total_entries"]:
                return
            assert created.status_code in (500, 503), created.text
            time.sleep(1)
        raise AssertionError(f"no backfill after 20 tries: {created.text}")

    def wait_until_settled(self, runs: int, deadline: float, log: Path) -> list[dict]:
        """Until at least ``runs`` runs exist and all have ended, twice in a row; all succeeded."""
        settled = 0
        while True:
            found = self.runs()
            states = sorted(r["state"] for r in found)
            settled = settled + 1 if len(found) >= runs and set(states) <= {"success", "failed"} else 0
            if settled == 2:
                break
            assert time.monotonic() < deadline, f"runs did not finish: {states}"
            time.sleep(3)
        assert set(states) == {"success"}, f"{states}; see {log}"
        return found


def files_dataset(folder: Path) -> str:
    """The root of a small twarc2 dataset with its Parquet audit written by the files apply."""
    from tests.lake.files_audit import dataset
    from x_compliance.lake.apply import apply_jobs_to_files
    from x_compliance.lake.dataset import TWARC2

    root, jobs = dataset(folder)
    apply_jobs_to_files(root.as_uri(), TWARC2, jobs, run_id="run")
    return root.as_uri()


@pytest.fixture(scope="module")
def standalone(tmp_path_factory) -> Iterator[SimpleNamespace]:
    """One Airflow standalone for the module: a dated and an undated manual run, a two-day
    backfill and the scheduled run, then a re-run of the scheduled run's date, finished."""
    tmp_path = tmp_path_factory.mktemp("standalone")
    end = datetime(2026, 11, 21, tzinfo=UTC)
    db = warehouse.seed(tmp_path / "warehouse.db", tweets=3000, users=300, days=4, end=end, seed=5)
    tweets, users = read_table(db, "tweets"), read_table(db, "users")
    with emulator_process(data_dir=tmp_path / "emulator", log=tmp_path / "emulator.log", seed=9) as emulator:
        env = airflow_env(
            airflow_home=tmp_path / "airflow", emulator_url=emulator.url, warehouse=db,
            storage=tmp_path / "storage", poll_seconds=1,
        )  # fmt: skip
        env["X_COMPLIANCE_FILES_ROOTS"] = files_dataset(tmp_path / "files")  # a files source on the page
        subprocess.run(["airflow", "db", "migrate"], env=env, check=True, capture_output=True)
        log = tmp_path / "standalone.log"
        with airflow_standalone(env, port=free_port(), log=log) as ui:
            api = Api(ui)
            api.wait_for_dag()
            api.call("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False}).raise_for_status()
            manual = api.call(
                "POST",
                f"/dags/{DAG_ID}/dagRuns",
                json={"logical_date": "2026-11-20T00:00:00Z", "conf": TWO_FILES},
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
                "dag_run_conf": TWO_FILES,
            }
            api.backfill(body)
            # Unpausing also schedules the latest date (yesterday): no new Posts, but its rotation share.
            deadline = time.monotonic() + 480
            runs = api.wait_until_settled(5, deadline, log)
            # A re-run of the scheduled run's date: the same records flagged again.
            (scheduled,) = [r for r in runs if r["run_type"] == "scheduled"]
            rerun_date = scheduled["logical_date"][:10]
            rerun = api.call(
                "POST", f"/dags/{DAG_ID}/dagRuns", json={"logical_date": None, "conf": {"date": rerun_date}}
            )
            assert rerun.status_code == 200, rerun.text
            runs = api.wait_until_settled(6, deadline + 240, log)
            states = sorted(r["state"] for r in runs)
            yield SimpleNamespace(
                ui=ui, api=api, db=db, tweets=tweets, users=users, runs=runs, states=states, log=log,
                jobs=emulator.admin().jobs(), tmp_path=tmp_path, storage=tmp_path / "storage",
                rerun_date=rerun_date,
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
    # One job per file (a run's new Posts + its rotation share), none duplicated: one per run, two
    # for the runs given TWO_FILES; the one-job rule made them queue.
    files = {r["dag_run_id"]: 2 if (r.get("conf") or {}) == TWO_FILES else 1 for r in runs}
    assert sorted(files.values()) == [1, 1, 1, 2, 2, 2], files  # the dated manual run, the backfill
    for run_id, count in files.items():
        names = [job_name(DAG_ID, SUBMIT_TASK, run_id, i) for i in range(count)]
        mine = [j for j in jobs if j["name"] in names]
        assert sorted(j["name"] for j in mine) == sorted(names), (run_id, mine)
        assert {j["status"] for j in mine} == {"complete"}, mine
    assert len(jobs) == sum(files.values()), sorted((j["name"][-16:], j["status"]) for j in jobs)
    # The emulator process is gone; its fates follow from the seed, so a fresh one answers for it.
    # Runs overlap, but every fate is fixed here, so the end state depends only on what was checked.
    with EmulatorServer(EmulatorConfig(seed=9, data_dir=standalone.tmp_path / "fates")) as oracle:
        state = after_tweets_run(tweets, users, checked, lambda i: oracle.emulator.fate("tweets", i))
    assert read_table(db, "tweets") == state.tweets
    with sqlite3.connect(db) as conn:
        audited = set(conn.execute("SELECT record_id, table_name, change, reason FROM compliance_audit"))
    assert audited == state.audit


def _checked_days(runs: list[dict]) -> list:
    """The date each run checks: its ``date`` param, its logical date, or the day before it ran."""
    days = []
    for run in runs:
        if (run.get("conf") or {}).get("date"):
            days.append(date.fromisoformat(run["conf"]["date"]))
        elif run["logical_date"]:
            days.append(datetime.fromisoformat(run["logical_date"].replace("Z", "+00:00")).date())
        else:
            days.append(datetime.fromisoformat(run["run_after"].replace("Z", "+00:00")).date() - timedelta(1))
    return days


def _warehouse(db, sql: str, *args) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql, args))


EPOCH = date(1970, 1, 1)
RECHECK_DAYS = 7
PAGE = "/x-compliance"  # where the plugin mounts the page
SHELL = "/plugin/x-compliance"  # where Airflow's UI shows it
WIDTHS = (1280, 1920)


def _flagged_per_run(storage: Path) -> dict[tuple[str, str], dict[str, set[str]]]:
    """(date checked, run folder) -> reason -> the distinct IDs X flagged, from the results files."""
    flagged: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for results in sorted(storage.glob("tweets/*/*/part-*/results.parquet")):
        day, run = results.parts[-4], results.parts[-3]
        table = pq.read_table(results, columns=["id", "reason"]).to_pydict()
        for record, reason in zip(table["id"], table["reason"], strict=True):
            flagged[(day, run)][reason].add(record)
    return flagged


def _folder(run_id: str) -> str:
    """The storage folder of a run: its run id without ':' and '+', as the DAG names it."""
    return run_id.replace(":", "").replace("+", "")


def _attrs(html: str, tag: str, *names: str) -> list[dict[str, str]]:
    """The named attributes of every ``tag`` element that has them all."""
    found = []
    for element in re.findall(rf"<{tag}\b[^>]*>", html):
        values = dict(re.findall(r'([\w-]+)="([^"]*)"', element))
        if all(n in values for n in names):
            found.append({n: values[n] for n in names})
    return found


def _audit_rows(db) -> list[tuple]:
    return _warehouse(
        db, "SELECT changed_at, table_name, record_id, change, reason, job_id, run_id FROM compliance_audit"
    )


def test_compliance_page_over_http(standalone):
    """Through the API server, as a script or a person with a session would read it: every
    figure against the results files and the warehouse, the pager, the export, the link, and
    nothing for a request without a session."""
    ui, api, db = standalone.ui, standalone.api, standalone.db
    for path in (f"{PAGE}/", f"{PAGE}/audit.csv", f"{PAGE}/jobs/1", f"{PAGE}/runs/{DAG_ID}/x"):
        for cookies in ({}, {"_token": "not-a-jwt"}):
            refused = requests.get(f"{ui}{path}", cookies=cookies, timeout=30)
            assert refused.status_code in (401, 403), (path, refused.text[:200])

    def get(path: str, **params) -> requests.Response:
        answer = requests.get(f"{ui}{path}", params=params, headers=api.headers, timeout=60)
        assert answer.status_code == 200, answer.text[:500]
        return answer

    html = get(f"{PAGE}/").text
    # Per reason and date checked: never more than the distinct records X flagged for that date
    # (the scheduled date was checked three times): the most one run of it flagged.
    per_run = _flagged_per_run(standalone.storage)
    shown: dict[str, dict[str, int]] = defaultdict(dict)
    for bar in _attrs(html, "rect", "data-table", "data-checked", "data-series", "data-value"):
        shown[bar["data-checked"]][bar["data-series"]] = int(bar["data-value"])
    assert set(shown) == {day for day, _ in per_run}
    for day, figures in shown.items():
        runs = {
            run: {r: len(ids) for r, ids in reasons.items()}
            for (d, run), reasons in per_run.items()
            if d == day
        }
        union = defaultdict(set)
        for (d, _), reasons in per_run.items():
            for reason, ids in reasons.items():
                union[reason] |= ids if d == day else set()
        assert all(n <= len(union[reason]) for reason, n in figures.items()), (day, figures, union)
        most = {reason: max(r.get(reason, 0) for r in runs.values()) for reason in union}
        assert figures == {reason: n for reason, n in most.items() if n}, (day, figures, runs)
    reruns = [reasons for (day, _), reasons in per_run.items() if day == standalone.rerun_date]
    assert len(reruns) >= 2  # its runs flagged records again: adding them up would count them twice
    assert sum(shown[standalone.rerun_date].values()) < sum(len(ids) for r in reruns for ids in r.values())

    # Coverage: users never checked reads 0%; tweets, the slots of the dates checked.
    (users,) = _attrs(html, "div", "data-coverage", "data-share", "data-slots")[1:]
    assert users == {"data-coverage": "users", "data-share": "0.0000", "data-slots": ""}
    assert re.search(r'data-coverage="users".*?<div class="big warn">0%</div>', html)
    slots = {(day - EPOCH).days % RECHECK_DAYS for day in _checked_days(standalone.runs)}
    (tweets,) = _attrs(html, "div", "data-coverage", "data-share", "data-slots")[:1]
    assert tweets["data-slots"] == ",".join(map(str, sorted(slots)))
    stored = read_table(db, "tweets")
    in_slots = sum((i % 1_000_003) % RECHECK_DAYS in slots for i in stored) / len(stored)
    assert abs(float(tweets["data-share"]) - in_slots) < 0.06, (tweets, in_slots)  # slots are ~1/7 each
    ((first,),) = _warehouse(db, "SELECT MIN(applied_at) FROM compliance_runs")
    day = (datetime.now(UTC).date() - date.fromisoformat(first[:10])).days + 1
    assert f"day {day} of 7 of the rotation: expect ~{day}/7 ({100 * day / 7:.0f}%)" in html
    assert "on track" in html and len(slots) >= day

    # Airflow's look: its colour modes (followed from its UI by the script) and its font.
    assert re.search(r"--bg:light-dark\(", html) and ":root.dark{color-scheme:dark}" in html
    assert re.search(r"body\{[^}]*font:[^;}]*Inter,-apple-system", html)
    assert 'localStorage.getItem("theme")' in html and 'contains("dark")' in html

    # An honest pager: the last page for a page past the end, the true total, the right links.
    total = len(_audit_rows(db))
    last = (total - 1) // 50
    beyond = get(f"{PAGE}/", page=999_999_999_999).text
    ((pager),) = _attrs(beyond, "div", "data-page", "data-pages", "data-total")[:1]
    assert pager == {"data-page": str(last), "data-pages": str(last + 1), "data-total": str(total)}
    assert f"Page {last + 1:,} of {last + 1:,} · rows {last * 50 + 1:,} to {total:,} of {total:,}" in beyond
    assert beyond.split('<table id="audit"')[1].split("</table>")[0].count("<tr>") == total - last * 50 + 1
    links = {a["data-page"] for a in _attrs(beyond, "a", "data-page")}
    assert links == ({"0", str(last - 1)} if last else set())
    unknown = get(f"{PAGE}/", reason="nope").text
    assert 'id="unknown"' in unknown and "nope (unknown)" in unknown and '<table id="audit"' not in unknown

    # The export: every audited row, and the filter's rows.
    exported = list(csv.reader(io.StringIO(get(f"{PAGE}/audit.csv").text)))
    assert sorted(map(tuple, exported[1:])) == sorted(tuple(map(str, row)) for row in _audit_rows(db))
    deleted = list(csv.reader(io.StringIO(get(f"{PAGE}/audit.csv", reason="deleted").text)))[1:]
    assert sorted(map(tuple, deleted)) == sorted(
        tuple(map(str, r)) for r in _audit_rows(db) if r[4] == "deleted"
    )

    # The extra link opens the job inside Airflow's UI.
    ((job_id, run_id),) = _warehouse(
        db, "SELECT job_id, run_id FROM compliance_runs ORDER BY applied_at LIMIT 1"
    )
    for task_id in ("submit", "wait_for_job", "download_results"):  # every task of the job
        links = api.call(
            "GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}/links", params={"map_index": 0}
        ).json()
        assert links["extra_links"]["X compliance job"] == f"{ui}{SHELL}{PAGE}/jobs/{job_id}", task_id
    assert EMULATOR_TOKEN not in html and "upload_url" not in html


def test_compliance_page_in_a_real_browser(standalone):
    """In Airflow's UI, light and dark, at 1280 and 1920 px: the page follows Airflow's colour
    mode as the user switches it, uses its font, fits, keeps ids and numbers whole, shows the
    audit's numbers per job with the difference explained, and its links stay in Airflow."""
    require_chromium()
    ui, api, db = standalone.ui, standalone.api, standalone.db
    plugins = api.call("GET", "/plugins").json()["plugins"]
    assert "x_compliance" in [p["name"] for p in plugins]
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
    ((day,),) = _warehouse(db, "SELECT scope_date FROM compliance_runs WHERE job_id = ?", job_id)
    (index,) = [  # which of the run's files the job checked: map index i sent part i + 1
        i
        for i in range(2)
        for j in standalone.jobs
        if j["id"] == job_id and j["name"] == job_name(DAG_ID, SUBMIT_TASK, run_id, i)
    ]
    results = (
        standalone.storage / "tweets" / day / _folder(run_id) / f"part-{index + 1:04d}" / "results.parquet"
    )
    flagged = Counter(pq.read_table(results, columns=["reason"]).column("reason").to_pylist())
    (applied,) = _warehouse(db, "SELECT COUNT(*) FROM compliance_runs")
    token = api.headers["Authorization"].split()[1]
    with logged_in_browser(ui, token) as driver:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        for mode in ("light", "dark"):
            for width in WIDTHS:
                driver.set_window_size(width, 1700)
                open_plugin_frame(driver, f"{ui}{SHELL}")  # the nav entry, inside Airflow's UI
                airflow_colour_mode(driver, mode)  # the user's menu: User > Appearance
                state = frame_state(driver)
                assert state["mode"] == mode and state["background"] == state["expected_background"], state
                assert state["font"].startswith("Inter,"), state
                assert state["overflow"] <= 0, state  # nothing wider than the frame
                assert state["broken_ids"] == [], state  # job and run ids on one line each
                assert state["bare_numbers"] == [], state  # 1,234 not 1234
                assert state["runs"] == applied[0] == len(standalone.jobs), state
                files = driver.find_element(By.CSS_SELECTOR, '[data-files-source][data-available="true"]')
                assert int(files.get_attribute("data-rows")) > 0  # the files dataset, a source of its own
                if width == WIDTHS[0]:
                    name = "compliance-page.png" if mode == "light" else "compliance-page-dark.png"
                    screenshot(driver, name, standalone.tmp_path)

        # The run's tab: the audit's numbers per job, and why flagged and changed differ.
        driver.set_window_size(WIDTHS[0], 1200)
        airflow_colour_mode(driver, "light")
        open_plugin_frame(driver, f"{ui}/dags/{DAG_ID}/runs/{run_id}/plugin/x-compliance-run")
        card = driver.find_element(By.CSS_SELECTOR, f"#job-{job_id}")
        shown = {
            (cell.get_attribute("data-change"), cell.get_attribute("data-reason")): int(
                cell.text.replace(",", "")
            )
            for cell in card.find_elements(By.CSS_SELECTOR, "td[data-change]")
        }
        assert {key: n for key, n in shown.items() if n} == audited
        for cell in card.find_elements(By.CSS_SELECTOR, "td[data-flagged]"):
            reason = cell.get_attribute("data-flagged")
            assert int(cell.text.replace(",", "")) == flagged[reason]
            changed = sum(n for (_, r), n in audited.items() if r == reason)
            why = card.find_element(By.CSS_SELECTOR, f'td[data-unchanged="{reason}"]')
            assert int(why.get_attribute("data-n")) == flagged[reason] - changed
            if flagged[reason] > changed:
                assert why.text.startswith(f"{flagged[reason] - changed:,} "), why.text
        screenshot(driver, "compliance-run-tab.png", standalone.tmp_path)

        # Its job link opens the job on the Compliance page, still inside Airflow's UI.
        driver.switch_to.frame(driver.find_element(By.TAG_NAME, "iframe"))
        driver.find_element(By.CSS_SELECTOR, f"#job-{job_id} h3 a").click()
        _wait_for_url(driver, f"{ui}{SHELL}{PAGE}/jobs/{job_id}")
        open_plugin_frame(driver, driver.current_url)
        assert driver.find_element(By.CSS_SELECTOR, ".job").get_attribute("data-job") == job_id
        # And its run link opens the run in Airflow (the frame may not navigate the window itself).
        driver.find_element(By.CSS_SELECTOR, ".job a.run").click()
        _wait_for_url(driver, f"{ui}/dags/{DAG_ID}/runs/")

        # The extra link, and the page opened bare (a link stored before it pointed into
        # Airflow's UI): both show the job inside Airflow's UI.
        links = api.call(
            "GET",
            f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/wait_for_job/links",
            params={"map_index": 0},
        ).json()
        for url in (links["extra_links"]["X compliance job"], f"{ui}{PAGE}/jobs/{job_id}"):
            driver.get(url)
            _wait_for_url(driver, f"{ui}{SHELL}{PAGE}/jobs/{job_id}")
            open_plugin_frame(driver, driver.current_url)
            assert driver.find_element(By.CSS_SELECTOR, ".job").get_attribute("data-job") == job_id

        # The grid of a two-file run: each step a task of its own, the job's steps once per file.
        (two_files,) = [
            r["dag_run_id"]
            for r in standalone.runs
            if r["run_type"] == "manual" and r.get("conf") == TWO_FILES
        ]
        driver.switch_to.default_content()
        driver.set_window_size(WIDTHS[0], 760)
        driver.get(f"{ui}/dags/{DAG_ID}/runs/{two_files}")
        for task_id in STEPS:
            WebDriverWait(driver, 30).until(
                lambda d, task_id=task_id: task_id in d.find_element(By.TAG_NAME, "body").text,
                f"{task_id} is not in the grid",
            )
        screenshot(driver, "grid.png", standalone.tmp_path)


def _wait_for_url(driver, prefix: str, timeout: float = 30) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.switch_to.default_content()
    WebDriverWait(driver, timeout).until(
        lambda d: d.current_url.startswith(prefix), f"never reached {prefix}"
    )
