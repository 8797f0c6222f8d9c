"""`make test-compat`: the provider on every Airflow minor release it supports, side by side.

For each ``constraints/airflow-X.Y.txt`` (the latest patch of that minor, pinned the way Airflow
publishes its constraints): a venv built from it with uv (cached outside the tree, rebuilt when
the file changes), the provider installed from this working tree against the same constraints,
then the hook, operator, sensor and trigger tests, the plugin check, both example DAGs and a
user's DAG end to end with ``airflow dags test`` (``tests/compat/check.py``). Airflow 3.3 is the
main suite's (``make test``, ``constraints.txt``); ``3.3`` given here runs this set on it too.

``--ci`` is CI's selection (``make test-all``): on every minor, 3.3 included, the plugin and the
user's DAG; on 3.1 and 3.2 the version-sensitive tests too (``CI_TESTS``). The rest of the set
is the main suite's on 3.3, and ``make test-compat``'s on every minor.

    .venv/bin/python tests/compat/run.py            # every minor with a constraints file
    .venv/bin/python tests/compat/run.py 3.1 --jobs 1
    .venv/bin/python tests/compat/run.py --ci
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = ROOT / "constraints"
CACHE = Path(os.environ.get("X_COMPLIANCE_COMPAT_CACHE", Path.home() / ".cache" / "x-compliance-compat"))
# The hook, operator, sensor and trigger tests; the provider info against this Airflow's schema.
# Left to the main suite: the file readers and response parsers (no Airflow in them), the
# emulator restart and the two-minute outage rides (`slow`).
TESTS = [
    "tests/provider/test_hook_api.py",
    "tests/provider/test_hook_transfers.py",
    "tests/provider/test_operators.py",
    "tests/provider/test_trigger.py",
    "tests/provider/test_provider_info.py",
]
# What tells one Airflow from another: the provider info against its schema, the operators'
# deferrals, XComs and context, the trigger as a triggerer loads and runs it. Not the trigger's
# pacing under rate limits: plain HTTP against the emulator, and the longest of these tests.
CI_TESTS = [
    "tests/provider/test_operators.py",
    "tests/provider/test_trigger.py",
    "tests/provider/test_provider_info.py",
    "--deselect=tests/provider/test_trigger.py::test_through_a_429_storm",
    "--deselect=tests/provider/test_trigger.py::test_basic_tier_never_sees_a_429",
]
MAIN_MINOR = "3.3"  # the main suite's, on constraints.txt
CI_TESTED = ["3.1", "3.2"]  # the minors CI runs CI_TESTS on: those managed services offer most
TEST_TOOLS = ["pytest", "pytest-asyncio", "pytest-timeout", "hypothesis"]
EXTRAS = "postgres,s3,celery"  # installed, so the constraints are known to hold them; run by `make test`
_install_lock = threading.Lock()  # one editable build of the tree at a time
# uv, not pip, builds the venvs: far faster (docs/airflow-versions-log.md); the dev extra has it.
UV = shutil.which("uv", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")


def constraints_of(minor: str) -> Path:
    return ROOT / "constraints.txt" if minor == MAIN_MINOR else CONSTRAINTS / f"airflow-{minor}.txt"


def airflow_pin(constraints: Path) -> str:
    match = re.search(r"^apache-airflow==(\S+)$", constraints.read_text(), re.MULTILINE)
    if not match:
        raise SystemExit(f"{constraints}: no apache-airflow==X.Y.Z line")
    return match.group(1)


class Run:
    """One minor release: its venv, its log, and the steps, each timed."""

    def __init__(self, minor: str, logs: Path, *, ci: bool = False) -> None:
        self.minor = minor
        self.tests = TESTS
        if ci:  # the version-sensitive ones where CI runs tests (3.3: the main suite runs them all)
            self.tests = CI_TESTS if minor in CI_TESTED else []
        self.examples = not ci
        self.constraints = constraints_of(minor)
        self.airflow = airflow_pin(self.constraints)
        self.venv = CACHE / f"airflow-{minor}"
        self.log = logs / f"airflow-{minor}.log"
        self.steps: list[tuple[str, bool, float]] = []

    def step(self, name: str, command: list[str], **kwargs) -> bool:
        started = time.monotonic()
        with self.log.open("ab") as out:
            out.write(f"\n$ {' '.join(command)}\n".encode())
            out.flush()
            done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, **kwargs)
        self.steps.append((name, done.returncode == 0, time.monotonic() - started))
        return done.returncode == 0

    def venv_ready(self) -> bool:
        """Build the venv unless the one cached was built from these very constraints."""
        digest = hashlib.sha256(self.constraints.read_bytes() + sys.version.encode()).hexdigest()
        stamp = self.venv / ".constraints-sha256"
        if stamp.is_file() and stamp.read_text() == digest:
            return True
        shutil.rmtree(self.venv, ignore_errors=True)
        ok = self.step("venv", [UV, "venv", "-q", "--python", sys.executable, str(self.venv)]) and self.step(
            "airflow", [*self.install, f"apache-airflow=={self.airflow}", *TEST_TOOLS]
        )
        if ok:
            stamp.write_text(digest)
        return ok

    @property
    def install(self) -> list[str]:
        """``uv pip install`` into this venv, held to this minor's constraints."""
        python = str(self.venv / "bin" / "python")
        return [UV, "pip", "install", "-q", "--python", python, "-c", str(self.constraints)]

    def go(self) -> bool:
        python = str(self.venv / "bin" / "python")
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        if not self.venv_ready():
            return False
        with _install_lock:
            installed = self.step("provider", [*self.install, "-e", f"{ROOT}[{EXTRAS}]"])
        if not installed:
            return False
        pytest = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *self.tests]
        tests = not self.tests or self.step("tests", pytest, env=env)
        work = self.log.with_suffix("")  # the DAG runs' files, kept until the next run to read
        shutil.rmtree(work, ignore_errors=True)
        check = [python, "tests/compat/check.py", str(work), *([] if self.examples else ["--no-examples"])]
        dags = self.step("dags", check, env=env)
        return tests and dags

    def summary(self) -> str:
        steps = ", ".join(
            f"{name} {'ok' if ok else 'FAILED'} {seconds:.0f}s" for name, ok, seconds in self.steps
        )
        return f"Airflow {self.airflow}: {steps}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("minors", nargs="*", help="e.g. 3.1 3.2 (default: every constraints/airflow-*.txt)")
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("COMPAT_JOBS", "2")))
    parser.add_argument("--ci", action="store_true", help="CI's selection (see above)")
    args = parser.parse_args()
    if UV is None:
        raise SystemExit("uv not found beside this Python or on PATH: `make install` (the dev extra has it)")
    older = sorted(p.stem.removeprefix("airflow-") for p in CONSTRAINTS.glob("airflow-*.txt"))
    minors = args.minors or ([*older, MAIN_MINOR] if args.ci else older)
    logs = CACHE / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    runs = [Run(minor, logs, ci=args.ci) for minor in minors]
    runs.sort(key=lambda run: not run.tests)  # the longest first, so no worker is left with one
    for run in runs:
        run.log.unlink(missing_ok=True)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(Run.go, runs))
    for run, ok in zip(runs, results, strict=True):
        if not ok:  # CI keeps only what is printed
            print(
                f"--- the end of {run.log}", *run.log.read_text(errors="replace").splitlines()[-40:], sep="\n"
            )
    for run, ok in zip(runs, results, strict=True):
        print(f"{'ok    ' if ok else 'FAILED'} {run.summary()}")
    print(f"compat: {len(runs)} Airflow versions in {time.monotonic() - started:.0f}s")
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
