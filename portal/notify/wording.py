"""The words of each notice, in the language in use: what happened, who (as the person may see them), when,
and a link to the page that shows it. Never the data itself: no telemetry value, no record's content."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date

from portal.audit.my_access import NO_PURPOSE, OVER_EXPOSURE, ROLE_NOT_ALLOWED, AccessEvent
from portal.core import i18n
from portal.core.i18n import N_, _, ngettext
from portal.core.plain_text import clean

FLAG_WORDS = {NO_PURPOSE: N_("no registered purpose"), ROLE_NOT_ALLOWED: N_("a role the policy does not allow"),
              OVER_EXPOSURE: N_("part of an over-exposure episode")}
STATUS_WORDS = {
    "submitted": N_("received, waiting for the privacy office"),
    "in_review": N_("being reviewed by the privacy office"),
    "approved": N_("approved, waiting to be carried out"),
    "executing": N_("being carried out"),
    "completed": N_("done and verified"),
    "rejected": N_("rejected"),
    "withdrawn": N_("withdrawn by you"),
}
KIND_WORDS = {"erasure": N_("erasure (Art. 17)"), "objection": N_("objection (Art. 21)"),
              "access": N_("copy of your data (Art. 15)")}
COLLECTOR_WORDS = {"approved": N_("approved"), "resumed": N_("approved again"), "suspended": N_("suspended")}
MAX_LINES = 20
WHO_PAGE, REQUESTS_PAGE, DATA_PAGE = "who_accessed", "my_requests", "my_data"


def _line(text: str) -> str:
    """Text from a person or a feed on one line of a plain-text notice: no line breaks, no bidi controls."""
    return " ".join(clean(text).split())


def _read_line(e: AccessEvent) -> str:
    line = _("{day}: {reader} read your {category}, {records}, purpose: {purpose}").format(
        day=i18n.day(e.occurred_at), reader=_line(e.actor), category=_line(e.category),
        records=ngettext("{n} record", "{n} records", e.record_count).format(n=i18n.number(e.record_count)),
        purpose=_line(e.purpose) if e.purpose_code else _("none given"))
    if e.flag_labels:
        line += " (" + "; ".join(_(FLAG_WORDS[f]) for f in e.flag_labels) + ")"
    return "- " + line


def _listed(lines: Sequence[str]) -> list[str]:
    shown = list(lines[:MAX_LINES])
    if len(lines) > MAX_LINES:
        shown.append(_("- and {n} more").format(n=i18n.number(len(lines) - MAX_LINES)))
    return shown


def _link(base: str, page: str, words: str) -> str:
    return words.format(link=f"{base.rstrip('/')}/{page}")


def flagged_reads(events: Sequence[AccessEvent], base_url: str) -> tuple[str, str]:
    n = len(events)
    subject = ngettext("A read of your data was flagged", "{n} reads of your data were flagged", n).format(
        n=i18n.number(n))
    body = [ngettext("Someone read your data in a way the portal flags:",
                     "{n} reads of your data were made in a way the portal flags:", n).format(n=i18n.number(n)),
            "", *_listed([_read_line(e) for e in events]), "",
            _("The privacy office and the works council see these flags too. If a read surprises you, you can "
              "ask the privacy office about it or file a request on the portal."), "",
            _link(base_url, WHO_PAGE, _("Who accessed my data: {link}"))]
    return subject, "\n".join(body)


def lookup(events: Sequence[AccessEvent], base_url: str) -> tuple[str, str]:
    first = events[0]
    categories = ", ".join(sorted({_line(e.category) for e in events}))
    subject = _("The privacy office opened your records")
    body = [_("On {day}, {reader} of the privacy office opened your records ({categories}).").format(
                day=i18n.day(first.occurred_at), reader=_line(first.actor), categories=categories),
            _("Justification given: {justification}").format(
                justification=_line(first.justification or "") or _("none given")), "",
            _("Every such lookup is recorded in the signed access log and shown to you."), "",
            _link(base_url, WHO_PAGE, _("Who accessed my data: {link}"))]
    return subject, "\n".join(body)


def request_change(*, request_id: str, kind: str, event: str, to_status: str, deadline: date,
                   reason: str | None, base_url: str) -> tuple[str, str]:
    what = _(KIND_WORDS.get(kind, kind))
    if event == "extended":
        subject = _("The deadline of your request was extended")
        body = [_("The privacy office extended the deadline of your request {id} ({kind}) to {day}.").format(
                    id=request_id, kind=what, day=i18n.day(deadline)),
                _("Reason given: {reason}").format(reason=_line(reason or "") or _("none given"))]
    else:
        status = _(STATUS_WORDS.get(to_status, to_status))
        subject = _("Your request is now: {status}").format(status=status)
        body = [_("Your request {id} ({kind}) is now: {status}.").format(id=request_id, kind=what, status=status)]
        if to_status not in ("completed", "rejected", "withdrawn"):
            body.append(_("It is due by {day}.").format(day=i18n.day(deadline)))
        if reason and to_status == "rejected":
            body.append(_("Reason given: {reason}").format(reason=_line(reason)))
    body += ["", _link(base_url, REQUESTS_PAGE, _("My requests: {link}"))]
    return subject, "\n".join(body)


def collector_change(*, name: str, category: str, event: str, reason: str | None,
                     base_url: str) -> tuple[str, str]:
    decision = _(COLLECTOR_WORDS.get(event, event))
    subject = _("A system collecting your {category} was {decision}").format(category=_line(category),
                                                                           decision=decision)
    body = [_("The works council {decision} the collector {name}, which sends your {category}.").format(
                decision=decision, name=_line(name), category=_line(category)),
            _("Reason given: {reason}").format(reason=_line(reason or "") or _("none given"))]
    if event == "suspended":
        body.append(_("While it is suspended, the portal refuses its data."))
    body += ["", _link(base_url, DATA_PAGE, _("My data: {link}"))]
    return subject, "\n".join(body)


def digest(events: Sequence[AccessEvent], *, frequency: str, start: date, end: date,
           base_url: str) -> tuple[str, str]:
    """A period's reads by others: flagged reads first, listed one by one; the rest per reader and category."""
    people = len({e.actor_id for e in events if e.actor_kind == "person"})
    services = len({e.actor_id for e in events}) - people
    period = (_("on {day}").format(day=i18n.day(start)) if frequency == "daily" else
              _("from {first} to {last}").format(first=i18n.day(start), last=i18n.day(end)))
    subject = (_("Your daily digest: who read your data") if frequency == "daily"
               else _("Your weekly digest: who read your data"))
    body = [_("{period}, {people} and {services} read your data ({reads}).").format(
        period=period[0].upper() + period[1:],
        people=ngettext("{n} person", "{n} people", people).format(n=i18n.number(people)),
        services=ngettext("{n} service", "{n} services", services).format(n=i18n.number(services)),
        reads=ngettext("{n} read", "{n} reads", len(events)).format(n=i18n.number(len(events))))]
    flagged = [e for e in events if e.flag_labels]
    if flagged:
        body += ["", _("Flagged reads:"), *_listed([_read_line(e) for e in flagged])]
    rest = Counter((_line(e.actor), _line(e.category)) for e in events if not e.flag_labels)
    records: Counter[tuple[str, str]] = Counter()
    for e in events:
        if not e.flag_labels:
            records[(_line(e.actor), _line(e.category))] += e.record_count
    if rest:
        body += ["", _("Other reads:"), *_listed([
            "- " + _("{reader}: {category}, {reads}, {records}").format(
                reader=reader, category=category,
                reads=ngettext("{n} read", "{n} reads", n).format(n=i18n.number(n)),
                records=ngettext("{n} record", "{n} records", records[(reader, category)]).format(
                    n=i18n.number(records[(reader, category)])))
            for (reader, category), n in sorted(rest.items(), key=lambda item: (-item[1], item[0]))])]
    body += ["", _link(base_url, WHO_PAGE, _("Who accessed my data: {link}")),
             _("You can choose a daily or weekly digest, or none, on your Settings page.")]
    return subject, "\n".join(body)
