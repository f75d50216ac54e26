"""The crawl over 3,000 real files in 30 registered folders (one per drama), in a real
``airflow dags test``: the files become 3,000 episodes, the crawl's task instances stay a bounded
number that does not grow with the files (the dramas share the configured number of ingest tasks),
and exactly one annotation run is started per drama."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from airflow_harness import base_env, dags_test, migrate
from skyscript.config import Settings
from skyscript.db import leases, lineage
from skyscript.db.engine import Database
from skyscript.db.models import Episode, StepRun

pytestmark = pytest.mark.integration

DRAMAS = 30
FILES_PER_DRAMA = 100
MAX_TASKS = 8


def test_crawl_of_thousands_of_files_has_bounded_tasks_and_one_run_per_drama(tmp_path: Path) -> None:
    env = base_env(tmp_path / "airflow", tmp_path / "home", SKYSCRIPT_ORCH_CRAWL_MAX_TASKS=str(MAX_TASKS))
    migrate(env)
    library = tmp_path / "library"
    dramas = [f"series-{i:02d}" for i in range(DRAMAS)]
    for n, drama in enumerate(dramas):
        folder = library / drama / "season-1"  # nested: the ingest step lists the folder itself
        folder.mkdir(parents=True)
        for k in range(FILES_PER_DRAMA):
            (folder / f"ep{k:03d}.mp4").write_bytes(f"{drama} episode {k} {n}".encode())  # not probed while crawling
    db = Database(Settings(home=Path(env["SKYSCRIPT_HOME"])).database_url or "")
    db.upgrade()
    with db.session() as s:
        for drama in dramas:
            lineage.register_source(s, f"src-{drama}", str(library / drama), "file", drama)

    dags_test(env, "skyscript_crawl", {"batch_size": 25})

    with sqlite3.connect(Path(env["AIRFLOW_HOME"]) / "airflow.db") as conn:
        (crawl_run,) = conn.execute("SELECT run_id FROM dag_run WHERE dag_id = 'skyscript_crawl'").fetchone()
        tis = Counter(t for (t,) in conn.execute(
            "SELECT task_id FROM task_instance WHERE dag_id = 'skyscript_crawl' AND run_id = ?", (crawl_run,)))
        started = conn.execute("SELECT run_id, conf, state FROM dag_run WHERE dag_id = 'skyscript_drama'").fetchall()
        notes = {c for (c,) in conn.execute("SELECT content FROM dag_run_note")}
    # the task instances do not grow with the files: one per drama at most (the triggers), the
    # ingest shared among MAX_TASKS tasks
    assert tis == {"scan_sources": 1, "plan_ingest": 1, "ingest": MAX_TASKS, "select_dramas": 1,
                   "start_annotation": DRAMAS, "crawl_report": 1}
    # one annotation run per drama, named by it, with its folder and nothing else
    confs = {json.loads(c)["drama"]: (run_id, json.loads(c), state) for run_id, c, state in started}
    assert len(started) == DRAMAS and sorted(confs) == dramas
    for drama, (run_id, conf, state) in confs.items():
        assert run_id.startswith(f"crawl__{drama}__")
        assert conf == {"drama": drama, "sources": [str(library / drama)], "skip_ingest": True, "batch_size": 25}
        assert state == "queued"
    assert notes == {f"drama {d} (new episodes found by crawl {crawl_run})" for d in dramas}
    with db.session() as s:
        per_drama = Counter(d for (d,) in s.query(Episode.drama_id))
        ingests = [(r.drama_id, r.status, (r.counts or {}).get("new")) for r in s.query(StepRun).where(StepRun.step == "ingest")]
        held = [(le.drama_id, le.holder) for le in leases.active(s)]
    db.dispose()
    assert per_drama == {d: FILES_PER_DRAMA for d in dramas}  # 3,000 episodes
    assert sorted(ingests) == [(d, "success", FILES_PER_DRAMA) for d in dramas]  # one ingest call per drama
    assert held == []  # the crawl gave the dramas back for their annotation runs
