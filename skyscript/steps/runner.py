"""Runs one step on one unit (an episode, or the drama) and does all of its I/O.

For each unit: take the step's lease, open a step-run row with the effective parameters, load the
unit's view, call ``step.run(view, params)``, write the objects it returned to the store, then
its rows, annotations, column updates and losses in one transaction (:mod:`.persist`), then
finish the step run with counts and models. Bad input quarantines the episode; any other
failure is a ``step_failed`` loss row and a failed step run. Errors are returned as a
:class:`StepResult` (video2dataset style) unless the caller asks for them to be raised.
"""

from __future__ import annotations

import logging
import socket
import tempfile
import time
import traceback
import uuid
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import delete

from skyscript.context import StepContext
from skyscript.db import leases, lineage
from skyscript.db.models import Episode, Loss
from skyscript.errors import BadInput, ParamsError
from skyscript.losses import LossRecord
from skyscript.steps import faults
from skyscript.steps.base import ObjectRecord, Step, StepOutput, StepResult
from skyscript.steps.load import load_drama_view, load_episode_view
from skyscript.steps.persist import persist
from skyscript.steps.resume import input_digest, later_writes
from skyscript.steps.view import Media
from skyscript.store import Area


# --- parameters ------------------------------------------------------------------------------


def resolve_params(step: Step[Any], settings: Any, overrides: dict[str, Any] | None) -> BaseModel:
    """The step's effective parameters: its settings section (or the model's defaults), then
    ``overrides[step.name]`` (a dict), then flat ``"<step>.<name>"`` entries, then bare names that
    are fields of the step's model. :class:`ParamsError` names a bad or unknown value."""
    model = step.params_model
    base: dict[str, Any] = {}
    if step.settings_field:
        section = getattr(settings, step.settings_field).model_dump()
        base = {k: v for k, v in section.items() if k in model.model_fields}
    given = dict(overrides or {})
    nested = given.get(step.name)
    merged = {**base, **(nested if isinstance(nested, dict) else {})}
    prefix = f"{step.name}."
    merged.update({k[len(prefix):]: v for k, v in given.items() if k.startswith(prefix)})
    merged.update({k: v for k, v in given.items() if k in model.model_fields})
    try:
        return model.model_validate(merged)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '?'}: {e['msg']}" for e in exc.errors())
        raise ParamsError(f"step {step.name} parameters: {problems}") from None


# --- lifecycle -------------------------------------------------------------------------------


def limit_threads(settings: Any) -> None:
    """Apply ``settings.cv_threads`` to OpenCV in this process (whenever a step is set up: it is a
    setting of the process, not of the step). OpenCV's own pool, one thread per core by default, costs CPU in
    hand-offs on small frames: the CPU stage spends about a tenth less with one thread."""
    try:
        import cv2
    except ImportError:  # the light install (no cv extra) runs no video step
        return
    n = int(getattr(settings, "cv_threads", 1))
    cv2.setNumThreads(n if n > 0 else -1)


def ensure_setup(step: Step[Any], settings: Any) -> None:
    """Call ``step.setup`` once per step instance (models load once per process)."""
    if not getattr(step, "_skyscript_ready", False):
        limit_threads(settings)
        step.setup(settings)
        step._skyscript_ready = True  # type: ignore[attr-defined]


def teardown(step: Step[Any]) -> None:
    if getattr(step, "_skyscript_ready", False):
        step.teardown()
        step._skyscript_ready = False  # type: ignore[attr-defined]


# --- running ---------------------------------------------------------------------------------


