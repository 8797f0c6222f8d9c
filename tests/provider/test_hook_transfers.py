"""Uploads (validated, then sent by the hook) and downloads against the emulator's signed URLs,
faults included."""

from __future__ import annotations

import logging
import re

import pytest
from airflow.sdk import ObjectStoragePath

from tests.conftest import TOKEN
from tests.provider.conftest import expected_results, published_reasons, status_count, wait_for_status
from x_compliance.exceptions import (
    DownloadUrlExpiredError,
    IdFileChangedError,
    JobExpiredError,
    JobFailedError,
    UploadUrlExpiredError,
    XComplianceError,
)
from x_compliance.files.id_files import validated_id_file
from x_compliance.hooks.jobs import JobStatus
from x_compliance.hooks.storage import DOWNLOAD_BLOCK, RESUMABLE_QUANTUM
from x_compliance.operators.steps import upload_ids
from x_compliance_emulator import Fault

pytestmark = pytest.mark.usefixtures("scratch")  # no test leaves a scratch file behind


def _cycle(hook, emulator, tmp_path, path, *, resumable=False, job_type="tweets", **upload_kw):
    job = hook.create_job(job_type, resumable=resumable)
    report = upload_ids(hook, job, path, **upload_kw)
    done = wait_for_status(hook, emulator, job.id, JobStatus.COMPLETE)
    return report, published_reasons(hook, done, tmp_path), done


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


def test_resumable_upload_resumes_after_a_drop_once_chunks_have_gone_out(hook, emulator, tmp_path, id_file):
    """The session start and two chunks go through (a fault that does nothing takes them), then
    the third chunk drops 100,000 bytes in: the upload asks what storage holds and goes on
    from there, re-reading the file."""
    path = id_file(60_000)
    emulator.emulator.faults.add(Fault("slow", target="upload", seconds=0, count=3))
    emulator.emulator.faults.add(Fault("drop", target="upload", after_bytes=100_000))
    _, got, _ = _cycle(hook, emulator, tmp_path, path, resumable=True, chunk_size=RESUMABLE_QUANTUM)
    assert got == expected_results(emulator, "tweets", path)
    assert status_count(emulator, "upload", "dropped") == 1
    assert status_count(emulator, "upload", 308) >= 3  # two chunks answered before the drop, a status after
    assert emulator.emulator.stats["bytes_uploaded"] < path.stat().st_size + RESUMABLE_QUANTUM


@pytest.mark.parametrize("padding", [b"", b" \r"], ids=["clean", "to-normalize"])
def test_plain_upload_restarts_after_a_drop(hook, emulator, tmp_path, id_file, padding):
    path = id_file(20_000)
    sent = path.read_bytes()
    path.write_bytes(sent.replace(b"\n", padding + b"\n"))  # padded, a scratch copy is what goes
    emulator.emulator.faults.add(Fault("drop", target="upload", after_bytes=100_000))
    _, got, _ = _cycle(hook, emulator, tmp_path, path)
    assert got == expected_results(emulator, "tweets", path)
    assert status_count(emulator, "upload", "dropped") == 1
    # Restarted whole: the 100,000 bytes that arrived before the drop, then the file again.
    assert emulator.emulator.stats["bytes_uploaded"] == 100_000 + len(sent)


@pytest.mark.parametrize("resumable", [False, True], ids=["plain", "resumable"])
def test_messy_file_is_uploaded_normalized(hook, emulator, tmp_path, resumable):
    path = tmp_path / "messy.txt"
    ids = [str(1_200_000_000_000_000_000 + i * 99_991) for i in range(3000)]
    path.write_bytes(b"\xef\xbb\xbf" + b"\r\n\r\n".join(f"  {i} ".encode() for i in ids))
    report, got, _ = _cycle(hook, emulator, tmp_path, path, job_type="users", resumable=resumable)
    expected = {i: emulator.emulator.fate("users", i) for i in ids}
    assert got == {i: r for i, r in expected.items() if r}
    assert (report.ids, report.bytes) == (3000, 20 * 3000)
    assert emulator.emulator.stats["bytes_uploaded"] == 20 * 3000  # X got the normalized copy


