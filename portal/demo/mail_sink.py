"""The demo's mail server: it takes every e-mail the portal sends and keeps it, and shows what it kept.

``python -m portal.demo.mail_sink DIR --smtp-port P --web-port W`` accepts SMTP on 127.0.0.1:P, writes each
message to DIR as an owner-only ``.eml`` file (they name people and who read their data), and serves a
read-only page on http://127.0.0.1:W listing them, newest first, every header and body shown as text. It
delivers nothing anywhere: it is for seeing what employees would receive.
"""

from __future__ import annotations

import argparse
import html
import itertools
import os
import signal
import sys
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller

from portal.core import file_modes

SHOWN = 200
_counter = itertools.count()


class Keeper:
    """aiosmtpd's handler: every message to a file of its own."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802 - aiosmtpd's handler API
        name = f"{time.time_ns()}-{next(_counter)}.eml"
        descriptor = os.open(self.directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(envelope.content)
        return "250 Message accepted"


def kept(directory: Path, limit: int = SHOWN) -> list[EmailMessage]:
    files = sorted(directory.glob("*.eml"), key=lambda p: p.name, reverse=True)[:limit]
    return [message_from_bytes(p.read_bytes(), policy=policy.default) for p in files]


def _body(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def page(directory: Path) -> str:
    """The list of kept mails as an HTML page; every header and body is escaped, so shown as text."""
    mails = kept(directory)
    items = "\n".join(
        f"<article><h2>{html.escape(str(m['Subject'] or ''))}</h2>"
        f"<p>To: {html.escape(str(m['To'] or ''))} · {html.escape(str(m['Date'] or ''))}</p>"
        f"<pre>{html.escape(_body(m))}</pre></article>" for m in mails)
    empty = "<p>No e-mail yet. <code>portal notify run</code> sends them; the demo runs it every minute.</p>"
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Demo mailbox</title>"
            "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;color:#1b1b1b}"
            "article{border:1px solid #767676;border-radius:6px;padding:0 1rem;margin:1rem 0}"
            "pre{white-space:pre-wrap}</style></head><body><main><h1>Demo mailbox</h1>"
            f"<p>What the portal sent to employees ({len(mails)} shown, newest first). Nothing here was delivered "
            f"anywhere.</p>{items or empty}</main></body></html>")


def _handler(directory: Path) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's API
            if self.path not in ("/", "/index.html"):
                self.send_error(404)
                return
            body = page(directory).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's API
            return

    return Handler


def serve(directory: Path, smtp_port: int, web_port: int) -> None:
    file_modes.private_dir(directory)
    controller = Controller(Keeper(directory), hostname="127.0.0.1", port=smtp_port)
    controller.start()
    web = ThreadingHTTPServer(("127.0.0.1", web_port), _handler(directory))
    stopped = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopped.set()
        threading.Thread(target=web.shutdown, daemon=True).start()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, stop)
    try:
        web.serve_forever()
    finally:
        web.server_close()
        controller.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portal.demo.mail_sink", description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--web-port", type=int, required=True)
    args = parser.parse_args(argv)
    serve(args.directory, args.smtp_port, args.web_port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
