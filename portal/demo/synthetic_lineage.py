"""Lineage of the demo company's data: training datasets built from members' records, and the models
trained on them; building and training each read the records again, and those reads are logged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from portal.demo.company import World
from portal.demo.synthetic_access import EventLog, at_time
from portal.demo.synthetic_telemetry import CATEGORY_OF_TABLE, TABLE_INDEX

DATASETS = (  # name, version, share of the period before it was built, tables, status
    ("keystroke-dynamics", "v1", 0.15, ("keystrokes", "mouse_activity"), "superseded"),
    ("keystroke-dynamics", "v2", 0.45, ("keystrokes", "mouse_activity"), "superseded"),
    ("keystroke-dynamics", "v3", 0.80, ("keystrokes", "mouse_activity", "app_usage"), "active"),
    ("meeting-assistant-corpus", "v1", 0.30, ("transcript_segments",), "superseded"),
    ("meeting-assistant-corpus", "v2", 0.70, ("transcript_segments", "chat_messages"), "active"),
    ("chat-intent", "v1", 0.55, ("chat_messages",), "active"),
)
MODELS = (  # name, version, datasets
    ("typing-fatigue-detector", "1.0", ("keystroke-dynamics-v2",)),
    ("typing-fatigue-detector", "1.1", ("keystroke-dynamics-v3",)),
    ("meeting-summarizer", "2.0", ("meeting-assistant-corpus-v1", "meeting-assistant-corpus-v2")),
    ("chat-intent-router", "0.9", ("chat-intent-v1",)),
)


@dataclass
class Lineage:
    datasets: list[dict]
    members: list[dict]
    models: list[dict]
    model_datasets: list[dict]


def make_lineage(world: World, cumulative: np.ndarray, log: EventLog, rng: np.random.Generator) -> Lineage:
    """Datasets built from members' data before their build day, and models trained on them.

    Building a dataset reads each member's records (an ``export`` event) and
    training a model reads them again (``train``); both are logged.
    """
    n_d, company = world.cal.n, world.company
    datasets, members, built = [], [], {}
    for name, version, share, tables, status in DATASETS:
        dataset_id = f"{name}-{version}"
        day = min(n_d - 1, max(1, int(share * n_d)))
        counts = np.stack([cumulative[TABLE_INDEX[t], :, day - 1] for t in tables])  # before the build day
        chosen = (counts.sum(axis=0) > 0) & (rng.random(company.n) < 0.7)
        chosen[0] = counts[:, 0].sum() > 0  # Alice's data is in every dataset it can be in
        rows = []
        for t, table in enumerate(tables):
            for e in np.nonzero(chosen & (counts[t] > 0))[0]:
                rows.append((int(e), table, int(counts[t, e])))
        datasets.append({"dataset_id": dataset_id, "namespace": "s3://ml-platform-training", "name": name,
                         "version": version, "created_at": at_time(world, day, 3 * 3600),
                         "purpose_code": "train_ai_system",
                         "owner": "ML Platform", "status": status})
        members += [{"dataset_id": dataset_id, "subject_pseudonym": company.pseudonyms[e],
                     "category_key": CATEGORY_OF_TABLE[t], "record_count": c} for e, t, c in rows]
        built[dataset_id] = (day, rows)
        _lineage_reads(log, world, rows, day, "svc:ml-feature-store", "export", f"build-{dataset_id}", rng)
    models, links = [], []
    for name, version, sources in MODELS:
        model_id = f"{name}-{version}"
        day = min(n_d - 1, max(built[s][0] for s in sources) + 3)
        models.append({"model_id": model_id, "name": name, "version": version,
                       "trained_at": at_time(world, day, 14 * 3600), "owner": "ML Platform"})
        for source in sources:
            links.append({"model_id": model_id, "dataset_id": source})
            _lineage_reads(log, world, built[source][1], day, "svc:ml-training", "train", f"train-{model_id}", rng)
    return Lineage(datasets, members, models, links)


def _lineage_reads(log: EventLog, world: World, rows: list[tuple[int, str, int]], day: int, actor: str,
                   action: str, query: str, rng: np.random.Generator) -> None:
    for table in sorted({t for _, t, _ in rows}):
        picked = [(e, c) for e, t, c in rows if t == table]
        subjects = np.array([e for e, _ in picked], dtype=np.int64)
        at = at_time(world, np.full(len(subjects), day), 2 * 3600 + rng.integers(0, 7200, len(subjects)))
        log.add(at, actor, subjects, table, action, "train_ai_system",
                np.array([c for _, c in picked], dtype=np.int64), query=query)
