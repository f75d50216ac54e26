"""Episodes in worker processes (``skyscript run --jobs N``).

Each worker is a fresh interpreter (the ``spawn`` start method: no inherited database connections,
model runtimes or threads), opens its own context on the run's database and store, sets its episode
steps up once, then takes episodes from a shared queue until it is empty. Workers use the run's
``dag_run_id``, so they re-enter the drama lease (:data:`skyscript.db.leases.RUN`) the parent holds
and write the same lineage a one-process run writes. Results (and the progress events the parent
replays) come back on a result queue, one message per episode.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from skyscript.config import Settings
from skyscript.steps.base import StepResult

Event = tuple[str, str | None]


@dataclass
class WorkerJob:
    """What a worker needs to rebuild the run's context (picklable)."""

    settings: Settings
    drama_id: str
    dag_run_id: str
    try_number: int
    params: dict[str, Any]
    targets: tuple[str, ...]  # the pipeline's step classes
    steps: list[str]  # the episode steps to run, in order
    log_level: int = logging.WARNING
    force: bool = False  # redo steps whose inputs are unchanged


@dataclass
class EpisodeOutcome:
    episode_id: str
    results: list[StepResult] = field(default_factory=list)
    failed: list[StepResult] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    error: str | None = None  # the worker itself failed on this episode


def run_episode_steps(
    ctx: Any, ep: str, loaded: list[Any], kinds: dict[str, Any], on_step: Callable[[str, str | None], None] | None
) -> tuple[list[StepResult], list[StepResult]]:
    """Run ``loaded`` steps in order on one episode; stop at the first that does not succeed.
    Returns (results, failed): a step that quarantined its episode is not a failure."""
    from skyscript.db import lineage
    from skyscript.steps.runner import run_step

    results: list[StepResult] = []
    failed: list[StepResult] = []
    for i, step in enumerate(loaded):
        if on_step:
            on_step(step.name, ep)
        res = run_step(step, ctx, ep, kinds=kinds)
        results.append(res)
        if res.status == "success":
            continue
        if res.status == "failed":
            with ctx.db.session() as s:
                if not lineage.is_quarantined(s, ep):
                    failed.append(res)
        for _ in loaded[i + 1 :]:
            if on_step:
                on_step("skip", ep)
        break
    return results, failed


def _worker(job: WorkerJob, tasks: Any, results: Any, release: Any) -> None:  # pragma: no cover - runs in the child
    import signal

    from skyscript.context import open_context
    from skyscript.steps import registry
    from skyscript.steps.runner import ensure_setup, teardown

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; ^C reaches the whole group

    def stop(signum: int, _frame: Any) -> None:  # the parent terminates workers when it is stopped
        raise SystemExit(128 + signum)  # the runner marks the step run interrupted and frees its lease

    signal.signal(signal.SIGTERM, stop)
    from skyscript.logs import WORKER_LOG_FORMAT, stderr_handler

    logging.basicConfig(level=job.log_level, handlers=[stderr_handler(WORKER_LOG_FORMAT)])
    pipe = registry.Pipeline(job.targets)
    ctx = open_context(job.settings, job.drama_id, dag_run_id=job.dag_run_id, try_number=job.try_number,
                       params=job.params, upgrade=False)
    ctx.force = job.force
    kinds = pipe.kinds()
    loaded = [pipe.get(name).load() for name in job.steps]
    try:
        for step in loaded:  # models load once per worker, not once per episode
            ensure_setup(step, ctx.settings)
        while True:
            ep = tasks.get()
            if ep is None:
                # stay alive until the parent holds the drama lease again: the lease records the
                # pid of the last process that entered it, and a dead pid lets another run take it
                release.wait(timeout=3600)
                return
            out = EpisodeOutcome(ep)
            try:
                out.results, out.failed = run_episode_steps(ctx, ep, loaded, kinds, lambda s, e, o=out: o.events.append((s, e)))
            except Exception as exc:  # noqa: BLE001 - reported to the parent, which records it
                out.error = f"{type(exc).__name__}: {exc}"
            results.put(out)
    finally:
        for step in loaded:
            teardown(step)
        ctx.db.dispose()


def run_parallel(
    job: WorkerJob, episodes: list[str], jobs: int, on_outcome: Callable[[EpisodeOutcome], None],
    *, before_release: Callable[[], None] | None = None, poll_s: float = 1.0,
) -> None:
    """Run ``job.steps`` on ``episodes`` in ``jobs`` spawned workers; ``on_outcome`` sees each
    episode's outcome in the parent as it arrives. A worker that dies without reporting (killed,
    out of memory) turns its missing episodes into outcomes with an ``error``. ``before_release``
    runs in the parent once every episode is done, while the workers are still alive (the parent
    re-takes the drama lease there). If the parent is interrupted, the workers are terminated."""
    spawn = mp.get_context("spawn")
    tasks = spawn.Queue()
    results = spawn.Queue()
    release = spawn.Event()
    for ep in episodes:
        tasks.put(ep)
    n = max(1, min(jobs, len(episodes)))
    for _ in range(n):
        tasks.put(None)
    workers = [spawn.Process(target=_worker, args=(job, tasks, results, release), name=f"skyscript-worker-{i + 1}", daemon=True)
               for i in range(n)]
    for w in workers:
        w.start()
    pending = set(episodes)
    finished = False
    try:
        while pending:
            try:
                out: EpisodeOutcome = results.get(timeout=poll_s)
            except queue.Empty:
                if all(not w.is_alive() for w in workers):
                    codes = sorted({w.exitcode for w in workers})
                    for ep in sorted(pending):
                        on_outcome(EpisodeOutcome(ep, error=f"worker exited (codes {codes}) before finishing it"))
                    break
                continue
            pending.discard(out.episode_id)
            on_outcome(out)
        if before_release:
            before_release()
        finished = True
    finally:
        release.set()
        if not finished:  # interrupted: stop the workers now (each marks its step run interrupted)
            for w in workers:
                if w.is_alive():
                    w.terminate()
        for w in workers:
            w.join(timeout=30)
            if w.is_alive():
                w.kill()
                w.join(timeout=5)
        tasks.close()
        results.close()