def run_step(
    step: Step[Any], ctx: StepContext, episode_id: str | None = None, *, raise_errors: bool = False,
    kinds: dict[str, Any] | None = None,
) -> StepResult:
    """Run ``step`` on one unit under leases (see :mod:`skyscript.db.leases`): the run's hold on
    the drama (another run of the same drama makes this a ``failed`` result with a ``busy`` error
    and no writes) and the step's own lease on the unit, both renewed by a heartbeat while the
    step works. ``kinds`` maps kind names to :class:`~skyscript.steps.base.Kind` for the view
    (default: every kind of the registry's pipeline)."""
    log = ctx.logger(step.name, episode_id)
    if step.scope == "episode" and episode_id is None:
        raise ValueError(f"step {step.name} runs per episode: give an episode id")
    holder = ctx.dag_run_id or f"adhoc-{uuid.uuid4().hex[:12]}"
    ttl, run_ttl = ctx.settings.step_lease_s, ctx.settings.run_lease_s
    try:
        with ctx.db.session() as s:
            leases.acquire(s, ctx.drama_id, None, leases.RUN, holder, run_ttl)
            if leases.acquire(s, ctx.drama_id, episode_id, step.name, holder, ttl):
                log.warning("took over the lease of %s on %s: its holder is gone", step.name, episode_id or ctx.drama_id)
    except leases.LeaseBusy as exc:
        log.warning("%s", exc)
        if raise_errors:
            raise
        return StepResult(step.name, ctx.drama_id, episode_id, "failed", None, error=str(exc))

    def beat() -> None:
        with ctx.db.session() as s:
            leases.renew(s, ctx.drama_id, None, leases.RUN, holder, run_ttl)
            leases.renew(s, ctx.drama_id, episode_id, step.name, holder, ttl)

    try:
        with leases.Heartbeat(beat, ttl):
            return _run_leased(step, ctx, episode_id, raise_errors, log, kinds)
    finally:
        with ctx.db.session() as s:
            leases.release(s, ctx.drama_id, episode_id, step.name, holder)
            if not ctx.dag_run_id:  # an ad hoc call holds the drama for this step only
                leases.release(s, ctx.drama_id, None, leases.RUN, holder)


def _pipeline() -> Any:
    from skyscript.steps.registry import PIPELINE

    return PIPELINE


def _view_kinds(step: Step[Any], kinds: dict[str, Any] | None) -> dict[str, Any]:
    if kinds is None:
        kinds = _pipeline().kinds()
    wanted = {k for k in step.reads if k in kinds} | {k.name for k in step.owns}
    return {name: kinds.get(name) or step.kind(name) for name in wanted}


def _run_leased(
    step: Step[Any], ctx: StepContext, episode_id: str | None, raise_errors: bool,
    log: logging.LoggerAdapter[logging.Logger], kinds: dict[str, Any] | None,
) -> StepResult:
    params = resolve_params(step, ctx.settings, ctx.params)
    params_json = params.model_dump(mode="json")
    run_id: int | None = None
    try:
        with ctx.db.session() as s:
            if episode_id is not None:
                ep = s.get(Episode, episode_id)
                if ep is None:
                    raise LookupError(f"no episode {episode_id!r} in the lineage database (run ingest first)")
                if ep.drama_id != ctx.drama_id:
                    raise LookupError(f"episode {episode_id!r} belongs to drama {ep.drama_id!r}, not {ctx.drama_id!r}")
                if ep.status == "quarantined" and step.name not in ("ingest", "probe"):
                    log.warning("skipped: episode is quarantined (%s)", ep.error)
                    return StepResult(step.name, ctx.drama_id, episode_id, "skipped", None, error=ep.error)
            run_id = lineage.start_step_run(
                s, step=step.name, step_version=step.version, drama_id=ctx.drama_id, episode_id=episode_id,
                dag_run_id=ctx.dag_run_id, try_number=ctx.try_number, host=socket.gethostname(),
                params=params_json or None,
            )
        return _execute(step, ctx, episode_id, run_id, params, params_json, raise_errors, log, kinds)
    except (KeyboardInterrupt, SystemExit) as exc:  # SIGTERM (the CLI turns it into SystemExit) or ^C
        _end_interrupted(ctx, step, episode_id, run_id, exc)
        raise


