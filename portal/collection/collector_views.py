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

from portal.collection.collector_states import Decision, Status, decisions_from
from portal.collection.register import Collector, CollectorDecision, collectors
from portal.core import catalog
from portal.core.roles import ROLE_LABELS
from portal.identity.policy import PermissionDenied, ensure
from portal.identity.principal import Principal

if TYPE_CHECKING:
    from portal.collection.retention import RetentionRun

EVENT_WORDS = {"registered": "registered", "approved": "approved", "suspended": "suspended", "resumed": "resumed"}
NO_COLLECTOR = "No collector is registered for this category yet."


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
    return f"{moment.day} {moment:%b %Y}"


def status_words(collector: Collector) -> str:
    """The collector's status as a sentence fragment, the works council's reason included."""
    reason = collector.status_reason or "no reason given"
    if collector.status == Status.PENDING:
        return "awaiting the works council's decision; it may send nothing until approved"
    if collector.refused:
        return f"refused by the works council on {day(collector.status_changed_at)}: {reason}"
    if collector.status == Status.SUSPENDED:
        return f"paused by the works council on {day(collector.status_changed_at)}: {reason}"
    assert collector.approved_at is not None  # approved
    words = f"approved by the works council since {day(collector.approved_at)}"
    if collector.status_changed_at > collector.approved_at:
        words += f"; resumed on {day(collector.status_changed_at)} after a pause"
    return words


def by_category(engine: Engine, principal: Principal) -> list[CategoryCollectors]:
    """For each category of the catalog, which collectors are registered for it and their status."""
    if principal.employee_id is None:
        raise PermissionDenied("Not allowed: the company holds no employee record for you.")
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
    """The Collectors page's table: one row per collector."""
    def category_name(key: str) -> str:
        known = catalog.CATEGORY_BY_KEY.get(key)
        return known.name if known else key

    def purpose_names(codes: tuple[str, ...]) -> str:
        return ", ".join(catalog.PURPOSE_BY_CODE[c].name if c in catalog.PURPOSE_BY_CODE else c for c in codes)

    return pl.DataFrame({
        "Collector": [c.name for c in items],
        "Category": [category_name(c.category_key) for c in items],
        "Purposes": [purpose_names(c.purposes) for c in items],
        "Legal basis": [c.legal_basis for c in items],
        "Kept for": [f"{c.retention_days:,} days" for c in items],
        "Agreement": [c.agreement or "none named" for c in items],
        "Status": [c.status for c in items],
        "Since": [c.status_changed_at for c in items],
    }, schema_overrides={"Since": pl.Datetime("us", "UTC")})


def history_frame(entries: Sequence[CollectorDecision]) -> pl.DataFrame:
    """A collector's registration and decisions, oldest first."""
    return pl.DataFrame({
        "When": [e.at for e in entries],
        "What": [EVENT_WORDS.get(e.event, e.event) for e in entries],
        "By": [f"{ROLE_LABELS.get(e.actor_role, e.actor_role)} ({e.actor_ref})" for e in entries],
        "Reason": [e.reason or "" for e in entries],
    }, schema_overrides={"When": pl.Datetime("us", "UTC")})


def decisions_open(collector: Collector) -> tuple[Decision, ...]:
    """The decisions the works council can take now."""
    return decisions_from(Status(collector.status))


def decision_label(collector: Collector, decision: Decision) -> str:
    """The button for ``decision``: suspending a collector that was never approved refuses it."""
    if decision == Decision.SUSPEND and collector.status == Status.PENDING:
        return "Refuse"
    return {Decision.APPROVE: "Approve", Decision.SUSPEND: "Suspend", Decision.RESUME: "Resume"}[decision]


def decision_done(decision: Decision, before: Collector) -> str:
    """What happened, for the message after a decision."""
    if decision == Decision.SUSPEND and before.status == Status.PENDING:
        return "was refused"
    return {Decision.APPROVE: "was approved", Decision.SUSPEND: "was suspended", Decision.RESUME: "was resumed"}[decision]


def retention_words(runs: Sequence[RetentionRun]) -> str:
    """When retention last ran and what it deleted, or that it never ran."""
    if not runs:
        return "Retention has never run: run `portal retention run`."
    last = max(run.finished_at for run in runs)
    deleted = sum(run.rows_deleted for run in runs)
    return (f"Retention last ran on {day(last)}: {deleted:,} record{'s' if deleted != 1 else ''} past retention "
            "deleted.")
