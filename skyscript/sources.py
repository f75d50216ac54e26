"""Resolve what the ops team points at (files, folders, HTTP(S) URLs, S3 prefixes) into
local files to ingest."""

from __future__ import annotations

from dataclasses import dataclass
import ipaddress
import os
import socket
import time
from pathlib import Path, PurePosixPath
from typing import Iterator
from urllib.parse import urlsplit

import httpx

from skyscript.config import Settings, SourceSettings
from skyscript.ids import redact_url

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


@dataclass(frozen=True)
class SourceProblem:
    """One item of a source that cannot be ingested (the rest of the source goes on): it becomes a
    loss row with ``reason`` (``dangling_link``, ``unsafe_source``, ``source_unreachable``)."""

    uri: str
    reason: str
    detail: str


def resolve(uris: list[str], settings: Settings, workdir: Path) -> Iterator[SourceFile | SourceProblem]:
    """Yield every video file the URIs name, and a :class:`SourceProblem` for each item that cannot
    be read. Folders are walked for video suffixes (sorted); a named file is taken whatever its
    suffix, so a bad file gets quarantined, not ignored. Downloads (http, s3) land in ``workdir``,
    which the caller owns and removes; nothing is ever written outside it. :class:`SourceError`
    when a whole URI cannot be read."""
    work = workdir
    for uri in uris:
        kind = source_kind(uri)
        if kind == "http":
            yield _download(uri, work, settings)
        elif kind == "s3":
            yield from _s3(uri, settings, work)
        else:
            path = Path(uri).expanduser()
            if path.is_dir():
                found = False
                for p in sorted(path.rglob("*")):
                    if p.suffix.lower() not in VIDEO_SUFFIXES:
                        continue
                    if p.is_symlink() and not p.exists():
                        found = True
                        yield SourceProblem(str(p), "dangling_link", f"{p} is a symbolic link to {os.readlink(p)}, which does not exist")
                    elif p.is_file():
                        found = True
                        yield SourceFile(str(p.resolve()), p.name, p.resolve())
                if not found:
                    raise SourceError(f"folder {path} holds no video files ({', '.join(sorted(VIDEO_SUFFIXES))})")
            elif path.is_file():
                yield SourceFile(str(path.resolve()), path.name, path.resolve())
            elif path.is_symlink():
                raise SourceError(f"{uri} is a symbolic link to {os.readlink(path)}, which does not exist")
            else:
                raise SourceError(f"{uri}: no such file or folder")


def confined(root: Path, relative: str) -> Path | None:
    """``root / relative`` when it stays inside ``root`` (no absolute path, no ``..`` escape, not the
    root itself), else None."""
    parts = [p for p in PurePosixPath(relative).parts if p not in ("/", "")]
    if not parts or any(p in (".", "..") for p in parts):
        return None
    dest = root.joinpath(*parts)
    try:
        dest.resolve().relative_to(root.resolve())
    except ValueError:
        return None
    return dest


def check_host(url: str, policy: SourceSettings) -> None:
    """Refuse a URL whose host is (or resolves to) a loopback, private, link-local or otherwise
    non-public address, unless ``policy`` allows it (:class:`SourceError`, nothing is fetched)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host:
        raise SourceError(f"{url}: no host")
    if host in policy.allow_hosts or (parts.port and f"{host}:{parts.port}" in policy.allow_hosts):
        return
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80), proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise SourceError(f"{url}: cannot resolve {host} ({exc})") from exc
    for info in infos:
        addr = ipaddress.ip_address(info[4][0])
        if not addr.is_global and not policy.allow_private:
            raise SourceError(
                f"{url}: {host} is {addr}, a {'loopback' if addr.is_loopback else 'private or link-local'} address; "
                "refused (set SKYSCRIPT_SOURCES__ALLOW_HOSTS or SKYSCRIPT_SOURCES__ALLOW_PRIVATE to fetch from it)"
            )


def _download(url: str, work: Path, settings: Settings) -> SourceFile | SourceProblem:
    """GET ``url`` into ``work``: every hop of a redirect is checked against the host policy, the
    body is capped at ``max_download_mb`` and the whole download at ``download_timeout_s``."""
    policy = settings.sources
    shown = redact_url(url)  # messages never carry a password or token from the URL
    raw_name = Path(urlsplit(url).path).name
    name = raw_name if raw_name not in ("", ".", "..") else "download.bin"
    dest = confined(work, name) or work / "download.bin"
    limit = int(policy.max_download_mb * 1024 * 1024)
    deadline = time.monotonic() + policy.download_timeout_s
    current = url
    try:
        for _ in range(6):  # the request and at most five redirects
            try:
                check_host(current, policy)
            except SourceError as exc:
                return SourceProblem(url, "unsafe_source", str(exc).replace(current, redact_url(current)))
            with httpx.stream("GET", current, timeout=min(60.0, policy.download_timeout_s), follow_redirects=False) as resp:
                if resp.is_redirect:
                    current = str(resp.next_request.url) if resp.next_request else ""
                    continue
                resp.raise_for_status()
                size = 0
                with open(dest, "wb") as fh:
                    for chunk in resp.iter_bytes(1 << 20):
                        size += len(chunk)
                        if size > limit:
                            raise SourceError(f"could not download {shown}: larger than {policy.max_download_mb:g} MB")
                        if time.monotonic() > deadline:
                            raise SourceError(f"could not download {shown}: not done within {policy.download_timeout_s:g} s")
                        fh.write(chunk)
                return SourceFile(url, name, dest)
        raise SourceError(f"could not download {shown}: too many redirects")
    except httpx.HTTPStatusError as exc:
        raise SourceError(f"could not download {shown}: HTTP {exc.response.status_code}") from exc
    except httpx.HTTPError as exc:
        raise SourceError(f"could not download {shown}: {type(exc).__name__}") from exc
    except SourceError:
        dest.unlink(missing_ok=True)
        raise


def _s3(uri: str, settings: Settings, work: Path) -> Iterator[SourceFile | SourceProblem]:
    """``s3://bucket/prefix`` on the S3 server of ``settings.store_url``. A key that would land
    outside the work folder (absolute, ``..``) is a problem row, never a write."""
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
        dest = confined(work / bucket, name)
        if dest is None:
            yield SourceProblem(f"s3://{bucket}/{name}", "unsafe_source", f"object key {name!r} would be written outside the work folder")
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        client.fget_object(bucket, name, str(dest))
        yield SourceFile(f"s3://{bucket}/{name}", Path(name).name, dest)
