"""The object-store interface shared by the local-directory and S3 backends."""

from __future__ import annotations

from skyscript.ids import content_digest

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Iterator


class Area(str, Enum):
    """Private: raw media and unmasked frames, for the model steps only.
    Public: privacy-masked frames and reports, what reviewers and exports see."""

    private = "private"
    public = "public"


class StoreError(RuntimeError):
    """Base class for object-store failures."""


class ObjectNotFound(StoreError):
    pass


class StoreUnavailable(StoreError):
    """The store cannot be reached (server down, network, timeout)."""


class StoreAccessDenied(StoreError):
    """Credentials were rejected."""


@dataclass(frozen=True)
class StoredObject:
    area: Area
    key: str
    size: int
    digest: str  # "sha256:<hex>"

    @property
    def uri(self) -> str:
        return f"{self.area.value}:{self.key}"


def digest_of(data: bytes) -> str:
    return content_digest(data)


def check_key(key: str) -> str:
    if not key or key.startswith("/") or "\\" in key or any(p in ("", ".", "..") for p in key.split("/")):
        raise ValueError(f"invalid object key {key!r}: use relative 'a/b/c' keys without '.', '..' or empty parts")
    return key


class ObjectStore(ABC):
    """Put/get bytes and files under deterministic keys in two areas.

    Writes are atomic (a reader never sees half an object) and return the content digest,
    which lineage records. Re-putting the same key replaces the object (idempotent re-runs).
    """

    @abstractmethod
    def put_bytes(self, area: Area, key: str, data: bytes, content_type: str = "application/octet-stream") -> StoredObject: ...

    def put_file(self, area: Area, key: str, path: str | Path, content_type: str = "application/octet-stream") -> StoredObject:
        return self.put_bytes(area, key, Path(path).read_bytes(), content_type)

    @abstractmethod
    def get_bytes(self, area: Area, key: str) -> bytes: ...

    def get_file(self, area: Area, key: str, dest: str | Path) -> Path:
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        tmp.write_bytes(self.get_bytes(area, key))
        tmp.replace(dest)
        return dest

    @abstractmethod
    def exists(self, area: Area, key: str) -> bool: ...

    @abstractmethod
    def stat(self, area: Area, key: str) -> StoredObject: ...

    @abstractmethod
    def list(self, area: Area, prefix: str = "") -> Iterator[str]: ...

    @abstractmethod
    def delete(self, area: Area, key: str) -> None: ...

    def delete_prefix(self, area: Area, prefix: str) -> int:
        keys = list(self.list(area, prefix))
        for k in keys:
            self.delete(area, k)
        return len(keys)

    @abstractmethod
    def presigned_get(self, area: Area, key: str, expires_s: int = 3600) -> str:
        """A URL a reviewer can open without credentials, valid for ``expires_s``."""

    @abstractmethod
    def describe(self) -> str:
        """Where the store is, for logs and `skyscript status`."""
