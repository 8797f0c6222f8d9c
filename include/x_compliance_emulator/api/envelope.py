"""What happens around every X API call: stats, injected faults, auth, rate limit, headers.

Handlers only see authenticated, within-limit requests; everything a client can observe about
throttling (429s, x-rate-limit-* headers, the Date header) is decided here.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable

from aiohttp import web

from x_compliance_emulator.api import responses as x_responses
from x_compliance_emulator.api.ratelimit import Quota
from x_compliance_emulator.runtime.emulator import Emulator
from x_compliance_emulator.runtime.faults import REQUEST_KINDS, Fault
from x_compliance_emulator.runtime.wire import count_request, drop_connection, emulator_of, http_date

Handler = Callable[[web.Request, Emulator, str, float], Awaitable[web.Response]]
# An injected 429 says "retry in a moment" so that clients under test do not sleep 15 minutes.
INJECTED_RESET_SECONDS = 2
# The body, when the drop-fault path had to read it before the handler ran.
BODY = web.RequestKey("body", bytes)


def x_endpoint(endpoint: str, handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def serve(request: web.Request) -> web.Response:
        count_request(request, endpoint)
        return await _serve(request, emulator_of(request), endpoint, handler)

    return serve


async def _serve(request: web.Request, emulator: Emulator, endpoint: str, handler: Handler) -> web.Response:
    config = emulator.config
    fault = emulator.faults.take(REQUEST_KINDS, endpoint)
    if fault is not None and fault.kind == "slow":
        await asyncio.sleep(fault.seconds)
        fault = None
    now = emulator.clock.now()
    token = _bearer_token(request)
    limit, window = config.limit(endpoint), config.rate_limit_window_seconds
    if fault is not None and fault.kind == "drop":
        return await _dropped(request, emulator, endpoint, handler, fault, token)
    if fault is not None:
        return _finish(
            _injected(fault, config.rate_limit_body), _injected_quota(fault, limit, window, now), now
        )
    if token not in config.tokens:
        return _finish(
            x_responses.unauthorized(), emulator.limiter.peek(token, endpoint, limit, window, now), now
        )
    quota = emulator.limiter.hit(token, endpoint, limit, window, now)
    if not quota.allowed:
        return _finish(x_responses.rate_limited(config.rate_limit_body), quota, now)
    return _finish(await handler(request, emulator, token, now), quota, now)


def _bearer_token(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _finish(response: web.Response, quota: Quota, now: float) -> web.Response:
    response.headers.update(quota.headers())
    response.headers["Date"] = http_date(now)
    return response


def _injected(fault: Fault, configured_form: str) -> web.Response:
    if fault.kind == "http_429":
        return x_responses.rate_limited(fault.body or configured_form)
    return x_responses.server_error(500 if fault.kind == "http_500" else 503, fault.body)


def _injected_quota(fault: Fault, limit: int, window: float, now: float) -> Quota:
    if fault.kind == "http_429":
        return Quota(False, limit, 0, math.ceil(now + min(window, INJECTED_RESET_SECONDS)))
    return Quota(True, limit, limit, math.ceil(now + window))


async def _dropped(
    request: web.Request, emulator: Emulator, endpoint: str, handler: Handler, fault: Fault, token: str
) -> web.Response:
    # Cut inside the request body: the call never happened. Cut after it: the call happened
    # (a job may now exist) but its response is lost, the nastier case for a retrying client.
    body = await _read_up_to(request, fault.after_bytes)
    if request.content.at_eof() and token in emulator.config.tokens:
        now = emulator.clock.now()
        config = emulator.config
        limit, window = config.limit(endpoint), config.rate_limit_window_seconds
        if emulator.limiter.hit(token, endpoint, limit, window, now).allowed:
            request[BODY] = body
            await handler(request, emulator, token, now)
    return drop_connection(request)


async def _read_up_to(request: web.Request, limit: int) -> bytes:
    chunks, received = [], 0
    while received < limit and not request.content.at_eof():
        chunk = await request.content.read(limit - received)
        if not chunk:
            break
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)


async def request_body(request: web.Request) -> bytes:
    """The request body, also when the drop-fault path already read it."""
    return request[BODY] if BODY in request else await request.read()
