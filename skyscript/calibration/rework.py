"""Rework after a failed accuracy gate, and the fresh sample that follows it.

A failed batch names the fields under the bar. Rework maps them to the annotation kinds and the
steps that own them (``person.emotion`` -> ``keyinfo`` -> step ``keyinfo``), records that plan on
the batch, optionally re-runs those steps over the batch's dramas (after ops changed a model,
prompt or setting; reviewers' corrections survive a re-run), and marks the batch ``reworked``.
:func:`resample` then draws the next round, skipping keyframes already drawn.
"""

from __future__ import annotations

from typing import Callable

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from skyscript.calibration.review import get_batch
from skyscript.calibration.sampling import CalibrationError, create_batch
from skyscript.config import Settings
from skyscript.db.models import CalibrationBatch, Episode
from skyscript.steps import registry

# annotation kind -> the step that writes it (the registry's own answer wins where it has one)
KIND_STEP = {"shot_size": "shot_size", "keyinfo": "keyinfo", "faces": "privacy"}


def owner_of(kind: str) -> str:
    owner = getattr(getattr(registry, "PIPELINE", None), "owner", None)
    if callable(owner):
        try:
            return str(owner(kind))
        except KeyError:
            pass
    return KIND_STEP[kind]


def kind_of_field(field: str) -> str:
    if field == "shot_size":
        return "shot_size"
    if field == "face.box":
        return "faces"
    return "keyinfo"


class ReworkPlan(BaseModel):
    batch_id: str
    dramas: list[str]
    fields: list[str]
    kinds: list[str]
    steps: list[str]
    episodes: list[str]
    rerun: bool = False


def plan(session: Session, batch: CalibrationBatch) -> ReworkPlan:
    gate = (batch.result or {}).get("gate") or {}
    fields = list(gate.get("failing_fields") or [])
    if not fields:  # overall under the bar with no single field under it: rework every judged field
        fields = sorted((batch.result or {}).get("fields", {}))
    kinds = sorted({kind_of_field(f) for f in fields})
    wanted = {owner_of(k) for k in kinds}
    steps = [name for name in registry.names() if name in wanted]  # pipeline order
    episodes = list(
        session.scalars(
            select(Episode.id).where(Episode.drama_id.in_(list(batch.dramas)), Episode.status == "ok").order_by(Episode.id)
        )
    )
    return ReworkPlan(batch_id=batch.id, dramas=list(batch.dramas), fields=fields, kinds=kinds, steps=steps, episodes=episodes)


def rework(
    session: Session, batch_id: str, rerun: Callable[[ReworkPlan], None] | None = None
) -> ReworkPlan:
    """Record the rework of a failed batch (and run ``rerun`` on its plan when given)."""
    batch = get_batch(session, batch_id)
    if batch.status != "failed":
        raise CalibrationError(f"batch {batch_id} is {batch.status}: only a failed batch is reworked")
    p = plan(session, batch)
    if rerun is not None:
        rerun(p)
        p.rerun = True
    batch.result = {**(batch.result or {}), "rework": p.model_dump(mode="json")}
    batch.status = "reworked"
    return p


def resample(
    session: Session, settings: Settings, batch_id: str, *, size: int | None = None, seed: int | None = None,
    created_by: str | None = None,
) -> CalibrationBatch:
    """The next round after a reworked batch: same dramas, same size unless given, fresh keyframes."""
    batch = get_batch(session, batch_id)
    if batch.status != "reworked":
        raise CalibrationError(f"batch {batch_id} is {batch.status}: resample after rework")
    if batch.round >= settings.calibration.max_rounds:
        raise CalibrationError(
            f"batch {batch_id} was round {batch.round} of at most {settings.calibration.max_rounds}: "
            "the dramas need attention beyond rework"
        )
    return create_batch(
        session, settings, list(batch.dramas), size=size if size is not None else batch.requested_size,
        seed=seed, created_by=created_by, parent_id=batch.id,
    )


def rerun_steps(settings: Settings) -> Callable[[ReworkPlan], None]:
    """Re-run the plan's steps over its episodes in this process (what ``skyscript step`` runs)."""

    def run(p: ReworkPlan) -> None:
        from skyscript.context import open_context
        from skyscript.steps.runner import run_step

        for drama in p.dramas:
            ctx = open_context(settings, drama)
            try:
                for name in p.steps:
                    impl = registry.get(name).load()
                    for ep in p.episodes:
                        if ep.startswith(f"{drama}--"):
                            res = run_step(impl, ctx, ep)
                            if res.status == "failed":
                                raise CalibrationError(f"rework: step {name} failed on {ep}: {res.error}")
            finally:
                ctx.db.dispose()

    return run
