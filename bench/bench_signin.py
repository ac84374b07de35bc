"""How much server CPU does one sign-in that ends on "My data" cost?

Starts the local OIDC provider and ONE portal process (Streamlit) on loopback, over the demo
company in ``--data-dir`` (seeded there first when it holds none, migrated as ``portal demo`` does
when it does; without ``--data-dir`` a temporary directory is seeded with ``--employees`` ×
``--days`` and removed afterwards). Then, for each N of ``--rounds``, N headless Chromium sessions
sign in at the same time, each as a different employee of the demo company (typed as the subject
at the provider, as a person would), and wait until "My data" has rendered: its heading, the
holdings table, the chart of records per day drawn, the first page of records, and the script run
finished.

Before the rounds, the first sign-in on the freshly started portal is timed on its own (it imports
the domain and opens the stores); then one more warms up. Each round runs twice (``--browsers``):

* new browser: a browser that never saw the portal downloads Streamlit's frontend (about 130 files,
  9 MB) from the portal process, which serves it itself;
* returning browser: a browser that showed the portal before (signed in as another employee, not
  measured, then its cookies cleared) has those files in its cache, as an employee's browser does
  after a first visit.

Per round it prints the portal process's CPU (user + system from ``/proc/<pid>/stat``, its
children included; the browsers and the provider are other processes) per sign-in, the part of it
on Streamlit's event loop (its main thread: HTTP, static files, the sign-in routes, websockets;
script runs are other threads), the round's total; the latency of each sign-in from opening the
portal's address to "My data" rendered (p50, p95); the round's wall time; and Chromium's CPU per
sign-in, which on a small machine is what the latency mostly waits for. The server's CPU is read
once it has gone quiet after the round, so work a sign-in leaves behind (a trailing rerun, closing
its session) is counted. Never fails on timing.

    .venv/bin/python bench/bench_signin.py [--data-dir DIR] [--rounds 1,4,12] [--browsers new,returning]
    .venv/bin/python bench/bench_signin.py --data-dir var/bench-signin --rounds 4 --profile profile.txt

``--profile FILE`` runs ``py-spy record`` on the portal during the rounds (``.svg`` flame graph,
``.json`` speedscope, ``.txt`` raw stacks; ``--profile-args=--gil`` samples only the thread
holding the GIL). Sampling costs the portal CPU of its own, so a profiled run's figures read high.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from portal.demo import devserver  # noqa: E402
from portal.core.settings import Settings  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PY_SPY = Path(sys.executable).with_name("py-spy")


# ---- the portal's CPU ------------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # the fields after "(comm)": state is [0], ppid [1]


def _children() -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            found.setdefault(int(fields[1]), []).append(int(entry.name))
    return found


def process_tree(root: int) -> list[int]:
    """``root`` and every live descendant."""
    children = _children()
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += children.get(pid, [])
    return tree


def cpu_seconds(root: int) -> float:
    """User + system CPU of ``root`` and its descendants (with the children they waited for)."""
    ticks = 0
    for pid in process_tree(root):
        fields = _stat(pid)
        if fields is not None:  # utime, stime, cutime, cstime are fields 14-17 of stat(5)
            ticks += sum(int(f) for f in fields[11:15])
    return ticks / CLOCK_TICKS


def browsers_cpu_seconds(servers: set[int]) -> float:
    """CPU of this benchmark's other children (Playwright's driver and Chromium): not the servers'."""
    return sum(cpu_seconds(pid) for pid in _children().get(os.getpid(), []) if pid not in servers)


