"""Random mixes of faults (hypothesis), each run through the whole tweets DAG.

The property: the table ends exactly right, or the run failed and the table is exactly as it
was; the IDs went to at most one job and no job is left active; and in the basic tier the
trigger's polling never earns a 429 (only injected ones are seen).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.conftest import TOKEN
from tests.dags.conftest import WAREHOUSE_END
from tests.dags.harness import run_tweets_dag
from x_compliance_emulator import EmulatorConfig, EmulatorServer, Fault

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.timeout(900)]
TARGETS = ["create", "get", "list", "upload", "download"]

request_faults = st.one_of(
    st.builds(
        Fault,
        kind=st.just("http_429"),
        target=st.sampled_from(TARGETS),
        count=st.integers(1, 2),
        body=st.sampled_from(["code88", "problem"]),
    ),
    st.builds(
        Fault,
        kind=st.sampled_from(["http_500", "http_503"]),
        target=st.sampled_from(TARGETS),
        count=st.integers(1, 2),
    ),
    st.builds(Fault, kind=st.just("slow"), target=st.sampled_from(TARGETS), seconds=st.just(0.2)),
    st.builds(Fault, kind=st.just("drop"), target=st.just("upload"), after_bytes=st.integers(1_000, 15_000)),
    st.builds(Fault, kind=st.just("drop"), target=st.just("download"), after_bytes=st.integers(50, 1_500)),
)
job_faults = st.one_of(
    st.builds(Fault, kind=st.just("fail_job"), error=st.just("Injected failure")),
    st.builds(Fault, kind=st.just("expire_upload")),
)
schedules = st.tuples(
    st.lists(st.one_of(request_faults, job_faults), min_size=1, max_size=4),
    st.sampled_from(["pro", "basic"]),
)


def _env(url: str, warehouse: Path, storage: Path) -> dict[str, str]:
    return {
        "AIRFLOW_CONN_X_COMPLIANCE_DEFAULT": json.dumps(
            {"conn_type": "x_compliance", "host": url, "password": TOKEN}
        ),
        "AIRFLOW_CONN_WAREHOUSE_DEFAULT": json.dumps({"conn_type": "sqlite", "host": str(warehouse)}),
        "X_COMPLIANCE_STORAGE_ROOT": storage.as_uri(),
        "X_COMPLIANCE_POLL_SECONDS": "0.1",
        "X_COMPLIANCE_RETRY_DELAY_SECONDS": "1",
    }


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(schedule=schedules)
def test_any_fault_schedule_ends_right_or_untouched(schedule, monkeypatch):
    from x_compliance_demo.warehouse import seed

    faults, tier = schedule
    with tempfile.TemporaryDirectory(prefix="xc-schedule-") as scratch:
        root = Path(scratch)
        warehouse = seed(root / "warehouse.db", tweets=1500, users=150, days=4, end=WAREHOUSE_END, seed=3)
        config = EmulatorConfig(
            tokens=[TOKEN], seed=7, data_dir=root / "emulator", tier=tier, processing_seconds_base=0.5,
            rate_limit_window_seconds=30 if tier == "pro" else 4,
        )  # fmt: skip
        with EmulatorServer(config) as server:
            for key, value in _env(server.url, warehouse, root / "storage").items():
                monkeypatch.setenv(key, value)
            for fault in faults:
                server.emulator.faults.add(Fault(**fault.to_json()))
            outcome = run_tweets_dag(
                {"warehouse": warehouse, "emulator": server, "storage": root / "storage"}
            )
            stats = server.emulator.stats

    event(f"tier {tier}, run {outcome.state}")
    for fault in faults:
        event(f"fault {fault.kind} on {fault.target}")
    injected_get_429 = sum(f.count for f in faults if f.kind == "http_429" and f.target == "get")
    if outcome.state == "success":
        assert outcome.exactly_right(), f"wrong table after {faults}"
    else:
        assert outcome.unchanged(), f"a failed run changed the table after {faults}"
        assert any(f.kind == "fail_job" for f in faults), (
            f"unexpected failure {outcome.task_states} after {faults}"
        )
    active = [j for j in outcome.jobs if j["status"] in ("created", "in_progress")]
    fed = [j for j in outcome.jobs if j["status"] in ("complete", "failed")]
    assert not active and len(fed) <= 1, outcome.jobs
    got_429 = int(stats["responses"].get("get", {}).get("429", 0))
    assert got_429 <= injected_get_429, f"{got_429 - injected_get_429} 429s earned by polling in {tier}"
