"""The Delta Lake telemetry store (bucketed by subject), its log hygiene, per-file rollups and the employee's own view."""
