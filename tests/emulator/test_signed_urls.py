"""The storage side: signature checks, expiry, downloads with Range, gzip and dropped connections."""

from __future__ import annotations

import gzip
import zlib

import pytest
import requests

from tests.emulator.conftest import XApi, id_file, put_ids, snowflakes
from x_compliance_emulator import Fault

SIGNATURE_MISMATCH = (
    "<?xml version='1.0' encoding='UTF-8'?><Error><Code>SignatureDoesNotMatch</Code><Message>Access denied."
    "</Message><Details>The request signature we calculated does not match the signature you provided. "
    "Check your Google secret key and signing method.</Details></Error>"
)
NO_SUCH_KEY = (
    "<?xml version='1.0' encoding='UTF-8'?><Error><Code>NoSuchKey</Code>"
    "<Message>The specified key does not exist.</Message></Error>"
)


@pytest.fixture
def complete_job(api: XApi, emulator) -> dict:
    job = api.create_job("tweets")
    put_ids(job["upload_url"], id_file(snowflakes(20_000)))
    emulator.emulator.clock.advance(60)
    return api.wait_for(job["id"], "complete")


def tamper(url: str) -> str:
    head, signature = url.rsplit("X-Goog-Signature=", 1)
    return f"{head}X-Goog-Signature={'0' if signature[0] != '0' else '1'}{signature[1:]}"


def test_tampered_signature_is_403(api: XApi) -> None:
    job = api.create_job("tweets")
    response = put_ids(tamper(job["upload_url"]), b"1\n")
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/xml")
    assert response.text == SIGNATURE_MISMATCH


def test_tampered_query_parameter_is_403(api: XApi) -> None:
    job = api.create_job("tweets")
    longer = job["upload_url"].replace("X-Goog-Expires=900", "X-Goog-Expires=86400")
    assert put_ids(longer, b"1\n").status_code == 403


@pytest.mark.parametrize("content_type", [None, "application/octet-stream", "text/plain; charset=utf-8"])
def test_upload_needs_exactly_text_plain(api: XApi, content_type) -> None:
    job = api.create_job("tweets")
    headers = {"Content-Type": content_type} if content_type else {}
    response = requests.put(job["upload_url"], data=b"1\n", headers=headers)
    assert response.status_code == 403
    assert response.text == SIGNATURE_MISMATCH
    assert api.job(job["id"])["status"] == "created"


def test_missing_signature_is_access_denied(api: XApi) -> None:
    job = api.create_job("tweets")
    response = put_ids(job["upload_url"].split("?")[0], b"1\n")
    assert response.status_code == 403
    assert "<Code>AccessDenied</Code>" in response.text


def test_bearer_token_is_not_needed_or_looked_at(api: XApi) -> None:
    job = api.create_job("tweets")
    response = put_ids(job["upload_url"], b"1\n", Authorization="Bearer garbage")
    assert response.status_code == 200
    assert response.text == ""


def test_expire_upload_fault(api: XApi, emulator) -> None:
    job = api.create_job("tweets")
    emulator.emulator.faults.add(Fault("expire_upload", target=job["id"]))
    response = put_ids(job["upload_url"], b"1\n")
    assert response.status_code == 400
    assert "<Code>ExpiredToken</Code><Message>Invalid argument.</Message>" in response.text
    assert "Request signature expired at: " in response.text
    assert api.job(job["id"])["status"] == "expired"
    assert api.create("tweets").status_code == 200


def test_expired_upload_url_says_when(api: XApi, emulator) -> None:
    job = api.create_job("tweets")
    emulator.emulator.clock.advance(901)
    response = put_ids(job["upload_url"], b"1\n")
    expiry = job["upload_expires_at"].replace(".000Z", "+00:00")
    assert response.status_code == 400
    assert f"Request signature expired at: {expiry}</Details>" in response.text


def test_download_before_completion_is_no_such_key(api: XApi) -> None:
    job = api.create_job("tweets")
    response = requests.get(job["download_url"])
    assert (response.status_code, response.text) == (404, NO_SUCH_KEY)


def test_download_url_expires_after_the_download_window(complete_job, emulator) -> None:
    assert requests.get(complete_job["download_url"]).status_code == 200
    emulator.emulator.clock.advance(7 * 86400)
    response = requests.get(complete_job["download_url"])
    assert response.status_code == 400
    assert "<Code>ExpiredToken</Code>" in response.text


def test_download_url_is_signed_for_get(complete_job) -> None:
    assert requests.put(complete_job["download_url"], data=b"x").status_code == 403
    assert requests.get(tamper(complete_job["download_url"])).status_code == 403


