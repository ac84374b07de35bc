"""Collection: the collector register the works council controls, telemetry intake from registered
collectors, checks of Delta tables written by outside engines, and retention."""
