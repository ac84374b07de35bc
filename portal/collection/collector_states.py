"""The lifecycle of a collector on the register: one status enum, one transitions table.

::

    pending --approve--> approved --suspend--> suspended --resume--> approved
       |                                           ^
       +-----------------suspend-------------------+   (the works council refuses it)

The privacy office registers a collector (``pending``); only the works council decides. Refusing a
collector that was never approved is ``suspend`` with a reason, as for one that was: either way its
batches are refused and employees read the reason. A refused collector that the council later resumes
is approved then for the first time. Every decision needs a reason; the register and the
tamper-evident log keep it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from portal.core.i18n import N_, _


class Status(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    SUSPENDED = "suspended"


class Decision(StrEnum):
    APPROVE = "approve"
    SUSPEND = "suspend"
    RESUME = "resume"


@dataclass(frozen=True)
class Rule:
    target: Status
    event: str  # as recorded in collector_decisions and the log


TRANSITIONS: dict[tuple[Status, Decision], Rule] = {
    (Status.PENDING, Decision.APPROVE): Rule(Status.APPROVED, "approved"),
    (Status.PENDING, Decision.SUSPEND): Rule(Status.SUSPENDED, "suspended"),
    (Status.APPROVED, Decision.SUSPEND): Rule(Status.SUSPENDED, "suspended"),
    (Status.SUSPENDED, Decision.RESUME): Rule(Status.APPROVED, "resumed"),
}

# How a status reads to people (the codes stay in the register and the log).
STATUS_WORDS = {"pending": N_("pending"), "approved": N_("approved"), "suspended": N_("suspended")}


def status_words(status: str) -> str:
    """``status`` in the reader's language (an unknown code as it is)."""
    return _(STATUS_WORDS[status]) if status in STATUS_WORDS else status


REGISTERED = "registered"  # the event of the registration itself, by the privacy office
EVENTS = (REGISTERED, *sorted({rule.event for rule in TRANSITIONS.values()}))


class TransitionError(ValueError):
    """A decision the lifecycle does not allow; the message names the collector's current status."""


def decisions_from(status: Status) -> tuple[Decision, ...]:
    """The decisions the works council can take on a collector in ``status``."""
    return tuple(decision for (current, decision) in TRANSITIONS if current == status)


def check_decision(name: str, current: Status, decision: Decision) -> Rule:
    """The rule for ``decision`` on a collector in ``current``, or :class:`TransitionError`."""
    rule = TRANSITIONS.get((current, decision))
    if rule is None:
        allowed = _(" or ").join(_past(d) for d in decisions_from(current))
        raise TransitionError(_("collector {name} is {status}; it cannot be {decision} (a {status} collector can only "
                                "be {allowed})").format(name=repr(name), status=status_words(current.value),
                                                        decision=_past(decision), allowed=allowed))
    return rule


def _past(decision: Decision) -> str:
    return _({Decision.APPROVE: N_("approved"), Decision.SUSPEND: N_("suspended"), Decision.RESUME: N_("resumed")}[decision])
