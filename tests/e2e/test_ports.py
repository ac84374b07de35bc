"""The browser tests' portals listen on ports free at the time, so runs side by side never collide."""

import urllib.request

from tests.e2e.conftest import running_portal


def _health(url):
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as response:  # noqa: S310 - local
        return response.status


def test_two_portals_started_at_once_for_browser_tests_each_listen_on_ports_of_their_own(tmp_path):
    with running_portal(tmp_path / "one", seed=11) as one, running_portal(tmp_path / "two", seed=12) as two:
        assert one != two
        assert _health(one) == 200 and _health(two) == 200
