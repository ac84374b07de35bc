"""The demo company's collector register: the systems that record its six categories, registered by the
privacy office and approved by the works council under the company's works agreements, and one pilot the
council refused. Entered through the register's own functions, as a real company's would be, so every
registration and decision reaches the signed log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.engine import Engine

from portal.bootstrap import employee_directory
from portal.collection import register
from portal.core import catalog
from portal.demo.personas import PERSONA_BY_SUB
from portal.identity.policy import EMPLOYEE, PRIVACY_OFFICE, WORKS_COUNCIL
from portal.identity.principal import Principal

ENDPOINT = "Works agreement WA-2024-03 on endpoint monitoring"
COLLABORATION = "Works agreement WA-2024-07 on chat and meeting tools"
PERFORMANCE = "Works agreement WA-2023-11 on performance management"


@dataclass(frozen=True)
class DemoCollector:
    name: str
    category_key: str
    purposes: tuple[str, ...]
    agreement: str | None
    description: str
    approve: str | None  # the council's reason, or None: refused with ``refuse``
    refuse: str | None = None


COLLECTORS = (
    DemoCollector("endpoint-agent-keystrokes", "user.behavior.keystrokes",
                  ("essential.service.security", "analytics.reporting.productivity", "train_ai_system"), ENDPOINT,
                  "EndpointAgent 4.2 on every company laptop: key counts per 15-minute window, never the keys.",
                  "Counts only, as agreed in WA-2024-03; team-level reporting only."),
    DemoCollector("endpoint-agent-mouse", "user.behavior.mouse_movement",
                  ("analytics.reporting.productivity", "train_ai_system"), ENDPOINT,
                  "EndpointAgent 4.2: mouse distance, clicks and scrolls per 15-minute window.",
                  "As agreed in WA-2024-03."),
    DemoCollector("endpoint-agent-apps", "user.behavior.application_usage",
                  ("essential.service.security", "analytics.reporting.productivity", "train_ai_system"), ENDPOINT,
                  "EndpointAgent 4.2: the application and window title in front.",
                  "As agreed in WA-2024-03; window titles kept 365 days, not longer."),
    DemoCollector("teamchat-export", "user.content.private.chat",
                  ("essential.service.collaboration", "legal.compliance", "train_ai_system"), COLLABORATION,
                  "TeamChat's compliance export of messages.", "As agreed in WA-2024-07."),
    DemoCollector("meetassist-transcriber", "user.content.private.meeting_transcript",
                  ("essential.service.collaboration", "train_ai_system"), COLLABORATION,
                  "MeetAssist transcribes recorded meetings.", "As agreed in WA-2024-07; recording is announced."),
    DemoCollector("hris-performance", "user.workplace.performance",
                  ("employment.performance_management", "train_ai_system"), PERFORMANCE,
                  "HRIS Performance: monthly metrics and review notes.", "As agreed in WA-2023-11."),
    DemoCollector("screen-capture-pilot", "user.behavior.application_usage",
                  ("analytics.reporting.productivity",), None,
                  "A pilot taking a screenshot of the active window every five minutes.", None,
                  refuse="No works agreement covers screenshots; the council does not agree to this pilot."),
)


def _principal(engine: Engine, sub: str, role: str) -> Principal:
    found = employee_directory(engine).by_subject(PERSONA_BY_SUB[sub].sub)
    if found is None:
        raise ValueError(f"the persona {sub} is not among the employees; seed the company first")
    return Principal(subject=found.oidc_sub or found.employee_id, email=found.email, name=found.display_name,
                     employee=found, roles=frozenset({EMPLOYEE, role}))


def register_collectors(engine: Engine, start: date) -> int:
    """Register the demo's collectors a month before its first day, and decide on each; returns how many."""
    office = _principal(engine, "priya", PRIVACY_OFFICE)
    council = _principal(engine, "wanda", WORKS_COUNCIL)
    moment = datetime.combine(start - timedelta(days=30), time(9), tzinfo=UTC)
    for step, c in enumerate(COLLECTORS):
        category = catalog.category(c.category_key)
        at = moment + timedelta(hours=step)
        register.register(engine, office, name=c.name, category_key=c.category_key, purposes=list(c.purposes),
                          legal_basis=category.legal_basis, retention_days=category.retention_days,
                          agreement=c.agreement, description=c.description, now=at)
        if c.approve is not None:
            register.decide(engine, council, c.name, "approve", c.approve, now=at + timedelta(days=7))
        else:
            register.decide(engine, council, c.name, "suspend", c.refuse or "refused", now=at + timedelta(days=7))
    return len(COLLECTORS)
