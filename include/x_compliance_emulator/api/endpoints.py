"""The three X API v2 batch compliance endpoints: create a job, get one by id, list them.

Each handler validates its input the way X does (400 with an ``errors`` list naming the
parameter), then reads or changes the job store. Auth and rate limits happen in ``api.envelope``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from x_compliance_emulator.api import responses as x_responses
from x_compliance_emulator.api.envelope import request_body, x_endpoint
from x_compliance_emulator.jobs.store import ConflictError
from x_compliance_emulator.runtime.emulator import JOB_TYPES, Emulator
from x_compliance_emulator.runtime.wire import base_url, parse_json_object

JOB_ID = re.compile(r"^[0-9]{1,19}$")
CREATE_FIELDS = ("type", "name", "resumable")
MAX_NAME = 64
# The statuses the list endpoint filters on, per X's spec (``expired`` is listed, not filterable).
STATUS_FILTERS = ("created", "in_progress", "failed", "complete")
# Newer specs add this to all three calls; accepted and ignored (every field is always returned).
FIELDS_PARAM = "compliance_job.fields"


async def create_job(request: web.Request, emulator: Emulator, token: str, now: float) -> web.Response:
    raw = await request_body(request)
    try:
        body = parse_json_object(raw) if raw.strip() else None
    except ValueError as exc:
        return x_responses.invalid_request([x_responses.invalid(None, [], str(exc))])
    if body is None:
        return x_responses.invalid_request(
            [x_responses.invalid(None, [], "Request body is not a valid JSON object")]
        )
    errors = _create_errors(body)
    if errors:
        return x_responses.invalid_request(errors)
    try:
        job = emulator.store.create(
            token,
            body["type"],
            body.get("name"),
            body.get("resumable", False),
            now,
            base_url(request),
            emulator.config,
        )
    except ConflictError:
        return x_responses.conflict()
    # 200, not 201: confirmed by the 2021 recording.
    return x_responses.ok({"data": job.to_wire(now)})


def _create_errors(body: dict[str, Any]) -> list[dict[str, Any]]:
    errors = [
        x_responses.invalid(
            key,
            [_text(value)],
            f"$.{key}: is not defined in the schema and the schema does not allow additional properties",
        )
        for key, value in body.items()
        if key not in CREATE_FIELDS
    ]
    job_type = body.get("type")
    if "type" not in body:
        errors.append(x_responses.invalid("type", [], "$.type: is missing but it is required"))
    elif job_type not in JOB_TYPES:
        errors.append(
            x_responses.invalid(
                "type", [_text(job_type)], "$.type: does not have a value in the enumeration [tweets, users]"
            )
        )
    name = body.get("name")
    if "name" in body and not isinstance(name, str):
        errors.append(
            x_responses.invalid("name", [_text(name)], f"$.name: {_json_type(name)} found, string expected")
        )
    elif isinstance(name, str) and len(name) > MAX_NAME:
        errors.append(x_responses.invalid("name", [name], f"$.name: may only be {MAX_NAME} characters long"))
    resumable = body.get("resumable")
    if "resumable" in body and not isinstance(resumable, bool):
        errors.append(
            x_responses.invalid(
                "resumable",
                [_text(resumable)],
                f"$.resumable: {_json_type(resumable)} found, boolean expected",
            )
        )
    return errors


async def get_job(request: web.Request, emulator: Emulator, token: str, now: float) -> web.Response:
    job_id = request.match_info["job_id"]
    errors = _unknown_query_errors(request, allowed=(FIELDS_PARAM,))
    if not JOB_ID.match(job_id):
        errors.append(
            x_responses.invalid(
                "id", [job_id], f"The `id` query parameter value [{job_id}] does not match ^[0-9]{{1,19}}$"
            )
        )
    if errors:
        return x_responses.invalid_request(errors)
    job = emulator.store.owned(token, job_id)
    if job is None:
        return x_responses.not_found(job_id)
    return x_responses.ok({"data": job.to_wire(now)})


async def list_jobs(request: web.Request, emulator: Emulator, token: str, now: float) -> web.Response:
    query = request.query
    errors = _unknown_query_errors(request, allowed=("type", "status", FIELDS_PARAM))
    job_type, status = query.get("type"), query.get("status")
    if not job_type:
        errors.append(x_responses.invalid("type", [], "The `type` query parameter can not be empty"))
    elif job_type not in JOB_TYPES:
        errors.append(
            x_responses.invalid(
                "type",
                [job_type],
                f"The `type` query parameter value [{job_type}] is not one of [tweets, users]",
            )
        )
    if status is not None and status not in STATUS_FILTERS:
        errors.append(
            x_responses.invalid(
                "status",
                [status],
                f"The `status` query parameter value [{status}] is not one of [{', '.join(STATUS_FILTERS)}]",
            )
        )
    if errors:
        return x_responses.invalid_request(errors)
    jobs = [job.to_wire(now) for job in emulator.store.of(token, job_type)]
    if status is not None:
        jobs = [job for job in jobs if job["status"] == status]
    body: dict[str, Any] = {"data": jobs} if jobs else {}  # an empty list omits "data" (spec: minItems 1)
    if emulator.config.list_meta:
        body["meta"] = {"result_count": len(jobs)}
    return x_responses.ok(body)


def _unknown_query_errors(request: web.Request, allowed: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        x_responses.invalid(
            name, [request.query[name]], f"The query parameter [{name}] is not one of [{', '.join(allowed)}]"
        )
        for name in request.query
        if name not in allowed
    ]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number" if isinstance(value, float) else "integer"
    return {dict: "object", list: "array", str: "string"}.get(type(value), "unknown")


def add_routes(app: web.Application) -> None:
    app.router.add_post("/2/compliance/jobs", x_endpoint("create", create_job))
    app.router.add_get("/2/compliance/jobs", x_endpoint("list", list_jobs))
    app.router.add_get("/2/compliance/jobs/{job_id}", x_endpoint("get", get_job))
