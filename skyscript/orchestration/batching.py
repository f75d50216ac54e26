"""Episode batches for dynamic task mapping.

Each mapped task instance takes a batch of episodes. A run maps at most :func:`batch_limit`
batches: the platform's bound (``SKYSCRIPT_ORCH_MAX_BATCHES``, 256), never more than Airflow's
``[core] max_map_length`` (1024 by default). The batch size grows when the requested one would make
more batches than that, so a drama of 10,000 episodes is at most 256 batches of 40 (times the
episode steps in task instances). docs/orchestration.md derives the bound and the default batch
size from the measured cost of a task instance (``bench/bench_airflow.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import select

from skyscript.config import Settings
from skyscript.db.engine import Database
from skyscript.db.models import Episode

DEFAULT_MAX_MAP_LENGTH = 1024


@dataclass(frozen=True)
class BatchPlan:
    batches: list[list[str]]
    batch_size: int  # the size used (may exceed the one asked for)
    requested_batch_size: int

    @property
    def episodes(self) -> int:
        return sum(len(b) for b in self.batches)


def batch_limit(max_batches: int, max_map_length: int = DEFAULT_MAX_MAP_LENGTH) -> int:
    """The most batches one run may map: the platform's bound, within Airflow's."""
    if max_batches < 1 or max_map_length < 1:
        raise ValueError(f"batch limits must be at least 1, got {max_batches} and {max_map_length}")
    return min(max_batches, max_map_length)


def make_batches(episode_ids: list[str], batch_size: int, max_batches: int = DEFAULT_MAX_MAP_LENGTH) -> BatchPlan:
    """Split ``episode_ids`` (in order) into consecutive batches of at most ``batch_size``,
    never more than ``max_batches`` of them."""
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    if max_batches < 1:
        raise ValueError(f"max_batches must be at least 1, got {max_batches}")
    size = max(batch_size, math.ceil(len(episode_ids) / max_batches)) if episode_ids else batch_size
    batches = [episode_ids[i : i + size] for i in range(0, len(episode_ids), size)]
    return BatchPlan(batches, size, batch_size)


def drama_episode_ids(settings: Settings, drama_id: str, include_quarantined: bool = True) -> list[str]:
    """The drama's episodes in id order. Quarantined ones stay in by default, as in local mode:
    probe looks at them again and the other steps skip them with a reason."""
    db = Database(settings.database_url or "")
    try:
        db.upgrade()
        with db.session() as s:
            q = select(Episode.id).where(Episode.drama_id == drama_id).order_by(Episode.id)
            if not include_quarantined:
                q = q.where(Episode.status != "quarantined")
            return list(s.scalars(q))
    finally:
        db.dispose()


def plan_drama(settings: Settings, drama_id: str, batch_size: int, max_batches: int = DEFAULT_MAX_MAP_LENGTH) -> BatchPlan:
    return make_batches(drama_episode_ids(settings, drama_id), batch_size, max_batches)
