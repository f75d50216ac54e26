"""Writes and queries on the lineage database: upserts keyed on natural ids, losses, traces."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from skyscript.losses import LossRecord
from skyscript.db.models import (
    Annotation,
    Base,
    Drama,
    Episode,
    Keyframe,
    Loss,
    Shot,
    Source,
    StepRun,
    utcnow,
)


def dialect_insert(session: Session, table: Any) -> Any:
    """``INSERT`` with the ON CONFLICT clauses of the session's dialect (SQLite or Postgres)."""
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"ON CONFLICT inserts on {dialect}")
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


def upsert(session: Session, model: type[Base], rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> int:
    """INSERT ... ON CONFLICT (keys) DO UPDATE for SQLite and Postgres. Returns rows written."""
    if not rows:
        return 0
    table = model.__table__
    # One statement per distinct column set keeps executemany valid.
    written = 0
    batches: dict[frozenset[str], list[dict[str, Any]]] = {}
    for r in rows:
        batches.setdefault(frozenset(r), []).append(r)
    for colset, batch in batches.items():
        stmt = dialect_insert(session, table)
        update_cols = {c: stmt.excluded[c] for c in colset if c not in keys}
        if "updated_at" in table.c and "updated_at" not in colset:
            update_cols["updated_at"] = utcnow()
        if update_cols:
            stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=update_cols)
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
        session.execute(stmt, batch)
        written += len(batch)
    return written


# --- sources, dramas, episodes -------------------------------------------------------------


def ensure_drama(session: Session, drama_id: str, title: str | None = None, source_id: str | None = None) -> None:
    row: dict[str, Any] = {"id": drama_id}
    if title is not None:
        row["title"] = title
    if source_id is not None:
        row["source_id"] = source_id
    upsert(session, Drama, [row], ["id"])  # only the id given: insert if missing, change nothing


def register_source(session: Session, source_id: str, uri: str, kind: str, drama_id: str | None) -> None:
    upsert(session, Source, [{"id": source_id, "uri": uri, "kind": kind, "drama_id": drama_id}], ["id"])


def upsert_episode(session: Session, **fields: Any) -> None:
    upsert(session, Episode, [fields], ["id"])


def episodes_of(session: Session, drama_id: str, status: str | None = None) -> list[Episode]:
    q = select(Episode).where(Episode.drama_id == drama_id).order_by(Episode.id)
    if status:
        q = q.where(Episode.status == status)
    return list(session.scalars(q))


def is_quarantined(session: Session, episode_id: str | None) -> bool:
    """Whether the episode was set aside as bad input (a step that fails on it quarantined it)."""
    if episode_id is None:
        return False
    ep = session.get(Episode, episode_id)
    return ep is not None and ep.status == "quarantined"


# --- step outputs ---------------------------------------------------------------------------


def replace_shots(session: Session, episode_id: str, rows: list[dict[str, Any]]) -> None:
    """A re-run replaces the episode's shots (and, by cascade, its keyframes) and nothing else."""
    keep = {r["id"] for r in rows}
    stale = select(Shot.id).where(Shot.episode_id == episode_id, Shot.id.not_in(keep))
    session.execute(delete(Keyframe).where(Keyframe.shot_id.in_(stale)))
    session.execute(delete(Shot).where(Shot.episode_id == episode_id, Shot.id.not_in(keep)))
    upsert(session, Shot, rows, ["id"])


def replace_keyframes(session: Session, episode_id: str, rows: list[dict[str, Any]]) -> None:
    keep = {r["id"] for r in rows}
    stale_ids = select(Keyframe.id).where(Keyframe.episode_id == episode_id, Keyframe.id.not_in(keep))
    session.execute(delete(Annotation).where(Annotation.keyframe_id.in_(stale_ids)))
    session.execute(delete(Keyframe).where(Keyframe.episode_id == episode_id, Keyframe.id.not_in(keep)))
    upsert(session, Keyframe, rows, ["id"])


def update_keyframe(session: Session, keyframe_id: str, **fields: Any) -> None:
    session.execute(update(Keyframe).where(Keyframe.id == keyframe_id).values(**fields))


