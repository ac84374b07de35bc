"""Vocabulary and text corpora of the synthetic demo company.

Names, the org chart, applications and window titles, chat messages, meeting
utterances and manager notes. Everything is generated from templates with slot
filling by a seeded :class:`random.Random`, so the same seed gives the same
corpus. The generator in :mod:`portal.demo.seed` samples indices into these corpora
with numpy, which keeps millions of rows cheap while the text stays varied.

A few messages are deliberately personal (health, family, job search): that is
what real workplace chat contains, and it is why this data needs protecting.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

FIRST_NAMES = (
    "Aaliyah", "Abdul", "Adaeze", "Adriana", "Ahmed", "Aiko", "Aisha", "Akira", "Alejandro", "Amara",
    "Amir", "Ana", "Anders", "Andrea", "Aniket", "Anja", "Arjun", "Astrid", "Aylin", "Babajide",
    "Beatriz", "Benjamin", "Bilal", "Camila", "Carlos", "Chen", "Chiamaka", "Chloé", "Daniel", "Daniela",
    "Deepa", "Dmitri", "Elena", "Elif", "Emeka", "Emil", "Emma", "Erik", "Esther", "Fatima",
    "Felix", "Fernanda", "Freya", "Gabriel", "Grace", "Hannah", "Hao", "Haruto", "Helena", "Ibrahim",
    "Ida", "Ifeoma", "Ines", "Ingrid", "Isabel", "Ivan", "Jakub", "James", "Javier", "Jin",
    "Jonas", "Jorge", "Julia", "Kai", "Kamala", "Karin", "Kateryna", "Kenji", "Kofi", "Lars",
    "Laura", "Layla", "Leila", "Liam", "Lina", "Lucas", "Lucía", "Magnus", "Malik", "Maria",
    "Mariam", "Marta", "Mateo", "Mei", "Mohammed", "Nadia", "Naledi", "Nikhil", "Nils", "Noah",
    "Noor", "Olga", "Oliver", "Omar", "Oskar", "Pablo", "Paula", "Pedro", "Piotr", "Rafael",
    "Rahul", "Ravi", "Rosa", "Ruth", "Sakura", "Samuel", "Sara", "Sebastián", "Sefa", "Shreya",
    "Sienna", "Sofia", "Sven", "Tariq", "Thabo", "Thomas", "Tomás", "Valentina", "Viktor", "Wei",
    "Xin", "Yara", "Yasmin", "Yusuf", "Zainab", "Zara", "Zofia", "Priyanka", "Kwame", "Siobhan",
)

LAST_NAMES = (
    "Abara", "Adeyemi", "Ahmadi", "Andersson", "Bakker", "Banerjee", "Berg", "Bianchi", "Bjørnstad", "Castillo",
    "Chatterjee", "Chen", "Costa", "Dahl", "Diallo", "Dubois", "Eriksen", "Fernández", "Fischer", "Gallagher",
    "García", "Goldberg", "Gonzalez", "Haddad", "Hansen", "Hashemi", "Hoffmann", "Holm", "Horvath", "Ibrahim",
    "Ivanova", "Iyer", "Jansen", "Jensen", "Johansson", "Kamau", "Kaur", "Khan", "Kim", "Kowalski",
    "Kumar", "Larsen", "Laurent", "Lee", "Lindberg", "Lopez", "Mahlangu", "Martin", "Mendes", "Mensah",
    "Meyer", "Moreau", "Müller", "Nakamura", "Nguyen", "Nielsen", "Novak", "Nyberg", "O'Brien", "Okonkwo",
    "Olsen", "Osei", "Park", "Patel", "Pereira", "Petrov", "Popescu", "Quinn", "Rahman", "Ramos",
    "Reddy", "Rossi", "Sato", "Schmidt", "Shah", "Silva", "Singh", "Sørensen", "Suzuki", "Svensson",
    "Tanaka", "Tran", "Van der Berg", "Vasquez", "Wagner", "Wang", "Weber", "Wiśniewska", "Yamamoto", "Yilmaz",
    "Zhang", "Zhou", "Zielinski", "Mwangi", "Achebe", "Fitzgerald", "Lindahl", "Moreno", "Hughes", "Sandoval",
)


@dataclass(frozen=True)
class Department:
    name: str
    weight: float  # share of the company
    teams: tuple[str, ...]
    titles: tuple[str, ...]
    manager_title: str
    slug: str


DEPARTMENTS: tuple[Department, ...] = (
    Department("Engineering", 0.30,
               ("Payments Platform", "Checkout", "Mobile Apps", "Data Platform", "Infrastructure",
                "Identity & Access", "Search", "Developer Experience", "Security Operations", "ML Platform"),
               ("Software Engineer", "Senior Software Engineer", "Staff Engineer", "Site Reliability Engineer",
                "QA Engineer", "Data Engineer"), "Engineering Manager", "eng"),
    Department("Sales", 0.16,
               ("Enterprise Accounts", "Mid-Market", "Sales Development", "Partnerships"),
               ("Account Executive", "Sales Development Representative", "Solutions Engineer",
                "Senior Account Executive"), "Sales Manager", "sales"),
    Department("Operations", 0.10,
               ("Facilities", "Procurement", "IT Service Desk", "Logistics"),
               ("Operations Coordinator", "Procurement Specialist", "IT Support Technician",
                "Logistics Planner"), "Operations Manager", "ops"),
    Department("Legal", 0.05,
               ("Commercial Contracts", "Privacy Office", "Compliance", "Employment Law"),
               ("Legal Counsel", "Paralegal", "Compliance Analyst", "Contract Manager"), "Head of Legal Team", "legal"),
    Department("Finance", 0.07,
               ("Financial Planning", "Accounting", "Payroll", "Treasury"),
               ("Financial Analyst", "Accountant", "Payroll Specialist", "Controller"), "Finance Manager", "fin"),
    Department("Marketing", 0.08,
               ("Brand", "Growth", "Product Marketing", "Content"),
               ("Marketing Manager", "Content Strategist", "Growth Analyst", "Designer"), "Head of Marketing Team", "mkt"),
    Department("Customer Support", 0.17,
               ("Tier 1 Support", "Tier 2 Support", "Customer Success", "Support Operations"),
               ("Support Specialist", "Senior Support Specialist", "Customer Success Manager",
                "Support Operations Analyst"), "Support Team Lead", "support"),
    Department("People", 0.07,
               ("HR Business Partners", "Talent Acquisition", "People Analytics", "Learning & Development"),
               ("HR Business Partner", "Recruiter", "People Analyst", "L&D Specialist"), "People Manager", "people"),
)
DEPARTMENT_NAMES = tuple(d.name for d in DEPARTMENTS)

# Teams whose members read telemetry as part of their job, and the role they read with
# (roles are those named in the catalog's allowed_roles).
READER_TEAMS = {
    "Security Operations": "security-operations",
    "ML Platform": "ml-platform",
    "People Analytics": "people-analytics",
    "HR Business Partners": "hr-business-partners",
    "Compliance": "compliance",
    "Privacy Office": "privacy_office",
}
READER_TEAM_TITLES = {
    "Security Operations": ("Security Analyst", "Senior Security Analyst"),
    "ML Platform": ("Machine Learning Engineer", "Senior Machine Learning Engineer"),
    "People Analytics": ("People Analyst",),
    "HR Business Partners": ("HR Business Partner", "Senior HR Business Partner"),
    "Compliance": ("Compliance Analyst",),
    "Privacy Office": ("Data Protection Specialist", "Privacy Counsel"),
}

APPLICATIONS = (
    "Visual Studio Code", "IntelliJ IDEA", "Terminal", "Google Chrome", "TeamChat", "Outlook", "Excel",
    "Word", "PowerPoint", "Salesforce", "Zendesk", "MeetAssist", "Figma", "SAP GUI", "Workday", "Adobe Acrobat",
)

# Relative time share of each application (columns as APPLICATIONS) per department.
APP_WEIGHTS = {
    "Engineering":      (26, 10, 14, 20, 10, 5, 1, 1, 1, 0, 0, 6, 2, 0, 1, 1),
    "Sales":            (0, 0, 0, 18, 12, 16, 8, 3, 8, 24, 1, 10, 0, 0, 1, 2),
    "Operations":       (0, 0, 1, 16, 12, 15, 14, 6, 2, 0, 6, 6, 0, 14, 3, 3),
    "Legal":            (0, 0, 0, 12, 8, 18, 2, 34, 2, 2, 0, 6, 0, 0, 1, 15),
    "Finance":          (0, 0, 0, 10, 8, 14, 40, 4, 4, 2, 0, 5, 0, 10, 2, 3),
    "Marketing":        (0, 0, 0, 22, 12, 12, 8, 8, 12, 3, 0, 6, 16, 0, 1, 2),
    "Customer Support": (0, 0, 0, 14, 16, 8, 2, 1, 0, 4, 45, 6, 0, 0, 1, 1),
    "People":           (0, 0, 0, 14, 12, 18, 12, 14, 6, 0, 0, 8, 0, 0, 14, 2),
}

CUSTOMERS = ("Northwind Traders", "Globex", "Initech", "Umbrella Health", "Stark Logistics", "Wayne Retail",
             "Acme Freight", "Hooli", "Vandelay Imports", "Soylent Foods", "Tyrell Systems", "Cyberdyne Labs",
             "Oceanic Air", "Massive Dynamic", "Blue Sun Energy", "Pied Piper", "Wonka Confections", "Duff Beverages")
SERVICES = ("payments-service", "checkout-api", "ledger", "auth-gateway", "search-indexer", "mobile-bff",
            "notification-hub", "fraud-scoring", "billing-worker", "data-ingest", "feature-store", "web-frontend")
FEATURES = ("retry logic for card payments", "3-D Secure flow", "saved addresses", "dark mode", "SSO for partners",
            "refund API", "search ranking tweaks", "offline mode", "invoice PDF export", "rate limiting",
            "new onboarding flow", "currency rounding", "webhook signatures", "audit trail")
RESTAURANTS = ("the Thai place", "Pho 88", "the canteen", "Falafel Haus", "Trattoria Sole", "the ramen bar",
               "Green Bowl", "Burrito Loco", "the food trucks")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")


def _fill(rnd: random.Random, template: str) -> str:
    slots = {
        "pr": rnd.randint(1200, 9800), "n": rnd.randint(2, 40), "pct": rnd.randint(61, 98),
        "ticket": f"{rnd.choice(('PAY', 'CHK', 'MOB', 'DATA', 'INFRA', 'IAM', 'SRCH'))}-{rnd.randint(100, 4999)}",
        "ticket_no": rnd.randint(100000, 999999), "customer": rnd.choice(CUSTOMERS),
        "service": rnd.choice(SERVICES), "feature": rnd.choice(FEATURES), "restaurant": rnd.choice(RESTAURANTS),
        "weekday": rnd.choice(WEEKDAYS), "q": rnd.randint(1, 4), "amount": rnd.choice((24, 40, 65, 120, 180, 310)),
        "version": f"v{rnd.randint(1, 9)}.{rnd.randint(0, 30)}.{rnd.randint(0, 9)}",
        "time": f"{rnd.randint(8, 17):02d}:{rnd.choice(('00', '15', '30', '45'))}",
        "ms": rnd.choice((450, 800, 1200, 2300)), "floor": rnd.randint(1, 6),
        "dept": rnd.choice(DEPARTMENT_NAMES), "discount": rnd.choice((10, 15, 20, 25)),
        "family": rnd.choice(("my son", "my daughter", "my partner", "my dad", "my mum")),
        "month": rnd.choice(("March", "the summer", "the offsite", "last month")),
        "role": rnd.choice(("backend engineer", "account executive", "payroll specialist", "support lead", "designer")),
        "campaign": rnd.choice(("spring launch", "webinar series", "partner week", "Q4 promo", "customer stories")),
        "file": rnd.choice(("handler.go", "retry.py", "schema.sql", "App.tsx", "client.ts", "main.rs", "config.yaml")),
    }
    return template.format(**slots)


CHAT_TEMPLATES: dict[str, tuple[str, ...]] = {
    "standup": (
        "Yesterday: finished the {feature} spike. Today: pairing on {ticket}. No blockers.",
        "Morning! Still on {ticket}, should have a PR up before lunch.",
        "Quick update: {ticket} is in review, picking up the {service} alerts next.",
        "Blocked on {ticket} until the {service} schema change is deployed, will help with reviews meanwhile.",
        "Out for a dentist appointment 10-11, otherwise continuing with {feature}.",
        "Done with {ticket}; today I'm writing tests for the {feature} change.",
    ),
    "code_review": (
        "Left a few comments on PR #{pr}, mostly naming, one real concern about error handling in {file}.",
        "Can someone review PR #{pr}? It's the {feature} change, about {n}0 lines.",
        "LGTM once the flaky test in {service} is fixed 👍",
        "CI is red on main again, looks like the {service} integration test is flaky.",
        "Why do we retry {n} times in {file}? Feels like it could hammer {service} during an outage.",
        "Merged PR #{pr}, deploying {service} {version} after standup.",
    ),
    "incident": (
        "Heads up: p95 latency on {service} is {ms}ms since {time}, looking into it.",
        "Rolled back {service} to {version}, error rate is back to normal.",
        "Who's on call for {service} this week? Pager is going off about disk space.",
        "Postmortem for the {service} outage is on the wiki, please add your timeline notes.",
    ),
    "support": (
        "Escalating ticket #{ticket_no}: {customer} can't log in since this morning.",
        "{customer} is asking for a refund on their last invoice, who can approve?",
        "CSAT dipped to {pct}% this week, mostly about slow first responses.",
        "Macro for the password reset issue is updated, please use it for the new tickets.",
        "Ticket #{ticket_no} is a duplicate of the {service} bug, linking them.",
        "Long call with {customer}, they were pretty upset but we found a workaround.",
    ),
    "sales": (
        "Just got off the call with {customer}, they want {discount}% off for a 3-year term.",
        "{customer} signed! 🎉 {amount}k ARR",
        "Can someone from solutions join the {customer} demo on {weekday}?",
        "Pipeline review moved to {weekday}, please update your opportunities before then.",
        "{customer} procurement wants our security questionnaire again, where's the latest version?",
        "Lost the {customer} deal on price, they went with a competitor.",
    ),
    "finance": (
        "Month-end close: still waiting on accruals from {dept}.",
        "Q{q} forecast.xlsx is updated on the shared drive.",
        "Payroll run is locked for this month, changes go into the next cycle.",
        "Can you double-check the FX rates in the treasury sheet? Numbers look off by {n}%.",
        "Vendor invoice from {customer} is missing a PO number.",
    ),
    "legal": (
        "Redlines for the {customer} MSA are back, they pushed on the liability cap again.",
        "Reminder: DPA template v{n} is the one to use now.",
        "Can we get the {customer} NDA signed before the {weekday} workshop?",
        "New retention schedule draft is ready for review.",
    ),
    "marketing": (
        "The {campaign} landing page is live, CTR so far {pct}% of last year's.",
        "Need final copy for the {campaign} emails by {weekday}.",
        "Brand review of the new deck is on {weekday} at {time}.",
        "Webinar registrations are at {n}0, better than expected.",
    ),
    "operations": (
        "Badge readers on floor {floor} are down, facilities is on it.",
        "Laptop refresh batch {n} arrives {weekday}, please book your slot.",
        "The coffee machine on floor {floor} is fixed ☕",
        "Shipment for {customer} is delayed at customs, new ETA {weekday}.",
    ),
    "people": (
        "Interview loop for the {role} role moved to {weekday}.",
        "Reminder: performance self-reviews are due {weekday}.",
        "Onboarding session for new joiners is on {weekday} at {time}.",
        "Engagement survey closes {weekday}, participation is at {pct}%.",
    ),
    "lunch": (
        "Lunch at {restaurant} at 12:30, who's in?",
        "Anyone up for {restaurant} today?",
        "Cake in the kitchen on floor {floor} 🎂",
        "Running late, start without me!",
    ),
    "general": (
        "Thanks everyone for today's session!",
        "OOO tomorrow, back {weekday}.",
        "Can we move our 1:1 to {weekday}?",
        "Sharing the slides from this morning in the channel.",
        "Working from home today, ping me here.",
    ),
    "personal": (
        "Need to leave at 3 today, {family} has a doctor's appointment.",
        "Honestly feeling pretty burnt out this week.",
        "Does anyone know a good physio? My back's been bad since {month}.",
        "Sorry for the slow replies, things are rough at home right now.",
        "Got a call from the school again about {family}, stepping out for a bit.",
        "I have an interview elsewhere on {weekday}, please keep that between us.",
        "Fertility clinic appointment {weekday} morning, offline until 11.",
        "Taking a sick day, migraine again.",
    ),
}
CHAT_KINDS = tuple(CHAT_TEMPLATES)

# Share of each message kind (columns as CHAT_KINDS) per department.
CHAT_WEIGHTS = {
    "Engineering":      (20, 22, 8, 1, 0, 0, 0, 0, 2, 2, 10, 12, 3),
    "Sales":            (0, 0, 0, 6, 40, 2, 3, 4, 1, 2, 12, 17, 3),
    "Operations":       (0, 0, 2, 4, 2, 4, 0, 0, 44, 4, 14, 18, 3),
    "Legal":            (0, 0, 0, 1, 4, 2, 50, 1, 2, 4, 12, 18, 3),
    "Finance":          (0, 0, 0, 1, 3, 52, 2, 1, 2, 4, 12, 18, 3),
    "Marketing":        (0, 0, 0, 2, 6, 2, 1, 46, 2, 4, 12, 18, 3),
    "Customer Support": (0, 0, 4, 54, 3, 1, 0, 0, 2, 2, 12, 16, 3),
    "People":           (0, 0, 0, 1, 1, 3, 3, 2, 2, 50, 12, 18, 3),
}

# Which channel a message of each kind goes to; "{team}" is the sender's team channel.
CHAT_CHANNELS = {
    "standup": "#{team}", "code_review": "#{team}", "incident": "#incidents", "support": "#support-escalations",
    "sales": "#sales-deals", "finance": "#finance", "legal": "#legal", "marketing": "#marketing",
    "operations": "#office-ops", "people": "#people-team", "lunch": "#lunch", "general": "#{team}",
    "personal": "direct message",
}


def chat_corpus(rnd: random.Random, per_kind: int = 300) -> dict[str, list[str]]:
    """Distinct-ish filled messages per kind (duplicates are fine: people repeat themselves)."""
    return {kind: [_fill(rnd, rnd.choice(t)) for _ in range(per_kind)] for kind, t in CHAT_TEMPLATES.items()}


UTTERANCE_TEMPLATES: dict[str, tuple[str, ...]] = {
    "standup": (
        "Yesterday I worked on {ticket}, today I'll finish the tests.",
        "I'm still blocked on the {service} migration, waiting for infra.",
        "Nothing new from me, continuing with the {feature} work.",
        "I can take the {service} alert if nobody else has capacity.",
        "Quick one: please review my PR for {feature} when you get a chance.",
    ),
    "planning": (
        "I think {ticket} is more like five points, the {service} side is unclear.",
        "Let's pull the {feature} work into this sprint and push the cleanup.",
        "We committed to {n} points last sprint and finished about two thirds.",
        "Do we have a dependency on the data platform team for this?",
    ),
    "retro": (
        "What went well: the {service} rollout was smooth.",
        "Honestly the on-call week was exhausting, we need a better rotation.",
        "We keep getting interrupted by ad-hoc requests, can we protect focus time?",
        "I'd like us to write the postmortem within two days next time.",
    ),
    "customer": (
        "Thanks for joining. Today we wanted to walk through the renewal for {customer}.",
        "On pricing, we can go to {discount} percent if we sign by end of quarter.",
        "Your team reported issues with {feature}; a fix is scheduled for next week.",
        "Could you share who else needs to be involved in the security review?",
        "We'll send the proposal over by {weekday}.",
    ),
    "support_review": (
        "We had {n} escalations this week, most of them about login problems.",
        "Ticket {ticket_no} took four days, the customer was really unhappy.",
        "The new macros cut handling time noticeably.",
        "We need engineering to look at the {service} bug, it's generating a lot of tickets.",
    ),
    "pipeline": (
        "{customer} is at the contract stage, I'd put it at seventy percent.",
        "I'm worried about my number this quarter, two deals slipped.",
        "Let's get a solutions engineer on the {customer} opportunity.",
        "Forecast for the quarter is roughly {amount} thousand above plan.",
    ),
    "one_on_one": (
        "How are you doing, really? You seemed stressed last week.",
        "I'd like to talk about the promotion timeline.",
        "My workload has been too high since the reorg, I'm working most evenings.",
        "I have a medical appointment coming up and will need a few days off.",
        "Feedback from the team has been positive about your reviews.",
        "Let's agree on two goals for next quarter.",
    ),
    "general": (
        "Let's start, we have a lot to cover today.",
        "Can everyone see my screen?",
        "I'll send the notes and action items after the call.",
        "Sorry, I was on mute. I agree with that.",
        "Let's take that offline and come back on {weekday}.",
        "Any other business? Otherwise we can end early.",
    ),
    "contracts": (
        "The liability cap in the {customer} agreement is still open.",
        "Their DPA asks for a seventy-two hour breach notice, that's fine for us.",
        "We should not accept unlimited indemnity here.",
    ),
    "finance_review": (
        "Accruals for {dept} are still missing, that blocks the close.",
        "Travel spend is {n} percent above budget this quarter.",
        "The forecast assumes the {customer} renewal lands in Q{q}.",
    ),
}

# Recurring meetings per department: (title template, weekdays 0=Mon, start hour UTC, minutes, utterance kind).
RECURRING_MEETINGS = {
    "Engineering": (("{team} standup", (0, 1, 2, 3, 4), 9.5, 15, "standup"),
                    ("{team} sprint planning", (0,), 10.5, 60, "planning"),
                    ("{team} retro", (4,), 15.0, 45, "retro")),
    "Sales": (("Weekly pipeline review: {team}", (0,), 9.0, 60, "pipeline"),),
    "Operations": (("{team} ops sync", (1, 3), 9.25, 30, "general"),),
    "Legal": (("Contract review: {team}", (2,), 11.0, 60, "contracts"),),
    "Finance": (("Finance weekly: {team}", (0,), 10.0, 45, "finance_review"),),
    "Marketing": (("{team} campaign review", (1,), 14.0, 45, "general"),),
    "Customer Support": (("{team} shift handover", (0, 1, 2, 3, 4), 8.75, 15, "support_review"),
                         ("Escalation review: {team}", (2,), 14.0, 45, "support_review")),
    "People": (("{team} team sync", (3,), 10.0, 45, "general"),),
}

AD_HOC_TITLES = {
    "Engineering": (("Design review: {feature}", "planning"), ("Incident review: {service}", "retro"),
                    ("1:1", "one_on_one"), ("Architecture sync: {service}", "planning")),
    "Sales": (("Customer call: {customer}", "customer"), ("QBR prep: {customer}", "pipeline"),
              ("Demo for {customer}", "customer"), ("1:1", "one_on_one")),
    "Operations": (("Vendor call: {customer}", "customer"), ("1:1", "one_on_one"), ("Office move planning", "general")),
    "Legal": (("Contract negotiation: {customer}", "contracts"), ("1:1", "one_on_one"),
              ("Privacy impact assessment: {feature}", "general")),
    "Finance": (("Budget review: {dept}", "finance_review"), ("1:1", "one_on_one"), ("Audit prep", "finance_review")),
    "Marketing": (("Creative review: {campaign}", "general"), ("1:1", "one_on_one"), ("Agency sync", "general")),
    "Customer Support": (("Escalation call: {customer}", "customer"), ("1:1", "one_on_one"),
                         ("Bug triage with engineering", "support_review")),
    "People": (("Interview debrief: {role}", "general"), ("1:1", "one_on_one"), ("Compensation planning", "general")),
}


def utterance_corpus(rnd: random.Random, per_kind: int = 200) -> dict[str, list[str]]:
    return {kind: [_fill(rnd, rnd.choice(t)) for _ in range(per_kind)] for kind, t in UTTERANCE_TEMPLATES.items()}


def ad_hoc_meetings(rnd: random.Random, department: str, count: int = 60) -> list[tuple[str, str]]:
    """(title, utterance kind) pairs of one-off meetings for a department."""
    choices = AD_HOC_TITLES[department]
    out = []
    for _ in range(count):
        title, kind = rnd.choice(choices)
        out.append((_fill(rnd, title), kind))
    return out


_TITLE_TEMPLATES = {
    "Visual Studio Code": ("{file} — {service} — Visual Studio Code", "README.md — {service} — Visual Studio Code",
                           "test_{service}.py — {service} — Visual Studio Code"),
    "IntelliJ IDEA": ("{service} – PaymentController.java", "{service} – RetryPolicy.kt", "{service} – build.gradle"),
    "Terminal": ("zsh — ~/src/{service}", "kubectl logs {service}-7f9c — zsh", "psql — {service}-db", "git rebase -i — zsh"),
    "Google Chrome": ("PR #{pr} · acme/{service} - GitHub - Google Chrome",
                      "{ticket}: {feature} - Jira - Google Chrome",
                      "{service} runbook - Confluence - Google Chrome",
                      "Grafana - {service} latency - Google Chrome",
                      "{customer} - LinkedIn - Google Chrome",
                      "Online Banking - Google Chrome",
                      "Flights to Lisbon - Google Chrome",
                      "Senior roles in Berlin - Jobs - Google Chrome",
                      "Symptoms of burnout - Search - Google Chrome",
                      "YouTube - Google Chrome"),
    "TeamChat": ("#general - TeamChat", "#incidents - TeamChat", "#sales-deals - TeamChat",
                 "#support-escalations - TeamChat", "Direct message - TeamChat", "#lunch - TeamChat"),
    "Outlook": ("Inbox - Outlook", "Calendar - Outlook", "RE: {customer} renewal - Outlook",
                "FW: Q{q} forecast - Outlook", "RE: Interview loop for {role} - Outlook"),
    "Excel": ("Q{q} forecast.xlsx - Excel", "Headcount plan {dept}.xlsx - Excel", "Commission tracker.xlsx - Excel",
              "Vendor invoices.xlsx - Excel", "Budget {dept}.xlsx - Excel"),
    "Word": ("{customer} MSA redline v{n}.docx - Word", "Retention policy draft.docx - Word",
             "Performance review notes.docx - Word", "Offer letter template.docx - Word"),
    "PowerPoint": ("Q{q} business review.pptx - PowerPoint", "{customer} proposal.pptx - PowerPoint",
                   "All-hands Q{q}.pptx - PowerPoint"),
    "Salesforce": ("{customer} | Opportunity | Salesforce", "{customer} | Account | Salesforce",
                   "My pipeline | Reports | Salesforce"),
    "Zendesk": ("#{ticket_no} Cannot log in – Zendesk", "#{ticket_no} Refund request from {customer} – Zendesk",
                "#{ticket_no} Payment failed – Zendesk", "Views: My open tickets – Zendesk"),
    "MeetAssist": ("{customer} call - MeetAssist", "Standup - MeetAssist", "1:1 - MeetAssist",
                   "Pipeline review - MeetAssist"),
    "Figma": ("{feature} – Figma", "Design system – Figma", "Checkout v{n} – Figma"),
    "SAP GUI": ("SAP Easy Access - FB60", "SAP Easy Access - ME21N", "SAP Easy Access - MIGO"),
    "Workday": ("Workday - Time Off", "Workday - Performance Review", "Workday - Expenses"),
    "Adobe Acrobat": ("{customer} NDA.pdf - Adobe Acrobat", "Invoice {ticket_no}.pdf - Adobe Acrobat",
                      "Benefits guide 2026.pdf - Adobe Acrobat"),
}


def window_titles(rnd: random.Random, per_app: int = 120) -> dict[str, list[str]]:
    """Window titles per application; each application's list is non-empty."""
    return {app: [_fill(rnd, rnd.choice(_TITLE_TEMPLATES[app])) for _ in range(per_app)] for app in APPLICATIONS}