def _end_interrupted(ctx: StepContext, step: Step[Any], episode_id: str | None, run_id: int | None, exc: BaseException) -> None:
    """Mark the unit's step run interrupted. Without its id (the interruption came while the row
    was being committed: in the database, not yet returned) it is the unit's running row of this
    run on this host: the step's lease, held here, admits no other."""
    from sqlalchemy import select

    from skyscript.db.models import StepRun

    with ctx.db.session() as s:
        if run_id is not None:
            ids = [run_id]
        else:
            ids = list(s.scalars(select(StepRun.id).where(
                StepRun.drama_id == ctx.drama_id, StepRun.step == step.name, StepRun.status == "running",
                StepRun.episode_id.is_(None) if episode_id is None else StepRun.episode_id == episode_id,
                StepRun.dag_run_id.is_(None) if ctx.dag_run_id is None else StepRun.dag_run_id == ctx.dag_run_id,
                StepRun.host == socket.gethostname(),
            )))
        for rid in ids:
            row = s.get(StepRun, rid)
            if row is not None and row.status == "running":
                lineage.finish_step_run(s, rid, "failed", error=f"interrupted ({type(exc).__name__}): the run was stopped")


def _execute(
    step: Step[Any], ctx: StepContext, episode_id: str | None, run_id: int, params: Any, params_json: dict[str, Any],
    raise_errors: bool, log: logging.LoggerAdapter[logging.Logger], kinds: dict[str, Any] | None,
) -> StepResult:
    t0 = time.perf_counter()
    log.info("started (step run %s)", run_id)
    with tempfile.TemporaryDirectory(prefix=f"skyscript-{step.name}-") as scratch:
        media = Media(ctx.store, Path(scratch))
        try:
            ensure_setup(step, ctx.settings)
            with ctx.db.session() as s:
                if step.scope == "episode":
                    assert episode_id is not None
                    view: Any = load_episode_view(s, ctx.drama_id, episode_id, _view_kinds(step, kinds), media, log)
                else:
                    view = load_drama_view(s, ctx.drama_id, media, log)
                    view.load_episode = _episode_loader(ctx, _view_kinds(step, kinds), media)
            digest = (input_digest(step, params_json, view, ctx.settings, later_writes(step, _pipeline()))
                      if step.scope == "episode" else None)
            unchanged = None if ctx.force or digest is None else _unchanged_since(ctx, step, episode_id, digest, run_id)
            if unchanged is not None:
                return _skipped_unchanged(ctx, step, episode_id, run_id, digest, unchanged, t0, log)
            out = step.run(view, params)
            _put_objects(ctx, out.objects)
            with ctx.db.session() as s:
                done = persist(s, step, ctx.drama_id, episode_id, out, run_id)
        except BadInput as exc:
            return _quarantined(ctx, step, episode_id, run_id, exc, t0, log)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a row
            return _failed(ctx, step, episode_id, run_id, exc, t0, log, raise_errors)
    faults.after_write(step.name, ctx.try_number, episode_id)
    for key in done.stale_keys:  # frames of keyframes this run no longer picks: both copies
        for area in (Area.private, Area.public):
            if ctx.store.exists(area, key):
                ctx.store.delete(area, key)
    dt = time.perf_counter() - t0
    counts = dict(out.counts)
    if done.kept_human:
        counts["kept_human_corrections"] = done.kept_human
    with ctx.db.session() as s:
        # a successful attempt clears the failure an earlier attempt recorded
        s.execute(delete(Loss).where(
            Loss.drama_id == ctx.drama_id, Loss.step == step.name, Loss.item_id == (episode_id or ctx.drama_id),
            Loss.reason == "step_failed",
        ))
        lineage.finish_step_run(
            s, run_id, "success", counts=counts, input_digest=digest,
            model_id=out.model.model_id, weights_digest=out.model.weights_digest, prompt_digest=out.model.prompt_digest,
            params={**params_json, **out.params} or None,
        )
    log.info("done in %.2fs %s", dt, counts)
    return StepResult(step.name, ctx.drama_id, episode_id, "success", run_id, counts=counts, duration_s=dt)