def keyframes_of(session: Session, episode_id: str, valid_only: bool = False) -> list[Keyframe]:
    q = select(Keyframe).where(Keyframe.episode_id == episode_id).order_by(Keyframe.frame_index)
    if valid_only:
        q = q.where(Keyframe.valid.is_(True))
    return list(session.scalars(q))


def shots_of(session: Session, episode_id: str) -> list[Shot]:
    return list(session.scalars(select(Shot).where(Shot.episode_id == episode_id).order_by(Shot.shot_index)))


# --- annotations (versioned) ----------------------------------------------------------------


def put_annotation(
    session: Session,
    keyframe_id: str,
    kind: str,
    payload: dict[str, Any],
    source: str,
    step_run_id: int | None,
    author: str | None = None,
    correction: bool = False,
) -> int:
    """Write a keyframe's annotation of ``kind``.

    A machine re-run (``correction=False``) replaces the current machine version in place when
    the current version was written by a machine, so re-runs never pile up versions. A human
    correction (``correction=True``) always adds a new version and keeps the old one.
    Returns the version now current.
    """
    current = session.scalars(
        select(Annotation).where(Annotation.keyframe_id == keyframe_id, Annotation.kind == kind, Annotation.current.is_(True))
    ).first()
    if current is not None and not correction and current.author is None:
        current.payload = payload
        current.source = source
        current.step_run_id = step_run_id
        current.created_at = utcnow()
        return current.version
    if current is not None and not correction and current.author is not None:
        # A human corrected this; a machine re-run must not overwrite their work.
        return current.version
    top = session.scalar(select(func.max(Annotation.version)).where(Annotation.keyframe_id == keyframe_id, Annotation.kind == kind))
    if current is not None:
        current.current = False
    version = (top or 0) + 1
    session.add(
        Annotation(
            keyframe_id=keyframe_id,
            kind=kind,
            version=version,
            current=True,
            source=source,
            payload=payload,
            author=author,
            step_run_id=step_run_id,
        )
    )
    session.flush()
    return version


def annotation_of(session: Session, keyframe_id: str, kind: str) -> Annotation | None:
    return session.scalars(
        select(Annotation).where(Annotation.keyframe_id == keyframe_id, Annotation.kind == kind, Annotation.current.is_(True))
    ).first()


def annotation_history(session: Session, keyframe_id: str, kind: str) -> list[Annotation]:
    return list(
        session.scalars(
            select(Annotation).where(Annotation.keyframe_id == keyframe_id, Annotation.kind == kind).order_by(Annotation.version)
        )
    )


# --- losses ---------------------------------------------------------------------------------


def replace_losses(
    session: Session, drama_id: str, step: str, episode_id: str | None, records: Iterable[LossRecord], step_run_id: int | None
) -> int:
    """Replace ``step``'s loss rows for the episode (or drama) with ``records``."""
    q = delete(Loss).where(Loss.step == step, Loss.drama_id == drama_id)
    q = q.where(Loss.episode_id == episode_id) if episode_id is not None else q.where(Loss.episode_id.is_(None))
    session.execute(q)
    rows = [
        {
            "drama_id": drama_id,
            "episode_id": r.episode_id if r.episode_id is not None else episode_id,
            "item_kind": r.item_kind,
            "item_id": r.item_id,
            "step": step,
            "reason": r.reason,
            "detail": r.detail,
            "raw_key": r.raw_key,
            "step_run_id": step_run_id,
        }
        for r in records
    ]
    return upsert(session, Loss, rows, ["drama_id", "step", "item_id", "reason"])


def losses_of(session: Session, drama_id: str) -> list[Loss]:
    return list(session.scalars(select(Loss).where(Loss.drama_id == drama_id).order_by(Loss.step, Loss.item_id)))


# --- step runs ------------------------------------------------------------------------------


def start_step_run(session: Session, **fields: Any) -> int:
    run = StepRun(status="running", started_at=utcnow(), **fields)
    session.add(run)
    session.flush()
    return run.id


