"""Getting at an episode's raw media as a local file, whichever store backend holds it."""

from __future__ import annotations

import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from skyscript.steps.base import BadInput, StepContext
from skyscript.store import Area, LocalStore, ObjectNotFound


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
