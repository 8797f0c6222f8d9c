"""What happens around every signed-URL request: stats, faults, the signature and its expiry.

The storage side behaves like Google Cloud Storage: no bearer token, the URL is the credential,
and errors are GCS XML documents. Routing to upload, resumable or download happens here.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from x_compliance_emulator.jobs.job import Job
from x_compliance_emulator.jobs.store import BUCKETS
from x_compliance_emulator.runtime.emulator import Emulator
from x_compliance_emulator.runtime.faults import REQUEST_KINDS, Fault
from x_compliance_emulator.runtime.wire import count_request, emulator_of, http_date
from x_compliance_emulator.storage import responses as gcs_responses
from x_compliance_emulator.storage.download import download
from x_compliance_emulator.storage.resumable import session_put, start_session
from x_compliance_emulator.storage.signing import Verdict
from x_compliance_emulator.storage.upload import plain_upload

FOLDERS = {"submission": "upload", "delivery": "download"}
PERMISSIONS = {"upload": "storage.objects.create", "download": "storage.objects.get"}


async def storage_object(request: web.Request) -> web.StreamResponse:
    endpoint = FOLDERS.get(request.match_info["folder"])
    if endpoint is None:
        return gcs_responses.no_such_key()
    count_request(request, endpoint)
    return await _serve(request, emulator_of(request), endpoint)


async def _serve(request: web.Request, emulator: Emulator, endpoint: str) -> web.StreamResponse:
    body_bytes = request.content_length if endpoint == "upload" else None
    fault = emulator.faults.take(REQUEST_KINDS, endpoint, body_bytes=body_bytes)
    if fault is not None and fault.kind == "slow":
        await asyncio.sleep(fault.seconds)
        fault = None
    now = emulator.clock.now()
    if fault is not None and fault.kind != "drop":
        status = {"http_429": 429, "http_500": 500, "http_503": 503}[fault.kind]
        return _dated(gcs_responses.injected(status, fault.body), now)
    drop = fault
    if endpoint == "upload" and "upload_id" in request.query:
        # A session URL is its own credential (as with GCS): no signature to check.
        job = _job_of(request, emulator)
        if job is None:
            return _dated(gcs_responses.no_such_upload(), now)
        return await session_put(request, emulator, job, drop, now)
    check = emulator.signer.verify(request.method, request.path, request.query, request.headers, now)
    if check.verdict is Verdict.MISSING:
        return _dated(gcs_responses.access_denied(PERMISSIONS[endpoint]), now)
    if check.verdict is Verdict.MISMATCH:
        return _dated(gcs_responses.signature_mismatch(), now)
    if check.verdict is Verdict.EXPIRED:
        return _dated(gcs_responses.expired(check.expired_at), now)
    job = _job_of(request, emulator)
    if job is None:
        return _dated(gcs_responses.no_such_key(), now)
    if endpoint == "download":
        return await download(request, emulator, job, drop, now)
    if _upload_url_expired_by_fault(emulator, job, now):
        return _dated(gcs_responses.expired(now), now)
    if request.method == "POST":
        return await start_session(request, emulator, job, now)
    return await plain_upload(request, emulator, job, drop, now)


def _job_of(request: web.Request, emulator: Emulator) -> Job | None:
    info = request.match_info
    job = emulator.store.get(info["job_id"])
    if job is None or BUCKETS[job.type] != info["bucket"] or job.object_name != info["object_name"]:
        return None
    return job


def _upload_url_expired_by_fault(emulator: Emulator, job: Job, now: float) -> bool:
    fault: Fault | None = emulator.faults.take(("expire_upload",), "upload", job.id)
    if fault is None:
        return job.upload_forced_expired
    # The job follows its URL: without an upload it can only end expired, so it says so now.
    with emulator.store.lock:
        if job.uploaded_at is None:
            job.upload_forced_expired = True
            emulator.store.save(job)
    return True


def _dated(response: web.Response, now: float) -> web.Response:
    response.headers["Date"] = http_date(now)
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_route("*", "/storage/{bucket}/{job_id}/{folder}/{object_name}", storage_object)