def finish_step_run(
    session: Session, run_id: int, status: str, counts: dict[str, Any] | None = None, error: str | None = None, **model: Any
) -> None:
    run = session.get(StepRun, run_id)
    if run is None:
        raise LookupError(f"no step run {run_id}")
    now = utcnow()
    run.status = status
    run.counts = counts
    run.error = error
    run.finished_at = now
    started = run.started_at if run.started_at.tzinfo else run.started_at.replace(tzinfo=now.tzinfo)
    run.duration_s = (now - started).total_seconds()
    for k, v in model.items():
        setattr(run, k, v)


# --- the trace ------------------------------------------------------------------------------


@dataclass
class Trace:
    """A keyframe traced back to its frame, shot, episode, source file, steps and models."""

    keyframe: dict[str, Any]
    shot: dict[str, Any] | None
    episode: dict[str, Any]
    drama: dict[str, Any]
    source: dict[str, Any] | None
    annotations: list[dict[str, Any]] = field(default_factory=list)
    step_runs: list[dict[str, Any]] = field(default_factory=list)
    losses: list[dict[str, Any]] = field(default_factory=list)


def _row(obj: Base | None) -> dict[str, Any] | None:
    if obj is None:
        return None
    out: dict[str, Any] = {}
    for c in obj.__table__.columns:
        v = getattr(obj, c.key)
        out[c.key] = v.isoformat() if isinstance(v, datetime) else v
    return out


def trace_keyframe(session: Session, keyframe_id: str) -> Trace:
    kf = session.get(Keyframe, keyframe_id)
    if kf is None:
        raise LookupError(f"no keyframe {keyframe_id!r}")
    ep = session.get(Episode, kf.episode_id)
    assert ep is not None
    drama = session.get(Drama, ep.drama_id)
    source = session.get(Source, drama.source_id) if drama and drama.source_id else None
    shot = session.get(Shot, kf.shot_id)
    anns = session.scalars(select(Annotation).where(Annotation.keyframe_id == kf.id).order_by(Annotation.kind, Annotation.version))
    run_ids = {kf.step_run_id, ep.step_run_id, shot.step_run_id if shot else None}
    ann_rows = [_row(a) for a in anns]
    run_ids |= {a["step_run_id"] for a in ann_rows if a}
    # every step run on this episode, so the trace shows what ran even when it wrote nothing here
    runs = session.scalars(
        select(StepRun).where((StepRun.episode_id == ep.id) | (StepRun.id.in_([r for r in run_ids if r]))).order_by(StepRun.id)
    )
    losses = session.scalars(select(Loss).where(Loss.item_id.in_([kf.id, ep.id])))
    return Trace(
        keyframe=_row(kf) or {},
        shot=_row(shot),
        episode=_row(ep) or {},
        drama=_row(drama) or {},
        source=_row(source),
        annotations=[a for a in ann_rows if a],
        step_runs=[r for r in (_row(x) for x in runs) if r],
        losses=[r for r in (_row(x) for x in losses) if r],
    )


# --- status ---------------------------------------------------------------------------------


def table_counts(session: Session, drama_id: str | None = None) -> dict[str, int]:
    """Row counts per data table (for status and idempotency checks)."""
    out: dict[str, int] = {}
    for model, col in (
        (Episode, Episode.drama_id),
        (Shot, None),
        (Keyframe, None),
        (Annotation, None),
        (Loss, Loss.drama_id),
        (StepRun, StepRun.drama_id),
    ):
        q = select(func.count()).select_from(model)
        if drama_id is not None:
            if col is not None:
                q = q.where(col == drama_id)
            elif model is Shot:
                q = q.join(Episode, Shot.episode_id == Episode.id).where(Episode.drama_id == drama_id)
            elif model is Keyframe:
                q = q.join(Episode, Keyframe.episode_id == Episode.id).where(Episode.drama_id == drama_id)
            elif model is Annotation:
                q = (
                    q.join(Keyframe, Annotation.keyframe_id == Keyframe.id)
                    .join(Episode, Keyframe.episode_id == Episode.id)
                    .where(Episode.drama_id == drama_id)
                )
        out[model.__tablename__] = int(session.scalar(q) or 0)
    return out
