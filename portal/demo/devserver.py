"""The local demo: the OIDC provider with the demo personas, and the portal, in one command.

Used by ``make demo`` (through ``portal demo``) and by the end-to-end tests, so
the tests sign in exactly the way a person trying the demo does.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from types import FrameType

from portal.core import file_modes
from portal.demo import demo_requests, personas
from portal.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
# What stops the demo as Ctrl-C does: a terminal closing, a service manager or `kill` stopping it.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STALE_AFTER = demo_requests.MIX_HOLDS  # demo data older than this is generated again, for today
NOTIFY_EVERY = 60.0  # seconds between the demo's runs of `portal notify run`


class DevServerError(RuntimeError):
    """A demo process did not come up; the message says which and where its log is."""


def secrets_toml(port: int, provider_port: int) -> str:
    """A development ``[auth]`` section for the local provider, with fresh random secrets."""
    return (
        "# Development secrets for the local OIDC provider, written by `make demo`. Never commit this file.\n"
        "[auth]\n"
        f'redirect_uri = "http://localhost:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_urlsafe(32)}"\n'
        'client_id = "telemetry-portal"\n'
        f'client_secret = "{secrets.token_urlsafe(24)}"\n'
        f'server_metadata_url = "http://localhost:{provider_port}/.well-known/openid-configuration"\n'
    )


def demo_secrets(data_dir: Path, port: int, provider_port: int) -> Path:
    """The demo's sign-in secrets for this pair of ports, kept in its data directory; written on first use.

    Streamlit gets this file alone (``--secrets.files``): the demo neither reads nor writes
    ``.streamlit/secrets.toml``, which may point at a real identity provider, and a demo on other
    ports never sends its sign-in to another demo's provider or portal.
    """
    path = file_modes.private_dir(data_dir / "demo") / f"secrets-{port}-{provider_port}.toml"
    if not path.exists():
        partial = file_modes.private_file(path.with_suffix(".partial"))
        partial.write_text(secrets_toml(port, provider_port))
        partial.replace(path)  # whole or not at all: a half-written file would break sign-in for good
    return path


def free_ports(count: int = 2) -> list[int]:
    """``count`` different ports nothing listens on now, chosen by the system (a bind to port 0)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("", 0))
        return [sock.getsockname()[1] for sock in sockets]


def refuse_if_taken(port: int, what: str) -> None:
    """Refuse a port another process listens on, before starting a server that would answer on it.

    Otherwise the health check could be answered by that other process (another demo, say) and the
    demo would send people there.
    """
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port in TIME_WAIT is free to listen on
        try:
            sock.bind(("", port))
        except OSError as exc:
            raise DevServerError(f"port {port} for the {what} cannot be used ({exc.strerror}); "
                                 "choose another with --port or --provider-port") from None


def wait_for(url: str, process: subprocess.Popen, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DevServerError(f"{url} did not start (exit code {process.returncode}); see {log}")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - local URL we started
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise DevServerError(f"{url} did not answer within {timeout:.0f} s; see {log}")


def _until_serving(process: subprocess.Popen, url: str, timeout: float, log: Path) -> subprocess.Popen:
    try:
        wait_for(url, process, timeout, log)
    except BaseException:  # Ctrl-C or a stop signal while waiting too: never leave the child behind
        stop(process)
        raise
    return process


def start_provider(port: int, log: Path) -> subprocess.Popen:
    """Start ``oidc-provider-mock`` with the demo personas predefined; returns once it serves."""
    refuse_if_taken(port, "OIDC provider")
    cmd = [sys.executable, "-m", "oidc_provider_mock", "--port", str(port), *personas.provider_arguments()]
    with log.open("w") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, umask=file_modes.OWNER_ONLY_UMASK)
    return _until_serving(process, f"http://localhost:{port}/.well-known/openid-configuration", 30, log)


def start_portal(
    port: int, log: Path, env: Mapping[str, str] | None = None, secrets_file: Path | None = None
) -> subprocess.Popen:
    """Start the Streamlit portal; returns once its health check answers."""
    refuse_if_taken(port, "portal")
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
        "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]
    if secrets_file is not None:
        cmd += ["--secrets.files", str(secrets_file)]
    # Owner-only from its first file on, whatever umask the caller runs with.
    with log.open("w") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                   env=dict(env) if env is not None else None, umask=file_modes.OWNER_ONLY_UMASK)
    return _until_serving(process, f"http://localhost:{port}/_stcore/health", 60, log)


def stop(*processes: subprocess.Popen) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _ignore_stop_signals() -> None:
    # While the children are being stopped: a second Ctrl-C or SIGTERM must not cut that short.
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    _ignore_stop_signals()
    raise KeyboardInterrupt


