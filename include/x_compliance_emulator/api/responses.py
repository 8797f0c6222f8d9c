"""The exact bodies and headers the X API answers with, one builder per case.

Shapes follow the recorded traffic and X's v2 error conventions; see README for which ones are
confirmed and which are the emulator's best reading.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

API_VERSION = "2.27"  # what the 2021 recording carried
JSON = "application/json; charset=utf-8"
PROBLEM = "application/problem+json"
INVALID_REQUEST_TYPE = "https://api.twitter.com/2/problems/invalid-request"
NOT_FOUND_TYPE = "https://api.twitter.com/2/problems/resource-not-found"
CONFLICT_TYPE = "https://api.twitter.com/2/problems/conflict"


def _respond(body: dict[str, Any], status: int, content_type: str) -> web.Response:
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(),
        status=status,
        headers={"content-type": content_type, "api-version": API_VERSION},
    )


def ok(body: dict[str, Any]) -> web.Response:
    return _respond(body, 200, JSON)


def problem(status: int, title: str, detail: str, problem_type: str = "about:blank") -> web.Response:
    return _respond(
        {"title": title, "detail": detail, "type": problem_type, "status": status}, status, PROBLEM
    )


def unauthorized() -> web.Response:
    return _respond(
        {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"},
        401,
        PROBLEM,
    )


def invalid_request(errors: list[dict[str, Any]]) -> web.Response:
    body = {
        "errors": errors,
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": INVALID_REQUEST_TYPE,
    }
    return _respond(body, 400, JSON)


def invalid(parameter: str | None, values: list[str], message: str) -> dict[str, Any]:
    """One entry of an invalid-request ``errors`` list."""
    return {"parameters": {parameter: values} if parameter else {}, "message": message}


def not_found(job_id: str) -> web.Response:
    # v2 reports a missing resource as HTTP 200 with only "errors" (no "data").
    error = {
        "value": job_id,
        "detail": f"Could not find compliance_job with id: [{job_id}].",
        "title": "Not Found Error",
        "resource_type": "compliance_job",
        "parameter": "id",
        "resource_id": job_id,
        "type": NOT_FOUND_TYPE,
    }
    return _respond({"errors": [error]}, 200, JSON)


def conflict() -> web.Response:
    return problem(
        409, "Conflict", "You cannot create a new job if one is already in progress", CONFLICT_TYPE
    )


def rate_limited(form: str) -> web.Response:
    """429 in one of the two documented forms: ``code88`` (v1.1 style) or ``problem``; else a raw body."""
    if form == "code88":
        return _respond({"errors": [{"code": 88, "message": "Rate limit exceeded"}]}, 429, JSON)
    if form == "problem":
        return problem(429, "Too Many Requests", "Too Many Requests")
    return web.Response(
        body=form.encode(), status=429, headers={"content-type": JSON, "api-version": API_VERSION}
    )


def server_error(status: int, raw_body: str | None) -> web.Response:
    if raw_body is not None:
        return web.Response(body=raw_body.encode(), status=status, headers={"content-type": JSON})
    title = "Internal Server Error" if status == 500 else "Service Unavailable"
    return problem(status, title, title)
