"""X never forgets a job; neither does the emulator with a data folder. A trigger waiting on a
job rides out the emulator going down and coming back on the same port and folder, and the
job it finds then is the same one, with the same results."""

from __future__ import annotations

import asyncio

from tests.conftest import TOKEN
from tests.provider.conftest import connection_uri, expected_results, published_reasons
from tests.provider.runner import first_event
from x_compliance.hooks.x_compliance import XComplianceHook
from x_compliance.operators.steps import upload_ids
from x_compliance.triggers.events import FINISHED, JobEvent
from x_compliance.triggers.job import XComplianceJobTrigger
from x_compliance_emulator import EmulatorConfig, EmulatorServer


def _server(data_dir, port: int = 0) -> EmulatorServer:
    config = EmulatorConfig(tokens=[TOKEN], seed=7, data_dir=data_dir, port=port, created_lag_seconds=600)
    return EmulatorServer(config).start()


async def test_a_deferred_wait_survives_an_emulator_restart(tmp_path, monkeypatch, id_file):
    server = _server(tmp_path / "x")
    try:
        monkeypatch.setenv("AIRFLOW_CONN_X_COMPLIANCE_DEFAULT", connection_uri(server.url))
        hook = XComplianceHook(max_attempts=8, timeout=10.0)
        job = hook.create_job("tweets")
        ids = id_file(500)
        upload_ids(hook, job, ids)
        waiting = asyncio.create_task(first_event(XComplianceJobTrigger(job.id, poll_interval=0.2)))
        await asyncio.sleep(0.5)
        assert not waiting.done()  # still created: the processing lag holds it
        port = server.port
        await asyncio.to_thread(server.stop)
        await asyncio.sleep(0.5)  # the trigger's polls meet a closed port meanwhile
        server = await asyncio.to_thread(_server, tmp_path / "x", port)
        server.emulator.clock.advance(600)
        event = JobEvent.from_payload((await asyncio.wait_for(waiting, 60)).payload)
        assert (event.status, event.job_status) == (FINISHED, "complete")
        got = published_reasons(hook, hook.get_job(job.id), tmp_path)
        assert got == expected_results(server, "tweets", ids) and got
    finally:
        server.stop()
