"""Hostile transfers: uploads that fail, results bodies in every encoding storage may send (and
cut short), and a user who turns every logger to DEBUG in plain Python (no Airflow task masker)
while the hook runs a whole cycle. Compression bombs have ``test_bombs.py``."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
import zlib
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.conftest import RECORDED, TOKEN
from tests.hostile.bombs import GzipStorage, complete_job
from tests.hostile.conftest import bounded, use_x_connection
from tests.provider.conftest import expected_results, published_reasons, wait_for_status
from x_compliance.exceptions import InvalidIdError, TransferError, XComplianceError
from x_compliance.hooks.jobs import JobStatus
from x_compliance.hooks.storage import RESUMABLE_QUANTUM
from x_compliance.hooks.x_compliance import XComplianceHook
from x_compliance.operators.steps import upload_ids
from x_compliance_emulator import Fault
from x_compliance_emulator.runtime.faults import UNTIL_CLEARED


@pytest.mark.parametrize("resumable", [False, True], ids=["plain", "resumable"])
def test_a_bad_line_after_the_first_block_sends_nothing(emulator, tmp_path, scratch, monkeypatch, resumable):
    """Line 300,001 of a 6 MB file (many blocks) is bad: the whole file is checked before a byte
    goes out, plain or resumable, so X gets none of it and the job takes the mended file."""
    use_x_connection(monkeypatch, emulator.url)
    hook = XComplianceHook(max_attempts=2, timeout=10)
    good = b"".join(b"%d\n" % (10**18 + i) for i in range(300_000))
    ids = tmp_path / "ids.txt"
    ids.write_bytes(good + b"12x\n")
    job = hook.create_job("tweets", resumable=resumable)
    with pytest.raises(InvalidIdError) as exc:
        upload_ids(hook, job, ids, chunk_size=RESUMABLE_QUANTUM)
    assert exc.value.line_number == 300_001 and "nothing was uploaded" in str(exc.value)
    assert emulator.emulator.stats["bytes_uploaded"] == 0
    assert hook.get_job(job.id).status is JobStatus.CREATED
    assert not [p for p in (tmp_path / "emulator").rglob("*") if p.is_file() and "upload" in p.name]
    ids.write_bytes(good)
    report = upload_ids(hook, job, ids)
    assert (report.ids, report.bytes) == (300_000, len(good))
    done = wait_for_status(hook, emulator, job.id, JobStatus.COMPLETE)
    assert published_reasons(hook, done, tmp_path) == expected_results(emulator, "tweets", ids)


# A resumable upload goes on from what arrived, so only a drop before any byte stops it.
@pytest.mark.parametrize(
    ("resumable", "after_bytes"), [(False, 100_000), (True, 0)], ids=["plain", "resumable"]
)
def test_an_upload_that_keeps_dropping_fails_typed_and_leaves_no_file(
    emulator, tmp_path, scratch, monkeypatch, resumable, after_bytes
):
    use_x_connection(monkeypatch, emulator.url)
    hook = XComplianceHook(max_attempts=2, timeout=10)
    emulator.emulator.faults.add(Fault("drop", target="upload", after_bytes=after_bytes, count=UNTIL_CLEARED))
    ids = tmp_path / "ids.txt"
    ids.write_bytes(b"".join(b"%d\n" % (10**18 + i) for i in range(100_000)))
    job = hook.create_job("tweets", resumable=resumable)
    with bounded(seconds=30, mb=150), pytest.raises(TransferError) as exc:
        upload_ids(hook, job, ids, chunk_size=RESUMABLE_QUANTUM)
    assert f"upload to job {job.id}" in str(exc.value) and "gave up" in str(exc.value)
    assert "http" not in str(exc.value)  # no signed URL in the message
    leftovers = [p.name for p in (tmp_path / "emulator").rglob("*") if p.is_file() and p.suffix == ".part"]
    # Storage keeps a resumable session's bytes so that a retry can go on (as GCS does, until
    # the session lapses); a plain upload that broke leaves nothing.
    assert leftovers == (["session-0.part"] if resumable else [])


# -- results bodies as storage may encode them ---------------------------------------------------

REAL_RESULTS = (RECORDED / "twarc-csv-tweets-compliance.jsonl").read_bytes()


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", lambda raw: gzip.compress(raw[:100]) + gzip.compress(raw[100:])),  # two members
        ("deflate", zlib.compress),
        ("identity", bytes),
    ],
    ids=["gzip-members", "deflate", "identity"],
)
def test_a_results_body_is_decoded_as_its_content_encoding_says(tmp_path, monkeypatch, encoding, encode):
    use_x_connection(monkeypatch, "http://127.0.0.1:9")
    target = tmp_path / "raw.jsonl"
    with GzipStorage(encode(REAL_RESULTS * 50), encoding=encoding) as storage:
        report = XComplianceHook(max_attempts=2, timeout=10).download_results(
            complete_job(storage.results_url), target
        )
    assert target.read_bytes() == REAL_RESULTS * 50 and report.bytes == len(REAL_RESULTS) * 50


def test_a_gzip_body_cut_inside_its_stream_is_fetched_again_then_given_up(tmp_path, scratch, monkeypatch):
    """The HTTP framing is whole (its length as sent) but the gzip stream stops mid-member: a cut
    body, never taken for complete results."""
    use_x_connection(monkeypatch, "http://127.0.0.1:9")
    body = gzip.compress(REAL_RESULTS * 500)
    with GzipStorage(body[: len(body) // 2]) as storage, pytest.raises(TransferError, match="gave up"):
        XComplianceHook(max_attempts=2, timeout=10).download_results(
            complete_job(storage.results_url), tmp_path / "raw.jsonl"
        )


def test_an_encoding_not_asked_for_is_refused_by_name(tmp_path, monkeypatch):
    use_x_connection(monkeypatch, "http://127.0.0.1:9")
    with (
        GzipStorage(b"x", encoding="br") as storage,
        pytest.raises(XComplianceError, match="'br', not asked"),
    ):
        XComplianceHook(max_attempts=2, timeout=10).download_results(
            complete_job(storage.results_url), tmp_path / "raw.jsonl"
        )


# -- DEBUG logging in plain Python --------------------------------------------------------------

CYCLE = r"""
import json, logging, sys, time
from x_compliance.hooks.storage import RESUMABLE_QUANTUM
from x_compliance.hooks.x_compliance import XComplianceHook
from x_compliance.operators.steps import upload_ids
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, force=True,
                    format="%(name)s %(levelname)s %(message)s")
