"""The per-drama DAG under ``airflow dags test`` with a throwaway Postgres database as Airflow's
metadata database (and another as the lineage database): same rows and files as ``skyscript run``."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
from sqlalchemy import create_engine, text

from airflow_harness import Snapshot, base_env, dags_test, migrate, snapshot
from skyscript.steps import registry

pytestmark = pytest.mark.integration

DRAMA = "megamind"


def test_drama_dag_on_postgres_metadata_db(
    pg_database: Callable[[str], str], skyscript_run_reference: Snapshot, sample_media: Path, tmp_path: Path,
) -> None:
    airflow_url = pg_database("airflow_meta").replace("postgresql+psycopg://", "postgresql+psycopg2://")
    lineage_url = pg_database("skyscript_lineage")
    env = base_env(tmp_path / "airflow", tmp_path / "home", sql_conn=airflow_url, lineage_url=lineage_url)
    migrate(env)
    dags_test(env, "skyscript_drama", {"drama": DRAMA, "sources": [str(sample_media / "Megamind.avi")]})

    snap = snapshot(env, DRAMA, tmp_path / "export")
    assert snap.counts == skyscript_run_reference.counts
    assert snap.exported == skyscript_run_reference.exported
    runs = [(r["step"], r["status"]) for r in snap.step_runs]
    n = 1 + len(registry.episode_steps())
    assert runs[:n] == [("ingest", "success")] + [(s.name, "success") for s in registry.episode_steps()]
    # drama steps after the episode steps, each after the drama steps it reads from (in graph order)
    assert sorted(runs[n:]) == sorted((s.name, "success") for s in registry.drama_steps())
    # the run really was recorded in the Postgres metadata database
    engine = create_engine(airflow_url)
    with engine.connect() as conn:
        runs = conn.execute(text("SELECT run_id, state FROM dag_run WHERE dag_id = 'skyscript_drama'")).all()
        tasks = dict(conn.execute(text(
            "SELECT task_id, state FROM task_instance WHERE dag_id = 'skyscript_drama' AND task_id IN ('loss_gate', 'ingest')"
        )).all())
    engine.dispose()
    assert [(r, s) for r, s in runs] == [(snap.step_runs[0]["dag_run_id"], "success")]
    assert tasks == {"ingest": "success", "loss_gate": "success"}
