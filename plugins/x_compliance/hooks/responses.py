"""Turn X's HTTP answers into payloads or typed errors, the same way for sync and async calls.

Transport-free on purpose: the sync hook (requests) and the async path (aiohttp) both hand
over status, headers and body bytes, so every wire rule is written and tested once.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from x_compliance.exceptions import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    StorageError,
    UnauthorizedError,
    XComplianceApiError,
)

NOT_FOUND_TYPE = "https://api.twitter.com/2/problems/resource-not-found"
CONFLICT_TYPE = "https://api.twitter.com/2/problems/conflict"


@dataclass(frozen=True)
class RateLimit:
    """The ``x-rate-limit-*`` headers of one response, with the server's clock to measure by.

    ``seconds_to_reset`` uses the response's ``Date`` header rather than the local clock, so a
    skewed worker clock (or the emulator's advanced one) cannot make a poller too eager.
    """

    limit: int
    remaining: int
    reset_epoch: float
    server_epoch: float

    @property
    def seconds_to_reset(self) -> float:
        return max(0.0, self.reset_epoch - self.server_epoch)

    @property
    def reset_at(self) -> datetime:
        return datetime.fromtimestamp(self.reset_epoch, tz=UTC)

    def to_json(self) -> dict[str, Any]:
        """The headers as plain JSON for XCom and trigger kwargs, the reset on this machine's clock
        (``reset_in`` from ``seen_at``), so that a reader elsewhere needs no server ``Date``."""
        return {
            "limit": self.limit,
            "remaining": self.remaining,
            "seen_at": round(time.time(), 3),
            "reset_in": round(self.seconds_to_reset, 3),
        }

    @classmethod
    def from_json(cls, value: Any) -> RateLimit | None:
        """Headers read back from :meth:`to_json`, as now (the reset nearer by the time since);
        ``None`` for anything unreadable, or a window that has reset since: nothing known of it."""
        if not isinstance(value, dict):
            return None
        try:
            reset_epoch = float(value["seen_at"]) + float(value["reset_in"])
            known = cls(int(value["limit"]), int(value["remaining"]), reset_epoch, time.time())
        except (KeyError, TypeError, ValueError):
            return None
        return known if known.seconds_to_reset > 0 else None


def server_epoch(headers: Mapping[str, str]) -> float:
    """The server's 'now' from its ``Date`` header, or the local clock when there is none."""
    date = headers.get("Date") or headers.get("date")
    if date:
        try:
            return parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            pass
    return time.time()


def rate_limit_of(headers: Mapping[str, str]) -> RateLimit | None:
    try:
        return RateLimit(
            limit=int(headers["x-rate-limit-limit"]),
            remaining=int(headers["x-rate-limit-remaining"]),
            reset_epoch=float(headers["x-rate-limit-reset"]),
            server_epoch=server_epoch(headers),
        )
    except (KeyError, ValueError):
        return None


def _json(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        return {"detail": body[:200].decode("utf-8", "replace")}
    return parsed if isinstance(parsed, dict) else {"detail": repr(parsed)[:200]}


def _messages(payload: dict[str, Any]) -> list[str]:
    """X's explanations, from either error form (``errors[]`` or the problem's ``detail``)."""
    out = []
    for err in payload.get("errors") or []:
        if isinstance(err, dict):
            out.append(str(err.get("message") or err.get("detail") or err.get("title") or err))
    if not out and payload.get("detail"):
        out.append(str(payload["detail"]))
    return out


def _is_not_found(payload: dict[str, Any]) -> bool:
    return any(
        isinstance(err, dict) and (err.get("type") == NOT_FOUND_TYPE or err.get("title") == "Not Found Error")
        for err in payload.get("errors") or []
    )


def api_payload(status: int, headers: Mapping[str, str], body: bytes, *, what: str) -> dict[str, Any]:
    """Return the JSON body of a successful API call, or raise the typed error it means.

    ``what`` names the call for the error message (e.g. ``"get job 123"``).
    """
    payload = _json(body)
    messages = _messages(payload)
    said = "; ".join(messages) or payload.get("title") or f"HTTP {status}"
    if status == 200 and "data" not in payload and _is_not_found(payload):
        # v2 style: HTTP 200 carrying only `errors` (the facts file; also accepted as HTTP 404).
        raise NotFoundError(f"{what}: not found ({said})", status=404, detail=said)
    if 200 <= status < 300:
        return payload
    if status == 401:
        raise UnauthorizedError(
            f"{what}: X refused the bearer token (HTTP 401); check the connection's token",
            status=status,
            detail=said,
        )
    if status == 400:
        raise InvalidRequestError(f"{what}: invalid request: {said}", status=status, messages=messages)
    if status == 404 or _is_not_found(payload):
        raise NotFoundError(f"{what}: not found ({said})", status=status, detail=said)
    if status == 409 or payload.get("type") == CONFLICT_TYPE:
        raise ConflictError(f"{what}: {said}", status=status, detail=said)
    if status == 429:
        # Both documented 429 bodies ({"errors":[{"code":88,...}]} and the problem form) land here.
        limit = rate_limit_of(headers)
        wait = limit.seconds_to_reset if limit else 60.0
        raise RateLimitedError(
            f"{what}: rate limited by X ({said}); window resets in {wait:.0f}s",
            status=status,
            detail=said,
            reset_at=limit.reset_at if limit else None,
            wait_seconds=wait,
        )
    if status >= 500:
        raise ServerError(f"{what}: X answered HTTP {status} ({said})", status=status, detail=said)
    raise XComplianceApiError(f"{what}: X answered HTTP {status} ({said})", status=status, detail=said)


_XML_CODE = re.compile(rb"<Code>([^<]*)</Code>")
_XML_DETAILS = re.compile(rb"<Details>([^<]*)</Details>")


def storage_error(status: int, body: bytes, *, what: str) -> Exception:
    """The error a signed-URL request answered with (Google Cloud Storage's XML error form).

    Returned, not raised, so callers can pick the expiry error that fits (upload or download).
    """
    code_match = _XML_CODE.search(body or b"")
    code = code_match.group(1).decode() if code_match else None
    details_match = _XML_DETAILS.search(body or b"")
    details = details_match.group(1).decode() if details_match else (code or f"HTTP {status}")
    if status == 429 or status >= 500:
        return ServerError(f"{what}: storage answered HTTP {status} ({details})", status=status)
    return StorageError(f"{what}: storage answered HTTP {status} ({details})", status=status, code=code)


def is_expired_token(error: Exception) -> bool:
    return isinstance(error, StorageError) and error.code == "ExpiredToken"
