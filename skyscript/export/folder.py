"""The export folder: which files an export owns, and how a new export replaces them.

An export is written into a staging folder inside the output folder (``.skyscript-export-*``,
same file system) and only moved into place once every file is written, one rename per file,
``manifest.json`` last. The manifest lists every file of the export with its size and sha256;
it is what the export owns. A re-export into the same folder then

* replaces the files it writes again,
* removes the files the previous manifest lists that it does not write again (fewer keyframes,
  another drama), but only while they still hold the content the manifest recorded, and only
  inside the folder (a manifest cannot point an export at any other file),
* leaves every other file alone (a user's notes, a file a user edited) and says so in one line.

A crash before the moves leaves the previous export as it was (the next export removes the
staging folder); a crash during the moves leaves the new manifest in the staging folder, so the
next export still knows which of the moved files were an export's.

One export at a time per folder: an export holds an exclusive lock on ``.skyscript-export.lock``
in the folder from its start to its end, and removes the file when it ends (``flock``: the
kernel lets it go when the process dies, so a killed export never leaves the folder locked; the
file it leaves behind is taken over by the next export). A second export into the same folder fails
at once with :class:`ExportBusy`, before it touches anything; without the lock it would have
taken the first one's staging folder for a crashed export's and removed it.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from skyscript.ids import one_line, sha256_file

log = logging.getLogger("skyscript.export")

MANIFEST = "manifest.json"
STAGING_PREFIX = ".skyscript-export-"
LOCK = ".skyscript-export.lock"
OWNERSHIP = "exact"  # the manifest key ``files`` lists exactly the files the export wrote
# what an export of a release without an exact manifest (it listed every file in the folder) wrote
_LEGACY_DIRS = ("frames", "webdataset", "scripts", "plots", "highlight")
_LEGACY_TOP = ("README.md", "shooting_script.schema.json", "relationships.json")
_WALK_CAP = 10_000  # files looked at for the "not part of this export" line


class ExportBusy(RuntimeError):
    """Another export is writing into the folder."""


@dataclass
class Recorded:
    """A file an earlier export wrote: where it is and what it held then."""

    rel: str
    sha256: str | None
    size: int | None


@dataclass
class CommitReport:
    removed: list[str] = field(default_factory=list)  # files of the previous export not written again
    foreign: list[str] = field(default_factory=list)  # files left alone (not this export's)
    foreign_capped: bool = False


def _safe_rel(rel: Any) -> str | None:
    """``rel`` when it is a plain relative path (no absolute path, no ``..``, no staging folder)."""
    if not isinstance(rel, str) or not rel or "\\" in rel or "\x00" in rel:
        return None
    parts = PurePosixPath(rel).parts
    if not parts or rel.startswith("/") or any(p in ("", ".", "..") for p in parts) or parts[0].startswith(STAGING_PREFIX):
        return None
    return PurePosixPath(*parts).as_posix()


def _legacy_owned(rel: str) -> bool:
    parts = PurePosixPath(rel).parts
    if len(parts) > 1:
        return parts[0] in _LEGACY_DIRS
    return rel in _LEGACY_TOP or rel.endswith((".parquet", ".jsonl"))


def read_manifest(path: Path) -> list[Recorded]:
    """The files a manifest says an export wrote ([] for a missing or unreadable one)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        return []
    exact = data.get("ownership") == OWNERSHIP
    out = []
    for rel, meta in files.items():
        safe = _safe_rel(rel)
        if safe is None or not isinstance(meta, dict) or not (exact or _legacy_owned(safe)):
            continue
        sha, size = meta.get("sha256"), meta.get("bytes")
        out.append(Recorded(safe, sha if isinstance(sha, str) else None, size if isinstance(size, int) else None))
    return out


