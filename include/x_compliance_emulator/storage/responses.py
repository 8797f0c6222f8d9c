"""The XML error documents Google Cloud Storage answers signed-URL requests with.

Codes, messages and statuses are GCS's own (XML API), since X's signed URLs point at GCS.
"""

from __future__ import annotations

import time

from aiohttp import web

XML = "application/xml; charset=UTF-8"
PROLOG = "<?xml version='1.0' encoding='UTF-8'?>"


def error(status: int, code: str, message: str, details: str | None = None) -> web.Response:
    detail = f"<Details>{details}</Details>" if details else ""
    body = f"{PROLOG}<Error><Code>{code}</Code><Message>{message}</Message>{detail}</Error>"
    return web.Response(body=body.encode(), status=status, headers={"content-type": XML})


def signature_mismatch() -> web.Response:
    return error(
        403,
        "SignatureDoesNotMatch",
        "Access denied.",
        "The request signature we calculated does not match the signature you provided. "
        "Check your Google secret key and signing method.",
    )


def access_denied(permission: str) -> web.Response:
    return error(
        403,
        "AccessDenied",
        "Access denied.",
        f"Anonymous caller does not have {permission} access to the Google Cloud Storage object.",
    )


def expired(expired_at: float) -> web.Response:
    # GCS answers an expired signed URL with 400 (not 403) and this code.
    at = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(expired_at))
    return error(
        400,
        "ExpiredToken",
        "Invalid argument.",
        f"The provided token has expired. Request signature expired at: {at}",
    )


def no_such_key() -> web.Response:
    return error(404, "NoSuchKey", "The specified key does not exist.")


def no_such_upload() -> web.Response:
    return error(404, "NoSuchUpload", "The requested upload was not found.")


def invalid_argument(details: str) -> web.Response:
    return error(400, "InvalidArgument", "Invalid argument.", details)


def invalid_range(size: int) -> web.Response:
    response = error(416, "InvalidRange", "The requested range cannot be satisfied.")
    response.headers["Content-Range"] = f"bytes */{size}"
    return response


def injected(status: int, raw_body: str | None) -> web.Response:
    """Bodies for injected 429/500/503 on storage requests."""
    if raw_body is not None:
        return web.Response(body=raw_body.encode(), status=status, headers={"content-type": XML})
    if status == 429:
        return error(429, "SlowDown", "Please reduce your request rate.")
    if status == 503:
        return error(503, "ServiceUnavailable", "We encountered an internal error. Please try again.")
    return error(500, "InternalError", "We encountered an internal error. Please try again.")
