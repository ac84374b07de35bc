"""Retention: records past their category's retention leave the lake and every store derived from it.

``portal retention run`` goes through every catalog table: the cutoff is the run's start minus the
category's ``retention_days``; rows whose time is before it are deleted, and the table is vacuumed (full,
zero retention) and its Delta log cleaned as erasure does
(:meth:`~portal.lake.telemetry.TelemetryStore.delete_before`, under the table's write lock). Then the
derived copies are dropped or pruned through the cache registry (stored rollups keep only live data files,
council releases go) and the cache epoch moves, so a running portal drops what it holds in memory; the
weekly rollups are rebuilt from what is left. Each category's outcome is a row of ``retention_runs``,
written as soon as that category is done, so an interrupted run shows how far it got; running again is
safe (nothing older than the cutoff is left to delete).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from portal.core import cache_epoch, caches, catalog, db, i18n
from portal.core.i18n import _
from portal.core.times import as_utc
from portal.lake import volume_rollup
from portal.lake.telemetry import TelemetryStore

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RetentionRun:
    run_id: str
    category_key: str
    cutoff: datetime
    rows_deleted: int
    files_removed: int
    started_at: datetime
    finished_at: datetime


def run_retention(engine: Engine, store: TelemetryStore, *, now: datetime | None = None,
                  progress: Progress | None = None) -> list[RetentionRun]:
    """Delete what every category keeps past its retention; one :class:`RetentionRun` per category."""
    now = as_utc(now or datetime.now(UTC))
    tell = progress or (lambda _line: None)
    run_id = secrets.token_hex(8)
    runs = []
    for cat in catalog.CATEGORIES:
        cutoff = now - timedelta(days=cat.retention_days)
        started = datetime.now(UTC)
        tell(_("{table}: deleting records before {cutoff} UTC ({days} days) ...").format(
            table=cat.table_name, cutoff=f"{cutoff:%Y-%m-%d %H:%M}", days=cat.retention_days))
        expired = store.delete_before(cat.table_name, cutoff)
        if expired.rows_deleted or expired.files_removed:
            caches.forget(store.settings)  # no stored rollup or release keeps rows of the removed files
            cache_epoch.bump(engine)  # every process sharing the DB (replicas, a running portal) drops its copies
        run = RetentionRun(run_id, cat.key, cutoff, expired.rows_deleted, expired.files_removed, started,
                           datetime.now(UTC))
        with engine.begin() as conn:
            conn.execute(sa.insert(db.retention_runs).values(
                run_id=run.run_id, category_key=run.category_key, cutoff=run.cutoff, rows_deleted=run.rows_deleted,
                files_removed=run.files_removed, started_at=run.started_at, finished_at=run.finished_at))
        tell(_("{table}: {rows} row(s) deleted, {files} file(s) removed").format(
            table=cat.table_name, rows=i18n.number(run.rows_deleted), files=i18n.number(run.files_removed)))
        runs.append(run)
    if any(r.rows_deleted or r.files_removed for r in runs):
        tell(_("rebuilding the weekly rollups ..."))
        volume_rollup.weekly_records(store)
    return runs


def describe(runs: list[RetentionRun]) -> str:
    """The report ``portal retention run`` prints: per category, cutoff, rows deleted, files removed."""
    lines = [_("Retention run {run}:").format(run=runs[0].run_id if runs else "-")]
    for r in runs:
        name = catalog.category(r.category_key).name if r.category_key in catalog.CATEGORY_BY_KEY else r.category_key
        lines.append(_("  {category} before {cutoff}: {rows} row(s) deleted, {files} file(s) removed").format(
            category=f"{name:<34}", cutoff=f"{r.cutoff:%Y-%m-%d}", rows=i18n.number(r.rows_deleted).rjust(12),
            files=i18n.number(r.files_removed).rjust(6)))
    total = sum(r.rows_deleted for r in runs)
    lines.append(_("  {n} row(s) deleted in all.").format(n=i18n.number(total)) if total
                 else _("  Nothing was past its retention."))
    return "\n".join(lines)


def last_runs(conn: Connection) -> list[RetentionRun]:
    """The latest run of each category (catalog order, then others by key); [] when retention never ran."""
    r = db.retention_runs.c
    latest = (sa.select(r.category_key, sa.func.max(r.finished_at).label("finished_at"))
              .group_by(r.category_key).subquery())
    rows = conn.execute(sa.select(db.retention_runs).join(
        latest, sa.and_(r.category_key == latest.c.category_key, r.finished_at == latest.c.finished_at))
        .order_by(r.category_key, r.run_id.desc()))
    found: dict[str, RetentionRun] = {}
    for row in rows:
        found.setdefault(row.category_key, RetentionRun(
            row.run_id, row.category_key, as_utc(row.cutoff), int(row.rows_deleted), int(row.files_removed),
            as_utc(row.started_at), as_utc(row.finished_at)))
    order = {c.key: i for i, c in enumerate(catalog.CATEGORIES)}
    return sorted(found.values(), key=lambda run: (order.get(run.category_key, len(order)), run.category_key))
