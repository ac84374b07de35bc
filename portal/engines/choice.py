"""Choosing the batch engine: ``--engine`` over ``PORTAL_ENGINE``, and ``--workers`` for a local Ray cluster."""

from __future__ import annotations

from portal.core.i18n import _
from portal.core.settings import Settings
from portal.engines.engine import BatchEngine, EngineError

ENGINES = ("local", "ray")


def open_engine(settings: Settings, choice: str | None = None, workers: int | None = None) -> BatchEngine:
    """The engine ``choice`` (else ``settings.engine``). Nothing starts here: Ray starts on first use."""
    name = choice or settings.engine
    if name == "local":
        from portal.engines.local import LocalEngine

        return LocalEngine()
    if name == "ray":
        from portal.engines.ray_engine import RayEngine

        return RayEngine(workers)
    raise EngineError(_("unknown batch engine {name}; choose one of: {engines}").format(
        name=repr(name), engines=", ".join(ENGINES)))