def _move(src: Path, dest: Path) -> None:
    """Rename ``src`` to ``dest`` (replacing it); across file systems (a folder of the export that
    is a link to another disk) copy to a temporary name beside ``dest`` first, then rename."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(src, dest)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
        src.unlink()


def _take_lock(out: Path) -> int:
    """The folder's export lock (an open descriptor holding ``flock`` on ``out/LOCK``), or
    :class:`ExportBusy`. The lock file is removed again when the export ends
    (:func:`_drop_lock`), so a lock counts only while its file is still the one at ``out/LOCK``."""
    path = out / LOCK
    for _ in range(100):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise ExportBusy(f"another export is writing into {one_line(str(out))} (pid {holder}); "
                             "wait for it to finish or export somewhere else") from None
        except BaseException:
            os.close(fd)
            raise
        try:
            current = os.stat(path)
        except FileNotFoundError:
            current = None
        mine = os.fstat(fd)
        if current is not None and (current.st_dev, current.st_ino) == (mine.st_dev, mine.st_ino):
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            return fd
        os.close(fd)  # locked a file the export before removed: try again with the current one
    raise ExportBusy(f"could not take the export lock of {one_line(str(out))}")


def _drop_lock(out: Path, fd: int) -> None:
    """Remove the lock file while still holding it, then let the lock go."""
    try:
        (out / LOCK).unlink(missing_ok=True)
    finally:
        os.close(fd)


class ExportFolder:
    """One export into ``out``: writers write under :attr:`stage`; :meth:`keep` names a file
    already in place with the right content; :meth:`commit` moves the export into place."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.out.mkdir(parents=True, exist_ok=True)
        self._lock: int | None = _take_lock(out)
        try:
            self._root = self.out.resolve()
            self._previous: dict[str, list[Recorded]] = {}
            for r in read_manifest(out / MANIFEST):
                self._previous.setdefault(r.rel, []).append(r)
            for old in sorted(out.glob(STAGING_PREFIX + "*")):  # a crashed export's staging folder
                if old.is_dir() and not old.is_symlink():
                    for r in read_manifest(old / MANIFEST):  # it may have moved some of its files already
                        self._previous.setdefault(r.rel, []).append(r)
                    shutil.rmtree(old, ignore_errors=True)
            self.stage = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out))
        except BaseException:
            self._release()
            raise
        self._kept: dict[str, Path] = {}

    def keep(self, rel: str) -> None:
        """``out/rel`` is already what this export would write there: keep it, do not copy it again."""
        self._kept[rel] = self.out / rel

    def is_current(self, rel: str, digest: str | None) -> bool:
        """Whether ``out/rel`` holds content whose ``sha256:`` digest is ``digest``, and was written
        by an export (a file a user put there is never taken over)."""
        dest = self.out / rel
        if not digest or rel not in self._previous or not dest.is_file() or dest.is_symlink():
            return False
        return "sha256:" + sha256_file(dest) == digest

    @property
    def kept(self) -> dict[str, Path]:
        """The files of this export that are already in place (relative name -> path)."""
        return dict(self._kept)

    def commit(self) -> CommitReport:
        """Move the staged files into place, remove the previous export's files this one did not
        write, then move the manifest (the export is complete once it is in place). The folder's
        lock is let go however this ends."""
        try:
            staged = sorted(p for p in self.stage.rglob("*") if p.is_file())
            written = {p.relative_to(self.stage).as_posix() for p in staged} | set(self._kept)
            report = CommitReport()
            for p in staged:
                rel = p.relative_to(self.stage).as_posix()
                if rel != MANIFEST:
                    _move(p, self.out / rel)
            for rel, recs in sorted(self._previous.items()):
                if rel not in written and rel != MANIFEST and self._remove(rel, recs):
                    report.removed.append(rel)
            if (self.stage / MANIFEST).is_file():
                _move(self.stage / MANIFEST, self.out / MANIFEST)
            shutil.rmtree(self.stage, ignore_errors=True)
            self._prune({str(PurePosixPath(rel).parent) for rel in report.removed})
            report.foreign, report.foreign_capped = self._foreign(written | {MANIFEST, LOCK})
        finally:
            self._release()
        self._say(report)
        return report

    def abort(self) -> None:
        """Drop the staged files; the folder keeps the previous export as it was."""
        shutil.rmtree(self.stage, ignore_errors=True)
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            fd, self._lock = self._lock, None
            _drop_lock(self.out, fd)

    def _inside(self, path: Path) -> bool:
        try:
            path.resolve().relative_to(self._root)
        except (ValueError, OSError):
            return False
        return True

    def _remove(self, rel: str, recs: list[Recorded]) -> bool:
        """Remove a previous export's file that this export does not write, when it is still
        a file that an export recorded (same size and sha256) and lies inside the folder."""
        path = self.out / rel
        if path.is_symlink() or not path.is_file() or not self._inside(path):
            return False
        size = path.stat().st_size
        candidates = {r.sha256 for r in recs if r.sha256 and r.size in (None, size)}
        if not candidates or sha256_file(path) not in candidates:
            return False  # changed since the export wrote it: someone's file now
        path.unlink()
        return True

    def _prune(self, folders: set[str]) -> None:
        """Remove folders the removals left empty (deepest first), never ``out`` itself."""
        todo = set()
        for f in folders:
            p = PurePosixPath(f)
            while p.parts and str(p) != ".":
                todo.add(p.as_posix())
                p = p.parent
        for f in sorted(todo, key=lambda x: -len(PurePosixPath(x).parts)):
            d = self.out / f
            if d.is_dir() and not d.is_symlink() and self._inside(d):
                try:
                    d.rmdir()
                except OSError:
                    pass  # not empty: something else lives there

    def _foreign(self, written: set[str]) -> tuple[list[str], bool]:
        found: list[str] = []
        seen = 0
        for dirpath, dirnames, filenames in os.walk(self.out):
            rel_dir = Path(dirpath).relative_to(self.out)
            dirnames[:] = sorted(d for d in dirnames if not (rel_dir == Path(".") and d.startswith(STAGING_PREFIX)))
            for name in sorted(filenames):
                seen += 1
                if seen > _WALK_CAP:
                    return found, True
                rel = (rel_dir / name).as_posix()
                if rel not in written:
                    found.append(rel)
        return found, False

    def _say(self, report: CommitReport) -> None:
        if report.removed:
            log.info("removed %d file(s) of the previous export that this export does not write", len(report.removed))
        if report.foreign:
            names = ", ".join(one_line(n) for n in report.foreign[:3]) + (", ..." if len(report.foreign) > 3 else "")
            more = "+" if report.foreign_capped else ""
            log.warning("export into %s: %d%s file(s) not written by this export were left alone (%s)",
                        one_line(str(self.out)), len(report.foreign), more, names)
