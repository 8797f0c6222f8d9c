"""Uploads and downloads through the hook against the emulator's signed URLs, faults included."""

from __future__ import annotations

import logging
import re

import pytest
from airflow.sdk import ObjectStoragePath

from tests.conftest import TOKEN
from tests.provider.conftest import expected_results, status_count, wait_for_status
from x_compliance.exceptions import (
    DownloadUrlExpiredError,
    JobExpiredError,
    JobFailedError,
    UploadUrlExpiredError,
    XComplianceError,
)
from x_compliance.files.results import iter_results
from x_compliance.hooks.jobs import JobStatus
from x_compliance.hooks.storage import DOWNLOAD_BLOCK, RESUMABLE_QUANTUM
from x_compliance_emulator import Fault


def _cycle(hook, emulator, tmp_path, path, *, resumable=False, job_type="tweets", **upload_kw):
    job = hook.create_job(job_type, resumable=resumable)
    report = hook.upload_ids(job, path, **upload_kw)
    done = wait_for_status(hook, emulator, job.id, JobStatus.COMPLETE)
    results = tmp_path / f"results-{job.id}.jsonl"
    hook.download_results(done, results)
    return report, {r.id: r.reason for r in iter_results(results)}, results


def test_plain_upload_and_download(hook, emulator, tmp_path, id_file):
    path = id_file(5000)
    report, got, _ = _cycle(hook, emulator, tmp_path, path)
    assert (report.ids, report.bytes, report.resumable) == (5000, path.stat().st_size, False)
    assert got == expected_results(emulator, "tweets", path)
    assert got  # the default rates flag some IDs


def test_resumable_upload_in_chunks(hook, emulator, tmp_path, id_file):
    path = id_file(60_000)  # ~1.2 MB: several 256 KiB chunks
    report, got, _ = _cycle(hook, emulator, tmp_path, path, resumable=True, chunk_size=RESUMABLE_QUANTUM)
    assert report.resumable and report.ids == 60_000
    assert got == expected_results(emulator, "tweets", path)


@pytest.mark.parametrize("drops", [1, 3])
def test_resumable_upload_resumes_after_a_drop(hook, emulator, tmp_path, id_file, drops):
    """Each drop leaves the server holding 300,000 bytes of a 512 KiB chunk: the rest of that
    chunk starts the next one, so the file arrives whole however the chunks were cut."""
    path = id_file(60_000)
    emulator.emulator.faults.add(Fault("drop", target="upload", after_bytes=300_000, count=drops))
    _, got, _ = _cycle(hook, emulator, tmp_path, path, resumable=True, chunk_size=2 * RESUMABLE_QUANTUM)
    assert got == expected_results(emulator, "tweets", path)
    assert status_count(emulator, "upload", "dropped") == drops
    # Resumed from what X kept: less than a restart's 300,000 bytes sent again per drop.
    assert emulator.emulator.stats["bytes_uploaded"] < path.stat().st_size + drops * 300_000


def test_plain_upload_restarts_after_a_drop(hook, emulator, tmp_path, id_file):
    path = id_file(20_000)
    emulator.emulator.faults.add(Fault("drop", target="upload", after_bytes=100_000))
    _, got, _ = _cycle(hook, emulator, tmp_path, path)
    assert got == expected_results(emulator, "tweets", path)
    assert status_count(emulator, "upload", "dropped") == 1
    # Restarted whole: the 100,000 bytes that arrived before the drop, then the file again.
    assert emulator.emulator.stats["bytes_uploaded"] == 100_000 + path.stat().st_size


@pytest.mark.parametrize("resumable", [False, True], ids=["plain", "resumable"])
def test_messy_file_is_uploaded_normalized(hook, emulator, tmp_path, resumable, capfd):
    path = tmp_path / "messy.txt"
    ids = [str(1_200_000_000_000_000_000 + i * 99_991) for i in range(3000)]
    path.write_bytes(b"\xef\xbb\xbf" + b"\r\n\r\n".join(f"  {i} ".encode() for i in ids))
    report, got, _ = _cycle(hook, emulator, tmp_path, path, job_type="users", resumable=resumable)
    expected = {i: emulator.emulator.fate("users", i) for i in ids}
    assert got == {i: r for i, r in expected.items() if r}
    assert (report.ids, report.bytes) == (3000, 20 * 3000)
    # A resumable upload checks a file as it goes only when it is sent as it stands.
    printed = capfd.readouterr()  # the hook's log goes through structlog to the console
    assert ("has lines to normalize: validating all of it first" in printed.out + printed.err) == resumable


def test_a_resumable_upload_reads_an_object_storage_path(hook, emulator, tmp_path, id_file):
    path = id_file(30_000)
    source = ObjectStoragePath(f"file://{path}")
    report, got, _ = _cycle(hook, emulator, tmp_path, source, resumable=True, chunk_size=RESUMABLE_QUANTUM)
    assert (report.ids, report.bytes) == (30_000, path.stat().st_size)
    assert got == expected_results(emulator, "tweets", path)


