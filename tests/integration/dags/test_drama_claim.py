"""One run per drama in real ``airflow dags test`` runs: a run finding its drama held fails at its
first task with one line naming the holder (nothing else runs, the hold is untouched), waits for
it when told to and goes on once it is given back, and takes over a hold left by a run Airflow
counts as finished. Every run of the drama DAG carries the note ``drama <drama>``."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from airflow_harness import REPO, base_env, dags_test, migrate
from skyscript.config import Settings
from skyscript.db import leases
from skyscript.db.engine import Database
from skyscript.db.models import StepLease

pytestmark = pytest.mark.integration

DRAMA = "held-drama"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("airflow-claim")
    plugins = tmp / "plugins"  # only the run-notes listener (the review app's plugin is not needed here)
    plugins.mkdir()
    (plugins / "skyscript_run_notes.py").symlink_to(REPO / "plugins" / "skyscript_run_notes.py")
    e = base_env(tmp / "airflow", tmp / "home", AIRFLOW__CORE__PLUGINS_FOLDER=str(plugins),
                 SKYSCRIPT_ORCH_DRAMA_WAIT_S="0", SKYSCRIPT_ORCH_DRAMA_POKE_S="2")
    migrate(e)
    return e


def _db(env: dict[str, str]) -> Database:
    db = Database(Settings(home=Path(env["SKYSCRIPT_HOME"])).database_url or "")
    db.upgrade()
    return db


def _hold(env: dict[str, str], holder: str, *, detached: bool = False) -> None:
    db = _db(env)
    with db.session() as s:
        leases.acquire(s, DRAMA, None, leases.RUN, holder, 1800, detached=detached)
    db.dispose()


def _holder(env: dict[str, str]) -> str | None:
    db = _db(env)
    with db.session() as s:
        row = s.get(StepLease, (DRAMA, "", leases.RUN))
        holder = row.holder if row else None
    db.dispose()
    return holder


def _last_run(env: dict[str, str]) -> dict[str, Any]:
    with sqlite3.connect(Path(env["AIRFLOW_HOME"]) / "airflow.db") as conn:
        run_id, state, note = conn.execute(
            "SELECT r.run_id, r.state, n.content FROM dag_run r LEFT JOIN dag_run_note n ON n.dag_run_id = r.id "
            "WHERE r.dag_id = 'skyscript_drama' ORDER BY r.id DESC LIMIT 1").fetchone()
        tis = dict(conn.execute("SELECT task_id, state FROM task_instance WHERE run_id = ?", (run_id,)).fetchall())
        claim = conn.execute("SELECT value FROM xcom WHERE run_id = ? AND task_id = 'claim_drama' AND key = 'return_value'",
                             (run_id,)).fetchone()
        reschedules = conn.execute("SELECT count(*) FROM task_reschedule tr JOIN task_instance ti ON ti.id = tr.ti_id "
                                   "WHERE ti.run_id = ? AND ti.task_id = 'claim_drama'", (run_id,)).fetchone()[0]
    value = json.loads(claim[0]) if claim else None
    return {"run_id": run_id, "state": state, "note": note, "tis": tis, "claim": value, "reschedules": reschedules}


def test_a_held_drama_fails_the_run_at_once_with_the_holder_named(env: dict[str, str]) -> None:
    _hold(env, "local-somebody")  # a `skyscript run` in this (live) process
    proc = dags_test(env, "skyscript_drama", {"drama": DRAMA}, check=False)
    assert proc.returncode != 0
    run = _last_run(env)
    assert run["state"] == "failed"
    assert run["tis"]["claim_drama"] == "failed"
    assert run["tis"]["ingest"] == run["tis"]["plan_batches"] == "upstream_failed"
    assert run["tis"]["loss_gate"] == "failed"  # no gate on a drama another run has: the run fails
    assert run["note"] == f"drama {DRAMA}"
    assert _holder(env) == "local-somebody"  # untouched
    log = proc.stdout + proc.stderr
    assert f"drama {DRAMA} is busy: run local-somebody holds it" in log
    assert "gave up after waiting" in log and "SKYSCRIPT_ORCH_DRAMA_WAIT_S=0" in log


def test_a_run_waits_for_the_holder_then_goes_on(env: dict[str, str]) -> None:
    _hold(env, "local-somebody")

    def give_back() -> None:  # once the run has found the drama held and is waiting for it
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            with sqlite3.connect(Path(env["AIRFLOW_HOME"]) / "airflow.db", timeout=30) as conn:
                if conn.execute("SELECT 1 FROM task_instance WHERE task_id = 'claim_drama' "
                                "AND state = 'up_for_reschedule'").fetchone():
                    break
            time.sleep(0.5)
        db = _db(env)
        with db.session() as s:
            leases.release(s, DRAMA, None, leases.RUN, "local-somebody")
        db.dispose()

    t = threading.Thread(target=give_back)
    t.start()
    dags_test({**env, "SKYSCRIPT_ORCH_DRAMA_WAIT_S": "300"}, "skyscript_drama", {"drama": DRAMA, "steps": ["probe"]},
              check=False)
    t.join()
    run = _last_run(env)
    assert run["tis"]["claim_drama"] == "success"
    assert run["reschedules"] >= 1  # it waited without holding a worker slot
    assert run["claim"] == {"drama": DRAMA, "run_id": run["run_id"], "claimed": True, "taken_over_from": None}
    assert run["tis"]["loss_gate"] in ("success", "failed")  # the gate ran (an empty drama fails it)
    assert _holder(env) is None  # given back at the end


def test_a_hold_left_by_a_finished_run_is_taken_over(env: dict[str, str]) -> None:
    with sqlite3.connect(Path(env["AIRFLOW_HOME"]) / "airflow.db") as conn:
        (finished,) = conn.execute("SELECT run_id FROM dag_run WHERE dag_id = 'skyscript_drama' AND state = 'failed' "
                                   "ORDER BY id LIMIT 1").fetchone()
    _hold(env, finished, detached=True)  # e.g. a run marked failed by hand before its gate ran
    dags_test(env, "skyscript_drama", {"drama": DRAMA, "steps": ["probe"]}, check=False)
    run = _last_run(env)
    assert run["tis"]["claim_drama"] == "success"
    assert run["claim"]["taken_over_from"] == finished
    assert _holder(env) is None
