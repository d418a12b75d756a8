"""Command line: ``python -m webex_emulator --host 127.0.0.1 --port 8790 --identities FILE``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from .app import create_app, is_loopback, serve


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="webex_emulator", description="A local Webex emulator for the botfleet lab (see README.md beside it)."
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8790, help="port; 0 picks a free one (default 8790)")
    parser.add_argument("--identities", type=Path, required=True, help="JSON list of identities")
    parser.add_argument("--state-file", type=Path, help="persist rooms, messages and devices here")
    parser.add_argument(
        "--heartbeat", type=float, default=15.0, help="seconds between server pings on websockets (default 15)"
    )
    parser.add_argument(
        "--auth-timeout", type=float, default=10.0, help="seconds a websocket may stay unauthorized (default 10)"
    )
    parser.add_argument("--public-url", help="base URL to hand out instead of the one the client used")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr, level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not is_loopback(args.host):
        # The admin API has no authentication: it must not be reachable from other machines.
        print(f"webex-emulator: refusing to bind {args.host}: only loopback addresses are allowed", file=sys.stderr)
        return 2
    try:
        app = create_app(
            args.identities,
            state_file=args.state_file,
            heartbeat=args.heartbeat,
            auth_timeout=args.auth_timeout,
            public_url=args.public_url,
        )
    except (OSError, ValueError) as exc:
        # Unreadable identities or state file: one line that names the file, no traceback.
        print(f"webex-emulator: {exc}", file=sys.stderr)
        return 2

    def announce(url: str) -> None:
        print(f"webex-emulator listening on {url}", flush=True)

    try:
        asyncio.run(serve(app, args.host, args.port, announce))
    except OSError as exc:
        print(f"webex-emulator: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
