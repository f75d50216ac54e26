"""What a step receives: a loaded, read-only view of its unit.

An :class:`EpisodeView` holds the episode row, its shots and keyframes and the *current*
annotations of the kinds the step reads (typed payloads, human corrections included), loaded in
a handful of queries, plus :class:`Media` to read frames and the raw video through one reader.
A :class:`DramaView` holds the drama's episodes and loads an episode's view on demand.
Steps never touch the database; they read here and return records.
"""

from __future__ import annotations

import logging
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, TypeVar

from pydantic import BaseModel

from skyscript.errors import BadInput, FrameError
from skyscript.losses import LossRecord
from skyscript.store import Area, LocalStore, ObjectNotFound, ObjectStore

if TYPE_CHECKING:
    import numpy as np

T = TypeVar("T")


# --- row snapshots ---------------------------------------------------------------------------


def _snapshot(cls: type[T], obj: Any) -> T:
    return cls(**{f.name: getattr(obj, f.name) for f in fields(cls)})  # type: ignore[arg-type]


@dataclass(frozen=True)
class EpisodeRow:
    id: str
    drama_id: str
    source_uri: str
    source_name: str
    content_digest: str | None
    size_bytes: int | None
    source_mtime_ns: int | None
    raw_key: str | None
    status: str
    error: str | None
    fps: float | None
    frame_count: int | None
    width: int | None
    height: int | None
    duration_s: float | None
    codec: str | None
    start_pts_frames: float | None


@dataclass(frozen=True)
class ShotRow:
    id: str
    episode_id: str
    shot_index: int
    start_frame: int
    end_frame: int
    start_s: float
    end_s: float
    transition_in: str | None
    camera_movement: str | None
    camera_speed: float | None
    extra: dict[str, Any] | None


@dataclass(frozen=True)
class KeyframeRow:
    id: str
    episode_id: str
    shot_id: str
    shot_index: int
    frame_index: int
    timestamp_s: float
    sharpness: float | None
    valid: bool
    invalid_reason: str | None
    shot_type: str | None
    text_area_ratio: float | None
    has_subtitle: bool | None
    face_count: int | None
    private_key: str | None
    private_digest: str | None
    public_key: str | None
    public_digest: str | None
    extra: dict[str, Any] | None


@dataclass(frozen=True)
class Current:
    """The version of an annotation in force, its payload validated against its kind."""

    payload: BaseModel
    version: int
    source: str
    author: str | None  # set when an annotator corrected it

    @property
    def human(self) -> bool:
        return self.author is not None


# --- media -----------------------------------------------------------------------------------


class Media:
    """Frames and raw video of a drama, whichever store backend holds them. Unreadable frames
    raise :class:`FrameError` with the loss reason (``frame_missing`` / ``frame_unreadable``)."""

    def __init__(self, store: ObjectStore, scratch: Path) -> None:
        self.store = store
        self.scratch = scratch  # a folder the runner removes after the unit's writes

    def frame_bytes(self, key: str | None, area: Area = Area.private) -> bytes:
        if not key:
            raise FrameError("frame_missing", f"the keyframe has no stored image ({area.value} key is empty)")
        try:
            return self.store.get_bytes(area, key)
        except ObjectNotFound as exc:
            raise FrameError("frame_missing", str(exc)) from exc

    def frame(self, key: str | None, area: Area = Area.private) -> "np.ndarray":
        """The keyframe image as a BGR array."""
        from skyscript.imaging import decode_jpeg

        return decode_jpeg(self.frame_bytes(key, area))

    def readable(
        self, keyframes: Iterable["KeyframeRow"], losses: list[LossRecord], log: logging.LoggerAdapter[Any]
    ) -> Iterator[tuple["KeyframeRow", "np.ndarray"]]:
        """``(keyframe, image)`` for each keyframe whose unmasked image can be read; a missing or
        undecodable one is logged and appended to ``losses`` instead."""
        for kf in keyframes:
            try:
                img = self.frame(kf.private_key)
            except FrameError as exc:
                log.warning("keyframe %s lost: %s", kf.id, exc)
                losses.append(LossRecord("keyframe", kf.id, exc.reason, exc.detail))
                continue
            yield kf, img

    @contextmanager
    def raw_video(self, raw_key: str | None) -> Iterator[Path]:
        """A local path for the raw video: the file itself for the local store, a temporary
        download for S3 (removed afterwards). :class:`BadInput` when it is not there."""
        if not raw_key:
            raise BadInput("missing_file", "the episode has no raw media (ingest did not store it)")
        if isinstance(self.store, LocalStore):
            path = self.store.path_of(Area.private, raw_key)
            if not path.is_file():
                raise BadInput("missing_file", f"raw media {raw_key} is not in the store")
            yield path
            return
        with tempfile.TemporaryDirectory(prefix="skyscript-raw-", dir=self.scratch) as tmp:
            dest = Path(tmp) / Path(raw_key).name
            try:
                self.store.get_file(Area.private, raw_key, dest)
            except ObjectNotFound as exc:
                raise BadInput("missing_file", str(exc)) from exc
            yield dest


# --- views -----------------------------------------------------------------------------------


@dataclass
class EpisodeView:
    drama_id: str
    episode: EpisodeRow
    shots: list[ShotRow]
    keyframes: list[KeyframeRow]
    annotations: dict[tuple[str, str], Current]
    media: Media
    log: logging.LoggerAdapter[Any]

    @property
    def id(self) -> str:
        return self.episode.id

    @property
    def valid_keyframes(self) -> list[KeyframeRow]:
        return [kf for kf in self.keyframes if kf.valid]

    def current(self, keyframe_id: str, kind: str) -> Current | None:
        return self.annotations.get((keyframe_id, kind))

    def payload(self, keyframe_id: str, kind: str) -> Any:
        """The current payload of ``kind`` on the keyframe (typed), or None."""
        cur = self.annotations.get((keyframe_id, kind))
        return cur.payload if cur is not None else None


@dataclass
class DramaView:
    drama_id: str
    episodes: list[EpisodeRow]
    media: Media
    log: logging.LoggerAdapter[Any]
    load_episode: Callable[[str], EpisodeView] | None = None  # the runner's loader, for drama steps

    def episode(self, episode_id: str) -> EpisodeView:
        if self.load_episode is None:
            raise RuntimeError("this drama view cannot load episodes")
        return self.load_episode(episode_id)
