"""OpenLineage ingest, training datasets and their members, models, and where a person's data went."""
