"""`python -m importer.sandbox`: run the sandbox without the importer's CLI (same options)."""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

from importer.sandbox.config import FAULT_KINDS, SAMPLE_API_KEY, SandboxConfig, SandboxError
from importer.sandbox.server import Sandbox, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m importer.sandbox",
        description="Run a local Enerflo-compatible Leads API. Ctrl-C stops it.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8765, help="port; 0 picks a free one")
    parser.add_argument("--db", help="SQLite file that keeps leads across restarts")
    parser.add_argument(
        "--api-key", action="append", dest="api_keys", metavar="KEY",
        help=f"accepted key, repeatable, each its own company (default {SAMPLE_API_KEY})",
    )  # fmt: skip
    parser.add_argument("--rate-limit", type=int, default=300, help="per key per minute, 0 off")
    parser.add_argument("--latency-ms", type=int, default=0, help="delay added to each answer")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of faulted requests")
    parser.add_argument("--fault-seed", type=int, default=0, help="seed of the fault sequence")
    parser.add_argument(
        "--fault-kind", action="append", dest="fault_kinds", choices=FAULT_KINDS,
        help="restrict faults to these kinds (repeatable; default all)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    config = SandboxConfig(
        host=args.host,
        port=args.port,
        db=args.db,
        api_keys=tuple(args.api_keys or (SAMPLE_API_KEY,)),
        rate_limit=args.rate_limit,
        latency_ms=args.latency_ms,
        fault_rate=args.fault_rate,
        fault_seed=args.fault_seed,
        fault_kinds=tuple(args.fault_kinds or FAULT_KINDS),
    )
    signal.signal(signal.SIGTERM, _interrupt)  # `kill PID` stops it as cleanly as Ctrl-C
    try:
        serve(config, on_ready=_announce)
    except SandboxError as exc:
        print(f"sandbox: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _announce(sandbox: Sandbox) -> None:
    print(
        f"sandbox: listening on {sandbox.base_url}/api/v1/partner/action/lead/add "
        f"(leads at {sandbox.base_url}/_sandbox/leads); Ctrl-C stops it",
        file=sys.stderr,
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