@pytest.mark.parametrize("resumable", [False, True], ids=["plain", "resumable"])
def test_lines_to_normalize_after_the_first_block_are_uploaded_normalized(
    hook, emulator, tmp_path, resumable
):
    """The first 300,000 lines (6 MB, more than a block) are clean, the rest padded with \\r\\n:
    X gets the clean blocks as they stand, then the normalized rest (the copy's bytes are
    checked in test_ids), every line an ID it counts."""
    path = tmp_path / "ids.txt"
    clean = b"".join(b"%d\n" % (1_170_025_343_920_402_432 + i * 7) for i in range(300_000))
    path.write_bytes(clean + b"".join(b" %d\r\n" % (1_180_000_000_000_000_000 + i) for i in range(2000)))
    job = hook.create_job("tweets", resumable=resumable)
    report = upload_ids(hook, job, path, chunk_size=8 * RESUMABLE_QUANTUM)
    assert (report.ids, report.bytes) == (302_000, len(clean) + 20 * 2000)
    assert emulator.emulator.stats["bytes_uploaded"] == report.bytes
    wait_for_status(hook, emulator, job.id, JobStatus.COMPLETE)
    assert [j["ids_uploaded"] for j in emulator.emulator.jobs() if j["id"] == job.id] == [302_000]


@pytest.mark.parametrize("resumable", [False, True], ids=["plain", "resumable"])
def test_a_file_changed_between_validation_and_upload_is_not_sent(hook, emulator, id_file, resumable):
    """X never gets the changed file: the upload stops before its last byte, the job still takes
    one, and the next try (validating again) goes through."""
    path = id_file(60_000)
    job = hook.create_job("tweets", resumable=resumable)
    with validated_id_file(path, job_id=job.id) as ids:
        with path.open("ab") as fh:
            fh.write(b"1170025343920402432\n")
        with pytest.raises(IdFileChangedError, match=f"job {job.id}: .*ids.txt changed"):
            hook.upload_file(job, ids, chunk_size=RESUMABLE_QUANTUM)
    assert hook.get_job(job.id).status is JobStatus.CREATED
    assert emulator.emulator.stats["bytes_uploaded"] < ids.bytes
    report = upload_ids(hook, job, path)
    assert report.ids == 60_001 and hook.get_job(job.id).status is not JobStatus.CREATED


def test_the_hook_sends_only_a_validated_file(hook, emulator, id_file):
    job = hook.create_job("tweets")
    with pytest.raises(TypeError, match="validate the IDs first"):
        hook.upload_file(job, id_file(10))
    assert emulator.emulator.stats["bytes_uploaded"] == 0


def test_resumable_chunks_keep_to_the_256_kib_rule(hook, emulator, id_file):
    job = hook.create_job("tweets", resumable=True)
    with pytest.raises(ValueError, match="multiple of 262144"):
        upload_ids(hook, job, id_file(100_000), chunk_size=RESUMABLE_QUANTUM + 1000)
    assert emulator.emulator.stats["bytes_uploaded"] == 0


def test_a_resumable_upload_reads_an_object_storage_path(hook, emulator, tmp_path, id_file):
    path = id_file(30_000)
    source = ObjectStoragePath(f"file://{path}")
    report, got, _ = _cycle(hook, emulator, tmp_path, source, resumable=True, chunk_size=RESUMABLE_QUANTUM)
    assert (report.ids, report.bytes) == (30_000, path.stat().st_size)
    assert got == expected_results(emulator, "tweets", path)


