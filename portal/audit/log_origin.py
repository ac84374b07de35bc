"""The access log's origin: set by ``PORTAL_LOG_ORIGIN`` and signed into every checkpoint of the log.

A log keeps one origin for life: checkpoints signed under a new one would not
match those already handed to the council and to employees. A changed setting
under an existing log is refused, naming the setting, before anything reads
the log or signs.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from portal.core import db
from portal.core.settings import Settings


class OriginChanged(ValueError):
    """``PORTAL_LOG_ORIGIN`` differs from the origin the log's checkpoints were signed with."""


def signed_origin(engine: Engine) -> str | None:
    """The origin line of the latest stored checkpoint, or None before the first checkpoint."""
    with engine.connect() as conn:
        note = conn.execute(sa.select(db.log_checkpoints.c.note)
                            .order_by(db.log_checkpoints.c.tree_size.desc()).limit(1)).scalar()
    return None if note is None else note.removeprefix("\ufeff").split("\n", 1)[0]


def check(settings: Settings, engine: Engine) -> None:
    """Raise :class:`OriginChanged` when the setting no longer names the log's origin."""
    signed = signed_origin(engine)
    if signed is not None and signed != settings.log_origin:
        raise OriginChanged(
            f"PORTAL_LOG_ORIGIN is {settings.log_origin!r}, but the access log's checkpoints are signed for the "
            f"origin {signed!r}. A log keeps its origin for life: set PORTAL_LOG_ORIGIN={signed} again.")
