"""Helpers for the Airflow integration tests: an isolated Airflow + SkyScript environment in a
temporary folder, the Airflow CLI, and snapshots of lineage rows and exported files to compare
a DAG run with ``skyscript run``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

REPO = Path(__file__).resolve().parents[3]
DRAMA = "megamind"
DAGS = REPO / "dags"
BIN = Path(sys.executable).parent


def base_env(airflow_home: Path, skyscript_home: Path, *, sql_conn: str | None = None,
             lineage_url: str | None = None, **extra: str) -> dict[str, str]:
    """Only what these runs need: nothing from the shell's AIRFLOW_* / SKYSCRIPT_* leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SKYSCRIPT_"))}
    env.update({
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "PYTHONPATH": str(REPO),
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "SKYSCRIPT_HOME": str(skyscript_home),
        "SKYSCRIPT_ORCH_MODE": "local",
        "SKYSCRIPT_ORCH_RETRY_DELAY_S": "1",  # retries with back-off, 1 s, 2 s, ... in tests
        "SKYSCRIPT_ORCH_CRAWL_SCHEDULE": "",
    })
    if sql_conn:
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = sql_conn
    if lineage_url:
        env["SKYSCRIPT_DATABASE_URL"] = lineage_url
    env.update(extra)
    return env


def run(env: dict[str, str], *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(args), env=env, capture_output=True, text=True, timeout=timeout, cwd=env["AIRFLOW_HOME"])
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}")
    return proc


def migrate(env: dict[str, str]) -> None:
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    run(env, "airflow", "db", "migrate", timeout=300)


def dags_test(env: dict[str, str], dag_id: str, conf: dict[str, Any], check: bool = True) -> subprocess.CompletedProcess[str]:
    return run(env, "airflow", "dags", "test", dag_id, "-c", json.dumps(conf), timeout=600, check=check)


@dataclass
class Snapshot:
    counts: dict[str, int]  # lineage row counts of the drama (step_run left out: attempts differ by design)
    exported: dict[str, list[dict[str, Any]]]  # export file -> rows
    step_runs: list[dict[str, Any]]


def snapshot(env: dict[str, str], drama: str, out: Path) -> Snapshot:
    """Lineage counts and the exported dataset files of ``drama`` in ``env``'s SkyScript setup."""
    import pyarrow.parquet as pq

    from skyscript.config import Settings
    from skyscript.db import lineage
    from skyscript.db.engine import Database
    from skyscript.db.models import StepRun

    run(env, "skyscript", "export", "--drama", drama, "--out", str(out))
    home = Path(env["SKYSCRIPT_HOME"])
    settings = Settings(home=home, database_url=env.get("SKYSCRIPT_DATABASE_URL"))
    db = Database(settings.database_url or "")
    with db.session() as s:
        counts = lineage.table_counts(s, drama)
        runs = [
            {"step": r.step, "episode": r.episode_id, "dag_run_id": r.dag_run_id, "try": r.try_number, "status": r.status}
            for r in s.query(StepRun).where(StepRun.drama_id == drama).order_by(StepRun.id)
        ]
    db.dispose()
    counts.pop("step_run")
    exported = {p.name: pq.read_table(p).to_pylist() for p in sorted(out.glob("*.parquet"))}
    return Snapshot(counts, exported, runs)


def reference(tmp: Path, media: Path, drama: str) -> Snapshot:
    """What ``skyscript run`` produces for the same files, in its own SKYSCRIPT_HOME."""
    env = base_env(tmp / "ref-airflow", tmp / "ref-home")
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    run(env, "skyscript", "run", str(media), "--drama", drama, "--no-progress")
    return snapshot(env, drama, tmp / "ref-export")


def wait_for(predicate: Any, timeout_s: float, what: str, interval_s: float = 2.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")


# --- fixtures (imported by the conftest.py of each integration folder that runs Airflow) ---------


@pytest.fixture(scope="session")
def skyscript_run_reference(tmp_path_factory: pytest.TempPathFactory, sample_media: Path) -> Snapshot:
    """``skyscript run`` of Megamind.avi into its own SKYSCRIPT_HOME: what a DAG run must match."""
    return reference(tmp_path_factory.mktemp("reference"), sample_media / "Megamind.avi", DRAMA)


@pytest.fixture
def pg_database(pg_server: str) -> Iterator[Callable[[str], str]]:
    """Makes throwaway Postgres databases (dropped afterwards); returns their SQLAlchemy URLs."""
    import psycopg

    admin = pg_server.replace("+psycopg", "")
    made: list[str] = []

    def make(prefix: str) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return pg_server.rsplit("/", 1)[0] + f"/{name}"

    yield make
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def assert_graph_order(runs: list[tuple[str, int, str]], expected: list[tuple[str, int, str]]) -> None:
    """The same step runs as ``expected``; each step's first run after those of the steps it reads
    from (independent steps, such as shot size and key information, may run in either order)."""
    from skyscript.steps import registry

    assert sorted(runs) == sorted(expected)
    first: dict[str, int] = {}
    for i, (step, _, _) in enumerate(runs):
        first.setdefault(step, i)
    for spec in registry.PIPELINE.specs:
        for up in spec.after:
            if up in first and spec.name in first:
                assert first[up] < first[spec.name], f"{spec.name} ran before {up}"
