"""The run context: settings, lineage database, object store and the ids of the run, and how to
build one from settings (the database upgraded to the current schema)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from skyscript.config import Settings
from skyscript.db.engine import Database
from skyscript.ids import validate_drama_id
from skyscript.store import ObjectStore, open_store


@dataclass
class StepContext:
    """What a run shares across its steps. ``params`` holds per-run parameter overrides:
    ``{"<step>": {...}}``, flat ``"<step>.<name>": value`` entries, or bare names of the step
    being run (``{"sources": [...]}`` for ingest)."""

    settings: Settings
    db: Database
    store: ObjectStore
    drama_id: str
    dag_run_id: str | None = None
    try_number: int = 1
    params: dict[str, Any] = field(default_factory=dict)
    force: bool = False  # redo steps whose inputs are unchanged since their last success

    def logger(self, step: str, episode_id: str | None = None) -> logging.LoggerAdapter[logging.Logger]:
        return logging.LoggerAdapter(
            logging.getLogger(f"skyscript.steps.{step}"),
            {"drama": self.drama_id, "episode": episode_id or "-", "step": step},
        )


def open_context(
    settings: Settings,
    drama_id: str,
    *,
    dag_run_id: str | None = None,
    try_number: int = 1,
    params: dict[str, Any] | None = None,
    upgrade: bool = True,
) -> StepContext:
    db = Database(settings.database_url or "")
    if upgrade:
        db.upgrade()
    return StepContext(
        settings=settings,
        db=db,
        store=open_store(settings),
        drama_id=validate_drama_id(drama_id),
        dag_run_id=dag_run_id,
        try_number=try_number,
        params=dict(params or {}),
    )
