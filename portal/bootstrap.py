"""Builds the portal's services from settings: the one place that wires stores together.

``app.py`` calls :func:`build` inside ``st.cache_resource``; the CLI and tests
call it directly. Nothing here runs at import time.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

# Imported for what they register in portal.core.caches: a process that opens the stores (and so can
# erase) must know every copy erasure has to drop.
import portal.council.exposure
import portal.council.figures
import portal.lake.volume_rollup  # noqa: F401
from portal.core import db, file_modes
from portal.core.i18n import _
from portal.audit import log_origin
from portal.audit.signed_log import AuditLog
from portal.services import Services
from portal.identity.principal import Directory, Employee
from portal.core.settings import Settings
from portal.engines.choice import open_engine
from portal.lake.telemetry import TelemetryError, TelemetryStore


class BootstrapError(RuntimeError):
    """The portal cannot start; the message says what is wrong and how to fix it."""


def _row_to_employee(row: sa.Row | None) -> Employee | None:
    if row is None:
        return None
    return Employee(
        employee_id=row.employee_id, display_name=row.display_name, email=row.email,
        department=row.department, team=row.team, job_title=row.job_title, oidc_sub=row.oidc_sub,
    )


def employee_directory(engine: Engine) -> Directory:
    """Look-ups of the employee record by OIDC subject and by (already verified) e-mail."""

    def find(condition: sa.ColumnElement, value: str | None) -> Employee | None:
        where = condition if value is None else condition == value
        with engine.connect() as conn:
            return _row_to_employee(conn.execute(sa.select(db.employees).where(where)).first())

    return Directory(
        by_subject=lambda sub: find(db.employees.c.oidc_sub, sub),
        # Only an address the directory vouches for (email_verified, default true) can match by e-mail.
        by_email=lambda email: find(sa.and_(sa.func.lower(db.employees.c.email) == email.lower(),
                                            db.employees.c.email_verified.is_(True)), None),
    )


def build(settings: Settings) -> Services:
    if not settings.data_dir.exists() and not settings.database_url:
        raise BootstrapError(_(
            "The data directory {path} does not exist. Run `make demo` (or `portal seed`) to create demo data, or "
            "set PORTAL_DATA_DIR.").format(path=settings.data_dir.resolve()))
    if settings.data_dir.exists():
        file_modes.private_dir(settings.data_dir)  # a directory made before it had to be owner-only becomes so
    engine = db.make_engine(settings.resolved_database_url)
    try:
        db.check_schema(engine)
        store = TelemetryStore(settings)
        store.check()
        log_origin.check(settings, engine)  # a changed PORTAL_LOG_ORIGIN would fork the signed log
    except (db.DatabaseError, TelemetryError, log_origin.OriginChanged) as exc:
        engine.dispose()
        raise BootstrapError(str(exc)) from None
    # The batch engine of PORTAL_ENGINE; Ray starts only when a release must be computed.
    batch = None if settings.engine == "local" else open_engine(settings)
    return Services(settings=settings, engine=engine, store=store, directory=employee_directory(engine),
                    log=AuditLog(settings, engine), batch=batch)
