"""Script pairs in the lineage database: per-shooting-script restoration state, the status
summary (tokens, GPU-hours per 1,000 scripts) and the trace of a pair.

At the paper's scale (10M shooting scripts, 1B pairs) pair texts live in JSONL shards in the
store, one per shooting script; the database holds one ``script_restoration`` row per shooting
script. A pair id is ``<script_id>--rNNNN`` (:func:`skyscript.scripts.restore.pair_id`), and a
script id is ``<episode_id>--scNNNN``, so tracing a pair needs no pair table: the script id names
the episode and the scene, ``shot.extra["scene"]["scene_index"]`` names the scene's shots.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Integer, String, Text, and_, func, or_, select
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column

from skyscript.schemas.script import parse_script_id
from skyscript.db.models import Annotation, Base, Drama, Episode, Keyframe, Shot, Source, StepRun, utcnow

DRAMA_SCRIPT_STEPS = ("scenes", "shooting_scripts", "script_pairs")


class ScriptRestoration(Base):
    """How far one shooting script's restorations got (migration 0008)."""

    __tablename__ = "script_restoration"
    script_id: Mapped[str] = mapped_column(String(260), primary_key=True)
    drama_id: Mapped[str] = mapped_column(String(128), index=True)
    episode_id: Mapped[str] = mapped_column(ForeignKey("episode.id", ondelete="CASCADE"))
    scene_index: Mapped[int] = mapped_column(Integer)
    requested: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    prompt_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    completion_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    call_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    model: Mapped[str | None] = mapped_column(String(200))
    prompt_digest: Mapped[str | None] = mapped_column(String(80))
    script_digest: Mapped[str | None] = mapped_column(String(80))
    shard_key: Mapped[str | None] = mapped_column(Text)
    step_run_id: Mapped[int | None] = mapped_column(ForeignKey("step_run.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def upsert_state(session: Session, rows: list[dict[str, Any]]) -> int:
    from skyscript.db.lineage import upsert

    return upsert(session, ScriptRestoration, [{**r, "updated_at": utcnow()} for r in rows], ["script_id"])


def restoration_summary(session: Session, drama_id: str, gpu_seconds_per_1k_tokens: float) -> dict[str, Any]:
    """Restoration totals for ``skyscript status``: scripts, restorations, tokens and the GPU-hours
    one would need per 1,000 shooting scripts (from the generated tokens and the serving setup's
    measured GPU-seconds per 1,000 tokens, and from the endpoint's measured call time)."""
    row = session.execute(
        select(func.count(), func.coalesce(func.sum(ScriptRestoration.requested), 0),
               func.coalesce(func.sum(ScriptRestoration.done), 0), func.coalesce(func.sum(ScriptRestoration.rejected), 0),
               func.coalesce(func.sum(ScriptRestoration.failed), 0),
               func.coalesce(func.sum(ScriptRestoration.prompt_tokens), 0),
               func.coalesce(func.sum(ScriptRestoration.completion_tokens), 0),
               func.coalesce(func.sum(ScriptRestoration.call_seconds), 0.0))
        .where(ScriptRestoration.drama_id == drama_id)
    ).one()
    scripts, requested, done, rejected, failed, pt, ct = (int(x) for x in row[:7])
    secs = float(row[7])
    per_script_tokens = ct / scripts if scripts else 0.0
    return {
        "scripts": scripts, "requested": requested, "done": done, "rejected": rejected, "failed": failed,
        "prompt_tokens": pt, "completion_tokens": ct, "call_seconds": round(secs, 3),
        # 1,000 scripts x tokens per script / 1,000 tokens x GPU-seconds per 1,000 tokens / 3,600
        "gpu_hours_per_1k_scripts": round(per_script_tokens * gpu_seconds_per_1k_tokens / 3600, 6),
        "endpoint_hours_per_1k_scripts": round((secs / scripts if scripts else 0.0) * 1000 / 3600, 6),
    }


def is_pair_id(item_id: str) -> bool:
    """Whether ``item_id`` names a pair (``<episode>--scNNNN--rNNNN``), for ``skyscript trace``."""
    from skyscript.scripts.restore import parse_pair_id

    try:
        sid, _ = parse_pair_id(item_id)
        parse_script_id(sid)
    except ValueError:
        return False
    return True


def trace_pair(session: Session, pid: str) -> dict[str, Any]:
    """A pair back to its shooting script, scene, shots, keyframes, current annotations, the step
    runs (models, prompt digests, runs) that wrote them, the episode and its source file, in one
    query. LookupError when the pair's scene has no shots."""
    from skyscript.db.lineage import _row
    from skyscript.scripts.restore import parse_pair_id

    sid, index = parse_pair_id(pid)
    episode_id, scene_index = parse_script_id(sid)
    latest = (select(func.max(StepRun.id)).where(StepRun.episode_id.is_(None), StepRun.status == "success",
                                                  StepRun.step.in_(DRAMA_SCRIPT_STEPS))
              .group_by(StepRun.drama_id, StepRun.step))
    run = aliased(StepRun)
    q = (
        select(Shot, Keyframe, Annotation, Episode, Drama, Source, ScriptRestoration, run)
        .join(Episode, Shot.episode_id == Episode.id)
        .join(Drama, Episode.drama_id == Drama.id)
        .outerjoin(Source, Drama.source_id == Source.id)
        .outerjoin(Keyframe, Keyframe.shot_id == Shot.id)
        .outerjoin(Annotation, and_(Annotation.keyframe_id == Keyframe.id, Annotation.current.is_(True)))
        .outerjoin(ScriptRestoration, ScriptRestoration.script_id == sid)
        .outerjoin(run, or_(
            run.id == Annotation.step_run_id, run.id == Keyframe.step_run_id, run.id == Shot.step_run_id,
            run.id == Episode.step_run_id, run.id == ScriptRestoration.step_run_id,
            and_(run.drama_id == Drama.id, run.id.in_(latest)),
        ))
        .where(Shot.episode_id == episode_id, Shot.extra["scene"]["scene_index"].as_integer() == scene_index)
        .order_by(Shot.shot_index, Keyframe.frame_index)
    )
    shots: dict[str, Any] = {}
    keyframes: dict[str, Any] = {}
    annotations: dict[int, Any] = {}
    runs: dict[int, Any] = {}
    head: dict[str, Any] = {}
    for sh, kf, ann, ep, dr, src, state, sr in session.execute(q):
        if not head:
            head = {"episode": _row(ep), "drama": _row(dr), "source": _row(src), "restoration": _row(state)}
        shots.setdefault(sh.id, _row(sh))
        if kf is not None:
            keyframes.setdefault(kf.id, _row(kf))
        if ann is not None:
            annotations.setdefault(ann.id, _row(ann))
        if sr is not None:
            runs.setdefault(sr.id, _row(sr))
    if not shots:
        raise LookupError(f"no shots of scene {scene_index} in episode {episode_id!r} (pair {pid}): has the scenes step run?")
    state = head["restoration"]
    return {
        "pair_id": pid, "script_id": sid, "restoration_index": index,
        "shard_key": state["shard_key"] if state else None,
        "model": state["model"] if state else None, "prompt_digest": state["prompt_digest"] if state else None,
        "source_file": head["episode"]["source_uri"],
        **head,
        "scene": (next(iter(shots.values()))["extra"] or {}).get("scene"),
        "shots": list(shots.values()), "keyframes": list(keyframes.values()),
        "annotations": list(annotations.values()),
        "step_runs": sorted(runs.values(), key=lambda r: r["id"]),
    }
