"""Step leases: at most one run works on a (drama, episode, step) at a time.

The holder is the run id (the Airflow DAG run, or a local run's id). A retry of the same run
re-enters its own lease, so a killed attempt does not block its retry; another run is refused
(:class:`LeaseBusy`) until the holder releases the lease or it expires (a worker that died
without a retry). Ops can break a lease with ``skyscript unlock``.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from skyscript.db.lineage import dialect_insert
from skyscript.db.models import StepLease, utcnow


class LeaseBusy(RuntimeError):
    def __init__(self, drama_id: str, episode_id: str | None, step: str, holder: str, expires_at: object) -> None:
        where = f"{step} on {episode_id or drama_id}"
        super().__init__(f"busy: run {holder} holds {where} (until {expires_at}); retry later or `skyscript unlock`")
        self.holder = holder


def acquire(session: Session, drama_id: str, episode_id: str | None, step: str, holder: str, ttl_s: float) -> None:
    """Take the lease for ``holder`` or raise :class:`LeaseBusy`. Atomic on SQLite and Postgres:
    the upsert only overwrites a row held by the same holder or already expired."""
    now = utcnow()
    row = {"drama_id": drama_id, "episode_id": episode_id or "", "step": step, "holder": holder,
           "acquired_at": now, "expires_at": now + timedelta(seconds=ttl_s)}
    stmt = dialect_insert(session, StepLease.__table__).values(**row)
    stmt = stmt.on_conflict_do_update(
        index_elements=["drama_id", "episode_id", "step"],
        set_={"holder": stmt.excluded.holder, "acquired_at": stmt.excluded.acquired_at, "expires_at": stmt.excluded.expires_at},
        where=(StepLease.holder == stmt.excluded.holder) | (StepLease.expires_at < now),
    )
    session.execute(stmt)
    held = session.execute(
        select(StepLease.holder, StepLease.expires_at).where(
            StepLease.drama_id == drama_id, StepLease.episode_id == (episode_id or ""), StepLease.step == step
        )
    ).one()
    if held.holder != holder:
        raise LeaseBusy(drama_id, episode_id, step, held.holder, held.expires_at)


def release(session: Session, drama_id: str, episode_id: str | None, step: str, holder: str) -> None:
    session.execute(
        delete(StepLease).where(
            StepLease.drama_id == drama_id, StepLease.episode_id == (episode_id or ""), StepLease.step == step,
            StepLease.holder == holder,
        )
    )


def active(session: Session, drama_id: str | None = None) -> list[StepLease]:
    q = select(StepLease).order_by(StepLease.drama_id, StepLease.episode_id, StepLease.step)
    if drama_id is not None:
        q = q.where(StepLease.drama_id == drama_id)
    return list(session.scalars(q))


def break_leases(session: Session, drama_id: str, episode_id: str | None = None, step: str | None = None) -> int:
    q = delete(StepLease).where(StepLease.drama_id == drama_id)
    if episode_id is not None:
        q = q.where(StepLease.episode_id == episode_id)
    if step is not None:
        q = q.where(StepLease.step == step)
    return int(session.execute(q).rowcount or 0)
