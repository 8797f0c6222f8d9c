"""Plain upload: ``PUT <upload_url>`` with the whole ID file as the body.

The body goes to a ``.part`` file in chunks and is published with a rename, so a dropped or
aborted upload never becomes the job's file. Like GCS, a second PUT replaces the first.
"""

from __future__ import annotations

from aiohttp import web

from x_compliance_emulator.jobs.job import Job
from x_compliance_emulator.runtime.emulator import Emulator
from x_compliance_emulator.runtime.faults import Fault
from x_compliance_emulator.runtime.wire import drop_connection, http_date
from x_compliance_emulator.storage.body import receive


async def plain_upload(
    request: web.Request, emulator: Emulator, job: Job, drop: Fault | None, now: float
) -> web.StreamResponse:
    limit = drop.after_bytes if drop else None
    if not job.accepts_upload(now):
        # X has already read the earlier file; GCS would still overwrite it, so answer 200 and
        # let the bytes go nowhere.
        received = await receive(request, None, emulator.counters, limit=limit)
        return drop_connection(request) if drop or not received.complete else _uploaded(emulator)
    generation = emulator.begin_upload(job)
    final = job.upload_path(generation)
    part = final.with_suffix(".part")
    try:
        with open(part, "wb") as out:
            received = await receive(request, out, emulator.counters, limit=limit)
        if drop or not received.complete:
            part.unlink(missing_ok=True)
            return drop_connection(request)
        part.replace(final)
        emulator.finish_upload(job, generation)
    finally:
        part.unlink(missing_ok=True)
        emulator.end_upload(job)
    with emulator.store.lock:
        job.bytes_uploaded = received.written
        emulator.store.save(job)
    return _uploaded(emulator)


def _uploaded(emulator: Emulator) -> web.Response:
    return web.Response(status=200, headers={"Date": http_date(emulator.clock.now())})
