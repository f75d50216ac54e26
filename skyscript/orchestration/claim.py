"""One active run per drama, whatever starts it.

Airflow's ``max_active_runs`` counts the runs of a DAG, not of a drama, and a run's conf is not
something the scheduler can group by. So the drama DAG's first task claims the drama in the
lineage database: it takes the drama's run lease (:data:`skyscript.db.leases.RUN`) for its DAG run,
*detached* (no process recorded: the run outlives its task processes), and every later step of the
run re-enters it. Another run of the same drama, a second DAG run or a ``skyscript run`` on a
laptop, finds the drama held: the DAG's claim task waits for it (a sensor in reschedule mode,
holding no worker slot) up to ``SKYSCRIPT_ORCH_DRAMA_WAIT_S`` and then fails with one line naming
the holder; ``skyscript run`` waits ``SKYSCRIPT_RUN_WAIT_S`` or exits. The run's last task (the
loss gate) releases the drama.

A hold left behind by a run that Airflow already counts as finished (a run marked failed by hand,
whose loss gate never ran) is taken over at once: the caller says, through ``run_state``, what
Airflow knows about the holder. Anything else ends when its lease expires (``SKYSCRIPT_RUN_LEASE_S``
after the holder's last step) or with ``skyscript unlock``.

No Airflow import here: the DAG passes the Airflow look-up in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterable

from skyscript.config import Settings
from skyscript.db import leases
from skyscript.db.engine import Database

# what Airflow says of a holder run id: "active", "finished", or None (not an Airflow run it knows)
RunState = Callable[[str], str | None]


@dataclass(frozen=True)
class Claim:
    drama: str
    run_id: str
    claimed: bool
    holder: str | None = None  # the run holding the drama, when this one did not get it
    expires_at: datetime | None = None  # when that hold lapses unless its run takes another step
    taken_over_from: str | None = None  # a finished run whose leftover hold this one took

    def message(self) -> str:
        if self.claimed and self.taken_over_from:
            return (f"drama {self.drama} claimed by run {self.run_id}, taken over from run {self.taken_over_from} "
                    "(finished without releasing it)")
        if self.claimed:
            return f"drama {self.drama} claimed by run {self.run_id}"
        until = "?"
        if self.expires_at is not None:  # SQLite hands it back naive, Postgres aware: both UTC
            e = self.expires_at.astimezone(timezone.utc) if self.expires_at.tzinfo else self.expires_at
            until = e.replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")
        return (f"drama {self.drama} is busy: run {self.holder} holds it (until {until} UTC unless it goes on); "
                "one run per drama at a time")

    def as_dict(self) -> dict[str, str | bool | None]:
        return {"drama": self.drama, "run_id": self.run_id, "claimed": self.claimed,
                "taken_over_from": self.taken_over_from}


def claim_drama(settings: Settings, drama: str, run_id: str, run_state: RunState | None = None) -> Claim:
    """Take ``drama`` for the DAG run ``run_id`` (again, if it holds it already). When another run
    holds it and ``run_state`` says that run is finished, take its hold over."""
    db = Database(settings.database_url or "")
    try:
        db.upgrade()
        try:
            with db.session() as s:
                leases.acquire(s, drama, None, leases.RUN, run_id, settings.run_lease_s, detached=True)
            return Claim(drama, run_id, True)
        except leases.LeaseBusy as busy:
            holder, expires_at = busy.holder, busy.expires_at
        if run_state is None or run_state(holder) != "finished":
            return Claim(drama, run_id, False, holder, expires_at)
        try:
            with db.session() as s:
                leases.release(s, drama, None, leases.RUN, holder)  # only that holder's: a race loses below
                leases.acquire(s, drama, None, leases.RUN, run_id, settings.run_lease_s, detached=True)
        except leases.LeaseBusy as busy:
            return Claim(drama, run_id, False, busy.holder, busy.expires_at)
        return Claim(drama, run_id, True, taken_over_from=holder)
    finally:
        db.dispose()


def release_dramas(settings: Settings, run_id: str, dramas: Iterable[str]) -> None:
    """Give back the hold ``run_id`` has on each of ``dramas`` (none held: nothing happens)."""
    db = Database(settings.database_url or "")
    try:
        with db.session() as s:
            for drama in dramas:
                leases.release(s, drama, None, leases.RUN, run_id)
    finally:
        db.dispose()
