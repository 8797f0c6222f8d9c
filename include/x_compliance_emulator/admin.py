"""The admin API under ``/_emulator/``: drive the emulator from another process.

No auth: it is for the demo, benchmarks and tests. It exposes what the in-process ``Emulator``
object does (clock, faults, stats, jobs, config, reset, fates) as small JSON endpoints.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from x_compliance_emulator.faults import Fault
from x_compliance_emulator.wire import emulator_of

PREFIX = "/_emulator"


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


def _bad(message: str) -> web.Response:
    return _json({"error": message}, status=400)


async def _object_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    body = json.loads(raw) if raw.strip() else {}
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


async def health(request: web.Request) -> web.Response:
    return _json({"status": "ok"})


async def get_clock(request: web.Request) -> web.Response:
    return _json({"now": emulator_of(request).clock.now()})


async def advance_clock(request: web.Request) -> web.Response:
    try:
        seconds = float((await _object_body(request)).get("advance", 0))
        now = emulator_of(request).clock.advance(seconds)
    except (ValueError, TypeError) as exc:
        return _bad(str(exc))
    return _json({"now": now})


async def list_faults(request: web.Request) -> web.Response:
    return _json({"faults": [f.to_json() for f in emulator_of(request).faults.pending()]})


async def add_fault(request: web.Request) -> web.Response:
    try:
        fault = Fault(**await _object_body(request))
    except (ValueError, TypeError) as exc:
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
    except (ValueError, TypeError) as exc:
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
        job_type, ids = str(body.get("type", "")), [str(i) for i in body.get("ids", [])]
    else:
        job_type = request.query.get("type", "")
        ids = [i for i in request.query.get("ids", "").split(",") if i]
    if not all(i.isdigit() for i in ids):
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