def test_download_resumes_after_a_drop(hook, emulator, tmp_path, id_file):
    path = id_file(200_000)
    _, _, done = _cycle(hook, emulator, tmp_path, path)
    clean_file = tmp_path / "clean.jsonl"
    hook.download_results(done, clean_file)
    fetched_before = emulator.emulator.stats["bytes_downloaded"]
    # Past the first block the client writes (DOWNLOAD_BLOCK), so the resume has bytes to keep.
    assert clean_file.stat().st_size > 2 * DOWNLOAD_BLOCK
    emulator.emulator.faults.add(Fault("drop", target="download", after_bytes=DOWNLOAD_BLOCK + 5_000))
    again = tmp_path / "again.jsonl"
    hook.download_results(hook.get_job(done.id), again)
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


def test_a_dropped_gzip_download_starts_again_and_loses_no_line(hook, emulator, tmp_path, id_file):
    """A compressed body cannot resume at a byte offset: the retry fetches it whole again."""
    emulator.emulator.config.gzip_downloads = True
    path = id_file(200_000)
    _, _, done = _cycle(hook, emulator, tmp_path, path)
    clean_file = tmp_path / "clean.jsonl"
    before = emulator.emulator.stats["bytes_downloaded"]
    hook.download_results(done, clean_file)
    sent_whole = emulator.emulator.stats["bytes_downloaded"] - before
    emulator.emulator.faults.add(Fault("drop", target="download", after_bytes=sent_whole // 2))
    again = tmp_path / "again.jsonl"
    hook.download_results(hook.get_job(done.id), again)
    assert again.read_bytes() == clean_file.read_bytes()
    assert status_count(emulator, "download", "dropped") == 1
    assert clean_file.stat().st_size > 5 * sent_whole  # it did travel compressed


def test_expired_upload_url_says_create_a_new_job(hook, emulator, id_file):
    job = hook.create_job("tweets")
    emulator.emulator.clock.advance(16 * 60)
    with pytest.raises(UploadUrlExpiredError, match=f"job {job.id}") as exc:
        upload_ids(hook, job, id_file(10))
    assert exc.value.code == "ExpiredToken"
    with pytest.raises(JobExpiredError, match="create a new job"):
        hook.get_job(job.id).raise_for_status()


def test_expired_download_url(hook, emulator, tmp_path, id_file):
    job = hook.create_job("tweets")
    upload_ids(hook, job, id_file(100))
    done = wait_for_status(hook, emulator, job.id, JobStatus.COMPLETE)
    emulator.emulator.clock.advance(7 * 24 * 3600 + 1)
    with pytest.raises(DownloadUrlExpiredError, match=f"job {job.id}"):
        hook.download_results(done, tmp_path / "late.jsonl")


def test_failed_job_carries_x_error(hook, emulator, id_file):
    emulator.emulator.faults.add(Fault("fail_job", error="Invalid file format"))
    job = hook.create_job("tweets")
    upload_ids(hook, job, id_file(10))
    failed = wait_for_status(hook, emulator, job.id, JobStatus.FAILED)
    with pytest.raises(JobFailedError, match="Invalid file format"):
        failed.raise_for_status()


def test_only_created_jobs_take_uploads_and_only_complete_ones_give_results(
    hook, emulator, tmp_path, id_file
):
    job = hook.create_job("tweets")
    with pytest.raises(XComplianceError, match="only a complete job"):
        hook.download_results(job, tmp_path / "r.jsonl")
    upload_ids(hook, job, id_file(10))
    running = hook.get_job(job.id)
    if running.status is not JobStatus.CREATED:
        with pytest.raises(XComplianceError, match="only a created job"):
            upload_ids(hook, running, id_file(10))


@pytest.mark.parametrize("resumable", [False, True], ids=["plain", "resumable"])
@pytest.mark.parametrize("content", [b"", b"\n\n"], ids=["empty", "blank-lines"])
def test_empty_file_is_refused_before_sending(hook, emulator, tmp_path, resumable, content):
    job = hook.create_job("tweets", resumable=resumable)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(content)
    with pytest.raises(XComplianceError, match="no IDs"):
        upload_ids(hook, job, empty)
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
