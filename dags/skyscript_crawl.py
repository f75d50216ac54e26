"""
### SkyScript: crawl sources and start annotation runs

On the schedule the ops team sets (`SKYSCRIPT_ORCH_CRAWL_SCHEDULE`, a cron expression or preset;
empty for manual runs only):

1. **scan_sources** collects what to crawl: the enabled rows of the lineage database's `source`
   table that name a drama, the configured `SKYSCRIPT_ORCH_CRAWL_SOURCES` (`{"drama": ["uri", ...]}`)
   and the `sources` given to this run; at most `SKYSCRIPT_ORCH_CRAWL_MAX_DRAMAS` dramas (1024,
   within `[core] max_map_length`): the given ones first, then those scanned longest ago;
2. **plan_ingest** shares the dramas among at most `SKYSCRIPT_ORCH_CRAWL_MAX_TASKS` (64) ingest
   tasks; a source is a folder, URL or prefix the ingest step lists itself, never a task per file;
3. **ingest** (mapped over those groups; one `skyscript step ingest` per drama) registers new and
   changed episodes; unchanged files (same path, size and mtime, or the same content digest) are
   skipped;
4. **select_dramas** reads back, from lineage, which dramas got new episodes in this run, and gives
   back the dramas this run's ingest held;
5. **start_annotation** triggers one `skyscript_drama` run per such drama (conf: the drama, its
   sources, `skip_ingest`), with the run id `crawl__<drama>__<this run>` (so a retry starts nothing
   twice) and the note `drama <drama>`;
6. **crawl_report** fails this run when a drama's ingest failed (the others still go on).
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, Param, TriggerRule, task

if importlib.util.find_spec("operators") is None:  # parsed from a checkout: operators/ is beside dags/
    sys.path.append(str(Path(__file__).resolve().parents[1]))

from operators import step_operator  # noqa: E402
from skyscript.orchestration.config import OrchestrationSettings  # noqa: E402
from skyscript.steps import registry  # noqa: E402

ORCH = OrchestrationSettings()
ANNOTATION_DAG = "skyscript_drama"

DEFAULT_ARGS: dict[str, Any] = ORCH.default_args()

PARAMS = {
    "sources": Param(
        {}, type="object", additionalProperties={"type": "array", "items": {"type": "string"}},
        title="Extra sources",
        description='Crawl these too, as {"drama-id": ["/path/or/folder", "https://...", "s3://bucket/prefix"]}, '
                    "besides the source table and SKYSCRIPT_ORCH_CRAWL_SOURCES.",
    ),
    "include_registered": Param(
        True, type="boolean", title="Crawl registered sources",
        description="Also crawl the enabled rows of the lineage database's source table.",
    ),
    "batch_size": Param(
        ORCH.batch_size, type="integer", minimum=1, maximum=100_000, title="Episodes per batch",
        description="Passed on to each annotation run.",
    ),
}


@task(queue=ORCH.light_queue)
def scan_sources(params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every (drama, sources) to crawl now (a bounded number of dramas)."""
    from airflow.sdk import conf

    from skyscript.config import Settings
    from skyscript.orchestration.crawl import scan_targets

    assert params is not None
    configured = {**ORCH.crawl_sources, **(params.get("sources") or {})}
    targets = scan_targets(Settings(), configured, include_registered=bool(params.get("include_registered", True)),
                           max_dramas=min(ORCH.crawl_max_dramas, conf.getint("core", "max_map_length")))
    print(f"crawling {len(targets)} dramas: " + ", ".join(t.drama for t in targets))
    return [t.as_dict() for t in targets]


@task(queue=ORCH.light_queue)
def plan_ingest(targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The dramas shared among a bounded number of ingest tasks (their mapped arguments)."""
    from airflow.sdk import conf

    from skyscript.orchestration.crawl import CrawlTarget, group_targets

    limit = min(ORCH.crawl_max_tasks, conf.getint("core", "max_map_length"))
    groups = group_targets([CrawlTarget(t["drama"], tuple(t["sources"])) for t in targets], limit)
    print(f"{len(targets)} dramas in {len(groups)} ingest tasks (at most {limit})")
    return [{"targets": [t.as_dict() for t in g]} for g in groups]


@task(queue=ORCH.light_queue, trigger_rule=TriggerRule.ALL_DONE)
def select_dramas(targets: list[dict[str, Any]], params: dict[str, Any] | None = None,
                  run_id: str | None = None) -> list[dict[str, Any]]:
    """One trigger per drama whose ingest in this run registered new episodes."""
    from skyscript.config import Settings
    from skyscript.ids import slug
    from skyscript.orchestration.claim import release_dramas
    from skyscript.orchestration.crawl import dramas_with_new_episodes

    assert params is not None and run_id is not None
    by_drama = {t["drama"]: t for t in targets}
    settings = Settings()
    # ingest held each drama for this run: give them back, or the annotation runs would wait for it
    release_dramas(settings, run_id, list(by_drama))
    new = dramas_with_new_episodes(settings, run_id, list(by_drama))
    print(f"{len(new)} of {len(by_drama)} dramas have new episodes: {', '.join(new)}")
    return [
        {
            "trigger_run_id": f"crawl__{d}__{slug(run_id, 120)}",
            "conf": {"drama": d, "sources": by_drama[d]["sources"], "skip_ingest": True,
                     "batch_size": int(params["batch_size"])},
            "note": f"drama {d} (new episodes found by crawl {run_id})",
        }
        for d in new
    ]


@task(queue=ORCH.light_queue, trigger_rule=TriggerRule.ALL_DONE, retries=0)
def crawl_report(targets: list[dict[str, Any]], run_id: str | None = None) -> dict[str, Any]:
    """Fail the crawl when a drama's ingest did not succeed (after the others were started)."""
    from airflow.sdk.exceptions import AirflowFailException

    from skyscript.config import Settings
    from skyscript.orchestration.crawl import ingest_outcomes

    assert run_id is not None
    outcomes = ingest_outcomes(Settings(), run_id, [t["drama"] for t in targets])
    failed = sorted(d for d, ok in outcomes.items() if not ok)
    if failed:
        raise AirflowFailException(f"ingest failed for {len(failed)} dramas: {', '.join(failed)}")
    return {"dramas": len(outcomes), "failed": 0}


with DAG(
    dag_id="skyscript_crawl",
    description="Crawl registered and configured sources, ingest new episodes, start one annotation run per drama",
    schedule=ORCH.crawl_schedule or None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    params=PARAMS,
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    tags=["skyscript", "crawl"],
) as dag:
    targets = scan_sources()
    ingest = step_operator(registry.get("ingest"), expand_kwargs=plan_ingest(targets))
    triggers = select_dramas(targets)
    start = TriggerDagRunOperator.partial(
        task_id="start_annotation", trigger_dag_id=ANNOTATION_DAG, wait_for_completion=False,
        skip_when_already_exists=True, queue=ORCH.light_queue,
    ).expand_kwargs(triggers)
    report = crawl_report(targets)
    ingest >> triggers
    start >> report
