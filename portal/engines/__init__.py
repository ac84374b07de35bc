"""Where heavy batch work runs (first rollups of data files, the works council's releases, verifying a whole lake
after erasure): ``local`` (polars in this process) or ``ray`` (Ray, with Daft reading the lake), one interface."""
