"""The crawl: which sources to scan for which drama, and which dramas got new episodes.

Sources come from the lineage database's ``source`` table (enabled rows with a drama) and from
a configured ``{drama: [uri, ...]}`` mapping; the ingest step registers what it finds. A drama
gets an annotation run when its ingest in this crawl registered new (or changed) episodes,
read back from the ingest step runs' counts, so the same logic works whether ingest ran in a
pod or locally.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Mapping

from sqlalchemy import select, update

from skyscript.config import Settings
from skyscript.db.engine import Database
from skyscript.db.models import Source, StepRun
from skyscript.ids import validate_drama_id


@dataclass(frozen=True)
class CrawlTarget:
    drama: str
    sources: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {"drama": self.drama, "sources": list(self.sources)}


def _split_uri(uri: str) -> list[str]:
    # the ingest step records several URIs of one registration joined by spaces
    return [u for u in uri.split(" ") if u]


def merge_targets(*groups: Iterable[tuple[str, str]]) -> list[CrawlTarget]:
    """(drama, uri) pairs → one target per drama, URIs de-duplicated in first-seen order."""
    by_drama: dict[str, list[str]] = {}
    for group in groups:
        for drama, uri in group:
            validate_drama_id(drama)
            uris = by_drama.setdefault(drama, [])
            if uri not in uris:
                uris.append(uri)
    return [CrawlTarget(d, tuple(u)) for d, u in sorted(by_drama.items())]


def registered_sources(db: Database) -> list[tuple[str, str]]:
    with db.session() as s:
        rows = s.execute(
            select(Source.drama_id, Source.uri).where(Source.enabled.is_(True), Source.drama_id.is_not(None)).order_by(Source.id)
        ).all()
    return [(d, u) for d, uri in rows for u in _split_uri(uri)]


def scan_targets(settings: Settings, configured: Mapping[str, list[str]] | None = None,
                 include_registered: bool = True) -> list[CrawlTarget]:
    """Everything to crawl now; marks the registered sources as scanned."""
    pairs: list[tuple[str, str]] = [(d, u) for d, uris in (configured or {}).items() for u in uris]
    if not include_registered:
        return merge_targets(pairs)
    db = Database(settings.database_url or "")
    try:
        db.upgrade()
        registered = registered_sources(db)
        with db.session() as s:
            s.execute(update(Source).where(Source.enabled.is_(True)).values(last_scanned_at=datetime.now(timezone.utc)))
    finally:
        db.dispose()
    return merge_targets(registered, pairs)


def dramas_with_new_episodes(settings: Settings, dag_run_id: str, dramas: Iterable[str]) -> list[str]:
    """Dramas whose ingest in ``dag_run_id`` succeeded and registered new or changed episodes."""
    wanted = set(dramas)
    db = Database(settings.database_url or "")
    try:
        with db.session() as s:
            runs = s.scalars(
                select(StepRun).where(StepRun.step == "ingest", StepRun.dag_run_id == dag_run_id, StepRun.status == "success")
            ).all()
            new = {r.drama_id for r in runs if r.drama_id in wanted and int((r.counts or {}).get("new", 0)) > 0}
    finally:
        db.dispose()
    return sorted(new)


def ingest_outcomes(settings: Settings, dag_run_id: str, dramas: Iterable[str]) -> dict[str, bool]:
    """Per drama: did an ingest attempt in ``dag_run_id`` succeed? (No attempt at all: False.)"""
    wanted = set(dramas)
    db = Database(settings.database_url or "")
    try:
        with db.session() as s:
            rows = s.execute(
                select(StepRun.drama_id, StepRun.status).where(StepRun.step == "ingest", StepRun.dag_run_id == dag_run_id)
            ).all()
    finally:
        db.dispose()
    ok = {d: False for d in wanted}
    for drama, status in rows:
        if drama in ok and status == "success":
            ok[drama] = True
    return ok
