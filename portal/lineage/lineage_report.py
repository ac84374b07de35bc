"""What one lineage ingest read, recorded, skipped and added, and the summary the command prints."""

from __future__ import annotations

from dataclasses import dataclass

from portal.lineage.training_data import NO_FACET, OTHER_NAMESPACE, UNTRAINED_MODEL


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


@dataclass
class LineageReport:
    """Counts of one ingest. ``training_datasets`` and ``models``: the versions the feed describes (new or
    already stored); ``*_added``: rows written by this ingest."""

    events: int = 0
    not_complete: int = 0  # run events other than COMPLETE: checked, then skipped
    dataset_events: int = 0
    job_events: int = 0
    static_with_portal_facet: int = 0
    skipped_no_facet: int = 0
    skipped_namespace: int = 0
    skipped_models: int = 0
    training_datasets: int = 0
    models: int = 0
    datasets_added: int = 0
    models_added: int = 0
    links_added: int = 0
    members_added: int = 0
    already_present: int = 0
    seconds: float = 0.0

    @property
    def outputs_skipped(self) -> int:
        return self.skipped_no_facet + self.skipped_namespace + self.skipped_models

    def describe(self) -> str:
        parts = [f"{_n(self.training_datasets, 'training dataset version')} and {_n(self.models, 'model version')} "
                 "recorded"]
        if self.outputs_skipped:
            why = [f"{n:,} {reason}" for n, reason in ((self.skipped_no_facet, NO_FACET),
                                                       (self.skipped_namespace, OTHER_NAMESPACE),
                                                       (self.skipped_models, UNTRAINED_MODEL)) if n]
            parts.append(f"{_n(self.outputs_skipped, 'output')} skipped (not training data: {', '.join(why)})")
        if self.dataset_events or self.job_events:
            note = (f"; {self.static_with_portal_facet:,} carry the portal facet, but a training dataset is "
                    "registered by the COMPLETE run event that builds it" if self.static_with_portal_facet else "")
            parts.append(f"{_n(self.dataset_events, 'DatasetEvent')} and {_n(self.job_events, 'JobEvent')} noted "
                         f"and skipped (static metadata{note})")
        if self.not_complete:
            parts.append(f"{_n(self.not_complete, 'run event')} not COMPLETE, skipped")
        return (f"{_n(self.events, 'event')} read: {', '.join(parts)}. "
                f"Added {_n(self.datasets_added, 'dataset version')}, {_n(self.models_added, 'model version')}, "
                f"{_n(self.links_added, 'training link')} and {_n(self.members_added, 'membership row')}; "
                f"{self.already_present:,} already present "
                f"({self.seconds:.2f}s).")
