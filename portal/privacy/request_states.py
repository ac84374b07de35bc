"""The lifecycle of a privacy request: one status enum, one transitions table.

::

    submitted -> in_review -> approved -> executing -> completed
        |            |           |
        +------------+-----------+--> withdrawn   (the employee, while not yet executing)
        +------------+--------------> rejected    (privacy office, reason required)

``completed`` is reached only by the executor after verification in every store
(invariant 3 in docs/architecture.md), never by a person. Every change goes through
:func:`check_transition`; the caller records it with actor, time and reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    ERASURE = "erasure"
    OBJECTION = "objection"
    ACCESS = "access"


class Status(StrEnum):
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    EXECUTING = "executing"
    COMPLETED = "completed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


TERMINAL = frozenset({Status.COMPLETED, Status.REJECTED, Status.WITHDRAWN})

SUBJECT = "subject"  # the employee the request is about
OFFICE = "privacy_office"
EXECUTOR = "executor"  # the erasure/objection executor, after verification


@dataclass(frozen=True)
class Rule:
    by: frozenset[str]
    reason_required: bool = False


TRANSITIONS: dict[tuple[Status, Status], Rule] = {
    (Status.SUBMITTED, Status.IN_REVIEW): Rule(frozenset({OFFICE})),
    (Status.IN_REVIEW, Status.APPROVED): Rule(frozenset({OFFICE})),
    (Status.SUBMITTED, Status.REJECTED): Rule(frozenset({OFFICE}), reason_required=True),
    (Status.IN_REVIEW, Status.REJECTED): Rule(frozenset({OFFICE}), reason_required=True),
    (Status.APPROVED, Status.EXECUTING): Rule(frozenset({OFFICE, EXECUTOR})),
    (Status.EXECUTING, Status.COMPLETED): Rule(frozenset({EXECUTOR})),
    (Status.SUBMITTED, Status.WITHDRAWN): Rule(frozenset({SUBJECT})),
    (Status.IN_REVIEW, Status.WITHDRAWN): Rule(frozenset({SUBJECT})),
    (Status.APPROVED, Status.WITHDRAWN): Rule(frozenset({SUBJECT})),
}

STATUS_WORDS = {
    Status.SUBMITTED: "received, waiting for the privacy office",
    Status.IN_REVIEW: "being reviewed by the privacy office",
    Status.APPROVED: "approved, waiting to be carried out",
    Status.EXECUTING: "being carried out",
    Status.COMPLETED: "done and verified",
    Status.REJECTED: "rejected",
    Status.WITHDRAWN: "withdrawn by you",
}


class TransitionError(ValueError):
    """A change of status that the lifecycle does not allow; the message says why."""


def check_transition(current: Status, target: Status, by: str, reason: str | None) -> Rule:
    """Return the rule allowing ``current -> target`` by ``by``, or raise :class:`TransitionError`."""
    rule = TRANSITIONS.get((current, target))
    if rule is None:
        if current in TERMINAL:
            raise TransitionError(f"the request is already {current.value}; it cannot become {target.value}")
        raise TransitionError(f"a request cannot go from {current.value} to {target.value}")
    if by not in rule.by:
        raise TransitionError(
            f"{current.value} -> {target.value} is done by {' or '.join(sorted(rule.by))}, not {by}"
        )
    if rule.reason_required and not (reason and reason.strip()):
        raise TransitionError(f"{current.value} -> {target.value} needs a reason, which the employee sees")
    return rule
