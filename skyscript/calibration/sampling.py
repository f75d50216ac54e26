"""Drawing a calibration batch: seeded, reproducible, stratified, sized.

The population is every valid keyframe of the batch's dramas that has something to judge. Strata
are combinations of keyframe attributes (drama, shot size, whether people are in it, which model
produced its key information); each stratum gets its proportional share of the sample (largest
remainder, ties broken by name) and its keyframes are drawn with a seeded generator from a sorted
list, so the same seed on the same data draws the same batch.
"""

from __future__ import annotations

import math
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from skyscript.calibration.items import REVIEWED_KINDS, items_of
from skyscript.config import Settings
from skyscript.db.models import (
    Annotation,
    CalibrationBatch,
    CalibrationPacket,
    Drama,
    Episode,
    Keyframe,
)

STRATA_KEYS = ("drama", "shot_type", "has_people", "model_source")


class CalibrationError(ValueError):
    """A calibration request that cannot be met (unknown drama, nothing to sample, bad state)."""


@dataclass(frozen=True)
class Candidate:
    keyframe_id: str
    drama_id: str
    attrs: dict[str, str]
    snapshot: dict[str, Any]

    def stratum(self, keys: Sequence[str]) -> str:
        return "|".join(f"{k}={self.attrs[k]}" for k in keys)


def _attrs(drama_id: str, kf: Keyframe, snapshot: dict[str, Any]) -> dict[str, str]:
    keyinfo = (snapshot.get("keyinfo") or {}).get("payload") or {}
    shot = (snapshot.get("shot_size") or {}).get("payload") or {}
    has_people = bool(kf.face_count) or bool(keyinfo.get("people"))
    return {
        "drama": drama_id,
        "shot_type": str(shot.get("shot_type") or kf.shot_type or "none"),
        "has_people": "yes" if has_people else "no",
        "model_source": str(keyinfo.get("origin") or "none"),
    }


def candidates(session: Session, dramas: Sequence[str], exclude: Iterable[str] = ()) -> list[Candidate]:
    """Valid keyframes of the dramas' good episodes with at least one item to judge, sorted by id."""
    known = set(session.scalars(select(Drama.id).where(Drama.id.in_(list(dramas)))))
    missing = [d for d in dramas if d not in known]
    if missing:
        raise CalibrationError(f"unknown drama {missing[0]!r}: run it first (skyscript run ... --drama {missing[0]})")
    skip = set(exclude)
    rows = session.execute(
        select(Keyframe, Episode.drama_id)
        .join(Episode, Keyframe.episode_id == Episode.id)
        .where(Episode.drama_id.in_(list(dramas)), Episode.status == "ok", Keyframe.valid.is_(True))
        .order_by(Keyframe.id)
    ).all()
    ids = [kf.id for kf, _ in rows]
    anns: dict[str, dict[str, Any]] = {}
    for chunk in range(0, len(ids), 500):
        for a in session.scalars(
            select(Annotation).where(
                Annotation.keyframe_id.in_(ids[chunk : chunk + 500]),
                Annotation.kind.in_(REVIEWED_KINDS),
                Annotation.current.is_(True),
            )
        ):
            anns.setdefault(a.keyframe_id, {})[a.kind] = {"version": a.version, "source": a.source, "payload": a.payload}
    out: list[Candidate] = []
    for kf, drama_id in rows:
        if kf.id in skip:
            continue
        snap = anns.get(kf.id, {})
        if not items_of(snap):
            continue
        out.append(Candidate(kf.id, drama_id, _attrs(drama_id, kf, snap), snap))
    return out


