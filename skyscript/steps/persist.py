"""The runner's writes: a step's records persisted in one transaction.

The rules live here and nowhere else:

* **A human correction wins.** A machine annotation replaces the current machine version in
  place; where an annotator's version is current, the machine's answer is not written and the
  keyframe columns that follow the kind are taken from the human version.
* **Columns follow the current annotation** (``Kind.columns``), so ``Keyframe.shot_type`` is the
  corrected shot size when a reviewer fixed it.
* **A lost keyframe loses the step's stale outputs**: its machine annotations of the kinds the
  step owns are removed and their columns cleared, so no old answer outlives a failed re-run.
* **Each step replaces its own loss rows** for the unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from skyscript.db import lineage
from skyscript.db.models import Annotation, Character, Episode, Keyframe, Shot, utcnow
from skyscript.steps.base import AnnotationRecord, Kind, Step, StepOutput

_TABLES = {"episode": Episode, "shot": Shot, "keyframe": Keyframe}


@dataclass
class Persisted:
    """What the transaction did, for the runner: objects that became unreferenced (to delete
    after commit) and how many annotations a human version kept."""

    stale_keys: set[str] = field(default_factory=set)
    kept_human: int = 0


def persist(
    session: Session, step: Step[Any], drama_id: str, episode_id: str | None, out: StepOutput, run_id: int
) -> Persisted:
    done = Persisted()
    owned = {k.name: k for k in step.owns}
    for rs in out.rows:
        rows = [{**r, "step_run_id": run_id} if rs.table in _TABLES or rs.table == "character" else r for r in rs.rows]
        _write_rows(session, drama_id, episode_id, rs.table, rows, rs.mode, done)
    done.kept_human = _write_annotations(session, owned, out.annotations, run_id)
    annotated = {a.keyframe_id for a in out.annotations}
    lost = {
        lo.item_id for lo in out.losses
        if lo.item_kind in ("keyframe", "annotation") and lo.item_id not in annotated
    }
    if lost and owned:
        _clear_lost(session, owned, lost)
    for up in out.updates:
        model = _TABLES[up.table]
        session.execute(update(model).where(model.id == up.id).values(**up.fields))
    lineage.replace_losses(session, drama_id, step.name, episode_id, out.losses, run_id)
    return done


def _write_rows(
    session: Session, drama_id: str, episode_id: str | None, table: str, rows: list[dict[str, Any]], mode: str,
    done: Persisted,
) -> None:
    if table == "source":
        for r in rows:
            lineage.register_source(session, r["id"], r["uri"], r["kind"], r.get("drama_id"))
    elif table == "drama":
        for r in rows:
            lineage.ensure_drama(session, r["id"], title=r.get("title"), source_id=r.get("source_id"))
    elif table == "episode":
        for r in rows:
            lineage.upsert_episode(session, **r)
    elif table == "shot" and mode == "replace":
        assert episode_id is not None, "shots are replaced per episode"
        lineage.replace_shots(session, episode_id, rows)
    elif table == "keyframe" and mode == "replace":
        assert episode_id is not None, "keyframes are replaced per episode"
        before = {k.private_key for k in lineage.keyframes_of(session, episode_id)}
        done.stale_keys |= {k for k in before - {r.get("private_key") for r in rows} if k}
        lineage.replace_keyframes(session, episode_id, rows)
    elif table == "character" and mode == "replace":
        # the drama's character library as a whole (the characters step, drama scope)
        session.execute(delete(Character).where(Character.drama_id == drama_id))
        session.flush()
        session.add_all(Character(**{**r, "drama_id": drama_id}) for r in rows)
    else:
        raise ValueError(f"no {mode} of {table} rows")


def _write_annotations(session: Session, owned: Mapping[str, Kind], records: list[AnnotationRecord], run_id: int) -> int:
    """Write the step's annotations in a few statements; returns how many a human version kept."""
    if not records:
        return 0
    checked: list[Any] = []
    for r in records:
        if r.kind not in owned:
            raise ValueError(f"annotation kind {r.kind!r} is not owned by this step (it owns {sorted(owned) or 'none'})")
        try:
            checked.append(owned[r.kind].validate(r.payload))
        except ValueError as exc:
            raise ValueError(f"{r.kind} payload of {r.keyframe_id} is invalid: {exc}") from exc
    kf_ids = sorted({r.keyframe_id for r in records})
    kinds = sorted({r.kind for r in records})
    current = {
        (a.keyframe_id, a.kind): a
        for a in session.scalars(
            select(Annotation).where(
                Annotation.keyframe_id.in_(kf_ids), Annotation.kind.in_(kinds), Annotation.current.is_(True)
            )
        )
    }
    tops = {
        (k, kind): v
        for k, kind, v in session.execute(
            select(Annotation.keyframe_id, Annotation.kind, func.max(Annotation.version))
            .where(Annotation.keyframe_id.in_(kf_ids), Annotation.kind.in_(kinds))
            .group_by(Annotation.keyframe_id, Annotation.kind)
        )
    }
    kept = 0
    now = utcnow()
    for r, valid in zip(records, checked):
        key = (r.keyframe_id, r.kind)
        payload = valid.model_dump(mode="json")
        cur = current.get(key)
        if cur is not None and cur.author is not None:
            kept += 1  # an annotator corrected it: the machine never overwrites their version
            in_force: Any = owned[r.kind].validate(cur.payload)
        elif cur is not None:
            cur.payload, cur.source, cur.step_run_id, cur.created_at = payload, r.source, run_id, now
            in_force = valid
        else:
            session.add(Annotation(
                keyframe_id=r.keyframe_id, kind=r.kind, version=(tops.get(key) or 0) + 1, current=True,
                source=r.source, payload=payload, author=None, step_run_id=run_id,
            ))
            in_force = valid
        kind = owned[r.kind]
        if kind.columns is not None:
            session.execute(update(Keyframe).where(Keyframe.id == r.keyframe_id).values(**kind.columns(in_force)))
    session.flush()
    return kept


def _clear_lost(session: Session, owned: Mapping[str, Kind], lost: set[str]) -> None:
    """Remove the step's current machine annotations of keyframes it lost this run and clear the
    columns that followed them; an annotator's current version stays, and so do its columns."""
    ids = sorted(lost)
    kinds = list(owned)
    human = set(session.scalars(
        select(Annotation.keyframe_id).where(
            Annotation.keyframe_id.in_(ids), Annotation.kind.in_(kinds), Annotation.current.is_(True),
            Annotation.author.is_not(None),
        )
    ))
    session.execute(
        delete(Annotation).where(
            Annotation.keyframe_id.in_(ids), Annotation.kind.in_(kinds), Annotation.current.is_(True),
            Annotation.author.is_(None),
        )
    )
    cleared = {c: None for k in owned.values() for c in k.column_names}
    machine_only = [i for i in ids if i not in human]
    if cleared and machine_only:
        session.execute(update(Keyframe).where(Keyframe.id.in_(machine_only)).values(**cleared))