def test_range_downloads(complete_job) -> None:
    full = requests.get(complete_job["download_url"]).content
    assert len(full) > 10_000
    tail = requests.get(complete_job["download_url"], headers={"Range": "bytes=1000-"})
    assert tail.status_code == 206
    assert tail.headers["Content-Range"] == f"bytes 1000-{len(full) - 1}/{len(full)}"
    assert tail.content == full[1000:]
    middle = requests.get(complete_job["download_url"], headers={"Range": "bytes=10-19"})
    assert (middle.status_code, middle.content) == (206, full[10:20])
    suffix = requests.get(complete_job["download_url"], headers={"Range": "bytes=-5"})
    assert suffix.content == full[-5:]
    beyond = requests.get(complete_job["download_url"], headers={"Range": f"bytes={len(full)}-"})
    assert beyond.status_code == 416


def test_resume_a_dropped_download_with_range(complete_job, emulator) -> None:
    full = requests.get(complete_job["download_url"]).content
    emulator.emulator.faults.add(Fault("drop", target="download", after_bytes=5000))
    received = bytearray()
    response = requests.get(complete_job["download_url"], stream=True)
    assert response.status_code == 200
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        for chunk in response.iter_content(1024):
            received += chunk
    # The server sent 5000 bytes; the client may lose the tail of its last read buffer.
    assert 0 < len(received) <= 5000
    assert bytes(received) == full[: len(received)]
    rest = requests.get(complete_job["download_url"], headers={"Range": f"bytes={len(received)}-"})
    assert rest.status_code == 206
    assert bytes(received) + rest.content == full
    stats = emulator.emulator.stats
    assert stats["dropped"]["download"] == 1
    assert stats["bytes_downloaded"] == len(full) + 5000 + len(rest.content)


def test_gzip_downloads_when_configured(complete_job, emulator) -> None:
    plain = requests.get(complete_job["download_url"], headers={"Accept-Encoding": "identity"}).content
    emulator.emulator.config.gzip_downloads = True
    raw = requests.get(complete_job["download_url"], headers={"Accept-Encoding": "gzip"}, stream=True)
    assert raw.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(raw.raw.read()) == plain
    assert requests.get(complete_job["download_url"]).content == plain  # requests decodes it
    ranged = requests.get(
        complete_job["download_url"], headers={"Range": "bytes=0-99", "Accept-Encoding": "gzip"}
    )
    assert "Content-Encoding" not in ranged.headers and ranged.content == plain[:100]
    assert zlib.crc32(plain) == zlib.crc32(requests.get(complete_job["download_url"]).content)


def test_dropped_plain_upload_leaves_the_job_waiting(api: XApi, emulator) -> None:
    job = api.create_job("tweets")
    emulator.emulator.faults.add(Fault("drop", target="upload", after_bytes=1000))
    with pytest.raises(requests.ConnectionError):
        put_ids(job["upload_url"], id_file(snowflakes(5000)))
    assert api.job(job["id"])["status"] == "created"
    assert put_ids(job["upload_url"], id_file(snowflakes(5000))).status_code == 200
    assert api.job(job["id"])["status"] == "in_progress"


def test_slow_and_5xx_faults_on_storage(api: XApi, emulator) -> None:
    job = api.create_job("tweets")
    emulator.emulator.faults.add(Fault("http_503", target="upload"))
    emulator.emulator.faults.add(Fault("slow", target="upload", seconds=0.2))
    first = put_ids(job["upload_url"], b"1\n")
    assert first.status_code == 503 and "<Error>" in first.text
    second = put_ids(job["upload_url"], b"1\n")
    assert second.status_code == 200 and second.elapsed.total_seconds() >= 0.2
    assert emulator.emulator.stats["responses"]["upload"] == {"503": 1, "200": 1}


def test_drop_on_create_after_the_body_creates_the_job_but_loses_the_answer(api: XApi, emulator) -> None:
    emulator.emulator.faults.add(Fault("drop", target="create", after_bytes=10_000))
    with pytest.raises(requests.ConnectionError):
        api.create("tweets", name="retry-me")
    assert [j["name"] for j in emulator.emulator.jobs()] == ["retry-me"]
    assert api.create("tweets").status_code == 409
    assert api.list(type="tweets").json()["data"][0]["name"] == "retry-me"


def test_drop_on_create_inside_the_body_creates_nothing(api: XApi, emulator) -> None:
    emulator.emulator.faults.add(Fault("drop", target="create", after_bytes=0))
    with pytest.raises(requests.ConnectionError):
        api.create("tweets")
    assert emulator.emulator.jobs() == []
    assert api.create("tweets").status_code == 200