@contextlib.contextmanager
def _stopped_by_signals() -> Iterator[None]:
    """Within: SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt, so the caller's cleanup runs."""
    previous = {sig: signal.signal(sig, _interrupt) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def demo_clock(data_dir: Path) -> date | None:
    """The last day of the history `portal demo` generated into ``data_dir``; None for data it did not make."""
    try:
        return date.fromisoformat(json.loads((data_dir / "demo" / "clock.json").read_text())["ends"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def record_demo_clock(data_dir: Path, ends: date) -> None:
    file_modes.private_dir(data_dir / "demo")
    (data_dir / "demo" / "clock.json").write_text(json.dumps({"ends": ends.isoformat()}))


def start_mail_sink(directory: Path, smtp_port: int, web_port: int, log: Path) -> subprocess.Popen:
    """Start the demo's mail server (:mod:`portal.demo.mail_sink`); returns once its page answers."""
    refuse_if_taken(web_port, "demo mailbox")
    cmd = [sys.executable, "-m", "portal.demo.mail_sink", str(directory), "--smtp-port", str(smtp_port),
           "--web-port", str(web_port)]
    with log.open("w") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                   umask=file_modes.OWNER_ONLY_UMASK)
    return _until_serving(process, f"http://127.0.0.1:{web_port}/", 30, log)


class Notifier:
    """Runs ``portal notify run`` every :data:`NOTIFY_EVERY` seconds, one run at a time, as a deployment's
    scheduler (cron) would; its output goes to the log."""

    def __init__(self, env: Mapping[str, str], log: Path) -> None:
        self.env, self.log = dict(env), log
        self.process: subprocess.Popen | None = None
        self.last = 0.0

    def tick(self, now: float) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        if now - self.last < NOTIFY_EVERY:
            return
        self.last = now
        with self.log.open("a") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "portal.cli", "notify", "run"], stdout=out,
                                            stderr=subprocess.STDOUT, cwd=ROOT, env=self.env,
                                            umask=file_modes.OWNER_ONLY_UMASK)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


def run(settings: Settings, port: int = 8501, provider_port: int = 9400, mail_port: int = 8025) -> int:
    from portal.demo import seed as demo

    file_modes.restrict_process()  # the demo data, its logs and the children's files are owner-only
    if len({port, provider_port, mail_port}) < 3:
        raise DevServerError(f"the portal ({port}), the OIDC provider ({provider_port}) and the demo mailbox "
                             f"({mail_port}) need three different ports")
    refuse_if_taken(provider_port, "OIDC provider")  # said now, not after a minute of generating data
    refuse_if_taken(port, "portal")
    refuse_if_taken(mail_port, "demo mailbox")
    ends = demo_clock(settings.data_dir)
    today = datetime.now(UTC).date()
    if demo.data_present(settings) and (ends is None or today - ends <= STALE_AFTER):
        from portal.core import db

        engine = db.make_engine(settings.resolved_database_url)
        try:
            db.migrate(engine)  # data made by an older version gets the tables added since
        finally:
            engine.dispose()
        print(f"Using the demo data in {settings.data_dir}.")
    else:
        if demo.data_present(settings):
            # Its requests' deadlines and its reads were measured from that day: weeks later, requests not yet
            # due would read as missed. The demo's dates move with the clock: it is generated anew for today.
            print(f"The demo data in {settings.data_dir} ends on {ends}, more than {STALE_AFTER.days} days ago; "
                  "generating it again for today ...")
        else:
            print(f"Generating demo data into {settings.data_dir} ...")
        print(demo.seed(settings, progress=demo.print_progress, end_date=today,
                        replace=demo.data_present(settings)).describe())
        record_demo_clock(settings.data_dir, today)
    secrets_file = demo_secrets(settings.data_dir, port, provider_port)
    # The portal runs in ROOT: it gets this demo's data directory (and database) spelled out, not
    # whatever a relative path or a .env file would mean there.
    env = {**os.environ, "PORTAL_DATA_DIR": str(settings.data_dir.resolve())}
    if settings.database_url:
        env["PORTAL_DATABASE_URL"] = settings.database_url
    # The portal's e-mails go to the demo's own mailbox, which keeps them; the links in them point here.
    smtp_port = free_ports(1)[0]
    env.update(PORTAL_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}", PORTAL_PUBLIC_URL=f"http://localhost:{port}")
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    mail = Mail(settings.data_dir / "demo" / "mail", smtp_port, mail_port)
    with _stopped_by_signals():
        return _serve(port, provider_port, logs, env, secrets_file, mail)


@dataclass(frozen=True)
class Mail:
    directory: Path
    smtp_port: int
    web_port: int


def _serve(port: int, provider_port: int, logs: Path, env: Mapping[str, str], secrets_file: Path,
           mail: Mail) -> int:
    """Run the provider, the mailbox and the portal until one stops or a stop signal comes; all are stopped then."""
    children: list[subprocess.Popen] = []
    notifier = Notifier(env, logs / "notify.log")
    try:
        children.append(start_provider(provider_port, logs / "oidc-provider.log"))
        children.append(start_mail_sink(mail.directory, mail.smtp_port, mail.web_port, logs / "mailbox.log"))
        children.append(start_portal(port, logs / "portal.log", env=env, secrets_file=secrets_file))
        _announce(port, provider_port, logs, mail.web_port)
        while all(child.poll() is None for child in children):
            notifier.tick(time.monotonic())
            time.sleep(0.5)
        print("A demo process stopped; shutting down.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping ...")
        return 0
    finally:
        _ignore_stop_signals()  # until run() puts the previous handlers back
        notifier.stop()
        stop(*reversed(children))


def _announce(port: int, provider_port: int, logs: Path, mail_port: int) -> None:
    print(f"\nOIDC provider: http://localhost:{provider_port}   (log: {logs / 'oidc-provider.log'})")
    print(f"Portal:        http://localhost:{port}   (log: {logs / 'portal.log'})")
    print(f"Demo mailbox:  http://localhost:{mail_port}   the e-mails employees receive; `portal notify run` "
          f"runs every minute (log: {logs / 'notify.log'})\n")
    print("Click 'Log in', then pick one of the demo people at the provider:")
    for p in personas.PERSONAS:
        print(f"  {p.sub:6} {p.display_name}, {p.department}: {p.story}")
    print("Any other name typed at the provider is a person the company has no record of.")
    print("\nCtrl-C stops them all.")
