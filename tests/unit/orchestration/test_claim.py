"""One run per drama: the DAG run's detached hold on its drama, on SQLite and Postgres."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from skyscript.config import Settings
from skyscript.db import leases
from skyscript.db.engine import Database
from skyscript.db.models import StepLease
from skyscript.orchestration.claim import claim_drama, release_dramas

ROOT = Path(__file__).resolve().parents[3]
DRAMA = "claimed-drama"


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    return Settings(home=tmp_path / "home", database_url=url)


def _lease(settings: Settings) -> tuple[str, str | None, int | None] | None:
    db = Database(settings.database_url or "")
    with db.session() as s:
        row = s.get(StepLease, (DRAMA, "", leases.RUN))
        out = (row.holder, row.host, row.pid) if row else None
    db.dispose()
    return out


def _step_process_enters(settings: Settings, holder: str) -> None:
    """What a step task's process does (skyscript.steps.runner): re-enter the run lease under its
    own pid, then exit."""
    code = ("import sys; from skyscript.config import Settings; from skyscript.db import leases; "
            "from skyscript.db.engine import Database\n"
            "db = Database(sys.argv[1])\n"
            "with db.session() as s: leases.acquire(s, sys.argv[2], None, leases.RUN, sys.argv[3], 1800)\n"
            "db.dispose()\n")
    subprocess.run([sys.executable, "-c", code, settings.database_url or "", DRAMA, holder], check=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)


def test_a_dag_run_holds_its_drama_between_its_tasks(settings: Settings) -> None:
    first = claim_drama(settings, DRAMA, "manual__run-a")
    assert first.claimed and first.message() == f"drama {DRAMA} claimed by run manual__run-a"
    assert _lease(settings) == ("manual__run-a", None, None)  # detached: no process

    # a step of run A re-enters the lease in its own process and exits: the hold stays detached,
    # so that process's death does not free the drama between two of the run's tasks
    _step_process_enters(settings, "manual__run-a")
    assert _lease(settings) == ("manual__run-a", None, None)

    second = claim_drama(settings, DRAMA, "manual__run-b")
    assert not second.claimed and second.holder == "manual__run-a"
    assert second.message().startswith(f"drama {DRAMA} is busy: run manual__run-a holds it")
    # Airflow says run A is still going: B waits
    assert not claim_drama(settings, DRAMA, "manual__run-b", lambda run: "active").claimed
    # run A claiming again (a retry of its claim task) re-enters
    assert claim_drama(settings, DRAMA, "manual__run-a").claimed


def test_a_finished_runs_leftover_hold_is_taken_over(settings: Settings) -> None:
    assert claim_drama(settings, DRAMA, "manual__marked-failed").claimed  # its gate never ran
    asked: list[str] = []

    def airflow(run_id: str) -> str | None:
        asked.append(run_id)
        return "finished"

    got = claim_drama(settings, DRAMA, "manual__next", airflow)
    assert got.claimed and got.taken_over_from == "manual__marked-failed" and asked == ["manual__marked-failed"]
    assert "taken over from run manual__marked-failed" in got.message()
    assert _lease(settings) == ("manual__next", None, None)


def test_a_local_run_holding_the_drama_is_waited_for_and_not_asked_about(settings: Settings) -> None:
    db = Database(settings.database_url or "")
    db.upgrade()
    with db.session() as s:  # `skyscript run` in this (live) process holds the drama
        leases.acquire(s, DRAMA, None, leases.RUN, "local-1234", 1800)
    db.dispose()
    got = claim_drama(settings, DRAMA, "manual__dag", lambda run: None)  # Airflow does not know it
    assert not got.claimed and got.holder == "local-1234"


def test_release_gives_back_only_the_runs_own_hold(settings: Settings) -> None:
    assert claim_drama(settings, DRAMA, "crawl__x").claimed
    release_dramas(settings, "someone-else", [DRAMA, "other-drama"])
    assert _lease(settings) == ("crawl__x", None, None)
    release_dramas(settings, "crawl__x", [DRAMA])
    assert _lease(settings) is None
    assert claim_drama(settings, DRAMA, "manual__after").claimed
