"""``matgrad playground``: serve the playground on 127.0.0.1, print its URL, open the browser."""

from __future__ import annotations

import argparse
import threading
import webbrowser
from typing import Any

EXTRA_HINT = 'the playground needs its extra: pip install "matgrad[playground]"'


def add_playground(commands: Any) -> None:
    """The ``playground`` subcommand and its options (``commands`` is argparse's subparsers)."""
    about = "derive, check, train, cost surface in a local web app"
    p = commands.add_parser("playground", help=about, description=f"{about}; {EXTRA_HINT}")
    p.add_argument("--port", type=_port, default=0, help="port on 127.0.0.1 (0: a free one)")
    p.add_argument("--no-browser", action="store_true", help="print the URL without opening a browser")
    p.add_argument("--time-limit", type=_positive_float, default=10.0, metavar="SECONDS",
                   help="each question is stopped after this long")
    p.add_argument("--workers", type=_workers, default=2, help="worker processes answering questions (1 to 16)")


def playground_command(args: argparse.Namespace) -> int:
    from ..cli import UsageError

    try:
        import uvicorn  # noqa: F401  (imported by make_server; asked here to say what is missing up front)

        from .server import create_app, free_socket, make_server, url_of
    except ImportError as error:
        raise UsageError(f"{EXTRA_HINT} ({error})") from None
    sock = free_socket(args.port)
    server = make_server(create_app(args.workers, args.time_limit), sock)
    url = url_of(sock)
    print(f"matgrad playground: serving on {url} (Ctrl-C stops it)", flush=True)
    if not args.no_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()  # once the server listens
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0


def _port(text: str) -> int:
    port = int(text) if text.isdigit() else -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port from 0 to 65535 (0: a free one), got {text!r}")
    return port


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"a positive number of seconds, got {text!r}")
    return value


def _workers(text: str) -> int:
    count = int(text) if text.isdigit() else 0
    if not 1 <= count <= 16:
        raise argparse.ArgumentTypeError(f"from 1 to 16 worker processes, got {text!r}")
    return count
