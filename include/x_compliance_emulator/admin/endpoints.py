"""The admin API under ``/_emulator/``: drive the emulator from another process.

It exposes what the in-process ``Emulator`` object does (clock, faults, stats, jobs, config,
reset, fates) as small JSON endpoints, each behind the admin token (:func:`require_admin`, a
middleware: a route added here later is covered without a line of its own). Bad input gets
400 in X's own error shape, never 500.
"""

from __future__ import annotations

import hmac
import math
from typing import Any

from aiohttp import web

from x_compliance_emulator.api import responses as x_responses
from x_compliance_emulator.runtime.faults import Fault
from x_compliance_emulator.runtime.wire import emulator_of, parse_json_object

PREFIX = "/_emulator"


@web.middleware
async def require_admin(request: web.Request, handler: Any) -> web.StreamResponse:
    """Every path under :data:`PREFIX` needs ``Authorization: Bearer <admin token>``: 401
    without credentials, 403 with the wrong ones (a bearer token of the X API included)."""
    if request.path == PREFIX or request.path.startswith(PREFIX + "/"):
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            return x_responses.unauthorized()
        expected = emulator_of(request).config.admin_token
        if not hmac.compare_digest(given.strip().encode(), expected.encode()):
            return x_responses.problem(403, "Forbidden", "This token may not use the emulator's admin API")
    return await handler(request)


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


def _bad(message: str) -> web.Response:
    return x_responses.invalid_request([x_responses.invalid(None, [], message)])


async def _object_body(request: web.Request) -> dict[str, Any]:
    return parse_json_object(await request.read())


async def health(request: web.Request) -> web.Response:
    return _json({"status": "ok"})


async def get_clock(request: web.Request) -> web.Response:
    return _json({"now": emulator_of(request).clock.now()})


async def advance_clock(request: web.Request) -> web.Response:
    try:
        seconds = (await _object_body(request)).get("advance", 0)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds):
            raise ValueError("advance must be a finite number of seconds")
        if seconds < 0:
            raise ValueError("advance must be >= 0: the clock never goes back")
        now = emulator_of(request).clock.advance(float(seconds))
    except (ValueError, TypeError) as exc:
        return _bad(str(exc))
    return _json({"now": now})


async def list_faults(request: web.Request) -> web.Response:
    return _json({"faults": [f.to_json() for f in emulator_of(request).faults.pending()]})


async def add_fault(request: web.Request) -> web.Response:
    try:
        fault = Fault(**await _object_body(request))
    except (ValueError, TypeError, OverflowError) as exc:
        return _bad(str(exc))
    emulator_of(request).faults.add(fault)
    return _json({"fault": fault.to_json()}, status=201)


async def clear_faults(request: web.Request) -> web.Response:
    emulator_of(request).faults.clear()
    return _json({"faults": []})


async def stats(request: web.Request) -> web.Response:
    return _json(emulator_of(request).stats)


async def jobs(request: web.Request) -> web.Response:
    return _json({"jobs": emulator_of(request).jobs()})


async def get_config(request: web.Request) -> web.Response:
    return _json(emulator_of(request).config.to_json())


async def patch_config(request: web.Request) -> web.Response:
    config = emulator_of(request).config
    try:
        config.update(**await _object_body(request))
    except (ValueError, TypeError, OverflowError) as exc:
        return _bad(str(exc))
    return _json(config.to_json())


async def reset(request: web.Request) -> web.Response:
    emulator_of(request).reset()
    return _json({"reset": True})


async def fates(request: web.Request) -> web.Response:
    """GET ?type=tweets&ids=1,2,3, or POST {"type": ..., "ids": [...]} for lists too long for a URL."""
    emulator = emulator_of(request)
    if request.method == "POST":
        try:
            body = await _object_body(request)
        except ValueError as exc:
            return _bad(str(exc))
        raw_ids = body.get("ids", [])
        if not isinstance(raw_ids, list):
            return _bad("ids must be a list of digit strings")
        job_type, ids = str(body.get("type", "")), [str(i) for i in raw_ids]
    else:
        job_type = request.query.get("type", "")
        ids = [i for i in request.query.get("ids", "").split(",") if i]
    if not all(i.isascii() and i.isdigit() and len(i) <= 20 for i in ids):
        return _bad("ids must be a comma-separated list of digit strings")
    try:
        model = emulator.fate_model(job_type)
    except ValueError as exc:
        return _bad(str(exc))
    return _json({i: model.reason(int(i)) for i in ids})


def add_routes(app: web.Application) -> None:
    routes = [
        ("GET", "/health", health),
        ("GET", "/clock", get_clock),
        ("POST", "/clock", advance_clock),
        ("GET", "/faults", list_faults),
        ("POST", "/faults", add_fault),
        ("DELETE", "/faults", clear_faults),
        ("GET", "/stats", stats),
        ("GET", "/jobs", jobs),
        ("GET", "/config", get_config),
        ("PATCH", "/config", patch_config),
        ("POST", "/reset", reset),
        ("GET", "/fates", fates),
        ("POST", "/fates", fates),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, PREFIX + path, handler)
