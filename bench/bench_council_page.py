"""How long does the Council overview take to show in Chromium, in a freshly started portal?

Starts the local OIDC provider and a new portal process on ``--data-dir`` (seeded by
``bench/bench_council.py`` or ``portal seed``; the demo's request history included),
signs in as Wanda (works council) through the real login in Debian's Chromium, opens
the Council overview and times, from the click in the navigation:

* until the collection table is on screen (every figure of the page computed or read),
* until the last table (requests by deadline) is on screen.

Each run starts a new portal process, so nothing is in its memory: the figures come
from the stored releases, or are computed when the stored ones are out of date.
``--forget`` removes the stored releases first (as after an erasure). Prints figures
and how many figures of the first table are hidden; never fails on timing. Target: under 3 s.

    .venv/bin/python bench/bench_council_page.py --data-dir var/bench-5000x365 [--runs 3] [--forget]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from portal.demo import devserver  # noqa: E402
from portal.council import figures
from portal.core.settings import Settings  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


def _sign_in(page, url: str) -> None:
    page.goto(url)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"localhost:\d+/oauth2/authorize"))
    page.locator("form[aria-labelledby='heading-auth-predefined']").get_by_role("button", name="wanda").click()
    page.wait_for_url(re.compile(re.escape(url)))
    page.get_by_role("heading", name="My data").wait_for()


def _one_run(browser, url: str) -> tuple[float, float, str]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(300_000)
    try:
        _sign_in(page, url)
        started = time.perf_counter()
        page.get_by_role("link", name="Council overview").click()
        page.get_by_text("figures are hidden").or_(page.get_by_text("figures are shown")).first.wait_for()
        collection = time.perf_counter() - started
        page.get_by_role("heading", name="Objections and requests").wait_for()
        page.locator("[data-testid='stDataFrame']").nth(3).wait_for()
        whole = time.perf_counter() - started
        summary = page.get_by_text(re.compile(r"figures are (hidden|shown)")).first.inner_text()
        return collection, whole, summary.split(".")[0]
    finally:
        context.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--forget", action="store_true", help="remove the stored releases before each run")
    args = parser.parse_args(argv)
    if not (args.data_dir / "lake").is_dir():
        print(f"{args.data_dir} holds no seeded company; run bench/bench_council.py or portal seed first",
              file=sys.stderr)
        return 2
    if not Path(CHROMIUM).exists():
        print("needs Debian's chromium: apt-get install -y chromium", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    settings = Settings(data_dir=args.data_dir, database_url=None, _env_file=None)  # type: ignore[call-arg]
    port, provider_port = devserver.free_ports(2)  # a running demo or test run keeps its own ports
    work = Path(tempfile.mkdtemp(prefix="bench-council-page-"))
    secrets_file = work / "secrets.toml"
    secrets_file.write_text(devserver.secrets_toml(port, provider_port))
    env = {**os.environ, "PORTAL_DATA_DIR": str(args.data_dir)}
    env.pop("PORTAL_DATABASE_URL", None)
    provider = devserver.start_provider(provider_port, work / "provider.log")
    times: list[tuple[float, float]] = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"])
            for run in range(args.runs):
                if args.forget:
                    figures.forget_cached_copies(settings)
                portal = devserver.start_portal(port, work / f"portal-{run}.log", env=env, secrets_file=secrets_file)
                try:
                    collection, whole, summary = _one_run(browser, f"http://localhost:{port}")
                finally:
                    devserver.stop(portal)
                times.append((collection, whole))
                print(f"  run {run + 1}: collection figures {collection:6.2f} s, whole page {whole:6.2f} s "
                      f"({summary})")
            browser.close()
    finally:
        devserver.stop(provider)
        shutil.rmtree(work, ignore_errors=True)
    stored = "computed (stored releases removed)" if args.forget else "from stored releases"
    print(f"Council overview, first load in a new portal process, {stored}, {len(times)} runs:")
    for label, values in (("collection figures on screen", [t[0] for t in times]),
                          ("whole page on screen", [t[1] for t in times])):
        print(f"  {label:<32} median {statistics.median(values):6.2f} s   min {min(values):6.2f} s   "
              f"max {max(values):6.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
