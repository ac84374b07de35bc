import itertools

import pytest

from portal.privacy.request_states import (
    EXECUTOR, OFFICE, SUBJECT, TERMINAL, TRANSITIONS, Status, TransitionError, check_transition,
)

ACTORS = (SUBJECT, OFFICE, EXECUTOR)
ALLOWED = {
    (Status.SUBMITTED, Status.IN_REVIEW, OFFICE),
    (Status.IN_REVIEW, Status.APPROVED, OFFICE),
    (Status.SUBMITTED, Status.REJECTED, OFFICE),
    (Status.IN_REVIEW, Status.REJECTED, OFFICE),
    (Status.APPROVED, Status.EXECUTING, OFFICE),
    (Status.APPROVED, Status.EXECUTING, EXECUTOR),
    (Status.EXECUTING, Status.COMPLETED, EXECUTOR),
    (Status.SUBMITTED, Status.WITHDRAWN, SUBJECT),
    (Status.IN_REVIEW, Status.WITHDRAWN, SUBJECT),
    (Status.APPROVED, Status.WITHDRAWN, SUBJECT),
}


@pytest.mark.parametrize(("current", "target", "by"), list(itertools.product(Status, Status, ACTORS)))
def test_every_transition_is_allowed_exactly_when_the_table_says_so(current, target, by):
    if (current, target, by) in ALLOWED:
        check_transition(current, target, by, "a reason")
    else:
        with pytest.raises(TransitionError):
            check_transition(current, target, by, "a reason")


def test_nothing_leaves_a_terminal_status():
    assert not [pair for pair in TRANSITIONS if pair[0] in TERMINAL]


def test_only_the_executor_completes_a_request():
    completing = [rule for (_, target), rule in TRANSITIONS.items() if target == Status.COMPLETED]
    assert completing and all(rule.by == {EXECUTOR} for rule in completing)


def test_a_request_cannot_be_withdrawn_once_executing():
    with pytest.raises(TransitionError, match="executing to withdrawn"):
        check_transition(Status.EXECUTING, Status.WITHDRAWN, SUBJECT, None)


@pytest.mark.parametrize("reason", [None, "", "  "])
def test_a_rejection_needs_a_reason(reason):
    with pytest.raises(TransitionError, match="needs a reason"):
        check_transition(Status.IN_REVIEW, Status.REJECTED, OFFICE, reason)


def test_the_error_names_who_may_make_the_change():
    with pytest.raises(TransitionError, match="done by privacy_office, not subject"):
        check_transition(Status.SUBMITTED, Status.IN_REVIEW, SUBJECT, None)
