"""Which datasets of a feed are the portal's training data, and which version of them an event speaks of.

A real feed (Spark, Airflow, dbt, ...) writes far more than training datasets. An output of a COMPLETE run is
a training dataset when it carries the portal's facet (``telemetryPortal``: the purpose it is built for)
and, if ``PORTAL_LINEAGE_TRAINING_NAMESPACES`` names namespaces, its namespace is one of them; every other
output is counted and skipped (:data:`NO_FACET`, :data:`OTHER_NAMESPACE`). The setting exists because the
same pipelines often run in staging and production with the same facets: only the production namespaces
hold training data about people. Unset, the facet alone decides, whatever the namespace.

A dataset is its namespace, name and version. The version, first found wins:

1. the portal facet's ``version`` (the company's own name for the version, e.g. ``v3``);
2. the standard ``version`` facet's ``datasetVersion`` (OpenLineage DatasetVersionDatasetFacet; Delta and
   Iceberg writers set it to the table version);
3. for an output only: the id of the run that wrote it (each run makes a new version).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from openlineage.client.event_v2 import RunEvent

from portal.core import catalog, db, i18n
from portal.core.i18n import _
from portal.core.line_input import Problems
from portal.lineage.openlineage_events import PORTAL_FACET, TelemetryPortalDatasetFacet

MODEL_TYPE = "MODEL"
NO_FACET = "without the portal facet"
OTHER_NAMESPACE = "in namespaces not configured as training data"
UNTRAINED_MODEL = "models trained on no registered training dataset"


@dataclass(frozen=True)
class TrainingNamespaces:
    """The namespaces that hold training data; empty: any namespace, the portal facet alone decides."""

    names: frozenset[str] = frozenset()

    @classmethod
    def of(cls, names: Iterable[str]) -> TrainingNamespaces:
        return cls(frozenset(n for n in names if n))

    def accepts(self, namespace: str) -> bool:
        return not self.names or namespace in self.names


@dataclass(frozen=True)
class Version:
    """A version and the field it came from (named in problems)."""

    value: str
    field: str


def portal_facet(ds: Any) -> TelemetryPortalDatasetFacet | None:
    return (ds.facets or {}).get(PORTAL_FACET)


def is_model(ds: Any) -> bool:
    facet = (ds.facets or {}).get("datasetType")
    return facet is not None and str(facet.datasetType).upper() == MODEL_TYPE


def declared_version(ds: Any, where: str) -> Version | None:
    """The version a dataset's facets state: the portal facet's, else the standard ``version`` facet's."""
    facet = portal_facet(ds)
    if facet is not None and facet.version:
        return Version(facet.version, f"{where}.facets.{PORTAL_FACET}.version")
    standard = (ds.facets or {}).get("version")
    if standard is not None and standard.datasetVersion:
        return Version(standard.datasetVersion, f"{where}.facets.version.datasetVersion")
    return None


def output_version(ds: Any, where: str, event: RunEvent) -> Version:
    """An output's version: as its facets state it, else the run that wrote it."""
    return declared_version(ds, where) or Version(str(event.run.runId), "run.runId")


def category_of(ds: Any) -> str | None:
    """The catalog category whose table an input dataset names (``.../transcript_segments``)."""
    last = ds.name.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[-1]
    cat = catalog.CATEGORY_BY_TABLE.get(last)
    return cat.key if cat else None


def owner(event: RunEvent, ds: Any) -> str:
    """The dataset's ``ownership`` facet's owners, else the namespace of the job that wrote it."""
    facet = (ds.facets or {}).get("ownership")
    names = [o.name for o in (facet.owners or [])] if facet is not None else []
    return (", ".join(names) or event.job.namespace)[:200]


def fits(table: Any, number: int, where: str, ds: Any, version: Version, problems: Problems) -> bool:
    """Whether what is stored of ``ds`` fits ``table``'s columns; each overflow is a problem, named by field."""
    values = [("name", ds.name, f"{where}.name"), ("version", version.value, version.field)]
    if "namespace" in table.c:
        values.insert(0, ("namespace", ds.namespace, f"{where}.namespace"))
    ok = True
    for column, value, field in values:
        limit = table.c[column].type.length
        if len(value) > limit:
            said = (_("is {n} characters long; a model's {column} is stored in at most {limit}") if table is db.models
                    else _("is {n} characters long; a training dataset's {column} is stored in at most {limit}"))
            problems.add(number, field, said.format(n=i18n.number(len(value)), column=column,
                                                    limit=i18n.number(limit)))
            ok = False
    return ok
