"""Collectors: the register of systems that send telemetry; the privacy office registers, the works council
decides."""

import streamlit as st

import ui
from portal.core import i18n
from portal.core.i18n import _
from portal.collection import collector_views, register
from portal.collection.collector_states import Decision, TransitionError
from portal.core import catalog
from portal.core.plain_text import clean, md
from portal.identity import policy

ctx = ui.require("collectors:read")
svc, principal = ctx.services, ctx.principal
FLASH = "collectors-flash"


def done(recorded, what: str) -> None:  # noqa: ANN001
    """Say what changed after the page is drawn again with it."""
    st.session_state[FLASH] = (what.format(name=recorded.collector.name), recorded.log_problem)
    st.rerun()


st.title(_("Collectors"))
st.caption(_("Every system that sends telemetry about employees is on this register: what it sends, why, under which "
           "legal basis and agreement, and for how long. The privacy office registers a collector; it may send "
           "nothing until the works council approves it, and the data of a suspended collector is refused. "
           "Employees see the register on My data; every decision is signed into the tamper-evident log."))
if FLASH in st.session_state:
    message, problem = st.session_state.pop(FLASH)
    st.success(md(message))
    if problem:
        st.warning(md(problem))
st.info(collector_views.retention_words(svc.retention_last_runs(principal)), icon=":material/auto_delete:")

items = svc.collector_register(principal)
c1, c2, c3 = st.columns(3)
c1.metric(_("Approved"), sum(c.status == "approved" for c in items))
c2.metric(_("Awaiting the works council"), sum(c.status == "pending" for c in items))
c3.metric(_("Suspended"), sum(c.status == "suspended" for c in items))
if items:
    st.dataframe(collector_views.register_frame(items), hide_index=True, width="stretch",
                 column_config={_("Since"): st.column_config.DatetimeColumn(format=_("D MMM YYYY"))})
else:
    st.info(_("No collector is registered yet. The privacy office registers each system that sends telemetry, here "
              "or with `portal collectors register`."))

if policy.allowed(principal, "collectors:register"):
    with st.expander(_("Register a collector"), expanded=not items, icon=":material/add_circle:"):
        names = {c.name: c for c in catalog.CATEGORIES}
        category = names[st.selectbox(_("Category it sends"), list(names), key="col-category")]
        with st.form("col-register"):
            name = st.text_input(_("Name: the id it sends with every batch"), max_chars=100, key="col-name",
                                 placeholder="endpoint-agent")
            purposes = st.multiselect(_("Purposes"), list(category.purposes), key=f"col-purposes-{category.key}",
                                      format_func=lambda code: catalog.PURPOSE_BY_CODE[code].name)
            basis = st.text_input(_("Legal basis"), value=category.legal_basis, key=f"col-basis-{category.key}")
            days = st.number_input(_("Kept for (days; the catalog allows at most {days})").format(
                                       days=i18n.number(category.retention_days)),
                                   min_value=1, max_value=category.retention_days, value=category.retention_days,
                                   step=1, key=f"col-days-{category.key}")
            agreement = st.text_input(_("Works agreement (optional)"), key="col-agreement")
            description = st.text_area(_("What it records, in words employees read (optional)"),
                                       key="col-description")
            submitted = st.form_submit_button(_("Register"), type="primary", key="col-register-submit")
        if submitted:
            try:
                recorded = svc.register_collector(principal, name=name.strip(), category_key=category.key,
                                                  purposes=purposes, legal_basis=basis, retention_days=int(days),
                                                  agreement=agreement, description=description)
            except (register.CollectorError, catalog.UnknownCategory) as exc:
                st.error(_("Nothing was registered: {problem}.").format(problem=md(exc)))
            else:
                done(recorded, _("{name} is on the register, waiting for the works council's decision."))

if not items:
    st.stop()

st.subheader(_("A collector and its decisions"))
labels = {c.name: clean(f"{c.name} · {catalog.CATEGORY_BY_KEY[c.category_key].name} · {c.status}")
          if c.category_key in catalog.CATEGORY_BY_KEY else clean(f"{c.name} · {c.status}") for c in items}
chosen = st.selectbox(_("Open a collector"), list(labels), format_func=labels.get, key="col-open")
collector = next(c for c in items if c.name == chosen)
st.markdown(_("**{name}** is {status}.").format(name=md(collector.name),
                                               status=md(collector_views.status_words(collector))))
if collector.description:
    st.text(clean(collector.description))  # as the privacy office wrote it, line breaks kept

if policy.allowed(principal, "collectors:decide"):
    open_decisions = collector_views.decisions_open(collector)
    clicked: Decision | None = None
    with st.form(f"col-decide-{chosen}"):
        reason = st.text_area(_("Reason (employees read it)"), max_chars=register.MAX_REASON, key=f"col-reason-{chosen}")
        for column, decision in zip(st.columns(len(open_decisions)), open_decisions, strict=True):
            label = collector_views.decision_label(collector, decision)
            if column.form_submit_button(label, key=f"col-{decision.value}-{chosen}",
                                         type="primary" if decision != Decision.SUSPEND else "secondary"):
                clicked = decision
    if clicked is not None:
        try:
            recorded = svc.decide_collector(principal, chosen, clicked.value, reason)
        except (register.CollectorError, TransitionError) as exc:
            st.error(_("Nothing was changed: {problem}.").format(problem=md(exc)))
        else:
            done(recorded, "{name} " + collector_views.decision_done(clicked, collector) + ".")

st.dataframe(collector_views.history_frame(svc.collector_history(principal, chosen)), hide_index=True,
             width="stretch",
             column_config={_("When"): st.column_config.DatetimeColumn(_("When (UTC)"), format=_("D MMM YYYY, HH:mm"))})
