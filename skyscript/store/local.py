"""Object store in a local directory: the embedded default."""

from __future__ import annotations

import hashlib
import os
import time
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from skyscript.store.base import Area, ObjectNotFound, ObjectStore, StoredObject, check_key, digest_of


PUBLIC_MODE = 0o644  # the published area: masked frames and reports
PRIVATE_MODE = 0o600  # raw media and unmasked frames: the owner only


class LocalStore(ObjectStore):
    """``<root>/<area>/<key>``. Writes go to a temporary file in the same folder, are fsynced
    and renamed into place, so a crash never leaves a half-written object under its key."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()
        for area in Area:
            (self.root / area.value).mkdir(parents=True, exist_ok=True)

    def _path(self, area: Area, key: str) -> Path:
        return self.root / Area(area).value / check_key(key)

    def put_bytes(self, area: Area, key: str, data: bytes, content_type: str = "application/octet-stream") -> StoredObject:
        path = self._path(area, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
        try:
            # mkstemp makes 0600 files: published frames and reports are for everyone to read
            os.fchmod(fd, PUBLIC_MODE if Area(area) is Area.public else PRIVATE_MODE)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return StoredObject(Area(area), key, len(data), digest_of(data))

    def put_file(self, area: Area, key: str, path: str | Path, content_type: str = "application/octet-stream") -> StoredObject:
        """Streamed in 1 MiB blocks and hashed on the way (a 300 MB episode no longer sits in memory)."""
        dest = self._path(area, key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-", suffix=".part")
        h = hashlib.sha256()
        size = 0
        try:
            os.fchmod(fd, PUBLIC_MODE if Area(area) is Area.public else PRIVATE_MODE)
            with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
                while block := src.read(1 << 20):
                    h.update(block)
                    size += len(block)
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return StoredObject(Area(area), key, size, "sha256:" + h.hexdigest())

    def get_file(self, area: Area, key: str, dest: str | Path) -> Path:
        src = self._path(area, key)
        if not src.is_file():
            raise ObjectNotFound(f"no object {Area(area).value}:{key} in {self.root}")
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        shutil.copyfile(src, tmp)
        tmp.replace(dest)
        return dest

    def sweep_parts(self, older_than_s: float = 3600.0) -> int:
        """Remove half-written objects (``.tmp-*.part``) a killed writer left, older than
        ``older_than_s`` (a live writer's part file is younger). Returns how many were removed."""
        cutoff = time.time() - older_than_s
        removed = 0
        for area in Area:
            for part in (self.root / area.value).rglob(".tmp-*.part"):
                try:
                    if part.stat().st_mtime < cutoff:
                        part.unlink()
                        removed += 1
                except FileNotFoundError:
                    pass
        return removed

    def get_bytes(self, area: Area, key: str) -> bytes:
        path = self._path(area, key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise ObjectNotFound(f"no object {Area(area).value}:{key} in {self.root}") from None

    def exists(self, area: Area, key: str) -> bool:
        return self._path(area, key).is_file()

    def stat(self, area: Area, key: str) -> StoredObject:
        data = self.get_bytes(area, key)
        return StoredObject(Area(area), key, len(data), digest_of(data))

    def list(self, area: Area, prefix: str = "") -> Iterator[str]:
        base = self.root / Area(area).value
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.name.startswith(".tmp-"):
                key = path.relative_to(base).as_posix()
                if key.startswith(prefix):
                    yield key

    def delete(self, area: Area, key: str) -> None:
        self._path(area, key).unlink(missing_ok=True)

    def presigned_get(self, area: Area, key: str, expires_s: int = 3600) -> str:
        path = self._path(area, key)
        if not path.is_file():
            raise ObjectNotFound(f"no object {Area(area).value}:{key} in {self.root}")
        return path.as_uri()

    def path_of(self, area: Area, key: str) -> Path:
        """Local path of an object (local backend only; used to hand files to decoders)."""
        return self._path(area, key)

    def describe(self) -> str:
        return f"local directory {self.root}"
