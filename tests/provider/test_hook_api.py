"""XComplianceHook's API calls against the emulator over real HTTP: every method, every error."""

from __future__ import annotations

import json
import time

import pytest
import requests

from tests.conftest import TOKEN
from tests.provider.conftest import connection_uri, status_count
from x_compliance.exceptions import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    RateLimitedError,
    UnauthorizedError,
    XComplianceError,
)
from x_compliance.hooks.jobs import JobStatus, JobType
from x_compliance.hooks.x_compliance import CREATE, XComplianceHook
from x_compliance_emulator import Fault


def test_create_get_list(hook):
    job = hook.create_job("tweets", name="nightly-2026-11-21", resumable=True)
    assert (job.type, job.status, job.name, job.resumable) == (
        JobType.TWEETS,
        JobStatus.CREATED,
        "nightly-2026-11-21",
        True,
    )
    again = hook.get_job(job.id)
    assert again == job  # same signed URLs: X signs them once, at creation
    assert [j.id for j in hook.list_jobs("tweets")] == [job.id]
    assert [j.id for j in hook.list_jobs(JobType.TWEETS, status="created")] == [job.id]
    assert hook.list_jobs("tweets", status=JobStatus.COMPLETE) == []
    assert hook.list_jobs("users") == []


def test_name_is_only_present_when_given(hook):
    job = hook.create_job(JobType.USERS)
    assert job.name is None and job.resumable is False


def test_one_active_job_per_type(hook):
    hook.create_job("tweets")
    with pytest.raises(ConflictError, match="already in progress"):
        hook.create_job("tweets")
    assert hook.create_job("users").type is JobType.USERS  # the other type has its own slot


