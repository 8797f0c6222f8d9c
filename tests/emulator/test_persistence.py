"""A restarted emulator on the same data folder keeps its jobs, as X does.

Every case stops a real server and starts a new one on the same port and folder, then reads
the jobs back over HTTP: status, URLs, the uploaded file and the results.
"""

from __future__ import annotations

import json

import requests

from tests.emulator.conftest import XApi, id_file, put_ids, snowflakes
from tests.emulator.test_resumable import KIB256, put_chunk, start, status
from x_compliance_emulator import EmulatorConfig, EmulatorServer


def restart(server: EmulatorServer) -> EmulatorServer:
    """Stop ``server`` and start another on the same port and data folder."""
    config = server.config
    port = server.port
    server.stop()
    return EmulatorServer(EmulatorConfig(**{**vars(config), "port": port})).start()


def test_a_restart_keeps_jobs_their_state_uploads_and_results(tmp_path):
    ids = snowflakes(500)
    config = EmulatorConfig(tokens=["t1"], data_dir=tmp_path / "x", processing_seconds_base=0)
    server = EmulatorServer(config).start()
    try:
        api = XApi(server, "t1")
        done = api.create_job("tweets", name="done")
        assert put_ids(done["upload_url"], id_file(ids)).status_code == 200
        api.wait_for(done["id"], "complete")
        results = requests.get(done["download_url"]).content
        waiting = api.create_job("users", name="waiting")
        server = restart(server)
        api = XApi(server, "t1")
        assert api.job(done["id"]) == {**done, "status": "complete"}
        assert api.job(waiting["id"]) == waiting
        assert requests.get(done["download_url"]).content == results
        # The one-job-per-type rule still sees the kept jobs, and ids keep increasing.
        assert api.create("users").status_code == 409
        newer = api.create_job("tweets")
        assert int(newer["id"]) > int(done["id"])
    finally:
        server.stop()


def test_a_job_uploaded_before_the_restart_is_processed_after_it(tmp_path):
    ids = snowflakes(2000)
    config = EmulatorConfig(tokens=["t1"], data_dir=tmp_path / "x", created_lag_seconds=3600)
    server = EmulatorServer(config).start()
    try:
        api = XApi(server, "t1")
        job = api.create_job("tweets")
        assert put_ids(job["upload_url"], id_file(ids)).status_code == 200
        server = restart(server)
        api = XApi(server, "t1")
        # Uploaded, waiting out its lag: still blocks a second tweets job, as before the restart.
        assert api.create("tweets").status_code == 409
        server.emulator.clock.advance(3600)
        api.wait_for(job["id"], "complete")
        server = restart(server)  # the advanced clock is kept too: the job stays complete
        assert XApi(server, "t1").job(job["id"])["status"] == "complete"
        lines = requests.get(job["download_url"]).text.splitlines()
        flagged = {json.loads(line)["id"] for line in lines if line.strip()}
        assert flagged == {str(i) for i in ids if server.emulator.fate("tweets", i)}
        assert flagged
    finally:
        server.stop()


def test_a_reset_forgets_the_kept_jobs(tmp_path):
    config = EmulatorConfig(tokens=["t1"], data_dir=tmp_path / "x")
    server = EmulatorServer(config).start()
    try:
        job = XApi(server, "t1").create_job("tweets")
        server.emulator.reset()
        server = restart(server)
        body = XApi(server, "t1").get(job["id"]).json()
        assert "data" not in body
        assert body["errors"][0]["title"] == "Not Found Error"
    finally:
        server.stop()


def test_a_resumable_session_resumes_after_the_restart(tmp_path):
    payload = id_file(snowflakes(20_000))
    config = EmulatorConfig(tokens=["t1"], data_dir=tmp_path / "x", processing_seconds_base=0)
    server = EmulatorServer(config).start()
    try:
        job = XApi(server, "t1").create_job("tweets", resumable=True)
        session = start(job)
        assert put_chunk(session, payload[:KIB256], 0, "*").status_code == 308
        server = restart(server)
        # The session and what it persisted are still there: the upload goes on from there.
        assert status(session).headers["Range"] == f"bytes=0-{KIB256 - 1}"
        assert put_chunk(session, payload[KIB256:], KIB256, len(payload)).status_code == 200
        XApi(server, "t1").wait_for(job["id"], "complete")
        assert server.emulator.jobs()[0]["ids_uploaded"] == 20_000
    finally:
        server.stop()
