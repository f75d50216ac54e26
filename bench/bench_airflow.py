"""What Airflow costs per mapped task instance, measured with a step that does nothing.

    python bench/bench_airflow.py [--batches 20,50,100] [--batch-size 1] [--scheduler --sql-conn URL]
                                  [--episode-cpu-s 30] [--steps N] [--overhead-pct 5] [--keep]

Builds an isolated Airflow 3 + SkyScript setup in a temporary folder (Airflow metadata on SQLite, or
``--sql-conn``; lineage on SQLite), registers synthetic episodes, and runs ``airflow dags test`` of a
DAG shaped like ``skyscript_drama``'s episode group: ``plan`` (the drama's episodes in batches, with
:func:`skyscript.orchestration.batching.plan_drama`) then one step task mapped over the batches (the
real ``SkyscriptStepOperator``, the same ``map_index_template``). The step is ``noop``
(``bench/airflow_noop.py``): it runs the whole step path (a ``skyscript step`` process, leases,
step_run rows) without work. Each size runs twice:

* ``skip``: every mapped task skips at once: what Airflow alone costs per task instance;
* ``noop``: every mapped task runs ``skyscript step noop`` on its batch: Airflow plus the step process.

and once more with ``--batch-size`` x 10 at the smallest size, which gives the step's per-episode
bookkeeping (leases, rows). For each run it prints wall seconds and CPU-seconds (this process's
children: the Airflow CLI, its task processes and the step processes), and fits
``time = fixed + per_task x tasks`` by least squares over the sizes. Last it applies the rule of
docs/orchestration.md: the smallest batch size that keeps the per-task overhead of ``--steps`` step
tasks under ``--overhead-pct`` of ``--episode-cpu-s`` of work per episode.

Two ways to run the DAG:

* default: ``airflow dags test``, every task one after the other inside that one process (its loop
  polls about once a second, so its wall time per task is mostly waiting);
* ``--scheduler``: what a deployment does: ``airflow api-server``, ``scheduler`` and
  ``dag-processor`` running, the LocalExecutor (``--parallelism``, default 2: this machine's cores)
  starting each task instance in its own supervised process, runs started with ``airflow dags
  trigger``; wall time from the trigger to the run's end, CPU-seconds of the whole process tree
  (idle scheduler loops included). Needs ``--sql-conn`` (Postgres: the LocalExecutor does not run on
  SQLite); the tables are created there, so give it a throwaway database.

Not a test: numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NOOP = "bench.airflow_noop:NoopStep"
DAG_ID = "bench_airflow"
TASK_ID = "episodes.noop"

# The measured DAG: the drama DAG's batching and step operator, one mapped step.
DAG_FILE = '''
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Param, task, task_group

from operators import step_operator
from skyscript.steps import registry


@task
def plan(params: dict[str, Any] | None = None) -> list[list[str]]:
    from airflow.sdk import conf

    from skyscript.config import Settings
    from skyscript.orchestration.batching import plan_drama

    assert params is not None
    p = plan_drama(Settings(), params["drama"], int(params["batch_size"]), conf.getint("core", "max_map_length"))
    return p.batches


with DAG(dag_id="%(dag_id)s", schedule=None, start_date=datetime(2026, 1, 1), catchup=False,
         params={"drama": Param("bench", type="string"), "batch_size": Param(1, type="integer"),
                 "skip": Param(False, type="boolean")},
         render_template_as_native_obj=True, max_active_tasks=64) as dag:

    @task_group(group_id="episodes")
    def batch(episodes: Any) -> None:
        step_operator(
            registry.get("noop"), episodes=episodes, retries=0, skip="{{ params.skip }}",
            map_index_template="{{ (task.episodes | first) if task.episodes else '-' }}",
        )

    batch.expand(episodes=plan())
'''


@dataclass
class Result:
    mode: str
    batches: int
    batch_size: int
    wall_s: float
    cpu_s: float
    mapped_span_s: float  # first mapped start to last mapped end

    @property
    def episodes(self) -> int:
        return self.batches * self.batch_size


def sh(env: dict[str, str], *args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(args), env=env, capture_output=True, text=True, timeout=timeout, cwd=env["AIRFLOW_HOME"])
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args[:3])} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


class Metadata:
    """Read access to Airflow's metadata database (SQLite file or Postgres)."""

    def __init__(self, env: dict[str, str], sql_conn: str | None) -> None:
        self.sql_conn, self.path = sql_conn, Path(env["AIRFLOW_HOME"]) / "airflow.db"

    def rows(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        if self.sql_conn:
            import psycopg

            url = self.sql_conn.replace("+psycopg2", "").replace("+psycopg", "")
            with psycopg.connect(url) as conn:
                return [tuple(r) for r in conn.execute(query.replace("?", "%s"), args).fetchall()]
        import sqlite3

        with sqlite3.connect(self.path) as conn:
            return conn.execute(query, args).fetchall()

    def mapped(self, run_id: str) -> tuple[int, float]:
        """Mapped step instances of ``run_id`` that finished (success or skipped) and their span."""
        rows = self.rows("SELECT state, start_date, end_date FROM task_instance WHERE dag_id = ? AND task_id = ? AND run_id = ?",
                         DAG_ID, TASK_ID, run_id)

        def ts(v: Any) -> float:
            return (v if isinstance(v, datetime) else datetime.fromisoformat(str(v))).timestamp()

        starts, ends = [ts(r[1]) for r in rows if r[1]], [ts(r[2]) for r in rows if r[2]]
        done = sum(1 for r in rows if r[0] in ("success", "skipped"))
        return done, (max(ends) - min(starts)) if starts and ends else 0.0

    def run_state(self, run_id: str) -> str | None:
        rows = self.rows("SELECT state FROM dag_run WHERE dag_id = ? AND run_id = ?", DAG_ID, run_id)
        return str(rows[0][0]) if rows else None


class Services:
    """api-server, scheduler and dag-processor of the scheduler mode (stopped by process group)."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, port: int) -> None:
        for name, args in (("api-server", ["api-server", "-H", "127.0.0.1", "-p", str(port), "-w", "1"]),
                           ("scheduler", ["scheduler"]), ("dag-processor", ["dag-processor"])):
            with open(self.logs / f"{name}.log", "wb") as log:
                self.procs[name] = subprocess.Popen([str(BIN / "airflow"), *args], env=self.env, stdout=log,
                                                    stderr=subprocess.STDOUT, cwd=self.env["AIRFLOW_HOME"],
                                                    start_new_session=True)

    def check(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise SystemExit(f"{name} exited {proc.returncode}:\n{(self.logs / f'{name}.log').read_text()[-3000:]}")

    def cpu(self) -> float:
        """CPU-seconds of every process of the services so far (waited-for children included)."""
        import psutil

        total = 0.0
        for proc in self.procs.values():
            try:
                root = psutil.Process(proc.pid)
                for p in [root, *root.children(recursive=True)]:
                    t = p.cpu_times()
                    total += t.user + t.system + t.children_user + t.children_system
            except psutil.NoSuchProcess:
                pass
        return total

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_env(tmp: Path, sql_conn: str | None, scheduler: bool, parallelism: int, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SKYSCRIPT_"))}
    env.update({
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "PYTHONPATH": str(REPO),
        "AIRFLOW_HOME": str(tmp / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(tmp / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "SKYSCRIPT_HOME": str(tmp / "home"),
        "SKYSCRIPT_ORCH_MODE": "local",
        "SKYSCRIPT_EXTRA_STEPS": NOOP,
        "SKYSCRIPT_LOG_LEVEL": "WARNING",
    })
    if sql_conn:
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = sql_conn
    if scheduler:
        env.update({
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(16),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        })
    return env


def register_episodes(env: dict[str, str], drama: str, n: int) -> None:
    code = (
        "import sys; from skyscript.config import Settings; from skyscript.db.engine import Database; "
        "from skyscript.db import lineage\n"
        "drama, n = sys.argv[1], int(sys.argv[2]); db = Database(Settings().database_url or ''); db.upgrade()\n"
        "with db.session() as s:\n"
        "    lineage.ensure_drama(s, drama)\n"
        "    for i in range(n):\n"
        "        lineage.upsert_episode(s, id=f'{drama}--e{i:05d}', drama_id=drama, source_uri=f'/dev/null/e{i}.mp4',"
        " source_name=f'e{i}.mp4', status='pending')\n"
        "db.dispose()\n"
    )
    sh(env, sys.executable, "-c", code, drama, str(n))


def children_cpu() -> float:
    t = os.times()
    return t.children_user + t.children_system


def wait_for(what: str, predicate: Any, timeout_s: float, services: Services | None, interval_s: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if services:
            services.check()
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise SystemExit(f"timed out after {timeout_s:.0f} s waiting for {what}")


def run_once(env: dict[str, str], meta: Metadata, services: Services | None, mode: str, batches: int,
             batch_size: int) -> Result:
    drama = f"bench-{mode}-{batches}x{batch_size}"
    run_id = f"bench__{drama}"
    register_episodes(env, drama, batches * batch_size)
    conf = json.dumps({"drama": drama, "batch_size": batch_size, "skip": mode == "skip"})
    if services is None:
        cpu0, t0 = children_cpu(), time.perf_counter()
        sh(env, "airflow", "dags", "test", DAG_ID, "-c", conf)
        wall, cpu = time.perf_counter() - t0, children_cpu() - cpu0
        run_id = meta.rows("SELECT run_id FROM dag_run WHERE dag_id = ? AND conf LIKE ?", DAG_ID, f'%"{drama}"%')[0][0]
    else:
        cpu0, t0 = services.cpu() + children_cpu(), time.perf_counter()
        sh(env, "airflow", "dags", "trigger", DAG_ID, "--run-id", run_id, "--conf", conf)
        state = wait_for(f"run {run_id}", lambda: (s := meta.run_state(run_id)) in ("success", "failed") and s,
                         600 + 10 * batches, services)
        wall, cpu = time.perf_counter() - t0, services.cpu() + children_cpu() - cpu0
        if state != "success":
            raise SystemExit(f"run {run_id} {state}; logs in {env['AIRFLOW_HOME']}")
    done, span = meta.mapped(run_id)
    if done != batches:
        raise SystemExit(f"{drama}: {done} of {batches} mapped instances finished")
    return Result(mode, batches, batch_size, wall, cpu, span)


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least squares ``y = a + b x``: (a, b)."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    b = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0
    return my - b * mx, b


def batch_rule(per_task_s: float, steps: int, episode_s: float, overhead_pct: float) -> int:
    """Smallest batch size B with ``steps x per_task_s <= pct x (steps x per_task_s + B x episode_s)``."""
    f = overhead_pct / 100.0
    return max(1, math.ceil(steps * per_task_s * (1 - f) / (f * episode_s)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--batches", default="20,50,100", help="mapped instance counts to measure (comma-separated)")
    ap.add_argument("--batch-size", type=int, default=1)
    ap.add_argument("--scheduler", action="store_true", help="run through api-server + scheduler + LocalExecutor")
    ap.add_argument("--parallelism", type=int, default=2, help="LocalExecutor task slots (--scheduler)")
    ap.add_argument("--sql-conn", default=None, help="Airflow metadata database URL (default: SQLite in the temporary folder)")
    ap.add_argument("--episode-cpu-s", type=float, default=30.0, help="work per episode through the episode steps")
    ap.add_argument("--steps", type=int, default=0, help="step tasks per batch (default: the registry's episode steps)")
    ap.add_argument("--overhead-pct", type=float, default=5.0)
    ap.add_argument("--modes", default="skip,noop")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args(argv)
    if args.scheduler and not args.sql_conn:
        ap.error("--scheduler needs --sql-conn (Postgres: the LocalExecutor does not run on SQLite)")
    sizes = sorted(int(s) for s in args.batches.split(",") if s.strip())
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]

    tmp = Path(tempfile.mkdtemp(prefix="bench-airflow-"))
    services: Services | None = None
    try:
        (tmp / "dags").mkdir()
        (tmp / "dags" / f"{DAG_ID}.py").write_text(DAG_FILE % {"dag_id": DAG_ID})
        port = free_port()
        env = make_env(tmp, args.sql_conn, args.scheduler, args.parallelism, port)
        Path(env["AIRFLOW_HOME"]).mkdir()
        t0 = time.perf_counter()
        sh(env, "airflow", "db", "migrate")
        meta = Metadata(env, args.sql_conn)
        how = (f"api-server + scheduler + dag-processor, LocalExecutor with parallelism {args.parallelism}"
               if args.scheduler else "airflow dags test (in-process)")
        print(f"airflow db migrate: {time.perf_counter() - t0:.1f} s; {how}; "
              f"metadata on {'Postgres' if args.sql_conn else 'SQLite'}; {os.cpu_count()} cores", flush=True)
        if args.scheduler:
            services = Services(env, tmp)
            services.start(port)
            t0 = time.perf_counter()
            wait_for("the DAG to be parsed", lambda: meta.rows("SELECT 1 FROM dag WHERE dag_id = ?", DAG_ID), 300, services)
            print(f"services up and DAG parsed in {time.perf_counter() - t0:.1f} s", flush=True)
            cpu0 = services.cpu()
            time.sleep(20)
            print(f"idle services: {(services.cpu() - cpu0) / 20:.2f} CPU-s per second", flush=True)
        results: list[Result] = []
        print(f"{'mode':5} {'tasks':>5} {'batch':>5} {'wall s':>7} {'CPU s':>7} {'span s':>7} {'wall/task':>9} {'CPU/task':>8}")
        runs = [(m, n, args.batch_size) for m in modes for n in sizes]
        if "noop" in modes:
            runs.append(("noop", sizes[0], args.batch_size * 10))
        for mode, n, b in runs:
            r = run_once(env, meta, services, mode, n, b)
            results.append(r)
            print(f"{r.mode:5} {r.batches:5d} {r.batch_size:5d} {r.wall_s:7.1f} {r.cpu_s:7.1f} {r.mapped_span_s:7.1f} "
                  f"{r.wall_s / n:9.2f} {r.cpu_s / n:8.2f}", flush=True)

        per_task: dict[str, float] = {}
        for mode, what in (("skip", "Airflow alone (the task skips)"), ("noop", "Airflow + the `skyscript step noop` process")):
            pts = [r for r in results if r.mode == mode and r.batch_size == args.batch_size]
            if len(pts) >= 2:
                wa, wb = fit([(r.batches, r.wall_s) for r in pts])
                ca, cb = fit([(r.batches, r.cpu_s) for r in pts])
                print(f"{what}: {wb:.2f} s wall and {cb:.2f} CPU-s per task instance (fixed: {wa:.1f} s, {ca:.1f} CPU-s)")
                per_task[mode] = max(wb, cb)
        big = [r for r in results if r.mode == "noop" and r.batch_size == args.batch_size * 10]
        small = [r for r in results if r.mode == "noop" and r.batch_size == args.batch_size and r.batches == sizes[0]]
        if big and small:
            extra = big[0].episodes - small[0].episodes
            print(f"step bookkeeping per episode (leases, step_run rows): "
                  f"{(big[0].wall_s - small[0].wall_s) / extra:.3f} s wall, {(big[0].cpu_s - small[0].cpu_s) / extra:.3f} CPU-s")
        overhead = per_task.get("noop", per_task.get("skip"))
        if overhead is not None:
            from skyscript.steps import registry

            steps = args.steps or len(registry.episode_steps())
            b = batch_rule(overhead, steps, args.episode_cpu_s, args.overhead_pct)
            print(f"rule: {steps} step tasks x {overhead:.2f} s per batch <= {args.overhead_pct:g}% of the batch's work at "
                  f"{args.episode_cpu_s:g} CPU-s per episode -> batch size >= {b}")
            print(f"per-task overhead: {overhead:.2f} s")
    finally:
        if services is not None:
            services.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
