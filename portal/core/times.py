"""Moments in UTC: one way to make a datetime aware UTC, and one to compare it with what SQLite returns."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_naive(moment: datetime) -> datetime:
    """UTC without tzinfo: what SQLite gives back, so stored and new values compare equal.

    Only for comparing; values bound to queries are aware (:func:`as_utc`).
    """
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
