"""Small HTTP helpers shared by the X API, storage and admin handlers.

Where the emulator lives in the aiohttp app, the Date header from the emulator clock, and how a
connection is cut on purpose so that the client sees a network error rather than a response.
"""

from __future__ import annotations

import json
from email.utils import formatdate

from aiohttp import web

from x_compliance_emulator.runtime.emulator import Emulator
from x_compliance_emulator.runtime.stats import DROPPED

EMULATOR = web.AppKey("emulator", Emulator)
ENDPOINT = web.RequestKey("endpoint", str)
DROPPING = web.RequestKey("dropping", bool)


def emulator_of(request: web.Request) -> Emulator:
    return request.app[EMULATOR]


def http_date(epoch: float) -> str:
    # From the emulator clock, so that reset minus Date stays meaningful after clock.advance().
    return formatdate(epoch, usegmt=True)


def count_request(request: web.Request, endpoint: str) -> None:
    request[ENDPOINT] = endpoint
    emulator_of(request).counters.request(endpoint)


async def count_response(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """Counts a response as its headers go out (aiohttp's on_response_prepare signal): before the
    client can see any of it, so a client that reads stats right after a call sees that call."""
    endpoint = request.get(ENDPOINT)
    if endpoint is not None and not request.get(DROPPING):
        emulator_of(request).counters.response(endpoint, response.status)  # type: ignore[arg-type]


def expect_drop(request: web.Request) -> None:
    """Mark a response that will be cut short, so it counts as dropped, not as its status."""
    request[DROPPING] = True


def drop_connection(request: web.Request) -> web.Response:
    """Abort the TCP connection. The returned response is never sent: aiohttp finds the transport
    gone when it tries, and treats it as a client disconnect (quietly)."""
    endpoint = request.get(ENDPOINT)
    if endpoint is not None:
        emulator_of(request).counters.response(endpoint, DROPPED)
    expect_drop(request)
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=499)


def base_url(request: web.Request) -> str:
    """The scheme and host the client used, so signed URLs point back at a reachable address."""
    return f"{request.scheme}://{request.host}"


def parse_json_object(raw: bytes) -> dict:
    """A request body as a JSON object, or ``ValueError`` saying why not: bad JSON, bad UTF-8, a
    nesting too deep to parse (``RecursionError``) or another shape. Callers answer 400."""
    try:
        body = json.loads(raw) if raw.strip() else {}
    except RecursionError:
        raise ValueError("Request body is nested too deeply") from None
    except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
        raise ValueError("Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ValueError("Request body is not a valid JSON object")
    return body
