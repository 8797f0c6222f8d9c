"""Run a command and write its peak RSS, in MB, to a file: ``python peak.py OUT cmd args...``.

This small process starts the command, so the command's RSS high-water mark (``wait4``'s
``ru_maxrss``: the process and what it waited for) starts from this process's few MB, not from
the benchmark driver's at fork time. Exits with the command's code.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

out, *command = sys.argv[1:]
child = subprocess.Popen(command)
_, status, usage = os.wait4(child.pid, 0)
Path(out).write_text(f"{usage.ru_maxrss / 1024:.1f}\n")
sys.exit(os.waitstatus_to_exitcode(status))