for name in list(logging.root.manager.loggerDict):
    logging.getLogger(name).setLevel(logging.DEBUG)
hook = XComplianceHook(max_attempts=2)
seen = []
for job_type, resumable in (("tweets", True), ("users", False)):
    job = hook.create_job(job_type, resumable=resumable)
    seen.append(job.upload_url)
    upload_ids(hook, job, sys.argv[1])
    while (job := hook.get_job(job.id)).status.value != "complete":
        time.sleep(0.1)
    seen.append(job.download_url)
    hook.download_results(job, sys.argv[2] + job_type)
with open(sys.argv[3], "w") as fh:
    json.dump(seen, fh)
"""


def _credentials(url: str) -> list[str]:
    return [v for k, v in parse_qsl(urlsplit(url).query) if k in ("X-Goog-Signature", "upload_id")]


def test_debug_logging_in_plain_python_shows_no_token_and_no_signature(emulator, tmp_path):
    emulator.emulator.config.update(processing_seconds_base=0.0, processing_seconds_per_million=0.0)
    ids = tmp_path / "ids.txt"
    ids.write_bytes(b"".join(b"%d\n" % (1_170_025_343_920_402_432 + i * 7) for i in range(3000)))
    seen = tmp_path / "seen.json"
    env = {
        **{k: v for k, v in __import__("os").environ.items() if not k.startswith("AIRFLOW_CONN_")},
        "AIRFLOW_CONN_X_COMPLIANCE_DEFAULT": json.dumps(
            {"conn_type": "x_compliance", "host": emulator.url, "password": TOKEN}
        ),
    }
    done = subprocess.run(
        [sys.executable, "-c", CYCLE, str(ids), str(tmp_path / "raw-"), str(seen)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    urls = json.loads(Path(seen).read_text())
    secrets = [TOKEN, *(value for url in urls for value in _credentials(url))]
    assert len(secrets) >= 5  # the token, four signatures (and none of them empty)
    leaked = [s for s in secrets if s in output]
    assert not leaked, f"{len(leaked)} secret(s) in the DEBUG output"
    # The check can fail: urllib3 did log the signed requests, with their credentials cut.
    assert re.search(r"urllib3\.connectionpool DEBUG .*X-Goog-Signature=\*\*\*", output), output[-3000:]
