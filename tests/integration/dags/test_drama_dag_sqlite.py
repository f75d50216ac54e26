"""The per-drama DAG under ``airflow dags test`` with SQLite as Airflow's metadata database:
it produces what ``skyscript run`` produces, a second run duplicates nothing, and a step killed
in the middle of an episode is retried without loss or duplicates. The crawl DAG registers new
episodes and starts one annotation run per drama."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from airflow_harness import Snapshot, assert_graph_order, base_env, dags_test, migrate, snapshot
from skyscript.config import Settings
from skyscript.db import lineage
from skyscript.db.engine import Database
from skyscript.db.models import StepRun
from skyscript.steps import registry
from skyscript.store import Area, open_store

pytestmark = pytest.mark.integration

DRAMA = "megamind"


@pytest.fixture(scope="module")
def sqlite_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("airflow-sqlite")
    env = base_env(tmp / "airflow", tmp / "home")
    migrate(env)
    return env


def _runs_of(snap: Snapshot, dag_run_id: str) -> list[tuple[str, int, str]]:
    return [(r["step"], r["try"], r["status"]) for r in snap.step_runs if r["dag_run_id"] == dag_run_id]


def test_drama_dag_matches_skyscript_run_and_reruns_without_duplicates(
    sqlite_env: dict[str, str], skyscript_run_reference: Snapshot, sample_media: Path, tmp_path: Path,
) -> None:
    env = sqlite_env
    conf = {"drama": DRAMA, "sources": [str(sample_media / "Megamind.avi")], "batch_size": 1}
    episode_steps = [s.name for s in registry.episode_steps()]
    drama_steps = [s.name for s in registry.drama_steps()]

    dags_test(env, "skyscript_drama", conf)
    first = snapshot(env, DRAMA, tmp_path / "export-1")
    assert first.counts == skyscript_run_reference.counts
    assert first.counts["episode"] == 1 and first.counts["keyframe"] > 0
    assert first.exported == skyscript_run_reference.exported
    run1 = first.step_runs[0]["dag_run_id"]
    assert run1.startswith("manual__")
    assert_graph_order(_runs_of(first, run1),
                       [("ingest", 1, "success")] + [(s, 1, "success") for s in episode_steps + drama_steps])

    with sqlite3.connect(Path(env["AIRFLOW_HOME"]) / "airflow.db") as conn:
        names = {r for (r,) in conn.execute(
            "SELECT DISTINCT rendered_map_index FROM task_instance WHERE task_id LIKE 'episodes.%' AND run_id = ?", (run1,))}
    assert names == {f"{DRAMA}--megamind"}  # the grid names mapped instances by episode, not "Map Index 0"
    store = open_store(Settings(home=Path(env["SKYSCRIPT_HOME"])))
    gate = json.loads(store.get_bytes(Area.public, f"reports/{DRAMA}/loss-gate/latest.json"))
    assert gate["passed"] is True and gate["run_id"] == run1
    assert gate["loss"]["keyframes"] == first.counts["keyframe"]
    assert gate["validation"]["summary"]["success"] and gate["validation"]["episodes"]["success"]

    # Second run of the same drama; the last episode step is SIGKILLed on its first try, after
    # writing its outputs but before finishing: Airflow retries it and nothing is lost or doubled.
    killed = episode_steps[-1]
    dags_test({**env, "SKYSCRIPT_FAULT_KILL": f"{killed}@1"}, "skyscript_drama", {**conf, "force": True})
    second = snapshot(env, DRAMA, tmp_path / "export-2")
    run2 = second.step_runs[-1]["dag_run_id"]
    assert run2 != run1
    assert second.counts == first.counts
    assert second.exported == first.exported
    expected = [("ingest", 1, "success")] + [(s, 1, "success") for s in episode_steps[:-1] + drama_steps]
    expected += [(killed, 1, "running"), (killed, 2, "success")]
    runs = _runs_of(second, run2)
    assert_graph_order(runs, expected)
    assert [r for r in runs if r[0] == killed] == [(killed, 1, "running"), (killed, 2, "success")]


def test_crawl_registers_new_episodes_and_starts_one_run_per_drama(
    sqlite_env: dict[str, str], sample_media: Path,
) -> None:
    env = sqlite_env
    db = Database(Settings(home=Path(env["SKYSCRIPT_HOME"])).database_url or "")
    db.upgrade()
    with db.session() as s:  # a source the ops team registered
        lineage.register_source(s, "vtest-folder", str(sample_media / "vtest.avi"), "file", "pedestrians")
    conf = {"sources": {"megamind-crawl": [str(sample_media / "Megamind.avi")]}, "batch_size": 3}

    dags_test(env, "skyscript_crawl", conf)
    dags_test(env, "skyscript_crawl", conf)  # nothing new the second time: nothing started

    with sqlite3.connect(Path(env["AIRFLOW_HOME"]) / "airflow.db") as conn:
        rows = conn.execute(
            "SELECT run_id, conf, state FROM dag_run WHERE dag_id = 'skyscript_drama' AND run_id LIKE 'crawl__%' ORDER BY run_id"
        ).fetchall()
    started = {json.loads(c)["drama"]: (json.loads(c), state) for _, c, state in rows}
    assert sorted(started) == ["megamind-crawl", "pedestrians"]
    cfg, state = started["megamind-crawl"]
    assert cfg == {"drama": "megamind-crawl", "sources": [str(sample_media / "Megamind.avi")], "skip_ingest": True, "batch_size": 3}
    assert state == "queued"
    assert started["pedestrians"][0]["sources"] == [str(sample_media / "vtest.avi")]
    with db.session() as s:
        eps = {d: [e.id for e in lineage.episodes_of(s, d)] for d in ("megamind-crawl", "pedestrians")}
        ingests = [(r.drama_id, (r.counts or {}).get("new"), (r.counts or {}).get("unchanged"))
                   for r in s.query(StepRun).where(StepRun.step == "ingest", StepRun.drama_id.in_(list(eps))).order_by(StepRun.id)]
    db.dispose()
    assert eps == {"megamind-crawl": ["megamind-crawl--megamind"], "pedestrians": ["pedestrians--vtest"]}
    assert sorted(ingests) == [("megamind-crawl", 0, 1), ("megamind-crawl", 1, 0), ("pedestrians", 0, 1), ("pedestrians", 1, 0)]


def test_loss_above_the_threshold_fails_the_run_and_keeps_the_report(sqlite_env: dict[str, str], sample_media: Path) -> None:
    env = sqlite_env
    drama = "still-image"  # a photograph is not an episode: probe quarantines it, a 100% loss
    proc = dags_test(env, "skyscript_drama", {"drama": drama, "sources": [str(sample_media / "messi5.jpg")]}, check=False)
    assert proc.returncode == 1
    store = open_store(Settings(home=Path(env["SKYSCRIPT_HOME"])))
    gate = json.loads(store.get_bytes(Area.public, f"reports/{drama}/loss-gate/latest.json"))
    assert gate["passed"] is False
    assert gate["loss"]["episodes"] == 1 and gate["loss"]["episodes_lost"] == 1 and gate["loss"]["loss_rate"] == 1.0
    assert gate["episodes"][0]["status"] == "quarantined"
    assert any("loss rate 100.00% is above the 4.00% limit" in f for f in gate["failures"])
    with sqlite3.connect(Path(env["AIRFLOW_HOME"]) / "airflow.db") as conn:
        states = dict(conn.execute(
            "SELECT ti.task_id, ti.state FROM task_instance ti JOIN dag_run r ON r.run_id = ti.run_id AND r.dag_id = ti.dag_id "
            "WHERE r.dag_id = 'skyscript_drama' AND r.conf LIKE '%still-image%'"
        ).fetchall())
    assert states["loss_gate"] == "failed"
    assert states["episodes.probe"] == "success"  # a quarantine is a result, not a failed task
