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

from portal.core.i18n import N_, _


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

# Marked here, translated where shown: _(STATUS_WORDS[status]).
STATUS_WORDS = {
    Status.SUBMITTED: N_("received, waiting for the privacy office"),
    Status.IN_REVIEW: N_("being reviewed by the privacy office"),
    Status.APPROVED: N_("approved, waiting to be carried out"),
    Status.EXECUTING: N_("being carried out"),
    Status.COMPLETED: N_("done and verified"),
    Status.REJECTED: N_("rejected"),
    Status.WITHDRAWN: N_("withdrawn by you"),
}


class TransitionError(ValueError):
    """A change of status that the lifecycle does not allow; the message says why."""


def check_transition(current: Status, target: Status, by: str, reason: str | None) -> Rule:
    """Return the rule allowing ``current -> target`` by ``by``, or raise :class:`TransitionError`."""
    rule = TRANSITIONS.get((current, target))
    if rule is None:
        if current in TERMINAL:
            raise TransitionError(_("the request is already {current}; it cannot become {target}").format(
                current=current.value, target=target.value))
        raise TransitionError(_("a request cannot go from {current} to {target}").format(
            current=current.value, target=target.value))
    if by not in rule.by:
        raise TransitionError(_("{current} -> {target} is done by {allowed}, not {by}").format(
            current=current.value, target=target.value, allowed=_(" or ").join(sorted(rule.by)), by=by))
    if rule.reason_required and not (reason and reason.strip()):
        raise TransitionError(_("{current} -> {target} needs a reason, which the employee sees").format(
            current=current.value, target=target.value))
    return rule
