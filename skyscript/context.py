"""Building a step context from settings: the database (upgraded) and the store."""

from __future__ import annotations

from typing import Any

from skyscript.config import Settings
from skyscript.db.engine import Database
from skyscript.ids import validate_drama_id
from skyscript.steps.base import StepContext
from skyscript.store import open_store


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
