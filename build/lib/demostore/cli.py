"""Command line of the demo store: `serve` and `faults` (also reached as `qgate store ...`)."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from demostore.config import DEFAULT_TICK_SECONDS
from demostore.faults import FAULTS, UnknownFaultError, format_fault_table, validate_faults

PROG = "qgate store"


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The argument parser (prog defaults to `qgate store`, how most people reach it)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run the qgate demo store: a reference quick-commerce shop with "
        "switchable, real defects.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="start the store and serve it until interrupted",
        description="Start the demo store. Prints 'demostore listening on URL' once it accepts "
        "connections.",
    )
    serve.add_argument("--host", default="127.0.0.1",
                       help="interface to bind (default %(default)s)")
    serve.add_argument("--port", type=int, default=0,
                       help="port to bind; 0 picks a free one (default)")
    serve.add_argument("--db", metavar="URL", default=None,
                       help="SQLAlchemy database URL (default: SQLite in a temporary file); "
                       "postgresql+psycopg2://... and mysql+pymysql://... work too")
    serve.add_argument("--fault", metavar="NAME", action="append", default=[],
                       help="switch on a fault (repeatable); see `%(prog)s faults`".replace(
                           "%(prog)s", prog))
    serve.add_argument("--version", dest="store_version", default="1.0.0", metavar="V",
                       help="build version reported by /version (default %(default)s)")
    serve.add_argument("--commit", default="demo", metavar="C",
                       help="build commit reported by /version (default %(default)s)")
    serve.add_argument("--tick-seconds", type=float, default=DEFAULT_TICK_SECONDS, metavar="S",
                       help="seconds per fulfilment state step (default %(default)s)")
    serve.add_argument("--log-dir", type=Path, default=None, metavar="DIR",
                       help="write access.log (one line per request) into DIR")
    commands.add_parser("faults", help="list the fault switches and the suite that catches each")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (2 for usage errors)."""
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.command == "faults":
        print(format_fault_table())
        return 0
    if args.command != "serve":
        parser.print_help()
        return 2
    try:
        faults = validate_faults(args.fault)
    except UnknownFaultError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    if args.tick_seconds <= 0:
        print(f"{PROG}: error: --tick-seconds must be positive", file=sys.stderr)
        return 2
    if not 0 <= args.port <= 65535:
        print(f"{PROG}: error: --port must be between 0 and 65535", file=sys.stderr)
        return 2
    return serve(args.host, args.port, args.db, faults, args.store_version, args.commit,
                 args.tick_seconds, args.log_dir)


def _bind(host: str, port: int) -> socket.socket:
    """Bind the listening socket ourselves, so port 0 never races with anyone."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


class _StopRequestedError(Exception):
    """Raised by the signal handler once uvicorn has finished its graceful shutdown."""


def _stop_requested(signum: int, _frame: object) -> None:
    raise _StopRequestedError(signum)


def serve(host: str, port: int, db_url: str | None, faults: frozenset[str], version: str,
          commit: str, tick_seconds: float, log_dir: Path | None) -> int:
    """Build the app, bind, announce the URL, serve until SIGINT/SIGTERM."""
    import uvicorn

    from demostore.app import create_app
    from demostore.config import StoreConfig

    temp_dir: str | None = None
    if db_url is None:
        temp_dir = tempfile.mkdtemp(prefix="demostore-")
        db_url = f"sqlite:///{os.path.join(temp_dir, 'store.db')}"
    try:
        try:
            sock = _bind(host, port)
        except OSError as exc:
            print(f"{PROG}: error: cannot bind {host}:{port}: {exc.strerror}", file=sys.stderr)
            return 2
        try:
            app = create_app(StoreConfig(db_url=db_url, faults=faults, version=version,
                                         commit=commit, tick_seconds=tick_seconds,
                                         log_dir=log_dir))
        except Exception as exc:  # a bad --db URL or an unreachable database
            print(f"{PROG}: error: cannot prepare the database: {type(exc).__name__}: "
                  f"{str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr)
            sock.close()
            return 2
        bound_host, bound_port = sock.getsockname()[:2]
        url_host = f"[{bound_host}]" if ":" in bound_host else bound_host

        class AnnouncingServer(uvicorn.Server):
            async def startup(self, sockets: list[socket.socket] | None = None) -> None:
                await super().startup(sockets=sockets)
                if self.started:
                    print(f"demostore listening on http://{url_host}:{bound_port}", flush=True)

        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                timeout_graceful_shutdown=3, timeout_keep_alive=5)
        # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal; ours
        # turns that into a clean exit so the temporary database is removed below.
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, _stop_requested)
        try:
            AnnouncingServer(config).run(sockets=[sock])
        except _StopRequestedError:
            pass
        return 0
    finally:
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)


__all__ = ["FAULTS", "build_parser", "main"]
