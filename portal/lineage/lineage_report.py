"""What one lineage ingest read, recorded, skipped and added, and the summary the command prints."""

from __future__ import annotations

from dataclasses import dataclass

from portal.core import i18n
from portal.core.i18n import _, ngettext


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
        def count(forms: str, n: int) -> str:
            return forms.format(n=i18n.number(n))

        parts = [_("{datasets} and {models} recorded").format(
            datasets=count(ngettext("{n} training dataset version", "{n} training dataset versions",
                                    self.training_datasets), self.training_datasets),
            models=count(ngettext("{n} model version", "{n} model versions", self.models), self.models))]
        if self.outputs_skipped:
            why = [count(said, n) for n, said in (
                (self.skipped_no_facet, _("{n} without the portal facet")),
                (self.skipped_namespace, _("{n} in namespaces not configured as training data")),
                (self.skipped_models, _("{n} models trained on no registered training dataset"))) if n]
            parts.append(_("{outputs} skipped (not training data: {why})").format(
                outputs=count(ngettext("{n} output", "{n} outputs", self.outputs_skipped), self.outputs_skipped),
                why=", ".join(why)))
        if self.dataset_events or self.job_events:
            note = (count(_("; {n} carry the portal facet, but a training dataset is registered by the COMPLETE run "
                            "event that builds it"), self.static_with_portal_facet)
                    if self.static_with_portal_facet else "")
            parts.append(_("{dataset_events} and {job_events} noted and skipped (static metadata{note})").format(
                dataset_events=count(ngettext("{n} DatasetEvent", "{n} DatasetEvents", self.dataset_events),
                                     self.dataset_events),
                job_events=count(ngettext("{n} JobEvent", "{n} JobEvents", self.job_events), self.job_events),
                note=note))
        if self.not_complete:
            parts.append(_("{run_events} not COMPLETE, skipped").format(
                run_events=count(ngettext("{n} run event", "{n} run events", self.not_complete), self.not_complete)))
        return _("{events} read: {parts}. Added {datasets}, {models}, {links} and {members}; {present} already "
                 "present ({seconds}s).").format(
            events=count(ngettext("{n} event", "{n} events", self.events), self.events), parts=", ".join(parts),
            datasets=count(ngettext("{n} dataset version", "{n} dataset versions", self.datasets_added),
                           self.datasets_added),
            models=count(ngettext("{n} model version", "{n} model versions", self.models_added), self.models_added),
            links=count(ngettext("{n} training link", "{n} training links", self.links_added), self.links_added),
            members=count(ngettext("{n} membership row", "{n} membership rows", self.members_added),
                          self.members_added),
            present=i18n.number(self.already_present), seconds=i18n.decimal(self.seconds, 2))
