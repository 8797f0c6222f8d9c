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


def run_child(target: str, env: dict[str, str], **params: Any) -> dict[str, Any]:
    """Run ``module:function(**params)`` in a fresh interpreter; return its measurements."""
    with tempfile.TemporaryDirectory(prefix="xc-bench-child-") as scratch:
        params_file, out_file = Path(scratch) / "params.json", Path(scratch) / "out.json"
        params_file.write_text(json.dumps(params))
        command = [sys.executable, str(BENCH / "child.py"), target, str(params_file), str(out_file)]
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{target} failed:\n{redact(done.stderr[-4000:])}")
        return json.loads(out_file.read_text())
