"""GCS resumable uploads: start a session, send chunks with Content-Range, ask what arrived.

308 + ``Range`` means "incomplete, this much is persisted"; 200 means the object is complete.
Bytes that arrived before a dropped connection are kept, so a client can query and resume.
"""

from __future__ import annotations

import re
import secrets

from aiohttp import web

from x_compliance_emulator.jobs.job import SESSION_LIFETIME_SECONDS, Job, UploadSession, wire_time
from x_compliance_emulator.jobs.store import BUCKETS
from x_compliance_emulator.runtime.emulator import Emulator
from x_compliance_emulator.runtime.faults import Fault
from x_compliance_emulator.runtime.wire import drop_connection, http_date
from x_compliance_emulator.storage import responses as gcs_responses
from x_compliance_emulator.storage.body import receive

CHUNK_MULTIPLE = 256 * 1024
_CHUNK_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
_STATUS_RANGE = re.compile(r"^bytes \*/(\d+|\*)$")


async def start_session(request: web.Request, emulator: Emulator, job: Job, now: float) -> web.Response:
    if request.headers.get("x-goog-resumable", "").lower() != "start":
        return gcs_responses.invalid_argument("POST to an upload URL must carry x-goog-resumable: start.")
    await request.read()
    session_id = secrets.token_urlsafe(32)
    session = UploadSession(
        id=session_id,
        path=job.directory / f"session-{len(job.sessions)}.part",
        expires_at=now + SESSION_LIFETIME_SECONDS,
    )
    session.path.write_bytes(b"")
    with emulator.store.lock:
        job.sessions[session_id] = session
        # A session opened inside the upload window keeps the job alive until it completes.
        job.session_deadline = max(job.session_deadline or 0.0, session.expires_at)
        emulator.store.save(job)
    location = f"{job.upload_url}&upload_id={session_id}"
    return web.Response(
        status=201,
        headers={"Location": location, "X-GUploader-UploadID": session_id, "Date": http_date(now)},
    )


async def session_put(
    request: web.Request, emulator: Emulator, job: Job, drop: Fault | None, now: float
) -> web.StreamResponse:
    session = job.sessions.get(request.query["upload_id"])
    if request.method != "PUT" or session is None or now > session.expires_at:
        return gcs_responses.no_such_upload()
    content_range = request.headers.get("Content-Range")
    if session.done:
        await receive(request, None, emulator.counters)
        return _complete(job, session, now)
    if content_range is None:
        # No Content-Range: the body is the whole object, sent in one go.
        return await _write_chunk(request, emulator, job, session, drop, 0, None, now, whole=True)
    status_query = _STATUS_RANGE.match(content_range)
    if status_query:
        await receive(request, None, emulator.counters)
        total = status_query.group(1)
        if total != "*" and int(total) == session.persisted:
            return _finalize(emulator, job, session, now)
        return _incomplete(session, now)
    chunk = _CHUNK_RANGE.match(content_range)
    if not chunk:
        return gcs_responses.invalid_argument(f"Invalid Content-Range header: {content_range}")
    first, last = int(chunk.group(1)), int(chunk.group(2))
    total = None if chunk.group(3) == "*" else int(chunk.group(3))
    problem = _chunk_problem(request, session, first, last, total)
    if problem:
        return gcs_responses.invalid_argument(problem)
    return await _write_chunk(request, emulator, job, session, drop, first, total, now, whole=False)


def _chunk_problem(
    request: web.Request, session: UploadSession, first: int, last: int, total: int | None
) -> str:
    length = last - first + 1
    if last < first or (total is not None and last >= total):
        return "Invalid Content-Range: the range is empty or beyond the declared total size."
    if request.content_length is not None and request.content_length != length:
        return f"Content-Length {request.content_length} does not match the Content-Range length {length}."
    if first > session.persisted:
        return (
            f"Invalid request. According to the Content-Range header, the upload offset is {first} byte(s), "
            f"which exceeds already uploaded size of {session.persisted} byte(s)."
        )
    is_last_chunk = total is not None and last + 1 == total
    if not is_last_chunk and length % CHUNK_MULTIPLE:
        return (
            f"Invalid request. The number of bytes uploaded is required to be a multiple of {CHUNK_MULTIPLE}."
        )
    return ""


async def _write_chunk(
    request: web.Request,
    emulator: Emulator,
    job: Job,
    session: UploadSession,
    drop: Fault | None,
    first: int,
    total: int | None,
    now: float,
    whole: bool,
) -> web.StreamResponse:
    if whole:
        session.persisted = 0
    # Bytes this session already holds are skipped rather than written twice (GCS ignores overlap).
    skip = session.persisted - first
    with open(session.path, "r+b") as out:
        out.seek(session.persisted)
        out.truncate()
        received = await receive(
            request, out, emulator.counters, skip=skip, limit=drop.after_bytes if drop else None
        )
    session.persisted += received.written
    if drop or not received.complete:
        return drop_connection(request)
    if whole or (total is not None and session.persisted == total):
        return _finalize(emulator, job, session, now)
    return _incomplete(session, now)


def _finalize(emulator: Emulator, job: Job, session: UploadSession, now: float) -> web.Response:
    session.done = True
    generation = emulator.begin_upload(job)
    try:
        session.path.replace(job.upload_path(generation))
        emulator.finish_upload(job, generation)
    finally:
        emulator.end_upload(job)
    with emulator.store.lock:
        job.bytes_uploaded = session.persisted
        emulator.store.save(job)
    return _complete(job, session, now)


def _complete(job: Job, session: UploadSession, now: float) -> web.Response:
    resource = {
        "kind": "storage#object",
        "bucket": BUCKETS[job.type],
        "name": f"{job.id}/submission/{job.object_name}",
        "contentType": "text/plain",
        "size": str(session.persisted),
        "timeCreated": wire_time(now),
    }
    response = web.json_response(resource)
    response.headers["Date"] = http_date(now)
    return response


def _incomplete(session: UploadSession, now: float) -> web.Response:
    headers = {"Date": http_date(now)}
    if session.persisted:
        headers["Range"] = f"bytes=0-{session.persisted - 1}"
    return web.Response(status=308, headers=headers)
