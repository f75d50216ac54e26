"""Local mode: the whole pipeline in-process for one drama: ingest, every episode step on every
episode (in the registry's order), then the drama steps. Each step is set up once for the run."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from skyscript.context import StepContext
from skyscript.parallel import EpisodeOutcome, WorkerJob, run_episode_steps, run_parallel
from skyscript.db import leases, lineage
from skyscript.quality.loss import LossReport, loss_report
from skyscript.steps import registry
from skyscript.steps.base import StepResult
from skyscript.steps.runner import resolve_params, run_step, teardown


@dataclass
class RunSummary:
    drama_id: str
    dag_run_id: str
    results: list[StepResult] = field(default_factory=list)
    quarantined: dict[str, str] = field(default_factory=dict)  # episode -> reason
    failed: list[StepResult] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)  # source -> why it could not be read
    loss: LossReport | None = None

    @property
    def ok(self) -> bool:
        return not self.failed and not self.unreachable and (self.loss is None or self.loss.passed)


ProgressHook = Callable[[str, str | None], None]


def run_drama(
    ctx: StepContext,
    sources: list[str],
    *,
    steps: list[str] | None = None,
    on_step: ProgressHook | None = None,
    on_total: Callable[[int], None] | None = None,
    pipeline: registry.Pipeline | None = None,
    jobs: int = 1,
) -> RunSummary:
    """Ingest ``sources`` into the drama, run every episode step on every episode, then every
    drama step. ``ctx.params`` carries per-step overrides (``{"keyinfo": {...}}``).

    ``jobs`` > 1 runs the episodes in that many worker processes (:mod:`skyscript.parallel`),
    under the same run id, leases and lineage; ingest runs first and the drama steps after every
    episode, both in this process.

    A failing step is recorded (step run + loss row) and the episode's later steps are skipped;
    the other episodes carry on. The drama steps then run on what the episodes produced, a failed
    episode or not, so one bad episode does not hold back the drama's characters and scripts; the
    summary names the failure (``ok`` is false) and a re-run after the fix brings the drama steps
    up to date. (In Airflow a failed batch task stops the drama tasks: ``none_failed``.)
    """
    pipe = pipeline or registry.PIPELINE
    ctx = replace(ctx, dag_run_id=ctx.dag_run_id or f"local-{uuid.uuid4().hex[:12]}")
    summary = RunSummary(ctx.drama_id, ctx.dag_run_id or "")
    wanted = set(steps) if steps else None
    if wanted:
        unknown = wanted - set(pipe.names())
        if unknown:
            raise KeyError(f"unknown step(s) {', '.join(sorted(unknown))}; known steps: {', '.join(pipe.names())}")
    episode_specs = [s for s in pipe.episode_steps() if wanted is None or s.name in wanted]
    drama_specs = [s for s in pipe.drama_steps() if wanted is None or s.name in wanted]
    ingest = pipe.get("ingest").load()
    loaded = [spec.load() for spec in episode_specs]
    after = [spec.load() for spec in drama_specs]
    for step in [ingest, *loaded, *after]:  # a bad --param fails here, before any work
        resolve_params(step, ctx.settings, {**ctx.params, "sources": list(sources)} if step is ingest else ctx.params)
    kinds = pipe.kinds()
    hold_drama(ctx, ctx.dag_run_id or "", ctx.settings.run_wait_s)
    sweep = getattr(ctx.store, "sweep_parts", None)
    if sweep is not None:  # half-written objects a killed run left behind (local store)
        removed = sweep()
        if removed:
            ctx.logger("run").warning("removed %d half-written object(s) left by an earlier run", removed)
    try:
        res = run_step(ingest, replace(ctx, params={**ctx.params, "sources": list(sources)}), None, kinds=kinds)
        summary.results.append(res)
        if res.status == "failed":
            summary.failed.append(res)
            return summary
        with ctx.db.session() as s:  # ingest's own loss rows are this run's: it replaces them each time
            summary.unreachable = {
                lo.item_id: lo.detail or lo.reason
                for lo in lineage.losses_of(s, ctx.drama_id)
                if lo.step == ingest.name and lo.item_kind == "source"
            }
            episodes = [e.id for e in lineage.episodes_of(s, ctx.drama_id)]
        if on_total:
            on_total(len(episodes) * len(loaded) + len(after))
        if jobs > 1 and len(episodes) > 1 and loaded:
            _run_episodes_parallel(ctx, episodes, loaded, summary, on_step, pipe, jobs)
        else:
            for ep in episodes:
                _run_episode(ctx, ep, loaded, summary, on_step, kinds)
        for step in after:
            if on_step:
                on_step(step.name, None)
            res = run_step(step, ctx, None, kinds=kinds)
            summary.results.append(res)
            if res.status == "failed":
                summary.failed.append(res)
    finally:
        for step in [ingest, *loaded, *after]:
            teardown(step)
        with ctx.db.session() as s:
            leases.release(s, ctx.drama_id, None, leases.RUN, ctx.dag_run_id or "")
    with ctx.db.session() as s:
        for e in lineage.episodes_of(s, ctx.drama_id, status="quarantined"):
            summary.quarantined[e.id] = e.error or "quarantined"
        summary.loss = loss_report(s, ctx.drama_id, ctx.settings.thresholds.max_loss_rate)
    return summary


def hold_drama(ctx: StepContext, holder: str, wait_s: float) -> None:
    """Take the drama for this run (:data:`skyscript.db.leases.RUN`), waiting up to ``wait_s``
    seconds for another run of it to finish; :class:`~skyscript.db.leases.LeaseBusy` after that.
    Two runs of one drama never interleave (run B's scan deleted a frame run A was masking)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            with ctx.db.session() as s:
                leases.acquire(s, ctx.drama_id, None, leases.RUN, holder, ctx.settings.run_lease_s)
            return
        except leases.LeaseBusy:
            if time.monotonic() >= deadline:
                raise
            time.sleep(min(5.0, max(0.1, deadline - time.monotonic())))


def _run_episode(
    ctx: StepContext, ep: str, loaded: list[Any], summary: RunSummary, on_step: ProgressHook | None, kinds: dict[str, Any]
) -> None:
    # a step that quarantined its episode (probe or scan on bad input) is reported as a
    # quarantine, any other failure as a failed step; either way, and for a skipped
    # (quarantined) episode, its later steps do not run
    results, failed = run_episode_steps(ctx, ep, loaded, kinds, on_step)
    summary.results.extend(results)
    summary.failed.extend(failed)


def _run_episodes_parallel(
    ctx: StepContext, episodes: list[str], loaded: list[Any], summary: RunSummary, on_step: ProgressHook | None,
    pipe: registry.Pipeline, jobs: int,
) -> None:
    job = WorkerJob(
        settings=ctx.settings, drama_id=ctx.drama_id, dag_run_id=ctx.dag_run_id or "", try_number=ctx.try_number,
        params=dict(ctx.params), targets=pipe.targets, steps=[s.name for s in loaded],
        log_level=logging.getLogger("skyscript").getEffectiveLevel(), force=ctx.force,
    )

    def outcome(out: EpisodeOutcome) -> None:
        if on_step:
            for name, ep in out.events:
                on_step(name, ep)
        summary.results.extend(out.results)
        summary.failed.extend(out.failed)
        if out.error:
            summary.failed.append(StepResult("worker", ctx.drama_id, out.episode_id, "failed", None, error=out.error))

    def retake() -> None:  # the workers re-entered the drama lease under their own pids
        with ctx.db.session() as s:
            leases.acquire(s, ctx.drama_id, None, leases.RUN, ctx.dag_run_id or "", ctx.settings.run_lease_s)

    run_parallel(job, episodes, jobs, outcome, before_release=retake)
