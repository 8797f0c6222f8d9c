"""The wire rules, as a table: which answer becomes which typed error, and which are retried."""

from __future__ import annotations

import json
from email.utils import formatdate

import pytest
import requests

from x_compliance.exceptions import (
    ConflictError,
    InvalidRequestError,
    JobFailedError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    StorageError,
    UnauthorizedError,
    XComplianceApiError,
)
from x_compliance.hooks.responses import api_payload, is_expired_token, storage_error
from x_compliance.hooks.retry import is_retryable

UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
INVALID = {
    "errors": [
        {"parameters": {"type": ["foo"]}, "message": "The `type` value [foo] is not one of [tweets, users]"}
    ],
    "title": "Invalid Request",
    "detail": "One or more parameters to your request was invalid.",
    "type": "https://api.twitter.com/2/problems/invalid-request",
}
NOT_FOUND = {
    "errors": [
        {
            "value": "123",
            "detail": "Could not find compliance_job with id: [123].",
            "title": "Not Found Error",
            "resource_type": "compliance_job",
            "parameter": "id",
            "resource_id": "123",
            "type": "https://api.twitter.com/2/problems/resource-not-found",
        }
    ]
}
CONFLICT = {
    "title": "Conflict",
    "detail": "You cannot create a new job if one is already in progress",
    "type": "https://api.twitter.com/2/problems/conflict",
    "status": 409,
}
CODE_88 = {"errors": [{"code": 88, "message": "Rate limit exceeded"}]}
PROBLEM_429 = {
    "title": "Too Many Requests",
    "type": "about:blank",
    "status": 429,
    "detail": "Too Many Requests",
}


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, UNAUTHORIZED, UnauthorizedError),
        (400, INVALID, InvalidRequestError),
        (200, NOT_FOUND, NotFoundError),
        (404, NOT_FOUND, NotFoundError),
        (409, CONFLICT, ConflictError),
        (429, CODE_88, RateLimitedError),
        (429, PROBLEM_429, RateLimitedError),
        (500, {}, ServerError),
        (503, {"title": "Service Unavailable"}, ServerError),
        (418, {"title": "Teapot"}, XComplianceApiError),
    ],
)
def test_answers_become_typed_errors(status, body, error):
    with pytest.raises(error) as exc:
        api_payload(status, {}, json.dumps(body).encode(), what="get job 123")
    assert "get job 123" in str(exc.value)


def test_invalid_request_keeps_x_message():
    with pytest.raises(InvalidRequestError) as exc:
        api_payload(400, {}, json.dumps(INVALID).encode(), what="create")
    assert exc.value.messages == ["The `type` value [foo] is not one of [tweets, users]"]


def test_rate_limit_wait_is_measured_by_the_server_clock():
    # The server clock says 1000; reset is at 1042: 42 s, whatever the local clock says.
    headers = {
        "x-rate-limit-limit": "5",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": "1042",
        "Date": formatdate(1000, usegmt=True),
    }
    with pytest.raises(RateLimitedError) as exc:
        api_payload(429, headers, json.dumps(CODE_88).encode(), what="get")
    assert exc.value.wait_seconds == 42
    assert exc.value.reset_at.timestamp() == 1042


def test_success_returns_the_body():
    assert api_payload(200, {}, b'{"data": {"id": "1"}}', what="x") == {"data": {"id": "1"}}
    assert api_payload(200, {}, b"{}", what="list") == {}


def test_storage_errors_read_gcs_xml():
    expired = storage_error(
        400, b"<Error><Code>ExpiredToken</Code><Details>gone</Details></Error>", what="up"
    )
    assert isinstance(expired, StorageError) and is_expired_token(expired)
    denied = storage_error(403, b"<Error><Code>SignatureDoesNotMatch</Code></Error>", what="up")
    assert isinstance(denied, StorageError) and not is_expired_token(denied)
    assert isinstance(storage_error(503, b"", what="up"), ServerError)


@pytest.mark.parametrize(
    ("exc", "retryable"),
    [
        (RateLimitedError("x", reset_at=None, wait_seconds=1), True),
        (ServerError("x", status=503), True),
        (requests.ConnectionError(), True),
        (requests.Timeout(), True),
        (ConnectionError("dropped"), True),
        (UnauthorizedError("x"), False),
        (InvalidRequestError("x"), False),
        (NotFoundError("x"), False),
        (ConflictError("x"), False),
        (StorageError("x", status=403), False),
        (JobFailedError("1", "bad"), False),
        (ValueError(), False),
    ],
)
def test_retry_rule(exc, retryable):
    assert is_retryable(exc) is retryable
