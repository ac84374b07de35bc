"""The sentence at the top of "Who accessed my data" in the reader's language, English by default."""

from __future__ import annotations

from datetime import date

from portal.audit.my_access import AccessSummary, actor_label
from portal.core import i18n

FLAGGED = AccessSummary(days=90, services=2, people=1, reads=4, no_purpose=1, role_not_allowed=1, over_exposure=2)


def test_the_summary_names_readers_reads_and_flags_in_english():
    assert FLAGGED.sentence() == (
        "In the last 90 days, 2 services and 1 person read your data (4 reads); 1 read had no registered purpose. "
        "1 read came from a role the policy does not allow and 2 reads were part of an over-exposure episode.")


def test_the_summary_names_readers_reads_and_flags_in_german():
    with i18n.in_language("de"):
        assert FLAGGED.sentence() == (
            "In den letzten 90 Tagen haben auf Ihre Daten zugegriffen: 2 Dienste und 1 Person (4 Zugriffe); "
            "1 Zugriff hatte keinen eingetragenen Zweck. 1 Zugriff kam aus einer von der Richtlinie nicht erlaubten "
            "Rolle und 2 Zugriffe waren Teil einer Phase zu großer Zugriffsreichweite.")
        nobody = AccessSummary(90, 0, 0, 0, 0, 0, 0, unlinked_on=date(2026, 12, 1))
        assert nobody.sentence() == ("Die Aufzeichnung, wer auf Ihre Daten zugegriffen hat, wurde durch Ihre Löschung "
                                     "am 01.12.2026 von Ihnen getrennt; seitdem hat niemand sonst auf Ihre Daten "
                                     "zugegriffen.")
        assert actor_label("person", "Bob", "Platform", "engineer", "team_role") == "Jemand aus Platform (engineer)"