PERFORMANCE_METRICS = {
    "Engineering": (("story_points", 28.0), ("pull_requests_merged", 14.0), ("code_reviews", 22.0)),
    "Sales": (("deals_won", 3.0), ("pipeline_value_eur", 240000.0), ("calls_logged", 110.0)),
    "Operations": (("work_orders_closed", 60.0), ("sla_met_pct", 93.0)),
    "Legal": (("contracts_reviewed", 18.0), ("turnaround_days", 4.0)),
    "Finance": (("reconciliations_completed", 40.0), ("close_days", 6.0)),
    "Marketing": (("campaigns_launched", 3.0), ("leads_generated", 420.0)),
    "Customer Support": (("tickets_closed", 210.0), ("csat_score", 4.4), ("first_response_minutes", 38.0)),
    "People": (("hires_closed", 3.0), ("time_to_fill_days", 41.0)),
}

MANAGER_NOTES = (
    "Strong month; took ownership of the {feature} work.",
    "Missed two commitments; we discussed workload in our 1:1.",
    "Great feedback from {customer} after the escalation.",
    "Please follow up on time tracking, several gaps this month.",
    "Ready for more responsibility; discuss promotion next cycle.",
    "Seemed disengaged in team meetings; check in about wellbeing.",
    "Solid, steady output. No concerns.",
    "Below target on activity metrics this month; agreed on an improvement plan.",
    "Covered for a colleague on leave, much appreciated.",
    "Attendance was irregular; discussed flexible hours.",
)


def manager_notes(rnd: random.Random, count: int = 200) -> list[str]:
    return [_fill(rnd, rnd.choice(MANAGER_NOTES)) for _ in range(count)]
