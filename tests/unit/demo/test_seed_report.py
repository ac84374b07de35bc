"""What `portal seed` prints when it is done: the same English as ever, and German when asked for."""

from __future__ import annotations

from datetime import date

from portal.core import i18n
from portal.demo.seed import SeedReport


def report() -> SeedReport:
    return SeedReport(
        employees=1234, days=90, seed=7, start_date=date(2026, 8, 30), end_date=date(2026, 11, 27), buckets=16,
        lake_dir="/data/lake", database="sqlite:////data/portal.db",
        lake_rows={"keystrokes": 2_500_000, "mouse_activity": 1_200_000},
        db_rows={"employees": 1234, "access_events": 45_678},
        timings={"schema": 0.25, "telemetry": 12.5, "access log": 1.0}, lake_bytes=123_456_789,
    )


def test_the_english_report_reads_as_before_with_grouped_figures():
    with i18n.in_language("en"):
        lines = report().describe().splitlines()
    assert lines[0] == "Seeded a demo company of 1,234 employees over 90 days (2026-08-30 to 2026-11-27, seed 7) in 13.8 s."
    assert lines[1] == "Telemetry lake /data/lake (16 buckets, 123.5 MB):"
    assert lines[2] == "  keystrokes                 2,500,000 rows"
    assert lines[4] == "  activity rows              3,700,000 (33.3 per employee-day)"
    assert lines[5] == "  written at 296,000 rows/s"
    assert lines[9] == "Timings: schema 0.2 s, telemetry 12.5 s, access log 1.0 s"


def test_the_german_report_uses_german_words_and_number_formats():
    with i18n.in_language("de"):
        text = report().describe()
    assert text.startswith("Demo-Unternehmen mit 1.234 Beschäftigten über 90 Tage erzeugt (2026-08-30 bis "
                           "2026-11-27, Seed 7) in 13,8 s.\n")
    assert "  keystrokes                 2.500.000 Zeilen\n" in text
    assert "  Aktivitätszeilen           3.700.000 (33,3 je Beschäftigtem und Tag)\n" in text
    assert "Dauer: Schema 0,2 s, Telemetriedaten 12,5 s, Zugriffsprotokoll 1,0 s\n" in text
