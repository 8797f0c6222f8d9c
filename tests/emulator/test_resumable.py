"""GCS resumable uploads: session start, 308 + Range, status queries, the 256 KiB rule, and
resuming after a connection dropped mid-chunk."""

from __future__ import annotations

import pytest
import requests

from tests.emulator.conftest import XApi, id_file, snowflakes
from x_compliance_emulator import Fault

KIB256 = 256 * 1024


def start(job: dict) -> str:
    response = requests.post(
        job["upload_url"],
        headers={"Content-Type": "text/plain", "Content-Length": "0", "x-goog-resumable": "start"},
    )
    assert response.status_code == 201, response.text
    assert response.headers["Location"].startswith(job["upload_url"] + "&upload_id=")
    return response.headers["Location"]


def put_chunk(session: str, data: bytes, first: int, total: int | str) -> requests.Response:
    last = first + len(data) - 1
    return requests.put(session, data=data, headers={"Content-Range": f"bytes {first}-{last}/{total}"})


def status(session: str, total: int | str = "*") -> requests.Response:
    return requests.put(session, data=b"", headers={"Content-Range": f"bytes */{total}"})


@pytest.fixture
def payload() -> bytes:
    data = id_file(snowflakes(40_000))  # 800 000 bytes: three full 256 KiB chunks and a tail
    assert len(data) > 3 * KIB256
    return data


def test_chunked_session_completes_the_job(api: XApi, emulator, payload) -> None:
    job = api.create_job("tweets", resumable=True)
    session = start(job)
    assert status(session).status_code == 308
    assert "Range" not in status(session).headers  # nothing persisted yet
    offset = 0
    while offset + KIB256 < len(payload):
        response = put_chunk(session, payload[offset : offset + KIB256], offset, "*")
        assert response.status_code == 308
        offset += KIB256
        assert response.headers["Range"] == f"bytes=0-{offset - 1}"
    assert status(session).headers["Range"] == f"bytes=0-{offset - 1}"
    final = put_chunk(session, payload[offset:], offset, len(payload))
    assert final.status_code == 200
    assert final.json()["size"] == str(len(payload))
    assert status(session, len(payload)).status_code == 200  # a finished session stays finished
    assert api.job(job["id"])["status"] == "in_progress"
    emulator.emulator.clock.advance(60)
    api.wait_for(job["id"], "complete")
    assert emulator.emulator.jobs()[0]["ids_uploaded"] == 40_000


def test_resume_after_a_dropped_chunk(api: XApi, emulator, payload) -> None:
    job = api.create_job("tweets", resumable=True)
    session = start(job)
    emulator.emulator.faults.add(Fault("drop", target="upload", after_bytes=100_000))
    with pytest.raises(requests.ConnectionError):
        put_chunk(session, payload[: 2 * KIB256], 0, "*")
    persisted = status(session)
    assert persisted.status_code == 308
    assert persisted.headers["Range"] == "bytes=0-99999"  # what arrived before the drop is kept
    # Resume from a 256 KiB boundary: the overlap with what is persisted is skipped.
    resumed = put_chunk(session, payload[:KIB256], 0, "*")
    assert resumed.headers["Range"] == f"bytes=0-{KIB256 - 1}"
    assert put_chunk(session, payload[KIB256:], KIB256, len(payload)).status_code == 200
    emulator.emulator.clock.advance(60)
    api.wait_for(job["id"], "complete")
    assert emulator.emulator.jobs()[0]["ids_uploaded"] == 40_000
    assert emulator.emulator.stats["dropped"]["upload"] == 1


def test_non_final_chunks_must_be_multiples_of_256_kib(api: XApi, payload) -> None:
    session = start(api.create_job("tweets", resumable=True))
    response = put_chunk(session, payload[:1000], 0, "*")
    assert response.status_code == 400
    assert "multiple of 262144" in response.text
    assert "Range" not in status(session).headers


def test_chunk_beyond_persisted_bytes_is_rejected(api: XApi, payload) -> None:
    session = start(api.create_job("tweets", resumable=True))
    assert put_chunk(session, payload[KIB256 : 2 * KIB256], KIB256, "*").status_code == 400


def test_single_put_without_content_range_uploads_everything(api: XApi, emulator, payload) -> None:
    job = api.create_job("users", resumable=True)
    session = start(job)
    assert requests.put(session, data=payload).status_code == 200
    assert api.job(job["id"])["status"] == "in_progress"


def test_session_started_in_the_window_outlives_it(api: XApi, emulator, payload) -> None:
    job = api.create_job("tweets", resumable=True)
    session = start(job)
    put_chunk(session, payload[:KIB256], 0, "*")
    emulator.emulator.clock.advance(3600)  # the upload URL has expired, the session has not
    assert api.job(job["id"])["status"] == "created"
    assert (
        requests.post(
            job["upload_url"], headers={"Content-Type": "text/plain", "x-goog-resumable": "start"}
        ).status_code
        == 400
    )
    assert put_chunk(session, payload[KIB256:], KIB256, len(payload)).status_code == 200
    assert api.job(job["id"])["status"] == "in_progress"


def test_resumable_url_is_signed_for_post_only(api: XApi) -> None:
    job = api.create_job("tweets", resumable=True)
    response = requests.put(job["upload_url"], data=b"1\n", headers={"Content-Type": "text/plain"})
    assert response.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in response.text
    plain = api.create_job("users")
    assert (
        requests.post(
            plain["upload_url"], headers={"Content-Type": "text/plain", "x-goog-resumable": "start"}
        ).status_code
        == 403
    )


def test_post_without_resumable_header_is_invalid(api: XApi) -> None:
    job = api.create_job("tweets", resumable=True)
    response = requests.post(job["upload_url"], headers={"Content-Type": "text/plain"})
    assert response.status_code == 400
    assert "<Code>InvalidArgument</Code>" in response.text


def test_unknown_session_is_not_found(api: XApi) -> None:
    job = api.create_job("tweets", resumable=True)
    response = status(job["upload_url"] + "&upload_id=made-up")
    assert response.status_code == 404


def test_drop_fault_waits_for_a_request_with_enough_body(api: XApi, emulator, payload) -> None:
    emulator.emulator.faults.add(Fault("drop", target="upload", after_bytes=10_000))
    job = api.create_job("tweets", resumable=True)
    session = start(job)  # no body to cut: the fault is not spent here
    assert status(session).status_code == 308  # nor on an empty status query
    assert len(emulator.emulator.faults.pending()) == 1
    with pytest.raises(requests.ConnectionError):
        put_chunk(session, payload[:KIB256], 0, "*")
    assert status(session).headers["Range"] == "bytes=0-9999"
    assert emulator.emulator.faults.pending() == []
