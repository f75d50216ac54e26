"""A drama run in distributed mode: api-server, scheduler, dag-processor and a Celery worker as
separate processes, CeleryExecutor over a real Redis broker, Postgres as the metadata database.
Light tasks and step tasks go to their own Celery queues; the result matches ``skyscript run``."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import uuid
from pathlib import Path
from typing import Callable, Iterator

import httpx
import pytest
from sqlalchemy import create_engine, text

from airflow_harness import Snapshot, base_env, migrate, run, snapshot, wait_for
from skyscript.steps import registry

pytestmark = pytest.mark.integration

DRAMA = "megamind"
REDIS_URL = os.environ.get("SKYSCRIPT_TEST_REDIS", "redis://127.0.0.1:6379/11")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("CI"):
            pytest.fail(f"Redis not reachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    return REDIS_URL


class Services:
    """Airflow components started by this test (and only those are stopped, by process group)."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs, self.procs = env, logs, {}  # type: ignore[var-annotated]
        logs.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, *args: str) -> None:
        log = open(self.logs / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        self.procs[name] = (subprocess.Popen(list(args), env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                             cwd=self.env["AIRFLOW_HOME"], start_new_session=True), log)

    def alive(self) -> None:
        for name, (proc, _) in self.procs.items():
            assert proc.poll() is None, f"{name} exited {proc.returncode}:\n{self.tail(name)}"

    def tail(self, name: str, n: int = 6000) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-n:]

    def stop(self) -> None:
        for proc, _ in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for name, (proc, log) in self.procs.items():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
            log.close()


@pytest.fixture
def services(tmp_path: Path, pg_database: Callable[[str], str], redis_url: str) -> Iterator[Services]:
    airflow_db = pg_database("airflow_celery")
    port = _free_port()
    tag = uuid.uuid4().hex[:8]
    env = base_env(
        tmp_path / "airflow", tmp_path / "home",
        sql_conn=airflow_db.replace("postgresql+psycopg://", "postgresql+psycopg2://"),
        lineage_url=pg_database("skyscript_celery"),
        AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
        AIRFLOW__CELERY__BROKER_URL=redis_url,
        AIRFLOW__CELERY__RESULT_BACKEND="db+" + airflow_db.replace("postgresql+psycopg://", "postgresql://"),
        AIRFLOW__CELERY__WORKER_CONCURRENCY="2",
        AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_hex(16),
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{port}/execution/",
        AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{port}",
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
        AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK="False",
        SKYSCRIPT_ORCH_LIGHT_QUEUE=f"light-{tag}",
        SKYSCRIPT_ORCH_STEP_QUEUE=f"steps-{tag}",
    )
    migrate(env)
    svc = Services(env, tmp_path / "logs")
    svc.port = port  # type: ignore[attr-defined]
    svc.airflow_db = airflow_db  # type: ignore[attr-defined]
    try:
        svc.start("api-server", "airflow", "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1")
        svc.start("dag-processor", "airflow", "dag-processor")
        svc.start("scheduler", "airflow", "scheduler")
        svc.start("worker", "airflow", "celery", "worker", "--queues", f"light-{tag},steps-{tag}",
                  "--concurrency", "2", "--skip-serve-logs", "--without-gossip", "--without-mingle")
        yield svc
    finally:
        svc.stop()


def test_drama_run_on_celery_workers_over_redis(services: Services, skyscript_run_reference: Snapshot,
                                                sample_media: Path, tmp_path: Path) -> None:
    env = services.env
    port = services.port  # type: ignore[attr-defined]

    def api_up() -> bool:
        services.alive()
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(api_up, 180, "the api-server")
    engine = create_engine(services.airflow_db.replace("postgresql+psycopg://", "postgresql+psycopg2://"))  # type: ignore[attr-defined]

    def parsed() -> bool:
        services.alive()
        with engine.connect() as conn:
            return bool(conn.execute(text("SELECT 1 FROM dag WHERE dag_id = 'skyscript_drama'")).first())

    wait_for(parsed, 180, "the dag-processor to parse skyscript_drama")
    conf = {"drama": DRAMA, "sources": [str(sample_media / "Megamind.avi")]}
    run(env, "airflow", "dags", "unpause", "skyscript_drama")
    run(env, "airflow", "dags", "trigger", "skyscript_drama", "--run-id", "celery-run-1", "--conf", json.dumps(conf))

    def finished() -> str | None:
        services.alive()
        with engine.connect() as conn:
            state = conn.execute(text("SELECT state FROM dag_run WHERE run_id = 'celery-run-1'")).scalar()
        return state if state in ("success", "failed") else None

    try:
        state = wait_for(finished, 420, "the drama run to finish", interval_s=3)
    except AssertionError:
        raise AssertionError("\n".join(f"--- {n}\n{services.tail(n, 3000)}" for n in services.procs)) from None
    with engine.connect() as conn:
        tis = conn.execute(text(
            "SELECT task_id, map_index, state, queue, hostname, try_number FROM task_instance WHERE run_id = 'celery-run-1'"
        )).all()

    def celery_settled() -> list[tuple[str, int]] | None:
        # the worker stores a task's Celery result just after Airflow records the task's state,
        # so the last task can still read STARTED for a moment after the run has finished
        with engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(text("SELECT status, count(*) FROM celery_taskmeta GROUP BY status")).all()]
        return rows if dict(rows).get("SUCCESS", 0) >= len(tis) else None

    try:
        celery_results = wait_for(celery_settled, 30, "every Celery result to be stored", interval_s=0.5)
    except AssertionError:
        with engine.connect() as conn:
            celery_results = conn.execute(text("SELECT status, count(*) FROM celery_taskmeta GROUP BY status")).all()
    engine.dispose()
    assert state == "success", "\n".join(map(str, tis)) + "\n" + services.tail("worker")

    light, steps = env["SKYSCRIPT_ORCH_LIGHT_QUEUE"], env["SKYSCRIPT_ORCH_STEP_QUEUE"]
    queue_of = {t.task_id: t.queue for t in tis}
    assert queue_of["plan_batches"] == light and queue_of["loss_gate"] == light
    assert queue_of["ingest"] == steps
    assert all(queue_of[f"episodes.{s.name}"] == steps for s in registry.episode_steps())
    assert all(t.state == "success" and t.hostname for t in tis)
    # every task went through Celery: one SUCCESS result per task instance
    assert dict(celery_results).get("SUCCESS", 0) >= len(tis)

    snap = snapshot(env, DRAMA, tmp_path / "export")
    assert snap.counts == skyscript_run_reference.counts
    assert snap.exported == skyscript_run_reference.exported
    assert {r["dag_run_id"] for r in snap.step_runs} == {"celery-run-1"}
