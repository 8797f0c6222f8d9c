"""Plumbing shared by the driver: the environment children run in, and running one child.

Children get a throwaway AIRFLOW_HOME and their connections as ``AIRFLOW_CONN_*`` variables,
so nothing here touches a real Airflow installation or its metadata database.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
_SIGNED_QUERY = re.compile(r"\?[^\s'\"]*X-Goog[^\s'\"]*")


def child_env(airflow_home: Path, warehouse: str | None, extra: dict[str, str]) -> dict[str, str]:
    """``warehouse``: the warehouse connection as an ``AIRFLOW_CONN_*`` JSON value, if any."""
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(airflow_home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
        # This tree's code first: the venv's editable install points at whichever checkout made
        # it, so without this a bench run in a worktree measures another tree's provider.
        PYTHONPATH=os.pathsep.join(str(BENCH.parent / d) for d in ("plugins", "include", "bench")),
        **extra,
    )
    if warehouse is not None:
        env["AIRFLOW_CONN_WAREHOUSE_DEFAULT"] = warehouse
    return env


def redact(text: str) -> str:
    """Signed URLs are credentials: cut their query before any text is shown."""
    return _SIGNED_QUERY.sub("?***", text)


def run_child(
    target: str, env: dict[str, str], *, python: str | None = None, **params: Any
) -> dict[str, Any]:
    """Run ``module:function(**params)`` in a fresh interpreter (``python``: another venv's,
    e.g. the bench's own with tools that are no dependency); return its measurements."""
    with tempfile.TemporaryDirectory(prefix="xc-bench-child-") as scratch:
        params_file, out_file = Path(scratch) / "params.json", Path(scratch) / "out.json"
        params_file.write_text(json.dumps(params))
        command = [python or sys.executable, str(BENCH / "child.py"), target, str(params_file), str(out_file)]
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{target} failed:\n{redact(done.stderr[-4000:])}")
        return json.loads(out_file.read_text())


class Runner:
    """Runs children while reading the emulator's CPU, so each result carries both.

    Before each child, the dirty pages of what ran before (copies of the warehouse, ID and
    results files) are written out: otherwise whoever runs next pays for the kernel writing
    back the last one's gigabyte (a download after the copies measured 2x curl's, which ran
    a moment later on a quieter disk)."""

    def __init__(self, emu: Any, env: dict[str, str]) -> None:
        self.emu, self.env = emu, env

    def __call__(self, target: str, env: dict[str, str] | None = None, **params) -> dict:
        os.sync()
        before = self.emu.cpu_seconds()
        result = run_child(target, env or self.env, **params)
        result["emulator_cpu_s"] = round(self.emu.cpu_seconds() - before, 3)
        seconds, rss = result["seconds"], result["peak_rss_mb"]
        print(f"  {target:<16} {seconds:8.2f} s  peak RSS {rss:7.1f} MB", flush=True)
        return result
