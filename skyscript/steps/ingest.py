"""Ingest: register each source file as an episode of the drama, digest its content, skip what
is already ingested, and copy the raw media into the private area of the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from skyscript import ids
from skyscript.losses import LossRecord
from skyscript.steps.base import ObjectRecord, RowSet, RowUpdate, Step, StepOutput
from skyscript.steps.view import DramaView, EpisodeRow


class IngestParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: list[str] = Field(
        default_factory=list, description="files, folders, http(s) URLs or s3://bucket/prefix to ingest"
    )
    rehash: bool | None = Field(
        None, description="digest every local file even when path, size and mtime are unchanged (default: settings.ingest_rehash)"
    )


class IngestStep(Step[IngestParams]):
    name = "ingest"
    version = "1"
    scope = "drama"
    reads = ("source:files",)
    writes = ("source", "drama", "episode", "private:raw")
    params_model = IngestParams
    description = "register source files as episodes and copy them to the private area"

    def setup(self, settings: Any) -> None:
        self.settings = settings

    def run(self, view: DramaView, params: IngestParams) -> StepOutput:  # type: ignore[override]
        from skyscript import sources

        uris = list(params.sources)
        if not uris:
            raise ValueError("ingest needs sources: files, folders, http(s) URLs or s3:// prefixes")
        rehash = self.settings.ingest_rehash if params.rehash is None else params.rehash
        keys = ids.Keys(view.drama_id)
        shown = [ids.redact_url(u) for u in uris]  # what is stored and logged: no passwords or tokens
        out = StepOutput(params={"sources": shown})
        counts = {"files": 0, "new": 0, "unchanged": 0, "duplicate": 0, "empty": 0, "unreachable": 0, "problems": 0}
        source_id = ids.slug(f"{view.drama_id}:{','.join(shown)}", 120)  # a drama's own row, never shared
        out.rows.append(RowSet("source", [{"id": source_id, "uri": " ".join(shown), "kind": sources.source_kind(uris[0]),
                                           "drama_id": view.drama_id}]))
        out.rows.append(RowSet("drama", [{"id": view.drama_id, "source_id": source_id}]))
        existing = {e.id: e for e in view.episodes}
        seen: dict[str, str] = {}
        for e in view.episodes:
            if e.content_digest:
                seen.setdefault(e.content_digest, e.id)
        episodes: list[dict[str, Any]] = []
        for uri in uris:
            try:
                files = list(sources.resolve([uri], self.settings, view.media.scratch))
            except sources.SourceError as exc:
                detail = ids.one_line(str(exc).replace(uri, ids.redact_url(uri)))
                view.log.error("source unreachable: %s", detail)
                counts["unreachable"] += 1
                out.losses.append(LossRecord("source", ids.redact_url(uri), "source_unreachable", detail))
                continue
            for f in files:
                if isinstance(f, sources.SourceProblem):
                    detail = ids.one_line(f.detail.replace(f.uri, ids.redact_url(f.uri)))
                    view.log.warning("%s: %s", f.reason, detail)
                    counts["problems"] += 1
                    out.losses.append(LossRecord("source", ids.redact_url(f.uri), f.reason, detail))
                    continue
                counts["files"] += 1
                try:
                    outcome, row, obj = self._one(view, keys, f, existing, seen, rehash)
                except OSError as exc:  # one unreadable file (permissions, gone meanwhile) stops no other
                    detail = ids.one_line(f"{ids.redact_url(f.uri)} cannot be read: {exc.strerror or exc}")
                    view.log.warning("source_unreachable: %s", detail)
                    counts["unreachable"] += 1
                    out.losses.append(LossRecord("source", ids.redact_url(f.uri), "source_unreachable", detail))
                    continue
                if outcome == "touched":
                    assert row is not None
                    out.updates.append(RowUpdate("episode", row["id"], {"source_mtime_ns": row["source_mtime_ns"]}))
                    outcome, row = "unchanged", None
                counts[outcome] += 1
                if row is not None:
                    episodes.append(row)
                if obj is not None:
                    out.objects.append(obj)
        out.rows.append(RowSet("episode", episodes))
        out.counts = counts
        return out

    def _one(
        self, view: DramaView, keys: ids.Keys, f: Any, existing: dict[str, EpisodeRow], seen: dict[str, str],
        rehash: bool,
    ) -> tuple[str, dict[str, Any] | None, ObjectRecord | None]:
        from skyscript import sources
        from skyscript.store import Area

        log = view.log
        ep_id = ids.episode_id(view.drama_id, f.name)
        holder = existing.get(ep_id)
        if holder is not None and holder.source_name != f.name:
            # another file name already holds this id: never merge two sources silently
            ep_id = ids.disambiguated_episode_id(view.drama_id, f.name)
            log.info("%s: file %s maps to the id of %s's file %s, so it gets its own id", ep_id, ids.one_line(f.name),
                     holder.id, ids.one_line(holder.source_name))
        st = f.path.stat()
        local = sources.source_kind(f.uri) == "file"
        mtime_ns = st.st_mtime_ns if local else None
        old = existing.get(ep_id)
        if (
            old is not None and local and not rehash and old.raw_key and old.content_digest
            and old.source_uri == ids.redact_url(f.uri) and old.size_bytes == st.st_size and old.source_mtime_ns == mtime_ns
        ):
            log.info("%s unchanged (same path, size and mtime), skipped without hashing", ep_id)
            return "unchanged", None, None
        digest = "sha256:" + ids.sha256_file(f.path)
        if old is not None and old.content_digest == digest and old.raw_key:
            log.info("%s unchanged (%s), skipped", ep_id, digest[:19])
            if local and old.source_mtime_ns != mtime_ns:  # touched, same content: next time no hashing
                return "touched", {"id": ep_id, "source_mtime_ns": mtime_ns}, None
            return "unchanged", None, None
        other = seen.get(digest)
        if other is not None and other != ep_id:
            log.warning("%s (file %s) has the same content as episode %s, skipped", ep_id, ids.one_line(f.name), other)
            return "duplicate", None, None
        raw_key = keys.raw_video(ep_id, Path(f.name).suffix or ".bin")
        seen[digest] = ep_id
        existing[ep_id] = EpisodeRow(  # later files of this run see the id as taken
            id=ep_id, drama_id=view.drama_id, source_uri=ids.redact_url(f.uri), source_name=f.name, content_digest=digest,
            size_bytes=st.st_size, source_mtime_ns=mtime_ns, raw_key=raw_key, status="pending", error=None,
            fps=None, frame_count=None, width=None, height=None, duration_s=None, codec=None, start_pts_frames=None,
        )
        row: dict[str, Any] = dict(
            id=ep_id, drama_id=view.drama_id, source_uri=ids.redact_url(f.uri), source_name=f.name, content_digest=digest,
            size_bytes=st.st_size, source_mtime_ns=mtime_ns, raw_key=raw_key, status="pending", error=None,
        )
        if st.st_size == 0:
            return "empty", row, ObjectRecord(Area.private, raw_key, path=f.path)
        log.info("%s ingested from file %s (%d bytes)", ep_id, ids.one_line(f.name), st.st_size)
        return "new", row, ObjectRecord(Area.private, raw_key, path=f.path)
