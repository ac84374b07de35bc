"""Ray for the batch engine: started (or joined) on first use, shut down when the process exits.

Without ``RAY_ADDRESS`` the first batch job starts a local Ray cluster in this process with ``workers``
CPUs (default: every CPU of the machine), no dashboard, and worker logs kept out of the command's output.
With ``RAY_ADDRESS`` (``ray://head:10001``, ``head:6379`` or ``auto``) it joins that cluster instead; its
nodes must run the same portal version with the same dependencies (one image), since tasks run the
portal's own code. A process that already called ``ray.init`` (a test session, a notebook) keeps its Ray.

Daft runs on that Ray (``daft.set_runner_ray``, before any Daft execution in the process). Daft's progress
bars, Daft's analytics and Ray's usage statistics are off unless the environment says otherwise: the lake
holds personal data, and nothing about the work should leave the machine.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from typing import TYPE_CHECKING

from portal.core.lake_location import LakeLocation
from portal.engines.engine import EngineError

if TYPE_CHECKING:
    import daft

QUIET = {"DAFT_PROGRESS_BAR": "0", "DAFT_ANALYTICS_ENABLED": "0", "DO_NOT_TRACK": "true",
         "RAY_USAGE_STATS_ENABLED": "0"}

_lock = threading.Lock()
_state = {"started": False, "daft": False}


def ensure(workers: int | None = None) -> None:
    """Ray and Daft's Ray runner, ready; starts a local cluster or joins ``RAY_ADDRESS`` the first time."""
    with _lock:
        for name, value in QUIET.items():
            os.environ.setdefault(name, value)
        import ray

        if not ray.is_initialized():
            _start(workers)
        if not _state["daft"]:
            import daft

            try:
                daft.set_runner_ray(noop_if_initialized=True)
            except Exception as exc:  # noqa: BLE001 - Daft raises its own types, and ValueError, for a runner set before
                raise EngineError(f"Daft cannot run on Ray in this process ({_first_line(exc)}); another Daft "
                                  "runner was set first") from None
            _state["daft"] = True


def _start(workers: int | None) -> None:
    import ray

    address = os.environ.get("RAY_ADDRESS", "").strip()
    try:
        if address:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
        else:
            ray.init(num_cpus=workers or os.cpu_count() or 1, include_dashboard=False, log_to_driver=False,
                            logging_level=logging.WARNING)
    except Exception as exc:  # noqa: BLE001 - Ray raises plain Exception too ("node timed out during startup")
        where = f"the Ray cluster at RAY_ADDRESS={address}" if address else "a local Ray cluster"
        raise EngineError(f"cannot start or reach {where}: {_first_line(exc)}") from None
    _state["started"] = True
    atexit.register(shutdown)


def shutdown() -> None:
    """Stop the Ray this module started (a joined cluster keeps running; this process only disconnects)."""
    with _lock:
        if not _state["started"]:
            return
        import ray

        if ray.is_initialized():
            ray.shutdown()
        _state["started"] = False


def cpus() -> int:
    """CPUs of the cluster in use (after :func:`ensure`)."""
    import ray

    return int(ray.cluster_resources().get("CPU", 1))


def io_config(location: LakeLocation) -> daft.io.IOConfig | None:
    """Daft's access to the lake: None for a local lake; for S3 the endpoint and credentials of
    ``PORTAL_LAKE_URL``'s ``AWS_*`` settings (path-style addressing, as S3-compatible servers need)."""
    s3 = location.s3
    if s3 is None:
        return None
    import daft

    plain_http = bool(s3.endpoint_url and s3.endpoint_url.startswith("http://"))
    config = daft.io.S3Config(
        endpoint_url=s3.endpoint_url, region_name=s3.region, key_id=s3.access_key, access_key=s3.secret_key,
        session_token=s3.session_token, use_ssl=not plain_http, force_virtual_addressing=False,
        anonymous=not s3.access_key)
    return daft.io.IOConfig(s3=config)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip() or type(exc).__name__).splitlines()[0][:300]
