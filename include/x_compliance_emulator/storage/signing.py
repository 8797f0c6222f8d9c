"""Signed storage URLs in the shape of Google Cloud Storage V4 signing, and their verification.

Like GCS, the signature covers the HTTP method, the path, every query parameter but the
signature itself, and the signed headers (``host``, plus ``content-type`` for uploads). The key is
an HMAC key derived from the emulator seed, so a URL is a credential only for this emulator.
"""

from __future__ import annotations

import calendar
import enum
import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlencode

ALGORITHM = "GOOG4-HMAC-SHA256"
SERVICE_ACCOUNT = "complianceapi-emulator@x-compliance-emulator.iam.gserviceaccount.com"
SIGNATURE = "X-Goog-Signature"
# Query parameters that are not part of what was signed: the signature itself, and the session
# id GCS appends to a resumable upload URL.
UNSIGNED_PARAMS = frozenset({SIGNATURE, "upload_id"})


class Verdict(enum.Enum):
    OK = "ok"
    MISSING = "missing"
    MISMATCH = "mismatch"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Check:
    verdict: Verdict
    expired_at: float = 0.0


def goog_date(epoch: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(epoch))


def parse_goog_date(text: str) -> float:
    return float(calendar.timegm(time.strptime(text, "%Y%m%dT%H%M%SZ")))


class Signer:
    def __init__(self, seed: int) -> None:
        self._key = hashlib.sha256(f"x-compliance-emulator/hmac/{seed}".encode()).digest()

    def sign(self, method: str, path: str, params: Mapping[str, str], headers: Mapping[str, str]) -> str:
        canonical_query = "&".join(
            f"{quote(k, safe='')}={quote(v, safe='')}"
            for k, v in sorted(params.items())
            if k not in UNSIGNED_PARAMS
        )
        canonical_headers = "".join(f"{name}:{headers[name].strip()}\n" for name in sorted(headers))
        canonical_request = "\n".join(
            [
                method.upper(),
                path,
                canonical_query,
                canonical_headers,
                ";".join(sorted(headers)),
                "UNSIGNED-PAYLOAD",
            ]
        )
        return hmac.new(self._key, canonical_request.encode(), hashlib.sha256).hexdigest()

    def signed_url(
        self,
        base_url: str,
        path: str,
        method: str,
        headers: Mapping[str, str],
        signed_at: float,
        expires: int,
    ) -> str:
        date = goog_date(signed_at)
        params = {
            "X-Goog-Algorithm": ALGORITHM,
            "X-Goog-Credential": f"{SERVICE_ACCOUNT}/{date[:8]}/auto/storage/goog4_request",
            "X-Goog-Date": date,
            "X-Goog-Expires": str(int(expires)),
            "X-Goog-SignedHeaders": ";".join(sorted(headers)),
        }
        params[SIGNATURE] = self.sign(method, path, params, headers)
        return f"{base_url}{path}?{urlencode(params, quote_via=quote)}"

    def verify(
        self,
        method: str,
        path: str,
        params: Mapping[str, str],
        request_headers: Mapping[str, str],
        now: float,
    ) -> Check:
        """Check a request against its URL's signature, then its expiry (X-Goog-Date + X-Goog-Expires)."""
        if any(name not in params for name in ("X-Goog-Signature", "X-Goog-Date", "X-Goog-Expires")):
            return Check(Verdict.MISSING)
        signed_names = [h for h in params.get("X-Goog-SignedHeaders", "").split(";") if h]
        headers = {name: request_headers.get(name, "") for name in signed_names}
        expected = self.sign(method, path, params, headers)
        if not hmac.compare_digest(expected, params[SIGNATURE]):
            return Check(Verdict.MISMATCH)
        try:
            expires_at = parse_goog_date(params["X-Goog-Date"]) + int(params["X-Goog-Expires"])
        except ValueError:
            return Check(Verdict.MISMATCH)
        if now > expires_at:
            return Check(Verdict.EXPIRED, expires_at)
        return Check(Verdict.OK)