def main_thread_cpu_seconds(pid: int) -> float:
    """User + system CPU of the portal's main thread: Streamlit's event loop (HTTP, static files, the sign-in
    routes, websockets); script runs and file reads run on other threads."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


async def wait_quiet(pid: int, *, interval: float = 0.3, limit: float = 15.0) -> None:
    """Until the portal uses (next to) no CPU for ``interval``, or ``limit`` seconds passed."""
    deadline = time.monotonic() + limit
    before = cpu_seconds(pid)
    while time.monotonic() < deadline:
        await asyncio.sleep(interval)
        now = cpu_seconds(pid)
        if now - before <= 0.011:  # one clock tick: the server's idle timers, nothing of a session
            return
        before = now


# ---- the demo company ------------------------------------------------------------------------------


def ensure_data(data_dir: Path, employees: int, days: int) -> None:
    from portal.demo import seed as demo

    settings = Settings(data_dir=data_dir, database_url=None, _env_file=None)  # type: ignore[call-arg]
    if demo.data_present(settings):
        from portal.core import db

        engine = db.make_engine(settings.resolved_database_url)
        try:
            db.migrate(engine)  # as `portal demo` does: data made by an older version gets the tables added since
        finally:
            engine.dispose()
        print(f"Using the demo company in {data_dir}.")
        return
    print(f"Seeding {employees} employees × {days} days into {data_dir} ...", flush=True)
    started = time.perf_counter()
    demo.seed(settings, employees=employees, days=days)
    print(f"  seeded in {time.perf_counter() - started:.0f} s")


def subjects(data_dir: Path) -> list[str]:
    """Subjects of employees who have telemetry to show: current, not a demo persona, never asked for erasure."""
    import sqlalchemy as sa

    from portal.core import db
    from portal.demo.personas import PERSONAS

    settings = Settings(data_dir=data_dir, database_url=None, _env_file=None)  # type: ignore[call-arg]
    engine = db.make_engine(settings.resolved_database_url)
    erasing = sa.select(db.privacy_requests.c.employee_id).where(db.privacy_requests.c.kind == "erasure")
    try:
        with engine.connect() as conn:
            return list(conn.scalars(
                sa.select(db.employees.c.oidc_sub)
                .where(db.employees.c.oidc_sub.is_not(None), db.employees.c.active,
                       db.employees.c.oidc_sub.not_in([p.sub for p in PERSONAS]),
                       db.employees.c.employee_id.not_in(erasing))
                .order_by(db.employees.c.employee_id)))
    finally:
        engine.dispose()


# ---- one sign-in in Chromium -----------------------------------------------------------------------


async def sign_in(context, url: str, subject: str) -> float:  # noqa: ANN001
    """Sign in as ``subject`` in ``context``; seconds from opening the portal to My data rendered."""
    page = await context.new_page()
    page.set_default_timeout(600_000)  # a loaded 2-core machine with 12 browsers is slow, not broken
    try:
        started = time.perf_counter()
        await page.goto(url)
        await page.get_by_role("button", name="Log in").click()
        await page.wait_for_url(re.compile(r"localhost:\d+/oauth2/authorize"))
        await page.locator("input[name='sub']").fill(subject)
        await page.get_by_role("button", name="Authorize").click()
        await page.get_by_role("heading", name="My data").wait_for()
        await page.locator("[data-testid='stPlotlyChart'] .main-svg").first.wait_for()  # the chart is drawn
        await page.get_by_text(re.compile(r"^Page 1 of [\d,]+ · ")).wait_for()  # the last element of the page
        await page.locator("[data-testid='stDataFrame']").nth(1).wait_for()  # holdings and records tables
        await page.get_by_test_id("stStatusWidget").wait_for(state="detached")  # the script run has ended
        return time.perf_counter() - started
    finally:
        await page.close()


async def returning_browser(browser, url: str, subject: str, limit: asyncio.Semaphore):  # noqa: ANN001, ANN201
    """A browser context that has shown the portal before (as ``subject``) and holds no sign-in now: its cache has
    Streamlit's scripts, as an employee's browser has after a first visit."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    async with limit:  # not measured: a few at a time, so that 12 of them do not starve each other
        await sign_in(context, url, subject)
    await context.clear_cookies()
    return context


@dataclass
class Round:
    n: int
    cpu: float
    event_loop: float
    browsers: float
    latencies: list[float]
    wall: float


async def one_round(browser, url: str, pid: int, names: list[str], servers: set[int], *,  # noqa: ANN001
                    returning: bool = False) -> Round:
    """len(names) sign-ins at once, each in a browser of its own; ``returning``: browsers that showed the portal
    before (signed in as someone else, who takes the second half of ``names``, then signed out)."""
    n = len(names) // 2 if returning else len(names)
    if returning:
        limit = asyncio.Semaphore(4)
        contexts = await asyncio.gather(*(returning_browser(browser, url, name, limit) for name in names[n:]))
    else:
        contexts = [await browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(n)]
    try:
        await wait_quiet(pid)
        cpu_before, loop_before = cpu_seconds(pid), main_thread_cpu_seconds(pid)
        browsers_before = browsers_cpu_seconds(servers)
        started = time.perf_counter()
        latencies = await asyncio.gather(*(sign_in(context, url, name) for context, name in zip(contexts, names)))
        wall = time.perf_counter() - started
        await wait_quiet(pid)  # what the sign-ins left to do (a rerun, closing their pages' sessions) is theirs
        browsers = browsers_cpu_seconds(servers) - browsers_before
        return Round(n, cpu_seconds(pid) - cpu_before, main_thread_cpu_seconds(pid) - loop_before, browsers,
                     list(latencies), wall)
    finally:
        for context in contexts:
            await context.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[round(q) - 1]


def describe(label: str, r: Round) -> str:
    return (f"  {label:<24} {r.cpu / r.n:6.3f} {r.event_loop / r.n:6.3f} {r.cpu:7.2f}   "
            f"{percentile(r.latencies, 50):7.2f} {percentile(r.latencies, 95):7.2f} {r.wall:7.2f}   "
            f"{r.browsers / r.n:6.2f}")


HEADER = (f"  {'':<24} {'server CPU-s':>21}   {'latency, s':>15} {'wall':>7}   {'browsers':>6}\n"
          f"  {'sign-ins':<24} {'each':>6} {'loop':>6} {'all':>7}   {'p50':>7} {'p95':>7} {'s':>7}   {'CPU-s':>6}")


