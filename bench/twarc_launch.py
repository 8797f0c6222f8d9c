"""Run twarc2's own command line against the emulator, with twarc itself untouched.

Run by the twarc venv's interpreter in isolated mode (``python -I``, so this folder, whose
``twarc.py`` is the bench's, is not on ``sys.path``)::

    python -I twarc_launch.py EMULATOR_URL TIMINGS_JSON TWARC2_ARG...

Every ``requests.Session`` gets a transport adapter mounted for ``https://api.twitter.com/``
that sends each request to the emulator's base URL instead (same path and query, plain HTTP),
and notes when each API call went out and came back. twarc's module-level ``requests.put`` /
``requests.get`` of the signed URLs make sessions of their own: they get the adapter too, but
those URLs already point at the emulator, so it never sees them. Then the console script
``twarc2`` runs as installed, with these arguments; its exit code is this process's.
"""

import json
import sys
import time

STARTED = time.time()

from importlib.metadata import entry_points, version  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

import requests  # noqa: E402
from requests.adapters import HTTPAdapter  # noqa: E402

X_API = "https://api.twitter.com/"


class EmulatorAdapter(HTTPAdapter):
    """Sends what twarc addresses to X's API to the emulator, and records each call."""

    def __init__(self, base_url: str, calls: list) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/") + "/"
        self.calls = calls

    def send(self, request, **kwargs):
        request.url = self.base_url + request.url[len(X_API) :]
        kwargs["proxies"] = {}  # any proxy was chosen for X's host, not for the emulator's
        sent = time.time()
        response = super().send(request, **kwargs)
        self.calls.append(
            {
                "method": request.method,
                "path": urlsplit(request.url).path,
                "status": response.status_code,
                "sent": sent,
                "answered": time.time(),
            }
        )
        return response


def mount_on_every_session(base_url: str, calls: list) -> None:
    original_init = requests.Session.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self.mount(X_API, EmulatorAdapter(base_url, calls))

    requests.Session.__init__ = init


def main() -> int:
    base_url, timings_path, *args = sys.argv[1:]
    calls: list = []
    mount_on_every_session(base_url, calls)
    (script,) = entry_points(group="console_scripts", name="twarc2")
    twarc2 = script.load()  # what the installed ``twarc2`` script calls
    imported = time.time()
    sys.argv = ["twarc2", *args]
    code = 0
    try:
        twarc2()
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    finally:
        timings = {
            "started": STARTED,
            "imported": imported,
            "ended": time.time(),
            "entry_point": script.value,
            "twarc_version": version("twarc"),
            "requests_version": version("requests"),
            "api_calls": calls,
        }
        with open(timings_path, "w") as fh:
            json.dump(timings, fh)
    return code


if __name__ == "__main__":
    sys.exit(main())