def allocate(populations: dict[str, int], n: int) -> dict[str, int]:
    """Proportional allocation of ``n`` draws over strata (largest remainder, capped by size)."""
    total = sum(populations.values())
    n = min(n, total)
    if n <= 0:
        return {k: 0 for k in populations}
    quotas = {k: n * v / total for k, v in populations.items()}
    alloc = {k: min(populations[k], math.floor(q)) for k, q in quotas.items()}
    left = n - sum(alloc.values())
    order = sorted(populations, key=lambda k: (-(quotas[k] - math.floor(quotas[k])), k))
    while left > 0:
        progressed = False
        for k in order:
            if left and alloc[k] < populations[k]:
                alloc[k] += 1
                left -= 1
                progressed = True
        if not progressed:
            break
    return alloc


def draw(cands: Sequence[Candidate], n: int, seed: int, keys: Sequence[str]) -> tuple[list[Candidate], dict[str, dict[str, int]]]:
    """The seeded stratified sample (in review order) and per-stratum population and draws."""
    rng = random.Random(seed)
    strata: dict[str, list[Candidate]] = {}
    for c in sorted(cands, key=lambda c: c.keyframe_id):
        strata.setdefault(c.stratum(keys), []).append(c)
    alloc = allocate({k: len(v) for k, v in strata.items()}, n)
    chosen: list[Candidate] = []
    for name in sorted(strata):
        chosen.extend(rng.sample(strata[name], alloc[name]))
    rng.shuffle(chosen)
    summary = {name: {"population": len(strata[name]), "drawn": alloc[name]} for name in sorted(strata)}
    return chosen, summary


def new_batch_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return f"cal-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def create_batch(
    session: Session,
    settings: Settings,
    dramas: Sequence[str],
    *,
    size: int | None = None,
    seed: int | None = None,
    created_by: str | None = None,
    parent_id: str | None = None,
) -> CalibrationBatch:
    """Draw a batch and store it with its packets. ``size`` defaults to the settings' batch size
    and is capped at the population (a small drama gives what it has)."""
    cal = settings.calibration
    if not dramas:
        raise CalibrationError("name at least one drama")
    requested = cal.batch_size if size is None else size
    if requested < 1:
        raise CalibrationError(f"--size must be at least 1, not {requested}")
    seed = secrets.randbits(31) if seed is None else seed
    keys = [k for k in cal.strata if k in STRATA_KEYS]
    exclude: set[str] = set()
    round_ = 1
    if parent_id is not None:
        parent = session.get(CalibrationBatch, parent_id)
        if parent is None:
            raise CalibrationError(f"unknown batch {parent_id!r}")
        round_ = parent.round + 1
    if cal.exclude_reviewed:
        exclude = set(
            session.scalars(select(CalibrationPacket.keyframe_id).where(CalibrationPacket.drama_id.in_(list(dramas))))
        )
    cands = candidates(session, dramas, exclude)
    if not cands and exclude:
        cands = candidates(session, dramas)  # every keyframe was drawn before: sample them again
    if not cands:
        raise CalibrationError(f"nothing to review in {', '.join(dramas)}: no valid keyframe has annotations yet")
    chosen, strata = draw(cands, requested, seed, keys)
    n_overlap = round(cal.overlap_share * len(chosen))
    overlap = set(random.Random(seed + 1).sample(range(len(chosen)), n_overlap)) if n_overlap else set()
    batch = CalibrationBatch(
        id=new_batch_id(),
        dramas=list(dramas),
        seed=seed,
        size=len(chosen),
        requested_size=requested,
        population=len(cands),
        strata=strata,
        round=round_,
        parent_id=parent_id,
        status="open",
        min_accuracy=settings.thresholds.min_accuracy,
        created_by=created_by,
    )
    session.add(batch)
    session.flush()
    for pos, c in enumerate(chosen):
        session.add(
            CalibrationPacket(
                id=f"{batch.id}--{pos:04d}",
                batch_id=batch.id,
                position=pos,
                keyframe_id=c.keyframe_id,
                drama_id=c.drama_id,
                stratum=c.stratum(keys),
                overlap=pos in overlap,
                snapshot=c.snapshot,
                items=[it.model_dump(mode="json") for it in items_of(c.snapshot)],
            )
        )
    session.flush()
    return batch
