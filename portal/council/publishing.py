"""Publishing a family of views as a job: the pure computation, and where it runs.

A :class:`PublishJob` holds everything one family needs (its facts, dimensions, views, measures,
k, epsilon and the sensitivities' sizes), so :func:`run` depends on nothing but its argument: no
settings, no catalog, no store. That is what lets a batch engine run it anywhere, in this process
or in a Ray worker, and get the same figures (:mod:`portal.engines`).

A family is the unit of work, not a view: suppression is decided for the whole family at once
(margins between views, the audit across them; :mod:`portal.council.aggregates`), so its views
cannot be published apart. Independent families (collection, access, requests) can run side by side.

Noise: with ``epsilon`` set, :func:`portal.council.aggregates.add_noise` draws from OpenDP's
cryptographic generator, which cannot be seeded. Two computations of the same family therefore
draw different noise wherever they run (two local runs differ too); what makes every reader see
the same draw is the stored release (:mod:`portal.council.releases`), not the engine.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import polars as pl

from portal.council import aggregates

if TYPE_CHECKING:  # not imported at run time: a Ray worker running jobs needs none of the lake
    from portal.lake.volume_rollup import FileRollups

Views = dict[tuple[str, ...], pl.DataFrame]


@dataclass(frozen=True)
class PublishJob:
    """One family to publish; ``sizes`` bound how many cells of each dimension one person can fall in
    (the sensitivity of ``people``), ``caps`` clip each measure per person and finest cell (noise only)."""

    name: str
    facts: pl.DataFrame
    dimensions: tuple[str, ...]
    views: tuple[tuple[str, ...], ...]
    measures: tuple[str, ...]
    k: int
    epsilon: float | None
    sizes: Mapping[str, int] = field(default_factory=dict)
    caps: Mapping[str, int] = field(default_factory=dict)


class Publisher(Protocol):
    """Runs publish jobs and returns their views, one per job, in order."""

    def publish(self, jobs: Sequence[PublishJob]) -> list[Views]: ...


class Batch(Publisher, Protocol):
    """Where a release's heavy work runs: the rollups of data files no stored rollup covers, then publishing.
    :mod:`portal.engines` implements it (``local`` and ``ray``)."""

    @property
    def rollups(self) -> FileRollups: ...


class InProcess:
    """Publishes in this process, one job after another."""

    def publish(self, jobs: Sequence[PublishJob]) -> list[Views]:
        return [run(job) for job in jobs]


IN_PROCESS: Publisher = InProcess()


def run(job: PublishJob) -> Views:
    """Publish ``job``'s family; string dimensions travel as integer codes (much faster)."""
    facts, dims, measures = job.facts, job.dimensions, job.measures
    if facts.is_empty():
        return {v: empty_view(facts, v, measures) for v in job.views}
    coded = facts
    if not facts.schema["person"].is_integer():  # integer person codes are used as they are
        coded = facts.with_columns(pl.col("person").cast(pl.Enum(facts["person"].unique().drop_nulls())).to_physical())
    # Enum codes follow the sorted labels, so publish's sort order is the labels' order.
    labels = {}
    for d in dims:
        if facts.schema[d] == pl.String:
            labels[d] = facts[d].unique().drop_nulls().sort()
            coded = coded.with_columns(pl.col(d).cast(pl.Enum(labels[d])).to_physical())
    if job.epsilon is not None:
        coded = coded.with_columns(pl.col(m).clip(upper_bound=job.caps[m]) for m in measures)
    out = aggregates.publish(coded, list(dims), list(job.views), list(measures), job.k)
    for view, frame in out.items():
        frame = frame.with_columns(pl.col(d).replace_strict(pl.Series(range(len(labels[d]))), labels[d],
                                                            return_dtype=pl.String)
                                   for d in view if d in labels)
        if job.epsilon is not None:
            cells = math.prod(job.sizes.get(d, 1) for d in view)
            finest = math.prod(job.sizes.get(d, 1) for d in dims)
            sens = {"people": cells, **{m: job.caps[m] * finest for m in measures}}
            frame = aggregates.add_noise(frame, job.epsilon, ["people", *measures], sensitivity=sens)
        out[view] = frame
    return out


def empty_view(facts: pl.DataFrame, view: Sequence[str], measures: Sequence[str]) -> pl.DataFrame:
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        **{d: facts.schema[d] for d in view}, "people": pl.Int64, **{m: pl.Int64 for m in measures},
        "suppressed": pl.Boolean}
    return pl.DataFrame(schema=schema)
