"""A tiny client for the admin API, for demos, benchmarks and tests in another process.

Standard library only (urllib), so anything that can reach the emulator can drive it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from typing import Any

# Beyond this many IDs the query string would pass aiohttp's 8 KiB request-line limit.
MAX_IDS_IN_URL = 200


class EmulatorAdminError(RuntimeError):
    pass


class EmulatorAdmin:
    """The admin API of the emulator at ``base_url``, authenticated with its admin token (the
    ``--admin-token`` it was started with, or the one it printed at start-up)."""

    def __init__(self, base_url: str, admin_token: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {admin_token}"}
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"EmulatorAdmin({self.base_url!r})"  # never the token

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.base_url}/_emulator{path}",
            data=data,
            method=method,
            headers={**self._headers, **({"Content-Type": "application/json"} if data is not None else {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise EmulatorAdminError(
                f"{method} {path}: HTTP {exc.code}: {exc.read().decode(errors='replace')}"
            ) from exc

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")

    def now(self) -> float:
        return self._call("GET", "/clock")["now"]

    def advance(self, seconds: float) -> float:
        return self._call("POST", "/clock", {"advance": seconds})["now"]

    def add_fault(self, **fault: Any) -> dict[str, Any]:
        return self._call("POST", "/faults", fault)["fault"]

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "/faults")["faults"]

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/stats")

    def jobs(self) -> list[dict[str, Any]]:
        return self._call("GET", "/jobs")["jobs"]

    def config(self) -> dict[str, Any]:
        return self._call("GET", "/config")

    def patch_config(self, **changes: Any) -> dict[str, Any]:
        return self._call("PATCH", "/config", changes)

    def reset(self) -> None:
        self._call("POST", "/reset")

    def fates(self, job_type: str, ids: Iterable[int | str]) -> dict[str, str | None]:
        id_list = [str(i) for i in ids]
        if len(id_list) > MAX_IDS_IN_URL:
            return self._call("POST", "/fates", {"type": job_type, "ids": id_list})
        query = urllib.parse.urlencode({"type": job_type, "ids": ",".join(id_list)})
        return self._call("GET", f"/fates?{query}")
