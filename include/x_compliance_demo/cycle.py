"""`make demo`: one compliance cycle against the embedded emulator, with counts per reason.

Starts the emulator on a free port, points the `x_compliance_default` connection at it, writes
a file of snowflake-looking Post IDs, then create → upload → wait → download through the
provider's own steps, and prints what X (the emulator) flagged.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from x_compliance_emulator import EmulatorConfig, EmulatorServer

TOKEN = "demo-token"
TWEPOCH_MS = 1_288_834_974_657


def write_ids(path: Path, count: int, seed: int) -> None:
    """Post IDs as X mints them: milliseconds since X's epoch, shifted past worker and sequence bits."""
    rng = random.Random(seed)
    start_ms = int(time.time() * 1000) - TWEPOCH_MS - 90 * 86_400_000
    with path.open("w") as fh:
        for _ in range(count):
            ms = start_ms + rng.randrange(90 * 86_400_000)
            fh.write(f"{(ms << 22) | rng.randrange(1 << 22)}\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ids", type=int, default=100_000, help="how many Post IDs to check")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="x-compliance-demo-") as scratch:
        work = Path(scratch)
        config = EmulatorConfig(tokens=[TOKEN], seed=args.seed, data_dir=work / "emulator")
        with EmulatorServer(config) as server:
            os.environ["AIRFLOW_CONN_X_COMPLIANCE_DEFAULT"] = json.dumps(
                {"conn_type": "x_compliance", "host": server.url, "password": TOKEN}
            )
            from x_compliance import steps
            from x_compliance.hooks.x_compliance import XComplianceHook

            ids = work / "ids.txt"
            write_ids(ids, args.ids, args.seed)
            print(f"Emulator at {server.url}; {args.ids:,} Post IDs in {ids}")
            hook = XComplianceHook()
            started = time.monotonic()
            job = steps.create_or_reuse(hook, "tweets", "make-demo", resumable=True)
            steps.upload(hook, job.id, ids)
            steps.wait(hook, job.id, poll_interval=0.5, max_poll_interval=5, deadline=time.time() + 300)
            summary = steps.download(hook, job.id, work / "results.parquet")
            elapsed = time.monotonic() - started

    print(f"\nJob {summary['job_id']}: {args.ids:,} IDs checked in {elapsed:.1f}s")
    print(f"{'reason':<14}{'IDs':>10}{'share':>9}")
    for reason, count in summary["counts"].items():
        print(f"{reason:<14}{count:>10,}{100 * count / args.ids:>8.2f}%")
    print(
        f"{'compliant':<14}{args.ids - summary['rows']:>10,}{100 * (1 - summary['rows'] / args.ids):>8.2f}%"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
