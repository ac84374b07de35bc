"""`portal demo`: its own ports, its own data, and nothing left running once it is told to stop."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from portal.demo import seed as demo, devserver
from portal.core.settings import load_settings

ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class RunningDemo:
    process: subprocess.Popen
    port: int
    provider_port: int
    data_dir: Path
    output: Path
    mail_port: int = 0

    @property
    def portal_url(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def mailbox_url(self) -> str:
        return f"http://127.0.0.1:{self.mail_port}/"

    @property
    def provider_url(self) -> str:
        return f"http://localhost:{self.provider_port}"


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - a local server the test started
            return True
    except (urllib.error.URLError, OSError):
        return False


def _stat_fields(pid: int) -> list[str]:
    # The command name, in parentheses, may hold spaces: the fields that follow it are split on them.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int(_stat_fields(int(entry.name))[1]) == pid:
                    found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    try:
        return _stat_fields(pid)[0] != "Z"
    except FileNotFoundError:
        return False


def seeded(data_dir: Path, seed: int, end_date: date | None = demo.DEFAULT_END_DATE) -> Path:
    demo.seed(load_settings(data_dir=data_dir), employees=30, days=10, seed=seed, end_date=end_date)
    return data_dir


@contextlib.contextmanager
def portal_demo(base: Path, data_dir: Path) -> Iterator[RunningDemo]:
    """`portal demo` on free ports over ``data_dir``, started outside the repository; yields once both answer."""
    port, provider_port, mail_port = devserver.free_ports(3)
    env = {**os.environ, "PORTAL_DATA_DIR": str(data_dir)}
    env.pop("PORTAL_DATABASE_URL", None)
    output = base / f"demo-{port}.out"
    with output.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "portal.cli", "demo", "--port", str(port), "--provider-port", str(provider_port),
             "--mail-port", str(mail_port)],
            cwd=base, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    running_demo = RunningDemo(process, port, provider_port, data_dir, output, mail_port)
    children: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while not (answers(f"{running_demo.portal_url}/_stcore/health")
                   and answers(f"{running_demo.provider_url}/.well-known/openid-configuration")):
            assert process.poll() is None, output.read_text()
            assert time.monotonic() < deadline, output.read_text()
            time.sleep(0.3)
        children = children_of(process.pid)
        yield running_demo
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in children:  # whatever a failed test left behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=lambda s: s.name)
def test_a_stop_signal_to_portal_demo_stops_the_provider_and_the_portal_too(tmp_path, sig):
    with portal_demo(tmp_path, seeded(tmp_path / "data", seed=3)) as running_demo:
        children = children_of(running_demo.process.pid)
        assert len(children) >= 3, running_demo.output.read_text()  # provider, mailbox, portal (and a notify run)
        running_demo.process.send_signal(sig)
        assert running_demo.process.wait(timeout=60) == 0, running_demo.output.read_text()
        assert not answers(f"{running_demo.portal_url}/_stcore/health")
        assert not answers(f"{running_demo.provider_url}/.well-known/openid-configuration")
        assert not answers(running_demo.mailbox_url)
        assert not [pid for pid in children if running(pid)]


def test_the_demo_mailbox_shows_the_e_mails_the_portal_sent_as_text(tmp_path):
    with portal_demo(tmp_path, seeded(tmp_path / "data", seed=3, end_date=None)) as running_demo:
        deadline, page = time.monotonic() + 90, ""
        while "To: alice@example.com" not in page and time.monotonic() < deadline:
            with contextlib.suppress(urllib.error.URLError, OSError), \
                    urllib.request.urlopen(running_demo.mailbox_url, timeout=5) as response:  # noqa: S310
                page = response.read().decode()
            time.sleep(1)
        assert "To: alice@example.com" in page, running_demo.output.read_text()
        assert "<h2>A read of your data was flagged</h2>" in page or "reads of your data were flagged" in page
        mails = list((running_demo.data_dir / "demo" / "mail").glob("*.eml"))
        assert mails and all(m.stat().st_mode & 0o077 == 0 for m in mails)


def _streamlit_secrets_of(running_demo: RunningDemo) -> dict:
    """The secrets file the demo's Streamlit process was given on its command line."""
    for pid in children_of(running_demo.process.pid):
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        if "streamlit" in args:
            return tomllib.loads(Path(args[args.index("--secrets.files") + 1]).read_text())
    raise AssertionError("the demo started no Streamlit process")


def test_two_demos_side_by_side_each_sign_in_at_their_own_provider_and_come_back_to_their_own_portal(tmp_path):
    developers_secrets = ROOT / ".streamlit" / "secrets.toml"
    before = developers_secrets.read_bytes() if developers_secrets.exists() else None
    first_dir, second_dir = seeded(tmp_path / "first", seed=3), seeded(tmp_path / "second", seed=4)
    with portal_demo(tmp_path, first_dir) as first, portal_demo(tmp_path, second_dir) as second:
        for running_demo in (first, second):
            auth = _streamlit_secrets_of(running_demo)["auth"]
            assert auth["redirect_uri"] == f"{running_demo.portal_url}/oauth2callback"
            assert auth["server_metadata_url"] == f"{running_demo.provider_url}/.well-known/openid-configuration"
            assert (running_demo.data_dir / "logs" / "portal.log").exists()
        assert _streamlit_secrets_of(first)["auth"]["cookie_secret"] != _streamlit_secrets_of(second)["auth"][
            "cookie_secret"]
    # A developer's own secrets (perhaps for a real identity provider) are neither written nor replaced.
    assert (developers_secrets.read_bytes() if developers_secrets.exists() else None) == before


def test_portal_demo_refuses_a_port_already_in_use_and_names_it(tmp_path):
    data_dir = seeded(tmp_path / "data", seed=3)
    with portal_demo(tmp_path, data_dir) as running_demo:
        env = {**os.environ, "PORTAL_DATA_DIR": str(tmp_path / "other")}
        done = subprocess.run(
            [sys.executable, "-m", "portal.cli", "demo", "--port", str(running_demo.port),
             "--provider-port", str(devserver.free_ports(1)[0])],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
        )
        assert done.returncode == 2
        assert f"port {running_demo.port} for the portal cannot be used" in done.stderr
        assert not (tmp_path / "other").exists()  # refused before generating any data


def test_demo_data_generated_weeks_ago_is_generated_again_for_today(tmp_path, monkeypatch):
    """The demo's dates move with its clock: its requests' deadlines stay as far off as on the day it was made."""
    from portal.core.settings import Settings

    data_dir = tmp_path / "data"
    settings = Settings(_env_file=None, data_dir=data_dir, database_url=None)  # type: ignore[call-arg]
    weeks_ago = date.today() - timedelta(days=40)
    demo.seed(settings, employees=6, days=3, seed=3, end_date=weeks_ago)
    devserver.record_demo_clock(data_dir, weeks_ago)
    seeded_days = []
    monkeypatch.setattr(demo, "seed", lambda settings, **kw: seeded_days.append(kw["end_date"]) or _Report())
    monkeypatch.setattr(devserver, "_serve", lambda *args: 0)
    assert devserver.run(settings, *devserver.free_ports(3)) == 0
    assert seeded_days == [date.today()] and devserver.demo_clock(data_dir) == date.today()
    monkeypatch.setattr(demo, "data_present", lambda settings: True)
    seeded_days.clear()
    monkeypatch.setattr(devserver, "_serve", lambda *args: 0)
    devserver.run(settings, *devserver.free_ports(3))
    assert seeded_days == []  # fresh enough: used as it is


class _Report:
    def describe(self) -> str:
        return "seeded"
