"""Run one benchmark stage in this fresh interpreter and write what it cost as JSON.

Each stage gets its own process so the RSS high-water mark (which never goes down) is that
stage's peak alone. Usage: ``python bench/child.py module:function params.json out.json``.
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
import time


def peak_rss_mb() -> float:
    """This process's peak RSS. ``VmHWM`` belongs to the address space made by exec, whereas
    ``ru_maxrss`` also counts the parent's RSS at fork time (a 1 GB driver made every child 1 GB)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main() -> None:
    target, params_file, out_file = sys.argv[1:4]
    module_name, _, function_name = target.partition(":")
    with open(params_file) as fh:
        params = json.load(fh)
    function = getattr(importlib.import_module(module_name), function_name)
    baseline = resource.getrusage(resource.RUSAGE_SELF)
    baseline_rss = peak_rss_mb()
    started = time.perf_counter()
    extra = function(**params) or {}
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result = {
        "seconds": round(extra.pop("seconds", wall), 4),
        "import_rss_mb": extra.pop("import_rss_mb", baseline_rss),
        "call_seconds": round(wall, 4),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime - baseline.ru_utime - baseline.ru_stime, 3),
        "peak_rss_mb": peak_rss_mb(),  # a tool run as a subprocess (curl, sqlite3) is not counted
        **extra,
    }
    with open(out_file, "w") as fh:
        json.dump(result, fh)


if __name__ == "__main__":
    main()
