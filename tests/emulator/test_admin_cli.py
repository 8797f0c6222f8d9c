"""The admin HTTP API (through its Python client) and the command line, as other processes use them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import requests

from tests.conftest import TOKEN
from tests.emulator.conftest import XApi, id_file, put_ids, snowflakes
from x_compliance_emulator import EmulatorAdmin, EmulatorAdminError
from x_compliance_emulator.runtime.cli import parse_fault


@pytest.fixture
def admin(emulator) -> EmulatorAdmin:
    return EmulatorAdmin(emulator.url, emulator.emulator.config.admin_token)


def test_health_and_clock(admin: EmulatorAdmin, emulator) -> None:
    assert admin.health() == {"status": "ok"}
    before = admin.now()
    after = admin.advance(600)
    assert 600 <= after - before < 605
    assert abs(emulator.emulator.clock.now() - after) < 5


def test_faults_round_trip(admin: EmulatorAdmin, api: XApi) -> None:
    added = admin.add_fault(kind="http_503", target="get", count=2)
    assert added["kind"] == "http_503" and added["count"] == 2
    assert [f["kind"] for f in admin.faults()] == ["http_503"]
    assert api.get("1").status_code == 503
    assert admin.faults()[0]["count"] == 1
    admin.clear_faults()
    assert admin.faults() == []
    assert api.get("1").status_code == 200
    with pytest.raises(EmulatorAdminError, match="HTTP 400"):
        admin.add_fault(kind="explode")


def test_stats_jobs_and_fates(admin: EmulatorAdmin, api: XApi, emulator) -> None:
    job = api.create_job("tweets", name="admin")
    put_ids(job["upload_url"], id_file(snowflakes(10)))
    stats = admin.stats()
    assert stats["requests"]["create"] == 1 and stats["responses"]["upload"] == {"200": 1}
    assert stats["bytes_uploaded"] == len(id_file(snowflakes(10)))
    [record] = admin.jobs()
    assert (record["id"], record["name"], record["token"], record["status"]) == (
        job["id"],
        "admin",
        TOKEN,
        "in_progress",
    )
    ids = snowflakes(300)
    fates = admin.fates("tweets", ids)  # long enough to go by POST
    assert fates == {str(i): emulator.emulator.fate("tweets", i) for i in ids}
    assert admin.fates("users", ids[:3]) == {str(i): emulator.emulator.fate("users", i) for i in ids[:3]}


def test_patch_config_and_reset(admin: EmulatorAdmin, api: XApi, emulator) -> None:
    assert admin.patch_config(tier="basic")["tier"] == "basic"
    assert emulator.emulator.config.tier == "basic"
    assert api.list(type="tweets").headers["x-rate-limit-limit"] == "5"
    with pytest.raises(EmulatorAdminError):
        admin.patch_config(tier="enterprise")
    with pytest.raises(EmulatorAdminError):
        admin.patch_config(colour="red")
    api.create_job("tweets")
    admin.add_fault(kind="slow", seconds=1)
    admin.reset()
    assert admin.jobs() == [] and admin.faults() == []
    assert admin.stats()["requests"]["list"] == 0
    assert api.list(type="tweets").headers["x-rate-limit-remaining"] == "4"  # a fresh window


def test_parse_fault_from_the_command_line() -> None:
    fault = parse_fault("drop:target=upload,after_bytes=1000,count=-1")
    assert (fault.kind, fault.target, fault.after_bytes, fault.count) == ("drop", "upload", 1000, -1)
    assert parse_fault("http_429").target == "any"


def test_cli_serves_until_terminated(tmp_path) -> None:
    command = [sys.executable, "-m", "x_compliance_emulator", "--port", "0", "--token", "cli-token"]
    command += ["--tier", "basic", "--data-dir", str(tmp_path / "data"), "--fault", "http_503:target=list"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    try:
        line = process.stdout.readline()
        assert "ready at http://127.0.0.1:" in line
        url = line.strip().rsplit(" ", 1)[1]
        admin_line = process.stdout.readline()  # generated, since none was given
        assert admin_line.startswith("admin token (for /_emulator/...): ")
        admin_token = admin_line.strip().rsplit(" ", 1)[1]
        assert len(admin_token) >= 24
        assert requests.get(f"{url}/_emulator/health", timeout=5).status_code == 401
        assert EmulatorAdmin(url, admin_token).health() == {"status": "ok"}
        headers = {"Authorization": "Bearer cli-token"}
        assert (
            requests.get(f"{url}/2/compliance/jobs", params={"type": "users"}, headers=headers).status_code
            == 503
        )
        listed = requests.get(f"{url}/2/compliance/jobs", params={"type": "users"}, headers=headers)
        assert (listed.status_code, listed.headers["x-rate-limit-limit"]) == (200, "5")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
