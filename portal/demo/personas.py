"""The demo company's named people, known to the local OIDC provider and to the demo data.

Every seeded company contains them, whatever its size, so the README's sign-in
instructions hold at any scale.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Persona:
    sub: str
    employee_id: str
    display_name: str
    email: str
    department: str
    team: str
    job_title: str
    groups: tuple[str, ...] = ()
    story: str = ""

    def claims(self) -> dict[str, object]:
        """The claims the local OIDC provider issues for this person."""
        claims: dict[str, object] = {
            "sub": self.sub,
            "email": self.email,
            "email_verified": True,
            "name": self.display_name,
        }
        if self.groups:
            claims["groups"] = list(self.groups)
        return claims


PERSONAS: tuple[Persona, ...] = (
    Persona("alice", "E00001", "Alice Lindqvist", "alice@example.com", "Engineering", "Payments Platform",
            "Senior Software Engineer", story="Employee in Engineering; her transcripts were read during the "
            "over-exposure episode and feed the assistant training datasets."),
    Persona("bob", "E00002", "Bob Okafor", "bob@example.com", "Sales", "Enterprise Accounts",
            "Account Executive", story="Employee in Sales, in a different department from Alice."),
    Persona("wanda", "E00003", "Wanda Nowak", "wanda@example.com", "Operations", "Facilities",
            "Operations Coordinator", ("works-council",), story="Employee who sits on the works council."),
    Persona("priya", "E00004", "Priya Raman", "priya@example.com", "Legal", "Privacy Office",
            "Data Protection Specialist", ("privacy-office",), story="Works in the privacy office."),
)

PERSONA_BY_SUB = {p.sub: p for p in PERSONAS}


def provider_arguments() -> list[str]:
    """Command-line arguments predefining the personas at ``oidc-provider-mock``."""
    args: list[str] = []
    for persona in PERSONAS:
        args += ["--user-claims", json.dumps(persona.claims())]
    return args
