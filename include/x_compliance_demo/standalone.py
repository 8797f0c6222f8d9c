"""`make airflow`: Airflow standalone on http://127.0.0.1:8080 (admin/admin) with the emulator.

Both connections and the storage root are configured, and the demo warehouse is seeded if it
is missing, so a user can trigger and backfill the DAGs from the UI. Ctrl-C stops everything
this started.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

from x_compliance_demo import warehouse
from x_compliance_demo.stack import PROJECT, airflow_env, airflow_standalone, emulator_process

HOME = PROJECT / "data" / "airflow"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # Ctrl-C and a plain `kill` both stop everything, even if we were started with them ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    HOME.mkdir(parents=True, exist_ok=True)
    db = HOME / "warehouse.db"
    if not db.exists():
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        warehouse.seed(db, end=today)
        print(f"Seeded {db.relative_to(PROJECT)}")
    with emulator_process(data_dir=HOME / "emulator", port=8765, log=HOME / "emulator.log") as emulator:
        url = emulator.url
        env = airflow_env(
            airflow_home=PROJECT / ".airflow", emulator_url=url, warehouse=db, storage=HOME / "storage"
        )
        subprocess.run(["airflow", "db", "migrate"], env=env, check=True, capture_output=True)
        with airflow_standalone(env, port=8080, log=HOME / "standalone.log") as ui:
            print(f"Emulator: {url}   Airflow UI: {ui}  (admin / admin)   logs: {HOME.relative_to(PROJECT)}/")
            print(f"Emulator admin API (/_emulator/...): Authorization: Bearer {emulator.admin_token}")
            print("New DAGs start paused: unpause x_compliance_tweets, trigger it or create a backfill.")
            print("Ctrl-C stops Airflow and the emulator.")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                print("\nStopping Airflow and the emulator...")
    return 0


if __name__ == "__main__":
    sys.exit(main())