async def run(url: str, pid: int, servers: set[int], names: list[str], rounds: list[int], repeat: int,
              browsers: list[str], profile: Path | None, profile_args: list[str], work: Path) -> None:
    from playwright.async_api import async_playwright

    def take(count: int) -> list[str]:
        taken, names[:] = names[:count], names[count:]
        return taken

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            print(HEADER)
            print(describe("first, fresh portal", await one_round(browser, url, pid, take(1), servers)), flush=True)
            print(describe("warm-up", await one_round(browser, url, pid, take(1), servers)), flush=True)
            spy = None
            if profile is not None:
                fmt = "speedscope" if profile.suffix == ".json" else "raw" if profile.suffix == ".txt" else "flamegraph"
                spy = subprocess.Popen([str(PY_SPY), "record", "--pid", str(pid), "--rate", "100", "--subprocesses",
                                        "--format", fmt, "--output", str(profile), *profile_args],
                                       stdout=subprocess.DEVNULL, stderr=(work / "py-spy.log").open("w"))
                servers.add(spy.pid)  # its CPU is neither the portal's nor the browsers'
                await asyncio.sleep(1.0)
            try:
                for n in rounds:
                    for _ in range(repeat):
                        for kind in browsers:
                            returning = kind == "returning"
                            result = await one_round(browser, url, pid, take(2 * n if returning else n), servers,
                                                     returning=returning)
                            print(describe(f"N={n:<3} {kind} browser", result), flush=True)
            finally:
                if spy is not None:
                    spy.send_signal(2)  # SIGINT: py-spy writes what it sampled
                    spy.wait(timeout=60)
                    print(f"  py-spy profile of the rounds: {profile}")
        finally:
            await browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help="the demo company to use (seeded there when absent); "
                                                      "default: a temporary one, removed afterwards")
    parser.add_argument("--employees", type=int, default=300)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--rounds", default="1,4,12", help="concurrent sign-ins per round, comma-separated")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of each size")
    parser.add_argument("--browsers", default="new,returning",
                        help="new: each sign-in in a browser that never saw the portal (it downloads Streamlit's "
                             "scripts, 9 MB); returning: in one that showed the portal before (signed in as "
                             "another employee, then signed out), whose cache holds them; default both")
    parser.add_argument("--profile", type=Path,
                        help="py-spy record the portal during the rounds into this file (.svg flame graph, "
                             ".json speedscope, .txt raw)")
    parser.add_argument("--profile-args", default="", help="more py-spy record options, e.g. '--gil' (samples only "
                                                           "the thread holding the GIL: the Python CPU)")
    args = parser.parse_args(argv)
    try:
        rounds = [int(n) for n in args.rounds.split(",") if n.strip()]
    except ValueError:
        parser.error(f"--rounds takes numbers separated by commas, got {args.rounds!r}")
    if not rounds or min(rounds) < 1:
        parser.error("--rounds needs at least one round of 1 or more sign-ins")
    browsers = [b.strip() for b in args.browsers.split(",") if b.strip()]
    if not browsers or set(browsers) - {"new", "returning"}:
        parser.error(f"--browsers takes new, returning or both, got {args.browsers!r}")
    if not Path(CHROMIUM).exists():
        print("needs Debian's chromium: apt-get install -y chromium", file=sys.stderr)
        return 2
    if args.profile is not None and not PY_SPY.exists():
        print(f"--profile needs py-spy at {PY_SPY}", file=sys.stderr)
        return 2

    work = Path(tempfile.mkdtemp(prefix="bench-signin-"))
    data_dir = (args.data_dir or work / "data").resolve()
    try:
        ensure_data(data_dir, args.employees, args.days)
        names = subjects(data_dir)
        needed = 2 + sum(rounds) * args.repeat * (2 * ("returning" in browsers) + ("new" in browsers))
        if len(names) < needed:
            print(f"the rounds need {needed} different employees; {data_dir} has {len(names)} who can sign in",
                  file=sys.stderr)
            return 2
        port, provider_port = devserver.free_ports(2)  # a running demo or test run keeps its own ports
        secrets_file = work / "secrets.toml"
        secrets_file.write_text(devserver.secrets_toml(port, provider_port))
        env = {**os.environ, "PORTAL_DATA_DIR": str(data_dir)}
        env.pop("PORTAL_DATABASE_URL", None)
        provider = devserver.start_provider(provider_port, work / "provider.log")
        try:
            portal = devserver.start_portal(port, work / "portal.log", env=env, secrets_file=secrets_file)
            try:
                print(f"Portal pid {portal.pid} on port {port}; {os.cpu_count()} cores. Server CPU: the Streamlit "
                      "process alone, per sign-in (each), of which its event loop (loop: HTTP, static files, "
                      "sign-in routes, websockets), and the round's total (all); latency from opening the portal "
                      "to My data rendered; browsers: Chromium's CPU per sign-in.")
                asyncio.run(run(f"http://localhost:{port}", portal.pid, {portal.pid, provider.pid}, names, rounds,
                                args.repeat, browsers,
                                args.profile.resolve() if args.profile else None, args.profile_args.split(), work))
            finally:
                devserver.stop(portal)
        finally:
            devserver.stop(provider)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