def _unchanged_since(ctx: StepContext, step: Step[Any], episode_id: str | None, digest: str, run_id: int) -> Any:
    """The last step run of this unit when it succeeded on the same inputs, else None."""
    from sqlalchemy import select

    from skyscript.db.models import StepRun

    with ctx.db.session() as s:
        last = s.scalars(
            select(StepRun).where(
                StepRun.drama_id == ctx.drama_id, StepRun.episode_id == episode_id, StepRun.step == step.name,
                StepRun.id != run_id, StepRun.status.in_(("success", "unchanged")),
            ).order_by(StepRun.id.desc()).limit(1)
        ).first()
        newer_failure = s.scalars(
            select(StepRun.id).where(
                StepRun.drama_id == ctx.drama_id, StepRun.episode_id == episode_id, StepRun.step == step.name,
                StepRun.id != run_id, StepRun.status == "failed", StepRun.id > (last.id if last else 0),
            )
        ).first()
    if last is None or newer_failure is not None or last.input_digest != digest:
        return None
    return last


def _skipped_unchanged(
    ctx: StepContext, step: Step[Any], episode_id: str | None, run_id: int, digest: str, last: Any, t0: float,
    log: logging.LoggerAdapter[logging.Logger],
) -> StepResult:
    dt = time.perf_counter() - t0
    log.info("unchanged since step run %s: skipped (--force redoes it)", last.id)
    with ctx.db.session() as s:
        lineage.finish_step_run(s, run_id, "unchanged", counts=dict(last.counts or {}), input_digest=digest,
                                error=f"inputs unchanged since step run {last.id}")
    return StepResult(step.name, ctx.drama_id, episode_id, "success", run_id,
                      counts={**(last.counts or {}), "unchanged": 1}, error=None, duration_s=dt)


def _episode_loader(ctx: StepContext, kinds: dict[str, Any], media: Media) -> Any:
    """For drama steps: an episode's view on demand (one episode in memory at a time)."""

    def load(episode_id: str) -> Any:
        with ctx.db.session() as s:
            return load_episode_view(s, ctx.drama_id, episode_id, kinds, media, ctx.logger("load", episode_id))

    return load


def _put_objects(ctx: StepContext, objects: list[ObjectRecord]) -> None:
    for o in objects:
        if o.data is not None:
            ctx.store.put_bytes(o.area, o.key, o.data, o.content_type)
        elif o.path is not None:
            ctx.store.put_file(o.area, o.key, o.path, o.content_type)
        else:
            raise ValueError(f"object {o.key} has neither data nor a path")


def _quarantined(
    ctx: StepContext, step: Step[Any], episode_id: str | None, run_id: int, exc: BadInput, t0: float,
    log: logging.LoggerAdapter[logging.Logger],
) -> StepResult:
    dt = time.perf_counter() - t0
    log.warning("bad input, quarantined: %s", exc)
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


def _failed(
    ctx: StepContext, step: Step[Any], episode_id: str | None, run_id: int, exc: Exception, t0: float,
    log: logging.LoggerAdapter[logging.Logger], raise_errors: bool,
) -> StepResult:
    dt = time.perf_counter() - t0
    log.error("failed after %.1fs: %s", dt, exc)
    with ctx.db.session() as s:
        lineage.replace_losses(
            s, ctx.drama_id, step.name, episode_id,
            [LossRecord("episode", episode_id or ctx.drama_id, "step_failed", f"{type(exc).__name__}: {exc}")], run_id,
        )
        lineage.finish_step_run(s, run_id, "failed", error="".join(traceback.format_exception_only(exc)).strip())
    if raise_errors:
        raise exc
    return StepResult(step.name, ctx.drama_id, episode_id, "failed", run_id, error=f"{type(exc).__name__}: {exc}", duration_s=dt)


__all__ = ["run_step", "resolve_params", "ensure_setup", "teardown", "StepOutput", "ParamsError"]
