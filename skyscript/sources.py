"""Resolve what the ops team points at (files, folders, HTTP(S) URLs, S3 prefixes) into
local files to ingest."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import httpx

from skyscript.config import Settings

VIDEO_SUFFIXES = {".mp4", ".mkv", ".mov", ".avi", ".webm", ".flv", ".ts", ".m4v", ".mpg", ".mpeg", ".wmv"}


@dataclass(frozen=True)
class SourceFile:
    uri: str  # where it came from, as the user named it
    name: str  # base name
    path: Path  # local copy to read


class SourceError(RuntimeError):
    pass


def source_kind(uri: str) -> str:
    scheme = urlsplit(uri).scheme
    if scheme in ("http", "https"):
        return "http"
    if scheme == "s3":
        return "s3"
    return "file"


def resolve(uris: list[str], settings: Settings, workdir: Path) -> Iterator[SourceFile]:
    """Yield every video file the URIs name. Folders are walked for video suffixes (sorted);
    a named file is taken whatever its suffix, so a bad file gets quarantined, not ignored.
    Downloads (http, s3) land in ``workdir``, which the caller owns and removes."""
    work = workdir
    for uri in uris:
        kind = source_kind(uri)
        if kind == "http":
            yield _download(uri, work)
        elif kind == "s3":
            yield from _s3(uri, settings, work)
        else:
            path = Path(uri).expanduser()
            if path.is_dir():
                files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
                if not files:
                    raise SourceError(f"folder {path} holds no video files ({', '.join(sorted(VIDEO_SUFFIXES))})")
                for p in files:
                    yield SourceFile(str(p.resolve()), p.name, p.resolve())
            elif path.is_file():
                yield SourceFile(str(path.resolve()), path.name, path.resolve())
            else:
                raise SourceError(f"{uri}: no such file or folder")


def _download(url: str, work: Path, timeout_s: float = 60.0) -> SourceFile:
    name = Path(urlsplit(url).path).name or "download.mp4"
    dest = work / name
    try:
        with httpx.stream("GET", url, timeout=timeout_s, follow_redirects=True) as resp:
            resp.raise_for_status()
            with open(dest, "wb") as fh:
                for chunk in resp.iter_bytes(1 << 20):
                    fh.write(chunk)
    except httpx.HTTPError as exc:
        raise SourceError(f"could not download {url}: {exc}") from exc
    return SourceFile(url, name, dest)


def _s3(uri: str, settings: Settings, work: Path) -> Iterator[SourceFile]:
    """``s3://bucket/prefix`` on the S3 server of ``settings.store_url``."""
    from skyscript.store.s3 import S3Store

    parts = urlsplit(uri)
    bucket, prefix = parts.netloc, parts.path.lstrip("/")
    if urlsplit(settings.store_url or "").scheme != "s3" or settings.store_access_key is None or settings.store_secret_key is None:
        raise SourceError(f"{uri}: S3 sources need an s3:// store_url with credentials")
    client = S3Store.from_url(
        settings.store_url or "",
        settings.store_access_key.get_secret_value(),
        settings.store_secret_key.get_secret_value(),
        region=settings.store_region,
        create_buckets=False,
    ).client
    names = sorted(o.object_name for o in client.list_objects(bucket, prefix=prefix, recursive=True) if o.object_name)
    names = [n for n in names if Path(n).suffix.lower() in VIDEO_SUFFIXES]
    if not names:
        raise SourceError(f"{uri}: no video objects under that prefix")
    for name in names:
        dest = work / bucket / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        client.fget_object(bucket, name, str(dest))
        yield SourceFile(f"s3://{bucket}/{name}", Path(name).name, dest)
