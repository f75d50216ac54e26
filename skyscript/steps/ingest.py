"""Ingest: register each source file as an episode of the drama, digest its content, skip what
is already ingested, and copy the raw media into the private area of the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from skyscript import ids, sources
from skyscript.db import lineage
from skyscript.db.lineage import LossRecord
from skyscript.db.models import Episode
from skyscript.steps.base import Step, StepContext, StepOutput
from skyscript.store import Area


class IngestStep(Step):
    name = "ingest"
    version = "1"
    scope = "drama"
    reads = ("source files",)
    writes = ("drama", "source", "episode", "private:raw/")
    description = "register source files as episodes and copy them to the private area"

    def run(self, ctx: StepContext, step_run_id: int, episode_id: str | None) -> StepOutput:
        uris: list[str] = list(ctx.params.get("sources") or [])
        if not uris:
            raise ValueError("ingest needs params['sources']: files, folders, http(s) URLs or s3:// prefixes")
        log = ctx.logger(self.name)
        keys = ids.Keys(ctx.drama_id)
        counts = {"files": 0, "new": 0, "unchanged": 0, "duplicate": 0, "empty": 0, "unreachable": 0}
        losses: list[LossRecord] = []
        with ctx.db.session() as s:
            source_id = ids.slug(",".join(uris), 120)
            lineage.register_source(s, source_id, " ".join(uris), sources.source_kind(uris[0]), ctx.drama_id)
            lineage.ensure_drama(s, ctx.drama_id, source_id=source_id)
        seen_digests: dict[str, str] = {}
        with ctx.db.session() as s:
            for ep in lineage.episodes_of(s, ctx.drama_id):
                if ep.content_digest:
                    seen_digests.setdefault(ep.content_digest, ep.id)
        for uri in uris:
            try:
                files = list(sources.resolve([uri], ctx.settings))
            except sources.SourceError as exc:
                log.error("source unreachable: %s", exc)
                counts["unreachable"] += 1
                losses.append(LossRecord("source", uri, "source_unreachable", str(exc)))
                continue
            for f in files:
                counts["files"] += 1
                counts[self._ingest_one(ctx, keys, f, seen_digests, step_run_id, log)] += 1
        with ctx.db.session() as s:
            lineage.replace_losses(s, ctx.drama_id, self.name, None, losses, step_run_id)
        return StepOutput(counts=counts, params={"sources": uris})

    def _ingest_one(
        self,
        ctx: StepContext,
        keys: ids.Keys,
        f: sources.SourceFile,
        seen: dict[str, str],
        step_run_id: int,
        log: Any,
    ) -> str:
        ep_id = ids.episode_id(ctx.drama_id, f.name)
        st = f.path.stat()
        size = st.st_size
        local = sources.source_kind(f.uri) == "file"
        mtime_ns = st.st_mtime_ns if local else None
        with ctx.db.session() as s:
            existing = s.get(Episode, ep_id)
            if (
                existing is not None and local and not ctx.settings.ingest_rehash and existing.raw_key
                and existing.content_digest and existing.source_uri == f.uri
                and existing.size_bytes == size and existing.source_mtime_ns == mtime_ns
            ):
                log.info("%s unchanged (same path, size and mtime), skipped without hashing", f.name)
                return "unchanged"
        digest = "sha256:" + ids.sha256_file(str(f.path))
        with ctx.db.session() as s:
            existing = s.get(Episode, ep_id)
            if existing is not None and existing.content_digest == digest and existing.raw_key:
                log.info("%s unchanged (%s), skipped", f.name, digest[:19])
                if local and existing.source_mtime_ns != mtime_ns:  # touched, same content: next time no hashing
                    existing.source_mtime_ns = mtime_ns
                return "unchanged"
            other = seen.get(digest)
            if other is not None and other != ep_id:
                log.warning("%s has the same content as episode %s, skipped", f.name, other)
                return "duplicate"
        raw_key = keys.raw_video(ep_id, Path(f.name).suffix or ".bin")
        ctx.store.put_file(Area.private, raw_key, f.path)
        seen[digest] = ep_id
        fields: dict[str, Any] = dict(
            id=ep_id, drama_id=ctx.drama_id, source_uri=f.uri, source_name=f.name, content_digest=digest,
            size_bytes=size, source_mtime_ns=mtime_ns, raw_key=raw_key, status="pending", error=None, step_run_id=step_run_id,
        )
        with ctx.db.session() as s:
            lineage.upsert_episode(s, **fields)
        if size == 0:
            return "empty"
        log.info("%s ingested as %s (%d bytes)", f.name, ep_id, size)
        return "new"
