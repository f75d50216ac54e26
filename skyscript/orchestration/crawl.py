"""The crawl: which sources to scan for which drama, and which dramas got new episodes.

Sources come from the lineage database's ``source`` table (enabled rows with a drama) and from
a configured ``{drama: [uri, ...]}`` mapping; the ingest step registers what it finds. A drama
gets an annotation run when its ingest in this crawl registered new (or changed) episodes,
read back from the ingest step runs' counts, so the same logic works whether ingest ran in a
pod or locally.

Tasks stay bounded whatever the corpus: a source is a folder, a URL or an S3 prefix that the
ingest step lists itself (never a task per file), each drama's sources go to one ``skyscript step
ingest`` call, and the dramas share at most ``SKYSCRIPT_ORCH_CRAWL_MAX_TASKS`` ingest tasks
(:func:`group_targets`), so 6,660 dramas stay within Airflow's ``[core] max_map_length``.
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


def group_targets(targets: list[CrawlTarget], max_groups: int) -> list[list[CrawlTarget]]:
    """The targets, in order, in at most ``max_groups`` groups of near-equal size (one ingest task
    each)."""
    if max_groups < 1:
        raise ValueError(f"max_groups must be at least 1, got {max_groups}")
    if not targets:
        return []
    n = min(max_groups, len(targets))
    size, extra = divmod(len(targets), n)
    groups, start = [], 0
    for i in range(n):
        end = start + size + (1 if i < extra else 0)
        groups.append(targets[start:end])
        start = end
    return groups


def _registered(db: Database) -> list[tuple[str, str, datetime | None]]:
    with db.session() as s:
        rows = s.execute(
            select(Source.drama_id, Source.uri, Source.last_scanned_at)
            .where(Source.enabled.is_(True), Source.drama_id.is_not(None)).order_by(Source.id)
        ).all()
    return [(d, u, t) for d, uri, t in rows for u in _split_uri(uri)]


def _stalest_first(registered: list[tuple[str, str, datetime | None]]) -> list[str]:
    """Dramas of the registered sources, the one scanned longest ago (or never) first."""
    last: dict[str, float] = {}
    for drama, _, scanned in registered:
        t = scanned.timestamp() if scanned is not None else float("-inf")
        last[drama] = min(last.get(drama, t), t)
    return sorted(last, key=lambda d: (last[d], d))


def scan_targets(settings: Settings, configured: Mapping[str, list[str]] | None = None,
                 include_registered: bool = True, max_dramas: int | None = None) -> list[CrawlTarget]:
    """Everything to crawl now, at most ``max_dramas`` dramas: the configured ones first, then
    the registered dramas scanned longest ago (the others wait for the next crawl). Marks the
    registered sources of the dramas taken as scanned."""
    pairs: list[tuple[str, str]] = [(d, u) for d, uris in (configured or {}).items() for u in uris]
    if not include_registered:
        targets = merge_targets(pairs)
        return targets if max_dramas is None else targets[:max_dramas]
    db = Database(settings.database_url or "")
    try:
        db.upgrade()
        registered = _registered(db)
        order = list(dict.fromkeys([d for d, _ in pairs] + _stalest_first(registered)))
        taken = set(order if max_dramas is None else order[:max_dramas])
        now = datetime.now(timezone.utc)
        with db.session() as s:
            chosen = sorted(taken)
            for i in range(0, len(chosen), 500):
                s.execute(update(Source).where(Source.enabled.is_(True), Source.drama_id.in_(chosen[i : i + 500]))
                          .values(last_scanned_at=now))
    finally:
        db.dispose()
    return merge_targets([(d, u) for d, u, _ in registered if d in taken], [(d, u) for d, u in pairs if d in taken])


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
