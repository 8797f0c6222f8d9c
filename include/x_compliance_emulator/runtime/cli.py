"""Command line: ``x-compliance-emulator --port 8765 --token emulator-token`` runs the emulator.

Prints one line with the URL once it accepts connections, then serves until interrupted.
Faults given as ``--fault KIND[:key=value,...]`` are queued before the first request.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from x_compliance_emulator.runtime.config import RATE_LIMIT_BODIES, TIER_LIMITS, EmulatorConfig
from x_compliance_emulator.runtime.faults import Fault
from x_compliance_emulator.runtime.server import EmulatorServer
from x_compliance_emulator.world.fates import parse_at


def parse_fault(text: str) -> Fault:
    """``drop:target=upload,after_bytes=1000`` → Fault("drop", target="upload", after_bytes=1000)."""
    kind, _, rest = text.partition(":")
    fields: dict[str, Any] = {}
    for pair in filter(None, rest.split(",")):
        key, sep, value = pair.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"fault option {pair!r} is not key=value")
        fields[key.strip()] = value.strip()
    try:
        return Fault(kind.strip(), **fields)
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(f"bad fault {text!r}: {exc}") from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="x-compliance-emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token", action="append", dest="tokens", help="accepted bearer token (repeatable)")
    parser.add_argument(
        "--admin-token",
        help="token the admin API (/_emulator/...) wants as 'Authorization: Bearer'; "
        "generated and printed when not given",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tier", choices=sorted(TIER_LIMITS), default="pro")
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument(
        "--world-file", type=Path, help="CSV of id,reason: exactly these IDs are non-compliant"
    )
    parser.add_argument(
        "--churn",
        type=float,
        default=0.0,
        help="share of all IDs whose fate changes from --churn-at on (a store's daily drift)",
    )
    parser.add_argument(
        "--churn-at", type=parse_at, default=0.0, help="emulator time (epoch s or ISO 8601) the churn starts"
    )
    parser.add_argument("--rate-limit-window", type=float, default=900)
    parser.add_argument("--upload-window", type=float, default=900)
    parser.add_argument("--processing-base", type=float, default=0.5)
    parser.add_argument("--processing-per-million", type=float, default=2.0)
    parser.add_argument("--created-lag", type=float, default=0)
    parser.add_argument("--rate-limit-body", choices=RATE_LIMIT_BODIES, default="code88")
    parser.add_argument("--gzip-downloads", action="store_true")
    parser.add_argument("--fault", type=parse_fault, action="append", default=[], help="KIND[:key=value,...]")
    parser.add_argument("--log-level", default="WARNING")
    return parser


def config_from(args: argparse.Namespace) -> EmulatorConfig:
    admin = {"admin_token": args.admin_token} if args.admin_token else {}
    return EmulatorConfig(
        **admin,
        tokens=args.tokens or ["emulator-token"],
        seed=args.seed,
        data_dir=args.data_dir,
        host=args.host,
        port=args.port,
        tier=args.tier,
        world_file=args.world_file,
        churn_rate=args.churn,
        churn_at=args.churn_at,
        rate_limit_window_seconds=args.rate_limit_window,
        upload_window_seconds=args.upload_window,
        processing_seconds_base=args.processing_base,
        processing_seconds_per_million=args.processing_per_million,
        created_lag_seconds=args.created_lag,
        rate_limit_body=args.rate_limit_body,
        gzip_downloads=args.gzip_downloads,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        config = config_from(args)
    except ValueError as exc:
        print(f"x-compliance-emulator: {exc}", file=sys.stderr)
        return 2
    server = EmulatorServer(config)
    for fault in args.fault:
        server.emulator.faults.add(fault)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with server:
        print(f"x-compliance emulator ready at {server.url}", flush=True)
        if not args.admin_token:
            print(f"admin token (for /_emulator/...): {config.admin_token}", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
