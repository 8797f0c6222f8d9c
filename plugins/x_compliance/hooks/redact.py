"""Keep the bearer token and signed URLs out of every log, at every level, in or out of a task.

Two layers: Airflow's secrets masker (task logs, the UI) gets every form of each signed URL
(:func:`mask_signed_url`), and a logging filter masks at the source, for any process.

Airflow's task-log masker only covers task logs. A user debugging the hook in a notebook with
``logging.basicConfig(level=logging.DEBUG)`` gets urllib3's request lines, which carry the
whole signed URL. So the hook masks at the source: a filter on the loggers of the HTTP
libraries it drives (and on its own) rewrites each record before any handler sees it, cutting
the credential parameters of signed URLs, ``Bearer`` values and every secret registered here.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import parse_qsl, urlsplit

from airflow.sdk.log import mask_secret

MASK = "***"
# Loggers that can see a URL or a header of ours. A filter on a logger applies to records made
# on that very logger, not to its children, so each is named.
LOGGERS = (
    "urllib3",
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.response",
    "urllib3.util.retry",
    "requests",
    "aiohttp",
    "aiohttp.client",
    "aiohttp.internal",
    "airflow.providers.http.hooks.http",
    "x_compliance.hooks.retry",
    "x_compliance.hooks.storage",
    "airflow.task.hooks.x_compliance.hooks.x_compliance.XComplianceHook",
)
_SIGNED = re.compile(
    r"((?:X-Goog-Signature|X-Goog-Credential|upload_id|Signature)=)[^&\s'\"<>]+", re.IGNORECASE
)
_BEARER = re.compile(r"(Bearer\s+)[^\s'\",}]+", re.IGNORECASE)
_MIN_SECRET = 8
_CREDENTIAL_PARAMS = frozenset({"X-Goog-Signature", "upload_id", "X-Goog-Credential"})


def redact(text: str, secrets: frozenset[str] = frozenset()) -> str:
    """``text`` without signed-URL credentials, ``Bearer`` values or any of ``secrets``."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return _BEARER.sub(rf"\g<1>{MASK}", _SIGNED.sub(rf"\g<1>{MASK}", text))


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (and drops its traceback text) when it holds a secret."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def add_secret(self, secret: str | None) -> None:
        if secret and len(secret) >= _MIN_SECRET:
            with self._lock:
                self._secrets = self._secrets | {secret}

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose args do not format: leave it to the handler
            return True
        clean = redact(message, self._secrets)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and record.exc_info[1] is not None:
            text = str(record.exc_info[1])
            if redact(text, self._secrets) != text:  # a transport error quoting a signed URL
                record.msg = f"{record.msg} ({type(record.exc_info[1]).__name__}, details redacted)"
                record.exc_info = record.exc_text = None
        return True


FILTER = RedactingFilter()
_installed = False


def install(secret: str | None = None) -> None:
    """Put :data:`FILTER` on every logger in :data:`LOGGERS` (once) and register ``secret``."""
    global _installed
    FILTER.add_secret(secret)
    if _installed:
        return
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if FILTER not in logger.filters:
            logger.addFilter(FILTER)
    _installed = True


def mask_signed_url(url: str) -> None:
    """Register a signed URL with Airflow's secrets masker in every form it can leak in.

    The full URL, its path-and-query (what HTTP libraries log at DEBUG) and each credential
    parameter on its own: the signature, the resumable session id.
    """
    if not url:
        return
    parts = urlsplit(url)
    mask_secret(url)
    mask_secret(f"{parts.path}?{parts.query}")
    for key, value in parse_qsl(parts.query):
        if key in _CREDENTIAL_PARAMS and len(value) >= 8:
            mask_secret(value)
