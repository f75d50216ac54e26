"""Leases: at most one run works on a (drama, episode, step) at a time, and at most one run on a
drama (the ``run`` lease, episode ``""``, step :data:`RUN`).

The holder is the run id (the Airflow DAG run, or a local run's id). A retry of the same run
re-enters its own lease, so a killed attempt does not block its retry; another run is refused
(:class:`LeaseBusy`) until the holder releases the lease or loses it:

* the lease records the host and pid of the process holding it; a lease whose process is no
  longer alive on this host is taken over at once (a ``kill -9`` or a crash);
* a live holder renews its leases with a heartbeat (:class:`Heartbeat`), so the expiry can be
  short (``SKYSCRIPT_LEASE_TTL_S``, 5 minutes): a holder on another host that died is taken over
  once it expires, not hours later;
* on SIGTERM the CLI exits through its ``finally`` blocks, which release the leases.

An Airflow DAG run takes its drama *detached* (``acquire(..., detached=True)``, the drama DAG's
first task): no process is recorded, because the run outlives every one of its task processes,
and its own steps re-entering the lease keep it detached. Such a lease ends when the run releases
it (its last task), when it expires, or when the next run's claim finds the holder run over
(:mod:`skyscript.orchestration.claim`).

When a lease is taken over, the step runs its holder left ``running`` are marked ``failed``
(``killed``), so ``status`` does not show them running forever. Ops can break a lease with
``skyscript unlock``.
"""

from __future__ import annotations

import os
import socket
import threading
from datetime import timedelta
from typing import Any, Callable

from sqlalchemy import case, delete, select, update
from sqlalchemy.orm import Session

from skyscript.db.lineage import dialect_insert
from skyscript.db.models import StepLease, StepRun, utcnow

RUN = "__run__"  # the drama-level lease a whole run holds


class LeaseBusy(RuntimeError):
    def __init__(self, drama_id: str, episode_id: str | None, step: str, holder: str, expires_at: object) -> None:
        what = "the drama" if step == RUN else f"{step} on {episode_id or drama_id}"
        super().__init__(f"busy: run {holder} holds {what} (until {expires_at}); retry later or `skyscript unlock`")
        self.holder = holder
        self.expires_at = expires_at


def process_alive(host: str | None, pid: int | None) -> bool | None:
    """Whether the process ``pid`` on ``host`` is alive; None when this host cannot tell (another
    host, or no pid recorded)."""
    if not host or pid is None or host != socket.gethostname():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def acquire(session: Session, drama_id: str, episode_id: str | None, step: str, holder: str, ttl_s: float,
            *, detached: bool = False) -> bool:
    """Take (or renew) the lease for ``holder`` or raise :class:`LeaseBusy`. Returns True when it
    was taken over from another holder. Atomic on SQLite and Postgres: the upsert only
    overwrites a row held by the same holder, expired, or whose process is gone. ``detached``:
    record no process (a DAG run's hold on its drama); a detached lease stays detached when its
    holder re-enters it."""
    now = utcnow()
    key = (drama_id, episode_id or "", step)
    current = session.execute(
        select(StepLease.holder, StepLease.host, StepLease.pid).where(
            StepLease.drama_id == key[0], StepLease.episode_id == key[1], StepLease.step == key[2]
        )
    ).first()
    dead_holder = current is not None and current.holder != holder and process_alive(current.host, current.pid) is False
    row = {"drama_id": key[0], "episode_id": key[1], "step": key[2], "holder": holder, "acquired_at": now,
           "expires_at": now + timedelta(seconds=ttl_s), "host": None if detached else socket.gethostname(),
           "pid": None if detached else os.getpid(), "heartbeat_at": now}
    stmt = dialect_insert(session, StepLease.__table__).values(**row)
    may = (StepLease.holder == stmt.excluded.holder) | (StepLease.expires_at < now)
    if dead_holder:
        may = may | ((StepLease.holder == current.holder) & (StepLease.pid == current.pid))
    set_ = {k: getattr(stmt.excluded, k) for k in ("holder", "acquired_at", "expires_at", "host", "pid", "heartbeat_at")}
    stays_detached = (StepLease.__table__.c.holder == stmt.excluded.holder) & StepLease.__table__.c.pid.is_(None)
    set_["host"] = case((stays_detached, None), else_=stmt.excluded.host)
    set_["pid"] = case((stays_detached, None), else_=stmt.excluded.pid)
    stmt = stmt.on_conflict_do_update(index_elements=["drama_id", "episode_id", "step"], set_=set_, where=may)
    session.execute(stmt)
    held = session.execute(
        select(StepLease.holder, StepLease.expires_at).where(
            StepLease.drama_id == key[0], StepLease.episode_id == key[1], StepLease.step == key[2]
        )
    ).one()
    if held.holder != holder:
        raise LeaseBusy(drama_id, episode_id, step, held.holder, held.expires_at)
    taken_over = current is not None and current.holder != holder
    if taken_over and step != RUN:
        # the previous holder died in the middle of this step: its attempt is over
        session.execute(
            update(StepRun).where(
                StepRun.drama_id == drama_id, StepRun.episode_id.is_(None) if episode_id is None else StepRun.episode_id == episode_id,
                StepRun.step == step, StepRun.status == "running", StepRun.dag_run_id == current.holder,
            ).values(status="failed", error=f"killed: its lease was taken over by run {holder}", finished_at=now)
        )
    return taken_over


def renew(session: Session, drama_id: str, episode_id: str | None, step: str, holder: str, ttl_s: float) -> None:
    now = utcnow()
    session.execute(
        update(StepLease).where(
            StepLease.drama_id == drama_id, StepLease.episode_id == (episode_id or ""), StepLease.step == step,
            StepLease.holder == holder,
        ).values(expires_at=now + timedelta(seconds=ttl_s), heartbeat_at=now)
    )


def release(session: Session, drama_id: str, episode_id: str | None, step: str, holder: str) -> None:
    session.execute(
        delete(StepLease).where(
            StepLease.drama_id == drama_id, StepLease.episode_id == (episode_id or ""), StepLease.step == step,
            StepLease.holder == holder,
        )
    )


def active(session: Session, drama_id: str | None = None, include_expired: bool = True) -> list[StepLease]:
    q = select(StepLease).order_by(StepLease.drama_id, StepLease.episode_id, StepLease.step)
    if drama_id is not None:
        q = q.where(StepLease.drama_id == drama_id)
    if not include_expired:
        q = q.where(StepLease.expires_at >= utcnow())
    return list(session.scalars(q))


def break_leases(session: Session, drama_id: str, episode_id: str | None = None, step: str | None = None) -> int:
    q = delete(StepLease).where(StepLease.drama_id == drama_id)
    if episode_id is not None:
        q = q.where(StepLease.episode_id == episode_id)
    if step is not None:
        q = q.where(StepLease.step == step)
    return int(session.execute(q).rowcount or 0)


class Heartbeat:
    """Renews leases every ``ttl_s / 3`` seconds in a daemon thread while work runs. ``renew`` is
    a callable doing one round (it opens its own session)."""

    def __init__(self, renew_once: Callable[[], Any], ttl_s: float) -> None:
        self._renew = renew_once
        self._interval = max(1.0, ttl_s / 3.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lease-heartbeat", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._renew()
            except Exception:  # noqa: BLE001 - a missed beat only shortens the lease; the next one retries
                pass

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
