"""The one retry rule of every call to X and its storage, shared by sync and async paths.

Retry what time can fix: 429 (wait until X's window resets, bounded), 5xx and broken
connections (exponential backoff with jitter). Never retry other 4xx: they will not change.
A failed call is told by :func:`error_text`, here and in every wait.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import requests
import tenacity

from x_compliance.exceptions import RateLimitedError, ServerError, XComplianceError

log = logging.getLogger(__name__)

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ServerError,
    RateLimitedError,
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    aiohttp.ClientConnectionError,
    aiohttp.ClientPayloadError,
    asyncio.TimeoutError,
    ConnectionError,
)


def is_retryable(exc: BaseException) -> bool:
    """True for errors that a later attempt can succeed after."""
    return isinstance(exc, TRANSIENT_ERRORS)


def error_text(exc: BaseException) -> str:
    """How an error is told in logs, events and messages: our own errors in full (they never
    carry a URL), any other only by its class (its message may quote a signed URL, a credential)."""
    return str(exc) if isinstance(exc, XComplianceError) else type(exc).__name__


class WaitForRateLimitOrBackoff(tenacity.wait.wait_base):
    """After a 429 wait until the window resets (+1 s, at most ``max_rate_limit_wait``);
    after anything else back off exponentially with jitter."""

    def __init__(self, max_rate_limit_wait: float, backoff_max: float) -> None:
        self.max_rate_limit_wait = max_rate_limit_wait
        self.backoff = tenacity.wait_exponential_jitter(multiplier=0.5, max=backoff_max)

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, RateLimitedError):
            return min(exc.wait_seconds + 1.0, self.max_rate_limit_wait)
        return self.backoff(retry_state)


def _log_before_sleep(retry_state: tenacity.RetryCallState) -> None:
    exc = retry_state.outcome.exception() if retry_state.outcome else None
    wait = retry_state.next_action.sleep if retry_state.next_action else 0
    why = error_text(exc) if exc is not None else "no answer"
    log.warning("Attempt %d failed (%s); retrying in %.1fs", retry_state.attempt_number, why, wait)


def retry_policy(
    *, max_attempts: int = 6, max_rate_limit_wait: float = 905.0, backoff_max: float = 30.0
) -> dict[str, Any]:
    """Keyword arguments for ``tenacity.Retrying`` and ``tenacity.AsyncRetrying`` alike."""
    return {
        "retry": tenacity.retry_if_exception(is_retryable),
        "wait": WaitForRateLimitOrBackoff(max_rate_limit_wait, backoff_max),
        "stop": tenacity.stop_after_attempt(max_attempts),
        "before_sleep": _log_before_sleep,
        "reraise": True,
    }
