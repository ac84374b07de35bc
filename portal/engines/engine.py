"""The batch engine interface, and choosing one.

Three kinds of heavy batch work, each with a pure definition so that both engines give the same
answer (the tests compare them row for row):

* **rollups** of data files no stored rollup covers: :meth:`BatchEngine.rollup_files`, the
  :class:`portal.lake.volume_rollup.FileRollups` runner that ``weekly_records`` hands new files to;
* **publishing** the works council's families: :meth:`BatchEngine.publish`, over
  :class:`portal.council.publishing.PublishJob` (facts, views, k, epsilon);
* **verifying a whole lake**: :meth:`BatchEngine.count_rows`, the rows of given subjects in every
  Parquet data file of every table, referenced by the Delta log or not (:mod:`portal.engines.lake_rows`).

``local`` (:mod:`portal.engines.local`) does all of it in this process with polars and pyarrow, as the
portal always has. ``ray`` (:mod:`portal.engines.ray_engine`) starts a local Ray cluster on first use (or
joins the one ``RAY_ADDRESS`` names), reads the lake with Daft and publishes in Ray tasks.

:func:`portal.engines.choice.open_engine` picks one: ``PORTAL_ENGINE``
(:attr:`portal.core.settings.Settings.engine`), which commands override with ``--engine``; ``--workers``
sizes a local Ray cluster (default: every CPU).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import polars as pl

from portal.core.lake_location import LakeLocation
from portal.council.publishing import PublishJob, Views
from portal.engines.lake_rows import LakeRows, Probe
from portal.lake.volume_rollup import FileRollups, RollupJob

class EngineError(RuntimeError):
    """The batch engine cannot do the work; the message says why (a cluster that cannot be reached, a
    file that cannot be read)."""


class BatchEngine(Protocol):
    """Where batch work runs. ``name`` is ``local`` or ``ray``."""

    name: str

    @property
    def rollups(self) -> FileRollups:
        """This engine as the rollup runner of :func:`portal.lake.volume_rollup.weekly_records`."""
        ...

    def rollup_files(self, location: LakeLocation, jobs: Sequence[RollupJob]) -> list[pl.DataFrame]:
        """The rollup (``subject_id, week, records``) of each data file, in the order of ``jobs``."""
        ...

    def publish(self, jobs: Sequence[PublishJob]) -> list[Views]:
        """The published views of each family, in the order of ``jobs``."""
        ...

    def count_rows(self, location: LakeLocation, probes: Sequence[Probe]) -> LakeRows:
        """Rows of each probe's subject (up to its time) in every Parquet data file of its table."""
        ...

    def describe(self) -> str:
        """The engine in words, for a command's report."""
        ...
