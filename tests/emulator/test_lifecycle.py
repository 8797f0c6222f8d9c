"""Job lifecycle and results: created → in_progress → complete/failed/expired, and result lines
that agree with ``fate()`` for every uploaded ID."""

from __future__ import annotations

import json
import re

import requests

from tests.emulator.conftest import XApi, id_file, put_ids, snowflakes
from x_compliance_emulator import Fault

TWEET_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
USER_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$")
KEY_ORDERS = (
    ["id", "action", "created_at", "redacted_at", "reason"],
    ["id", "action", "created_at", "reason"],
)


def run_job(api: XApi, emulator, job_type: str, ids: list[int]) -> tuple[dict, str]:
    job = api.create_job(job_type)
    assert put_ids(job["upload_url"], id_file(ids)).status_code == 200
    emulator.emulator.clock.advance(3600)
    done = api.wait_for(job["id"], "complete")
    download = requests.get(done["download_url"])
    assert download.status_code == 200
    return done, download.text


def test_tweets_results_agree_with_fate_for_every_id(api: XApi, emulator) -> None:
    emulator.emulator.config.duplicate_rate = 0.1  # enough duplicates to see some in 3000 IDs
    ids = snowflakes(3000)
    job, text = run_job(api, emulator, "tweets", ids)
    assert text.startswith("\n")  # a blank first line, as in real files
    lines = [json.loads(line) for line in text.splitlines() if line]
    expected = {str(i): emulator.emulator.fate("tweets", i) for i in ids}
    noncompliant = {i: reason for i, reason in expected.items() if reason}
    assert {line["id"]: line["reason"] for line in lines} == noncompliant
    # upload order, duplicates written consecutively
    deduplicated = [line["id"] for n, line in enumerate(lines) if n == 0 or lines[n - 1] != line]
    assert deduplicated == [i for i in map(str, ids) if expected[i]]
    assert len(lines) > len(noncompliant)  # some lines are written twice
    assert all(list(line) in KEY_ORDERS and line["action"] == "delete" for line in lines)
    assert all(TWEET_TIME.match(line["created_at"]) for line in lines)
    redacted = [line for line in lines if "redacted_at" in line]
    assert 0 < len(redacted) < len(lines)
    assert all(TWEET_TIME.match(r["redacted_at"]) and r["redacted_at"] > r["created_at"] for r in redacted)
    first = lines[0]
    assert first["created_at"].startswith("2019-09-")  # decoded from the snowflake
    assert {line["reason"] for line in lines} <= {
        "deleted",
        "deactivated",
        "protected",
        "suspended",
        "scrub_geo",
        "bounced",
    }
    record = next(r for r in emulator.emulator.jobs() if r["id"] == job["id"])
    assert record["ids_uploaded"] == 3000 and record["status"] == "complete"


def test_users_results_use_the_second_precision_format(api: XApi, emulator) -> None:
    ids = [1482680858 + i * 977 for i in range(2000)] + snowflakes(2000)
    _, text = run_job(api, emulator, "users", ids)
    lines = [json.loads(line) for line in text.splitlines() if line]
    assert lines and all(USER_TIME.match(line["created_at"]) for line in lines)
    assert "bounced" not in {line["reason"] for line in lines}
    assert {line["id"] for line in lines} == {str(i) for i in ids if emulator.emulator.fate("users", i)}


def test_statuses_follow_the_clock_with_lag_and_processing_time(api: XApi, emulator) -> None:
    config = emulator.emulator.config
    config.created_lag_seconds, config.processing_seconds_base = 30, 10
    config.processing_seconds_per_million = 0
    job = api.create_job("tweets")
    assert api.job(job["id"])["status"] == "created"
    put_ids(job["upload_url"], id_file(snowflakes(100)))
    assert api.job(job["id"])["status"] == "created"  # the lag real clients see
    assert requests.get(job["download_url"]).status_code == 404
    emulator.emulator.clock.advance(31)
    assert api.job(job["id"])["status"] == "in_progress"
    emulator.emulator.clock.advance(10)
    done = api.wait_for(job["id"], "complete")
    assert "error" not in done
    assert [j["id"] for j in api.list(type="tweets", status="complete").json()["data"]] == [job["id"]]
    assert api.list(type="tweets", status="created").json() == {}


def test_job_expires_without_upload_and_its_url_refuses_late_uploads(api: XApi, emulator) -> None:
    job = api.create_job("tweets")
    # 30 s short of the 15 minutes: real time keeps running on top of the emulator's offset,
    # and a stalled machine must not expire the job early.
    emulator.emulator.clock.advance(870)
    assert api.job(job["id"])["status"] == "created"
    emulator.emulator.clock.advance(31)
    assert api.job(job["id"])["status"] == "expired"
    late = put_ids(job["upload_url"], b"1\n")
    assert late.status_code == 400
    assert "<Code>ExpiredToken</Code>" in late.text


def test_non_id_upload_fails_the_job(api: XApi, emulator) -> None:
    job = api.create_job("tweets")
    put_ids(job["upload_url"], b"1170025343920402432\nhello world\n")
    emulator.emulator.clock.advance(60)
    failed = api.wait_for(job["id"], "failed")
    assert "line 2" in failed["error"]
    assert requests.get(job["download_url"]).status_code == 404
    assert [j["id"] for j in api.list(type="tweets", status="failed").json()["data"]] == [job["id"]]


