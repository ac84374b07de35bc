"""The register as people read it: the table of the Collectors page, a collector's history, the status
in words, when retention last ran, and, on My data, which systems collect each category.

Employees see every collector on the register, pending ones included ("awaiting the works council's
decision"): the register is about systems, not about anyone's data, so reading it needs no permission
beyond reading one's own data. Nothing here interprets text: names, reasons and agreements are passed
on as the text they are (pages show them with ``core.plain_text``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import polars as pl
from sqlalchemy.engine import Engine

from portal.collection import collector_states as states
from portal.collection.collector_states import Decision, Status, decisions_from
from portal.collection.register import Collector, CollectorDecision, collectors
from portal.core import catalog, i18n
from portal.core.i18n import N_, _, ngettext
from portal.core.roles import ROLE_LABELS
from portal.identity.policy import PermissionDenied, ensure
from portal.identity.principal import Principal

if TYPE_CHECKING:
    from portal.collection.retention import RetentionRun

EVENT_WORDS = {"registered": N_("registered"), "approved": N_("approved"), "suspended": N_("suspended"),
               "resumed": N_("resumed")}
NO_COLLECTOR = N_("No collector is registered for this category yet.")  # shown as _(NO_COLLECTOR)


@dataclass(frozen=True)
class CollectorLine:
    """One collector as an employee reads it on My data."""

    name: str
    agreement: str | None
    words: str  # approved since when, paused and why, refused and why, or awaiting a decision
    active: bool


@dataclass(frozen=True)
class CategoryCollectors:
    key: str
    name: str
    lines: tuple[CollectorLine, ...]


def day(moment: datetime) -> str:
    """A day in the reader's language: 5 Mar 2026, 05.03.2026."""
    return i18n.day(moment)


def status_words(collector: Collector) -> str:
    """The collector's status as a sentence fragment, the works council's reason included."""
    reason = collector.status_reason or _("no reason given")
    if collector.status == Status.PENDING:
        return _("awaiting the works council's decision; it may send nothing until approved")
    if collector.refused:
        return _("refused by the works council on {day}: {reason}").format(
            day=day(collector.status_changed_at), reason=reason)
    if collector.status == Status.SUSPENDED:
        return _("paused by the works council on {day}: {reason}").format(
            day=day(collector.status_changed_at), reason=reason)
    assert collector.approved_at is not None  # approved
    if collector.status_changed_at > collector.approved_at:
        return _("approved by the works council since {day}; resumed on {resumed} after a pause").format(
            day=day(collector.approved_at), resumed=day(collector.status_changed_at))
    return _("approved by the works council since {day}").format(day=day(collector.approved_at))


def by_category(engine: Engine, principal: Principal) -> list[CategoryCollectors]:
    """For each category of the catalog, which collectors are registered for it and their status."""
    if principal.employee_id is None:
        raise PermissionDenied(_("Not allowed: the company holds no employee record for you."))
    ensure(principal, "telemetry:read_own", principal.employee_id)
    with engine.connect() as conn:
        found = collectors(conn)
    result = []
    for category in catalog.CATEGORIES:
        lines = tuple(CollectorLine(c.name, c.agreement, status_words(c), c.status == Status.APPROVED)
                      for c in found if c.category_key == category.key)
        result.append(CategoryCollectors(category.key, category.name, lines))
    return result


def register_frame(items: Sequence[Collector]) -> pl.DataFrame:
    """The Collectors page's table: one row per collector, headings and words in the reader's language."""
    def category_name(key: str) -> str:
        known = catalog.CATEGORY_BY_KEY.get(key)
        return known.name if known else key

    def purpose_names(codes: tuple[str, ...]) -> str:
        return ", ".join(catalog.PURPOSE_BY_CODE[c].name if c in catalog.PURPOSE_BY_CODE else c for c in codes)

    return pl.DataFrame({
        _("Collector"): [c.name for c in items],
        _("Category"): [category_name(c.category_key) for c in items],
        _("Purposes"): [purpose_names(c.purposes) for c in items],
        _("Legal basis"): [c.legal_basis for c in items],
        _("Kept for"): [ngettext("{n} day", "{n} days", c.retention_days).format(n=i18n.number(c.retention_days))
                        for c in items],
        _("Agreement"): [c.agreement or _("none named") for c in items],
        _("Status"): [states.status_words(c.status) for c in items],
        _("Since"): [c.status_changed_at for c in items],
    }, schema_overrides={_("Since"): pl.Datetime("us", "UTC")})


def history_frame(entries: Sequence[CollectorDecision]) -> pl.DataFrame:
    """A collector's registration and decisions, oldest first."""
    return pl.DataFrame({
        _("When"): [e.at for e in entries],
        _("What"): [_(EVENT_WORDS[e.event]) if e.event in EVENT_WORDS else e.event for e in entries],
        _("By"): [f"{_(ROLE_LABELS[e.actor_role]) if e.actor_role in ROLE_LABELS else e.actor_role} ({e.actor_ref})"
                  for e in entries],
        _("Reason"): [e.reason or "" for e in entries],
    }, schema_overrides={_("When"): pl.Datetime("us", "UTC")})


def decisions_open(collector: Collector) -> tuple[Decision, ...]:
    """The decisions the works council can take now."""
    return decisions_from(Status(collector.status))


def decision_label(collector: Collector, decision: Decision) -> str:
    """The button for ``decision``: suspending a collector that was never approved refuses it."""
    if decision == Decision.SUSPEND and collector.status == Status.PENDING:
        return _("Refuse")
    return _({Decision.APPROVE: N_("Approve"), Decision.SUSPEND: N_("Suspend"), Decision.RESUME: N_("Resume")}[decision])


def decision_done(decision: Decision, before: Collector) -> str:
    """What happened, for the message after a decision."""
    if decision == Decision.SUSPEND and before.status == Status.PENDING:
        return _("was refused")
    return _({Decision.APPROVE: N_("was approved"), Decision.SUSPEND: N_("was suspended"),
              Decision.RESUME: N_("was resumed")}[decision])


def retention_words(runs: Sequence[RetentionRun]) -> str:
    """When retention last ran and what it deleted, or that it never ran."""
    if not runs:
        return _("Retention has never run: run `portal retention run`.")
    last = max(run.finished_at for run in runs)
    deleted = sum(run.rows_deleted for run in runs)
    return ngettext("Retention last ran on {day}: {n} record past retention deleted.",
                    "Retention last ran on {day}: {n} records past retention deleted.", deleted).format(
        day=day(last), n=i18n.number(deleted))
