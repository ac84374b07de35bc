"""The local demo: the OIDC provider with the demo personas, and the portal, in one command.

Used by ``make demo`` (through ``portal demo``) and by the end-to-end tests, so
the tests sign in exactly the way a person trying the demo does.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from portal import file_modes, personas
from portal.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SECRETS_PATH = ROOT / ".streamlit" / "secrets.toml"


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


def ensure_secrets(path: Path, port: int, provider_port: int) -> bool:
    """Write development secrets unless a secrets file already exists; True if written."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(secrets_toml(port, provider_port))
    path.chmod(0o600)
    return True


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


def start_provider(port: int, log: Path) -> subprocess.Popen:
    """Start ``oidc-provider-mock`` with the demo personas predefined; returns once it serves."""
    cmd = [sys.executable, "-m", "oidc_provider_mock", "--port", str(port), *personas.provider_arguments()]
    process = subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT,
                               umask=file_modes.OWNER_ONLY_UMASK)
    wait_for(f"http://localhost:{port}/.well-known/openid-configuration", process, 30, log)
    return process


def start_portal(
    port: int, log: Path, env: Mapping[str, str] | None = None, secrets_file: Path | None = None
) -> subprocess.Popen:
    """Start the Streamlit portal; returns once its health check answers."""
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
        "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]
    if secrets_file is not None:
        cmd += ["--secrets.files", str(secrets_file)]
    # Owner-only from its first file on, whatever umask the caller runs with.
    process = subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=ROOT,
                               env=dict(env) if env is not None else None, umask=file_modes.OWNER_ONLY_UMASK)
    wait_for(f"http://localhost:{port}/_stcore/health", process, 60, log)
    return process


def stop(*processes: subprocess.Popen) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def run(settings: Settings, port: int = 8501, provider_port: int = 9400) -> int:
    from portal import demo

    file_modes.restrict_process()  # the demo data, its logs and the children's files are owner-only
    if demo.data_present(settings):
        from portal import db

        engine = db.make_engine(settings.resolved_database_url)
        try:
            db.migrate(engine)  # data made by an older version gets the tables added since
        finally:
            engine.dispose()
        print(f"Using the demo data in {settings.data_dir}.")
    else:
        print(f"Generating demo data into {settings.data_dir} ...")
        print(demo.seed(settings, progress=demo.print_progress).describe())
    if ensure_secrets(SECRETS_PATH, port, provider_port):
        print(f"Wrote development sign-in secrets to {SECRETS_PATH.relative_to(ROOT)}.")
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    provider = start_provider(provider_port, logs / "oidc-provider.log")
    try:
        portal = start_portal(port, logs / "portal.log")
    except BaseException:
        stop(provider)
        raise
    print(f"\nOIDC provider: http://localhost:{provider_port}   (log: {logs / 'oidc-provider.log'})")
    print(f"Portal:        http://localhost:{port}   (log: {logs / 'portal.log'})\n")
    print("Click 'Log in', then pick one of the demo people at the provider:")
    for p in personas.PERSONAS:
        print(f"  {p.sub:6} {p.display_name}, {p.department}: {p.story}")
    print("Any other name typed at the provider is a person the company has no record of.")
    print("\nCtrl-C stops both.")
    try:
        while provider.poll() is None and portal.poll() is None:
            time.sleep(0.5)
        print("A demo process stopped; shutting down.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping ...")
        return 0
    finally:
        stop(portal, provider)
