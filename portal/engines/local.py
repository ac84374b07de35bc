"""The local engine: every batch job in this process, with polars and pyarrow (the portal's behaviour so far)."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from portal.core.lake_location import LakeLocation
from portal.council import publishing
from portal.council.publishing import PublishJob, Views
from portal.engines import lake_rows
from portal.engines.engine import EngineError
from portal.engines.lake_rows import LakeRows, Probe
from portal.lake import volume_rollup
from portal.lake.volume_rollup import FileRollups, RollupJob


class LocalEngine:
    """Rollups on :data:`portal.lake.volume_rollup.LOCAL_ROLLUPS` (a few files at a time), publishing one
    family after another, and a lake count with pyarrow (:func:`portal.engines.lake_rows.count_local`)."""

    name = "local"

    @property
    def rollups(self) -> FileRollups:
        return volume_rollup.LOCAL_ROLLUPS

    def rollup_files(self, location: LakeLocation, jobs: Sequence[RollupJob]) -> list[pl.DataFrame]:
        return volume_rollup.LOCAL_ROLLUPS.rollup_files(location, jobs)

    def publish(self, jobs: Sequence[PublishJob]) -> list[Views]:
        return publishing.IN_PROCESS.publish(jobs)

    def count_rows(self, location: LakeLocation, probes: Sequence[Probe]) -> LakeRows:
        try:
            return lake_rows.count_local(location, probes)
        except lake_rows.LakeReadError as exc:
            raise EngineError(str(exc)) from None

    def describe(self) -> str:
        return "local (polars in this process)"
