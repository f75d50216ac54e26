"""The runner's reads: a unit's view loaded in a few queries (episode, shots, keyframes, and the
current annotations of the kinds a step reads, validated against their payload models)."""

from __future__ import annotations

import logging
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from skyscript.db import lineage
from skyscript.db.models import Annotation, Episode, Keyframe
from skyscript.errors import StepError
from skyscript.steps.base import Kind
from skyscript.steps.view import (
    Current,
    DramaView,
    EpisodeRow,
    EpisodeView,
    KeyframeRow,
    Media,
    ShotRow,
    _snapshot,
)


def current_annotations(session: Session, episode_id: str, kinds: Mapping[str, Kind]) -> dict[tuple[str, str], Current]:
    """The current version of each of ``kinds`` on the episode's keyframes, in one query."""
    if not kinds:
        return {}
    rows = session.scalars(
        select(Annotation)
        .join(Keyframe, Annotation.keyframe_id == Keyframe.id)
        .where(Keyframe.episode_id == episode_id, Annotation.kind.in_(list(kinds)), Annotation.current.is_(True))
    )
    out: dict[tuple[str, str], Current] = {}
    for a in rows:
        try:
            payload = kinds[a.kind].validate(a.payload)
        except ValueError as exc:
            raise StepError(
                f"annotation {a.kind} v{a.version} of {a.keyframe_id} does not match its payload model: {exc}"
            ) from exc
        out[(a.keyframe_id, a.kind)] = Current(payload, a.version, a.source, a.author)
    return out


def load_episode_view(
    session: Session, drama_id: str, episode_id: str, kinds: Mapping[str, Kind], media: Media,
    log: logging.LoggerAdapter[Any],
) -> EpisodeView:
    ep = session.get(Episode, episode_id)
    if ep is None:
        raise LookupError(f"no episode {episode_id!r} in the lineage database (run ingest first)")
    return EpisodeView(
        drama_id=drama_id,
        episode=_snapshot(EpisodeRow, ep),
        shots=[_snapshot(ShotRow, s) for s in lineage.shots_of(session, episode_id)],
        keyframes=[_snapshot(KeyframeRow, k) for k in lineage.keyframes_of(session, episode_id)],
        annotations=current_annotations(session, episode_id, kinds),
        media=media,
        log=log,
    )


def load_drama_view(session: Session, drama_id: str, media: Media, log: logging.LoggerAdapter[Any]) -> DramaView:
    return DramaView(
        drama_id=drama_id,
        episodes=[_snapshot(EpisodeRow, e) for e in lineage.episodes_of(session, drama_id)],
        media=media,
        log=log,
    )