def test_unauthorized(emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_X_COMPLIANCE_DEFAULT", connection_uri(emulator.url, token="wrong"))
    with pytest.raises(UnauthorizedError, match="401"):
        XComplianceHook().list_jobs("tweets")


def test_invalid_request_carries_x_message(hook):
    with pytest.raises(InvalidRequestError) as exc:
        body = {"type": "tweets", "colour": "blue"}
        hook._call("POST", "2/compliance/jobs", kind=CREATE, json=body, what="create")
    assert exc.value.status == 400 and exc.value.messages


def test_bad_job_id_never_reaches_a_url(hook, emulator):
    before = emulator.emulator.stats
    with pytest.raises(InvalidRequestError, match="not a compliance job id"):
        hook.get_job("../../admin")
    assert emulator.emulator.stats == before


def test_name_over_64_characters_is_refused(hook):
    with pytest.raises(InvalidRequestError, match="64"):
        hook.create_job("tweets", name="x" * 65)


def test_not_found(hook):
    with pytest.raises(NotFoundError):
        hook.get_job("1234567890123456789")


@pytest.mark.parametrize("body", ["code88", "problem"])
def test_429_bursts_are_waited_out(hook, emulator, body):
    job = hook.create_job("tweets")
    emulator.emulator.faults.add(Fault("http_429", target="get", count=2, body=body))
    assert hook.get_job(job.id).id == job.id
    assert status_count(emulator, "get", 429) == 2


@pytest.mark.parametrize("kind", ["http_500", "http_503"])
def test_5xx_bursts_are_retried(hook, emulator, kind):
    emulator.emulator.faults.add(Fault(kind, target="list", count=2))
    assert hook.list_jobs("tweets") == []
    assert status_count(emulator, "list", int(kind[-3:])) == 2


def test_basic_tier_limit_waits_for_the_window(hook, emulator):
    emulator.emulator.config.tier = "basic"
    emulator.emulator.config.rate_limit_window_seconds = 2
    job = hook.create_job("tweets")
    for _ in range(5):
        hook.get_job(job.id)
    started = time.monotonic()
    hook.get_job(job.id)  # the sixth: the headers left none, so it waits for the reset, no 429
    assert time.monotonic() - started >= 1.0
    assert hook.last_rate_limit.limit == 5
    assert status_count(emulator, "get", 429) == 0


def test_rate_limited_error_when_attempts_run_out(emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_X_COMPLIANCE_DEFAULT", connection_uri(emulator.url))
    emulator.emulator.config.tier = "basic"
    hook = XComplianceHook(max_attempts=1)
    for _ in range(5):
        XComplianceHook().list_jobs("tweets")  # another caller of the app spends the window
    with pytest.raises(RateLimitedError) as exc:
        hook.list_jobs("tweets")
    assert 0 < exc.value.wait_seconds <= 901  # Date has whole seconds; reset is rounded up
    assert exc.value.reset_at is not None


async def test_async_get_job(hook, emulator):
    job = hook.create_job("users", name="async")
    emulator.emulator.faults.add(Fault("http_503", target="get", count=1))
    fetched = await hook.aget_job(job.id)
    assert fetched == job
    assert status_count(emulator, "get", 503) == 1 and status_count(emulator, "get", 200) == 1
    # One call counted: the 503 the emulator's fault sent uses none of the window.
    assert hook.last_rate_limit.remaining == hook.last_rate_limit.limit - 1


async def test_async_errors_are_the_same_types(hook):
    with pytest.raises(NotFoundError):
        await hook.aget_job("42")


def test_list_with_meta_and_the_empty_list_without_data(hook, emulator):
    emulator.emulator.config.list_meta = True  # the spec's shape: data plus meta.result_count
    assert hook.list_jobs("tweets") == []  # empty: meta only, no data
    job = hook.create_job("tweets")
    assert [j.id for j in hook.list_jobs("tweets")] == [job.id]


def _connection_with_timeout(monkeypatch, emulator, timeout) -> None:
    connection = {"conn_type": "x_compliance", "host": emulator.url, "password": TOKEN}
    monkeypatch.setenv(
        "AIRFLOW_CONN_X_COMPLIANCE_DEFAULT", json.dumps({**connection, "extra": {"timeout": timeout}})
    )


def test_the_connection_timeout_applies_when_the_hook_is_given_none(emulator, monkeypatch):
    _connection_with_timeout(monkeypatch, emulator, 0.5)
    job = XComplianceHook(max_attempts=1).create_job("tweets")
    emulator.emulator.faults.add(Fault("slow", target="get", seconds=5))
    started = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):
        XComplianceHook(max_attempts=1).get_job(job.id)
    assert time.monotonic() - started < 4
    assert emulator.emulator.stats["requests"]["get"] == 1


async def test_the_connection_timeout_applies_to_async_calls(emulator, monkeypatch):
    _connection_with_timeout(monkeypatch, emulator, "0.5")  # the form may store it as text
    job = XComplianceHook(max_attempts=1).create_job("tweets")
    emulator.emulator.faults.add(Fault("slow", target="get", seconds=5))
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await XComplianceHook(max_attempts=1).aget_job(job.id)
    assert time.monotonic() - started < 4


def test_the_hook_argument_wins_over_the_connection_timeout(emulator, monkeypatch):
    _connection_with_timeout(monkeypatch, emulator, 0.5)
    assert XComplianceHook(timeout=7.0).timeout == 7.0
    assert XComplianceHook().timeout == 0.5


@pytest.mark.parametrize("bad", [0, -1, "soon", "nan"])
def test_a_bad_connection_timeout_is_refused_by_name(emulator, monkeypatch, bad):
    _connection_with_timeout(monkeypatch, emulator, bad)
    with pytest.raises(XComplianceError, match="timeout must be a positive number"):
        XComplianceHook().list_jobs("tweets")


async def test_an_async_call_that_timed_out_is_retried(emulator, monkeypatch):
    _connection_with_timeout(monkeypatch, emulator, 0.5)
    job = XComplianceHook(max_attempts=1).create_job("tweets")
    emulator.emulator.faults.add(Fault("slow", target="get", seconds=5))
    assert (await XComplianceHook(max_attempts=2).aget_job(job.id)).id == job.id
    assert emulator.emulator.stats["requests"]["get"] == 2