def test_download_resumes_after_a_drop(hook, emulator, tmp_path, id_file):
    path = id_file(200_000)
    _, _, clean_file = _cycle(hook, emulator, tmp_path, path)
    job_id = clean_file.stem.split("-")[1]
    fetched_before = emulator.emulator.stats["bytes_downloaded"]
    # Past the first block the client writes (DOWNLOAD_BLOCK), so the resume has bytes to keep.
    assert clean_file.stat().st_size > 2 * DOWNLOAD_BLOCK
    emulator.emulator.faults.add(Fault("drop", target="download", after_bytes=DOWNLOAD_BLOCK + 5_000))
    again = tmp_path / "again.jsonl"
    hook.download_results(hook.get_job(job_id), again)
    assert again.read_bytes() == clean_file.read_bytes()  # no line lost or doubled
    assert status_count(emulator, "download", "dropped") == 1
    assert status_count(emulator, "download", 206) == 1  # resumed by Range, not fetched again
    refetched = emulator.emulator.stats["bytes_downloaded"] - fetched_before
    assert refetched < clean_file.stat().st_size + 2 * DOWNLOAD_BLOCK  # not the whole file twice


def test_gzip_download_is_decoded(hook, emulator, tmp_path, id_file):
    emulator.emulator.config.gzip_downloads = True
    path = id_file(3000)
    _, got, _ = _cycle(hook, emulator, tmp_path, path)
    assert got == expected_results(emulator, "tweets", path)


def test_expired_upload_url_says_create_a_new_job(hook, emulator, id_file):
    job = hook.create_job("tweets")
    emulator.emulator.clock.advance(16 * 60)
    with pytest.raises(UploadUrlExpiredError, match=f"job {job.id}") as exc:
        hook.upload_ids(job, id_file(10))
    assert exc.value.code == "ExpiredToken"
    with pytest.raises(JobExpiredError, match="create a new job"):
        hook.get_job(job.id).raise_for_status()


def test_expired_download_url(hook, emulator, tmp_path, id_file):
    job = hook.create_job("tweets")
    hook.upload_ids(job, id_file(100))
    done = wait_for_status(hook, emulator, job.id, JobStatus.COMPLETE)
    emulator.emulator.clock.advance(7 * 24 * 3600 + 1)
    with pytest.raises(DownloadUrlExpiredError, match=f"job {job.id}"):
        hook.download_results(done, tmp_path / "late.jsonl")


def test_failed_job_carries_x_error(hook, emulator, id_file):
    emulator.emulator.faults.add(Fault("fail_job", error="Invalid file format"))
    job = hook.create_job("tweets")
    hook.upload_ids(job, id_file(10))
    failed = wait_for_status(hook, emulator, job.id, JobStatus.FAILED)
    with pytest.raises(JobFailedError, match="Invalid file format"):
        failed.raise_for_status()


def test_only_created_jobs_take_uploads_and_only_complete_ones_give_results(
    hook, emulator, tmp_path, id_file
):
    job = hook.create_job("tweets")
    with pytest.raises(XComplianceError, match="only a complete job"):
        hook.download_results(job, tmp_path / "r.jsonl")
    hook.upload_ids(job, id_file(10))
    running = hook.get_job(job.id)
    if running.status is not JobStatus.CREATED:
        with pytest.raises(XComplianceError, match="only a created job"):
            hook.upload_ids(running, id_file(10))


@pytest.mark.parametrize("resumable", [False, True], ids=["plain", "resumable"])
@pytest.mark.parametrize("content", [b"", b"\n\n"], ids=["empty", "blank-lines"])
def test_empty_file_is_refused_before_sending(hook, emulator, tmp_path, resumable, content):
    job = hook.create_job("tweets", resumable=resumable)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(content)
    with pytest.raises(XComplianceError, match="no IDs"):
        hook.upload_ids(job, empty)
    assert hook.get_job(job.id).status is JobStatus.CREATED


def test_no_secret_reaches_the_logs(hook, emulator, tmp_path, id_file, caplog, capfd):
    """At INFO (Airflow's task log level) nothing secret is written at all; at DEBUG, HTTP
    libraries print request lines, which the hook's logging filter redacts at the source."""
    caplog.set_level(logging.DEBUG)
    emulator.emulator.faults.add(Fault("drop", target="upload", after_bytes=10_000))
    emulator.emulator.faults.add(Fault("drop", target="download", after_bytes=1_000))
    emulator.emulator.faults.add(Fault("http_503", target="get", count=1))
    report, got, _ = _cycle(
        hook, emulator, tmp_path, id_file(20_000), resumable=True, chunk_size=RESUMABLE_QUANTUM
    )
    assert report.ids == 20_000 and got
    printed = capfd.readouterr()  # Airflow's hook loggers write through structlog to the console
    # Airflow 3.0's console handler prints the DEBUG records this test asked for: they are checked below.
    info_text = "\n".join(
        line for line in (printed.out + printed.err).splitlines() if " DEBUG - " not in line
    )
    info_text += "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    assert "Upload to job" in info_text  # the log did capture the transfer
    assert "X-Goog-Signature" not in info_text and "upload_id=" not in info_text and TOKEN not in info_text
    debug_text = caplog.text
    assert "X-Goog-Signature=***" in debug_text  # urllib3 does print request lines at DEBUG...
    # ...with every credential already cut at the source, before any handler or masker.
    assert not re.findall(r"(?:X-Goog-Signature|X-Goog-Credential|upload_id)=(?!\*\*\*)", debug_text)
    assert TOKEN not in debug_text