def test_too_long_ids_fail_the_job(api: XApi, emulator) -> None:
    job = api.create_job("users")
    put_ids(job["upload_url"], b"12\n12345678901234567890\n")
    emulator.emulator.clock.advance(60)
    assert "line 2" in api.wait_for(job["id"], "failed")["error"]


def test_fail_job_fault(api: XApi, emulator) -> None:
    emulator.emulator.faults.add(Fault("fail_job", error="Internal processing error"))
    job = api.create_job("tweets")
    put_ids(job["upload_url"], id_file(snowflakes(5)))
    emulator.emulator.clock.advance(60)
    failed = api.wait_for(job["id"], "failed")
    assert failed["error"] == "Internal processing error"
    assert emulator.emulator.faults.pending() == []


def test_tolerant_id_file_parsing(api: XApi, emulator) -> None:
    body = b"  1170025343920402432 \r\n\r\n42\n\n   \n7\t\n1170025343920402433"  # no final newline
    job = api.create_job("tweets")
    put_ids(job["upload_url"], body)
    emulator.emulator.clock.advance(60)
    api.wait_for(job["id"], "complete")
    record = next(r for r in emulator.emulator.jobs() if r["id"] == job["id"])
    assert record["ids_uploaded"] == 4


def test_reupload_while_created_replaces_the_file(api: XApi, emulator) -> None:
    emulator.emulator.config.created_lag_seconds = 30
    ids = snowflakes(500)
    job = api.create_job("tweets")
    put_ids(job["upload_url"], b"garbage\n")
    put_ids(job["upload_url"], id_file(ids))  # still "created": replaces the first file
    emulator.emulator.clock.advance(3600)
    api.wait_for(job["id"], "complete")
    assert next(r for r in emulator.emulator.jobs() if r["id"] == job["id"])["ids_uploaded"] == 500


def test_upload_after_processing_started_is_accepted_but_ignored(api: XApi, emulator) -> None:
    job = api.create_job("tweets")
    put_ids(job["upload_url"], id_file(snowflakes(50)))
    assert api.job(job["id"])["status"] == "in_progress"
    assert put_ids(job["upload_url"], b"garbage\n").status_code == 200
    emulator.emulator.clock.advance(60)
    assert api.wait_for(job["id"], "complete", "failed")["status"] == "complete"


def test_chunked_transfer_upload(api: XApi, emulator) -> None:
    ids = snowflakes(1000)
    job = api.create_job("tweets")
    chunks = (id_file(ids[i : i + 100]) for i in range(0, 1000, 100))
    assert put_ids(job["upload_url"], chunks).status_code == 200
    emulator.emulator.clock.advance(60)
    api.wait_for(job["id"], "complete")
    assert emulator.emulator.jobs()[0]["ids_uploaded"] == 1000
    assert emulator.emulator.stats["bytes_uploaded"] == len(id_file(ids))


def test_blank_lines_and_duplicates_can_be_switched_off(api: XApi, emulator) -> None:
    emulator.emulator.config.blank_lines = False
    emulator.emulator.config.duplicate_rate = 0
    _, text = run_job(api, emulator, "tweets", snowflakes(2000))
    lines = text.splitlines()
    assert lines and all(lines) and len(lines) == len(set(lines))


def test_list_meta_when_configured(api: XApi, emulator) -> None:
    emulator.emulator.config.list_meta = True
    assert api.list(type="users").json() == {"meta": {"result_count": 0}}
    job = api.create_job("users")
    assert api.list(type="users").json() == {"data": [job], "meta": {"result_count": 1}}


def test_resumable_flag_is_echoed(api: XApi) -> None:
    job = api.create_job("tweets", resumable=True)
    assert job["resumable"] is True
    assert api.job(job["id"])["resumable"] is True


def test_an_emulator_left_running_keeps_only_files_a_url_can_still_reach(api: XApi, emulator) -> None:
    """X has read an upload once its results exist; results go when their download URL lapses,
    an unfinished resumable session when its lifetime ends (looked at as each job is made)."""
    done, text = run_job(api, emulator, "tweets", snowflakes(2000))
    folder = emulator.emulator.store.get(done["id"]).directory
    assert sorted(p.name for p in folder.glob("*.*") if p.suffix != ".json") == ["results.jsonl"]
    assert requests.get(done["download_url"]).text == text  # the results are still whole
    users = api.create_job("users", resumable=True)
    session = requests.post(
        users["upload_url"],
        headers={"Content-Type": "text/plain", "Content-Length": "0", "x-goog-resumable": "start"},
    ).headers["Location"]
    chunk = id_file(snowflakes(13_108))[: 256 * 1024]  # one whole chunk of a larger file
    requests.put(session, data=chunk, headers={"Content-Range": f"bytes 0-{len(chunk) - 1}/*"})
    users_folder = emulator.emulator.store.get(users["id"]).directory
    assert [p.name for p in users_folder.glob("*.part")] == ["session-0.part"]
    emulator.emulator.clock.advance(8 * 86400)  # past the download window and the session's life
    api.create_job("tweets")
    assert not (folder / "results.jsonl").exists() and not list(users_folder.glob("*.part"))
    expired = requests.get(done["download_url"])
    assert expired.status_code == 400 and "ExpiredToken" in expired.text
