"""The job object and response headers match the real recorded traffic, key by key."""

from __future__ import annotations

import calendar
import json
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.emulator.conftest import XApi

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$")
JOB_ID = re.compile(r"^\d{19}$")
URL_KEYS = ("upload_url", "download_url")
TIME_KEYS = ("created_at", "upload_expires_at", "download_expires_at")


@pytest.fixture(scope="module")
def recording(recorded_dir) -> list[dict[str, Any]]:
    return json.loads((recorded_dir / "tweepy-cassette-create-get-list-2021-10.json").read_text())


def assert_same_shape(ours: dict[str, Any], real: dict[str, Any]) -> None:
    assert set(ours) == set(real)
    for key, real_value in real.items():
        assert type(ours[key]) is type(real_value), key
        if key in TIME_KEYS:
            assert TIMESTAMP.match(ours[key]) and TIMESTAMP.match(real_value), key
        if key == "id":
            assert JOB_ID.match(ours[key]) and JOB_ID.match(real_value)
        if key in URL_KEYS:
            ours_url, real_url = urlsplit(ours[key]), urlsplit(real_value)
            assert set(parse_qs(ours_url.query)) == set(parse_qs(real_url.query)), key
            # /{bucket}/{job id}/{submission|delivery}/{number}_{job id}, after our /storage prefix
            ours_parts, real_parts = ours_url.path.split("/")[-4:], real_url.path.split("/")[-4:]
            assert ours_parts[0] == real_parts[0] == "twttr-tweet-compliance"
            assert ours_parts[1] == ours["id"] and real_parts[1] == real["id"]
            assert ours_parts[2] == real_parts[2]
            assert re.fullmatch(rf"\d{{19}}_{ours['id']}", ours_parts[3])
            assert (
                parse_qs(ours_url.query)["X-Goog-SignedHeaders"]
                == parse_qs(real_url.query)["X-Goog-SignedHeaders"]
            )
            assert parse_qs(ours_url.query)["X-Goog-Expires"] == parse_qs(real_url.query)["X-Goog-Expires"]


def test_create_matches_recording(api: XApi, recording) -> None:
    real = recording[0]["response"]
    response = api.create("tweets")
    assert response.status_code == real["status"] == 200
    assert set(response.json()) == set(real["body"]) == {"data"}
    assert_same_shape(response.json()["data"], real["body"]["data"])
    for header, value in real["headers"].items():
        assert header in response.headers
        if header in ("api-version", "content-type", "x-rate-limit-limit", "x-rate-limit-remaining"):
            assert response.headers[header] == value


def test_get_matches_recording_and_urls_are_signed_once(api: XApi, recording, emulator) -> None:
    created = api.create_job("tweets")
    emulator.emulator.clock.advance(60)
    real = recording[1]["response"]
    response = api.get(created["id"])
    assert response.status_code == real["status"]
    assert_same_shape(response.json()["data"], real["body"]["data"])
    assert {k: response.json()["data"][k] for k in URL_KEYS} == {k: created[k] for k in URL_KEYS}
    assert int(response.headers["x-rate-limit-reset"]) > emulator.emulator.clock.now()


def test_list_matches_recording_including_an_expired_job(api: XApi, recording, emulator) -> None:
    old = api.create_job("tweets")
    emulator.emulator.clock.advance(901)  # the first job's upload window lapses
    new = api.create_job("tweets")
    real = recording[2]["response"]
    response = api.list(type="tweets")
    assert response.status_code == real["status"]
    assert set(response.json()) == set(real["body"])  # no "meta", as recorded in 2021
    ours, theirs = response.json()["data"], real["body"]["data"]
    assert [j["id"] for j in ours] == [new["id"], old["id"]]  # newest first
    assert [j["status"] for j in ours] == [j["status"] for j in theirs] == ["created", "expired"]
    for our_job, real_job in zip(ours, theirs, strict=True):
        assert_same_shape(our_job, real_job)
    assert ours[1]["upload_url"] == old["upload_url"]


def test_timestamps_follow_the_configured_windows(api: XApi) -> None:
    job = api.create_job("users", name="nightly")
    assert job["name"] == "nightly" and job["type"] == "users" and job["resumable"] is False
    assert "/twttr-user-compliance/" in job["upload_url"]
    created, upload_expiry, download_expiry = (
        _epoch(job["created_at"]),
        _epoch(job["upload_expires_at"]),
        _epoch(job["download_expires_at"]),
    )
    assert upload_expiry - created == 900
    assert download_expiry - created == 7 * 86400
    assert "error" not in job


def test_job_ids_are_snowflakes_of_the_emulator_clock(api: XApi, emulator) -> None:
    first = api.create_job("tweets")
    second = api.create_job("users")
    assert int(second["id"]) > int(first["id"])
    created_ms = (int(first["id"]) >> 22) + 1288834974657
    assert abs(created_ms / 1000 - _epoch(first["created_at"])) < 2


def _epoch(text: str) -> float:
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%S.000Z"))
