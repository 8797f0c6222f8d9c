"""The job object and status enum against every recorded body and both list shapes."""

from __future__ import annotations

import json

import pytest

from x_compliance.exceptions import JobExpiredError, JobFailedError, XComplianceError
from x_compliance.hooks.jobs import ComplianceJob, JobStatus, JobType


@pytest.fixture(scope="module")
def cassette(recorded_dir):
    return json.loads((recorded_dir / "tweepy-cassette-create-get-list-2021-10.json").read_text())


def _bodies(cassette):
    create, get, listing = (item["response"]["body"] for item in cassette)
    return create["data"], get["data"], listing["data"]


def test_recorded_create_and_get_parse_to_the_same_job(cassette):
    created, fetched, _ = _bodies(cassette)
    a, b = ComplianceJob.from_api(created), ComplianceJob.from_api(fetched)
    assert a == b
    assert a.id == "1446017776678801409"
    assert a.type is JobType.TWEETS and a.status is JobStatus.CREATED and a.resumable is False
    assert a.name is None and a.error is None
    assert (a.upload_expires_at - a.created_at).total_seconds() == 15 * 60
    assert (a.download_expires_at - a.created_at).days == 7
    assert a.upload_url.startswith("https://storage.googleapis.com/") and "X-Goog-Signature" in a.download_url


def test_recorded_list_includes_an_expired_job(cassette):
    _, _, listing = _bodies(cassette)
    jobs = [ComplianceJob.from_api(item) for item in listing]
    assert [j.status for j in jobs] == [JobStatus.CREATED, JobStatus.EXPIRED]


def test_signed_urls_stay_out_of_repr_and_describe(cassette):
    created, _, _ = _bodies(cassette)
    job = ComplianceJob.from_api(created)
    text = repr(job) + job.describe()
    assert "X-Goog-Signature" not in text and "storage.googleapis.com" not in text
    assert job.id in job.describe()


@pytest.mark.parametrize(
    ("status", "terminal", "active"),
    [
        ("created", False, True),
        ("in_progress", False, True),
        ("complete", True, False),
        ("failed", True, False),
        ("expired", True, False),
    ],
)
def test_status_enum(status, terminal, active):
    assert JobStatus(status).is_terminal() is terminal
    assert JobStatus(status).is_active() is active


def test_unknown_status_is_an_error_not_a_guess(cassette):
    created, _, _ = _bodies(cassette)
    with pytest.raises(XComplianceError, match="unknown status 'paused'"):
        ComplianceJob.from_api({**created, "status": "paused"})


def test_missing_field_is_a_clear_error(cassette):
    created, _, _ = _bodies(cassette)
    broken = {k: v for k, v in created.items() if k != "created_at"}
    with pytest.raises(XComplianceError, match="cannot read"):
        ComplianceJob.from_api(broken)


def test_both_timestamp_styles(cassette):
    created, _, _ = _bodies(cassette)
    job = ComplianceJob.from_api({**created, "created_at": "2021-10-07T07:41:18+00:00"})
    assert job.created_at == ComplianceJob.from_api(created).created_at


def test_raise_for_status(cassette):
    created, _, _ = _bodies(cassette)
    failed = ComplianceJob.from_api({**created, "status": "failed", "error": "Malformed file"})
    with pytest.raises(JobFailedError, match="1446017776678801409 failed: Malformed file") as exc:
        failed.raise_for_status()
    assert exc.value.error == "Malformed file"
    with pytest.raises(JobExpiredError, match="create a new job"):
        ComplianceJob.from_api({**created, "status": "expired"}).raise_for_status()
    ok = ComplianceJob.from_api(created)
    assert ok.raise_for_status() is ok
