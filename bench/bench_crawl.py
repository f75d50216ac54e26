"""How the crawl's planning scales with the number of registered sources.

    python bench/bench_crawl.py [--sources 3000,30000,300000] [--files-per-drama 100] [--url DB_URL]

Registers synthetic enabled sources in a fresh lineage database (SQLite in a temporary folder, or
``--url``, e.g. a throwaway Postgres database), one row per file (the worst case: ops registering
files one by one rather than their folders), ``--files-per-drama`` files to a drama. Then times what
the crawl DAG's planning tasks do, with Python's allocation peak (tracemalloc):
``scan_targets`` (read the table, pick at most ``SKYSCRIPT_ORCH_CRAWL_MAX_DRAMAS`` dramas, mark
their rows scanned) and ``group_targets`` (share them among ``SKYSCRIPT_ORCH_CRAWL_MAX_TASKS``
ingest tasks), and prints the task counts that follow: ingest tasks, annotation runs, and the
longest ``skyscript step ingest`` command line one drama gets. No Airflow runs here; the
3,000-file crawl in ``tests/integration/dags/test_crawl_scale.py`` runs the real DAG.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from skyscript.config import Settings
from skyscript.db import lineage
from skyscript.db.engine import Database
from skyscript.db.models import Source
from skyscript.orchestration.commands import StepInvocation
from skyscript.orchestration.config import OrchestrationSettings
from skyscript.orchestration.crawl import group_targets, scan_targets


def register(settings: Settings, n: int, per_drama: int) -> int:
    db = Database(settings.database_url or "")
    db.upgrade()
    rows = [{"id": f"src-{i:07d}", "uri": f"/library/drama-{i // per_drama:05d}/ep{i % per_drama:04d}.mp4",
             "kind": "file", "drama_id": f"drama-{i // per_drama:05d}", "enabled": True} for i in range(n)]
    with db.session() as s:
        for i in range(0, n, 5000):
            lineage.upsert(s, Source, rows[i : i + 5000], ["id"])
    db.dispose()
    return len({r["drama_id"] for r in rows})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--sources", default="3000,30000,300000")
    ap.add_argument("--files-per-drama", type=int, default=100)
    ap.add_argument("--url", default=None, help="lineage database (default: SQLite in a temporary folder)")
    args = ap.parse_args(argv)
    orch = OrchestrationSettings()
    max_dramas, max_tasks = min(orch.crawl_max_dramas, 1024), orch.crawl_max_tasks
    print(f"per crawl: at most {max_dramas} dramas, {max_tasks} ingest tasks; {args.files_per_drama} file sources a drama")
    print(f"{'sources':>8} {'dramas':>7} {'taken':>6} {'ingest tasks':>12} {'runs <=':>7} {'scan s':>7} {'peak MB':>8} "
          f"{'longest cmd KB':>14}")
    for n in (int(x) for x in args.sources.split(",") if x.strip()):
        tmp = Path(tempfile.mkdtemp(prefix="bench-crawl-"))
        try:
            settings = Settings(home=tmp / "home", database_url=args.url)
            dramas = register(settings, n, args.files_per_drama)
            tracemalloc.start()
            t0 = time.perf_counter()
            targets = scan_targets(settings, {}, max_dramas=max_dramas)
            groups = group_targets(targets, max_tasks)
            seconds = time.perf_counter() - t0
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            longest = max(len(" ".join(StepInvocation("ingest", t.drama, sources=t.sources).args())) for t in targets)
            print(f"{n:8d} {dramas:7d} {len(targets):6d} {len(groups):12d} {len(targets):7d} {seconds:7.2f} {peak:8.1f} "
                  f"{longest / 1024:14.1f}", flush=True)
            if args.url:  # a shared database: leave it as found
                db = Database(args.url)
                with db.session() as s:
                    s.query(Source).where(Source.id.like("src-%")).delete(synchronize_session=False)
                db.dispose()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
