"""Getting at an episode's media: the raw video as a local file, whichever store backend holds
it, and the keyframes' unmasked images."""

from __future__ import annotations

import logging
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from skyscript.db.lineage import LossRecord
from skyscript.steps.base import BadInput, StepContext
from skyscript.store import Area, LocalStore, ObjectNotFound

if TYPE_CHECKING:
    import numpy as np


@contextmanager
def local_copy(ctx: StepContext, raw_key: str | None) -> Iterator[Path]:
    """A local path for the raw video: the file itself for the local store, a temporary
    download for S3 (removed afterwards)."""
    if not raw_key:
        raise BadInput("missing_file", "the episode has no raw media (ingest did not store it)")
    if isinstance(ctx.store, LocalStore):
        path = ctx.store.path_of(Area.private, raw_key)
        if not path.is_file():
            raise BadInput("missing_file", f"raw media {raw_key} is not in the store")
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="skyscript-raw-") as tmp:
        dest = Path(tmp) / Path(raw_key).name
        try:
            ctx.store.get_file(Area.private, raw_key, dest)
        except ObjectNotFound as exc:
            raise BadInput("missing_file", str(exc)) from exc
        yield dest


def readable_keyframes(
    ctx: StepContext, frames: Iterable[tuple[str, str | None]], losses: list[LossRecord], log: logging.LoggerAdapter[Any]
) -> Iterator[tuple[str, str, "np.ndarray"]]:
    """``(keyframe_id, private_key, image)`` for each keyframe whose unmasked JPEG can be read;
    a missing or undecodable one is logged and appended to ``losses`` instead."""
    from skyscript.video.frames import FrameError, read_frame

    for kf_id, key in frames:
        try:
            img = read_frame(ctx.store, key)
        except FrameError as exc:
            log.warning("keyframe %s lost: %s", kf_id, exc)
            losses.append(LossRecord("keyframe", kf_id, exc.reason, exc.detail))
            continue
        assert key is not None
        yield kf_id, key, img
