"""Runs one step for one episode with lineage: a step-run row per attempt, a loss row for a
failed attempt, the outcome as a :class:`StepResult` (video2dataset style: errors are returned,
not raised, unless the caller asks for them to be raised so that Airflow can retry)."""

from __future__ import annotations

import logging
import socket
import time
import traceback
import uuid

from sqlalchemy import delete

from skyscript.db import leases, lineage
from skyscript.db.lineage import LossRecord
from skyscript.db.models import Episode, Loss
from skyscript.steps.base import BadInput, Step, StepContext, StepResult


def run_step(step: Step, ctx: StepContext, episode_id: str | None = None, *, raise_errors: bool = False) -> StepResult:
    """Run ``step`` under a lease (see :mod:`skyscript.db.leases`): another run working on the
    same step and episode makes this a ``failed`` result with a ``busy`` error and no writes."""
    log = ctx.logger(step.name, episode_id)
    if step.scope == "episode" and episode_id is None:
        raise ValueError(f"step {step.name} runs per episode: give an episode id")
    holder = ctx.dag_run_id or f"adhoc-{uuid.uuid4().hex[:12]}"
    try:
        with ctx.db.session() as s:
            leases.acquire(s, ctx.drama_id, episode_id, step.name, holder, ctx.settings.step_lease_s)
    except leases.LeaseBusy as exc:
        log.warning("%s", exc)
        if raise_errors:
            raise
        return StepResult(step.name, ctx.drama_id, episode_id, "failed", None, error=str(exc))
    try:
        return _run_leased(step, ctx, episode_id, raise_errors, log)
    finally:
        with ctx.db.session() as s:
            leases.release(s, ctx.drama_id, episode_id, step.name, holder)


def _run_leased(
    step: Step, ctx: StepContext, episode_id: str | None, raise_errors: bool, log: logging.LoggerAdapter[logging.Logger]
) -> StepResult:
    with ctx.db.session() as s:
        if episode_id is not None:
            ep = s.get(Episode, episode_id)
            if ep is None:
                raise LookupError(f"no episode {episode_id!r} in the lineage database (run ingest first)")
            if ep.status == "quarantined" and step.name not in ("ingest", "probe"):
                log.info("skipped: episode is quarantined (%s)", ep.error)
                return StepResult(step.name, ctx.drama_id, episode_id, "skipped", None, error=ep.error)
        run_id = lineage.start_step_run(
            s,
            step=step.name,
            step_version=step.version,
            drama_id=ctx.drama_id,
            episode_id=episode_id,
            dag_run_id=ctx.dag_run_id,
            try_number=ctx.try_number,
            host=socket.gethostname(),
            params=dict(ctx.params) or None,
        )
    t0 = time.perf_counter()
    log.info("started (step run %s)", run_id)
    try:
        out = step.run(ctx, run_id, episode_id)
    except BadInput as exc:
        dt = time.perf_counter() - t0
        log.warning("bad input: %s", exc)
        with ctx.db.session() as s:
            ep = s.get(Episode, episode_id) if episode_id is not None else None
            if ep is not None:
                ep.status = "quarantined"
                ep.error = f"{exc.reason}: {exc.detail}"
            lineage.replace_losses(
                s, ctx.drama_id, step.name, episode_id,
                [LossRecord("episode", episode_id or ctx.drama_id, exc.reason, exc.detail)], run_id,
            )
            lineage.finish_step_run(s, run_id, "failed", error=str(exc))
        return StepResult(step.name, ctx.drama_id, episode_id, "failed", run_id, error=str(exc), duration_s=dt)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a row
        dt = time.perf_counter() - t0
        log.error("failed after %.1fs: %s", dt, exc)
        with ctx.db.session() as s:
            lineage.replace_losses(
                s, ctx.drama_id, step.name, episode_id,
                [LossRecord("episode", episode_id or ctx.drama_id, "step_failed", f"{type(exc).__name__}: {exc}")], run_id,
            )
            lineage.finish_step_run(s, run_id, "failed", error="".join(traceback.format_exception_only(exc)).strip())
        if raise_errors:
            raise
        return StepResult(step.name, ctx.drama_id, episode_id, "failed", run_id, error=f"{type(exc).__name__}: {exc}", duration_s=dt)
    dt = time.perf_counter() - t0
    with ctx.db.session() as s:
        # a successful attempt clears the failure an earlier attempt recorded
        s.execute(
            delete(Loss).where(
                Loss.step == step.name, Loss.item_id == (episode_id or ctx.drama_id), Loss.reason == "step_failed"
            )
        )
        lineage.finish_step_run(
            s, run_id, "success", counts=out.counts,
            model_id=out.model.model_id, weights_digest=out.model.weights_digest, prompt_digest=out.model.prompt_digest,
            params={**ctx.params, **out.params} or None,
        )
    log.info("done in %.2fs %s", dt, out.counts)
    return StepResult(step.name, ctx.drama_id, episode_id, "success", run_id, counts=out.counts, duration_s=dt)
