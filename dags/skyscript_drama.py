"""
### SkyScript: annotate one drama

Runs the SkyScript pipeline on one drama, step by step from the step registry
(`skyscript.steps.registry.PIPELINE`):

0. **claim_drama** takes the drama for this run: one run per drama at a time (Airflow's own
   `max_active_runs` counts runs of the DAG, all dramas together). While another run, or a
   `skyscript run`, holds the drama, it waits without holding a worker slot, up to
   `SKYSCRIPT_ORCH_DRAMA_WAIT_S` (6 h; 0: fail at once), then fails naming the holder. A hold left by
   a run Airflow already counts as finished is taken over at once;
1. **ingest** registers the `sources` (files, folders, http(s) URLs, `s3://` prefixes) as
   episodes and copies them to the private area (skipped when `sources` is empty or
   `skip_ingest` is set, e.g. when the crawl already ingested);
2. **plan_batches** splits the drama's episodes into batches of `batch_size`, at most
   `SKYSCRIPT_ORCH_MAX_BATCHES` (256) of them and never more than Airflow's `[core] max_map_length`:
   the batch size grows for very long dramas (10,000 episodes: 200 batches of 50 at the default size);
3. **episodes** is a task group mapped over the batches: every episode step of the registry runs
   on the batch (`skyscript step NAME --drama D --episode E ...`) after the steps whose outputs it
   reads, so independent steps run side by side, in a GPU-pinned pod in Kubernetes mode or on the
   worker in local mode (`steps` picks a subset; the others are skipped);
4. the registry's **drama steps** run once every batch is through, in graph order;
5. **loss_gate** validates the drama's loss numbers with Great Expectations (loss rate at most
   `max_loss_rate`, default 4%; no episode left with a failed step), keeps the result for auditors
   in the published store under `reports/<drama>/loss-gate/`, fails the run when it breaks, and
   gives the drama back (it fails at once when this run never got the drama).

Runs the crawl starts are named `crawl__<drama>__<crawl run>`; name a run you start by hand
`drama__<drama>__<anything>` to find it by drama (a run started without a run id gets the note
`drama <drama>` when it starts, from the SkyScript plugin).

Every write is keyed on drama/episode/shot/frame ids, so a retry or a second run of the same drama
replaces outputs and duplicates nothing. Lineage records this run's id and each try number.
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, Param, TriggerRule, task, task_group

if importlib.util.find_spec("operators") is None:  # parsed from a checkout: operators/ is beside dags/
    sys.path.append(str(Path(__file__).resolve().parents[1]))

from operators import step_operator  # noqa: E402
from skyscript.orchestration.config import OrchestrationSettings  # noqa: E402
from skyscript.steps import registry  # noqa: E402

ORCH = OrchestrationSettings()

DEFAULT_ARGS: dict[str, Any] = ORCH.default_args()

PARAMS = {
    "drama": Param(
        "example-drama", type="string", pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", title="Drama id",
        description="The drama to annotate: lower-case letters, digits and '-' (its episodes are <drama>--<file stem>).",
    ),
    "sources": Param(
        [], type=["array", "null"], items={"type": "string"}, title="Sources to ingest",
        description="Files, folders, http(s) URLs or s3://bucket/prefix to register as episodes first. "
                    "Empty: annotate the episodes already registered for the drama.",
    ),
    "skip_ingest": Param(
        False, type="boolean", title="Skip ingest",
        description="Set when the episodes were just ingested (the crawl DAG does this).",
    ),
    "force": Param(
        False, type="boolean", title="Redo unchanged steps",
        description="Redo every step, also those whose inputs, version and settings are unchanged since their "
                    "last success (otherwise they are skipped and recorded as unchanged).",
    ),
    "steps": Param(
        [], type=["array", "null"],
        items={"type": "string", "enum": [spec.name for spec in registry.episode_steps() + registry.drama_steps()]},
        title="Steps",
        description="Run only these steps (the graph keeps its order); empty: every step of the registry. "
                    "Steps: " + ", ".join(spec.name for spec in registry.episode_steps() + registry.drama_steps()) + ".",
    ),
    "batch_size": Param(
        ORCH.batch_size, type="integer", minimum=1, maximum=100_000, title="Episodes per batch",
        description="Episodes handled by one mapped task instance. Airflow maps at most [core] max_map_length "
                    "items (1024 by default): for longer dramas the batch size grows to fit.",
    ),
    "max_loss_rate": Param(
        None, type=["null", "number"], minimum=0, maximum=1, title="Loss gate threshold",
        description="Highest loss rate the gate accepts; empty: the platform setting "
                    "(SKYSCRIPT_THRESHOLDS__MAX_LOSS_RATE, 0.04).",
    ),
}


def _airflow_run_state(ti: Any) -> Any:
    """What Airflow knows of a run id holding a drama: "active", "finished" or None (a run of
    neither SkyScript DAG, e.g. a `skyscript run`). Asked through the task's execution API."""

    def state(run_id: str) -> str | None:
        for dag_id in ("skyscript_drama", "skyscript_crawl"):
            if ti.get_dr_count(dag_id=dag_id, run_ids=[run_id]):
                active = ti.get_dr_count(dag_id=dag_id, run_ids=[run_id], states=["queued", "running"])
                return "active" if active else "finished"
        return None

    return state


@task.sensor(
    queue=ORCH.light_queue, mode="reschedule", poke_interval=ORCH.drama_poke_s, retries=0,
    timeout=ORCH.drama_wait_s + 3 * ORCH.drama_poke_s,  # a backstop: the task fails with its own message first
)
def claim_drama(params: dict[str, Any] | None = None, run_id: str | None = None, ti: Any = None) -> Any:
    """Take the drama for this run, or wait while another run holds it (no worker slot held)."""
    from datetime import datetime, timezone

    from airflow.sdk import PokeReturnValue, get_current_context
    from airflow.sdk.exceptions import AirflowFailException

    from skyscript.config import Settings
    from skyscript.orchestration.claim import claim_drama as claim

    assert params is not None and run_id is not None and ti is not None
    result = claim(Settings(), params["drama"], run_id, _airflow_run_state(ti))
    print(result.message())
    if result.claimed:
        return PokeReturnValue(is_done=True, xcom_value=result.as_dict())
    first = ti.get_first_reschedule_date(get_current_context()) or datetime.now(timezone.utc)
    waited = (datetime.now(timezone.utc) - first).total_seconds()
    if waited >= ORCH.drama_wait_s:
        raise AirflowFailException(
            f"{result.message()}; this run gave up after waiting {waited:.0f} s (SKYSCRIPT_ORCH_DRAMA_WAIT_S="
            f"{ORCH.drama_wait_s:g}); start it again once run {result.holder} is over"
        )
    return PokeReturnValue(is_done=False)


@task(queue=ORCH.light_queue, trigger_rule=TriggerRule.NONE_FAILED)
def plan_batches(params: dict[str, Any] | None = None) -> list[list[str]]:
    """The drama's episodes, in id order, in batches for mapping (a bounded number of them)."""
    from airflow.sdk import conf

    from skyscript.config import Settings
    from skyscript.orchestration.batching import batch_limit, plan_drama

    assert params is not None
    limit = batch_limit(ORCH.max_batches, conf.getint("core", "max_map_length"))
    plan = plan_drama(Settings(), params["drama"], int(params["batch_size"]), limit)
    print(f"{plan.episodes} episodes in {len(plan.batches)} batches of at most {plan.batch_size} (at most {limit} batches)")
    return plan.batches


@task(queue=ORCH.light_queue, trigger_rule=TriggerRule.ALL_DONE, retries=0)
def loss_gate(batches: list[list[str]] | None, claim: dict[str, Any] | None, params: dict[str, Any] | None = None,
              run_id: str | None = None) -> dict[str, Any]:
    """Great Expectations validation of the drama's loss numbers; fails the run above the threshold.
    Gives the drama back to the next run."""
    from airflow.sdk.exceptions import AirflowFailException

    from skyscript.audit.publish import publish_drama_reports
    from skyscript.config import Settings
    from skyscript.context import open_context
    from skyscript.orchestration.claim import release_dramas
    from skyscript.quality.gate import run_loss_gate

    assert params is not None
    if not claim:  # another run has the drama: its gate, not this one, judges it; this run failed
        raise AirflowFailException(f"drama {params['drama']} was never this run's (see claim_drama): no gate")
    settings = Settings()
    ctx = open_context(settings, params["drama"], dag_run_id=run_id)
    try:
        result = run_loss_gate(ctx, batches=batches, max_loss_rate=params.get("max_loss_rate"), run_id=run_id)
        publish_drama_reports(settings, params["drama"])  # the audit page and Data Docs, as `skyscript run`
    finally:
        ctx.db.dispose()
        release_dramas(settings, run_id or "", [params["drama"]])  # the run is over: the drama is free
    if not result.passed:
        raise AirflowFailException(
            f"loss gate failed for {result.drama_id}: " + "; ".join(result.failures) + f" (report public/{result.report_key})"
        )
    return result.summary()


with DAG(
    dag_id="skyscript_drama",
    description="Annotate one drama: ingest, the registry's episode steps in mapped batches, the loss gate",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params=PARAMS,
    default_args=DEFAULT_ARGS,
    render_template_as_native_obj=True,
    doc_md=__doc__,
    tags=["skyscript", "annotation"],
    max_active_runs=ORCH.max_active_runs,  # all dramas together; one run per drama is claim_drama's job
) as dag:
    claim = claim_drama()
    ingest = step_operator(
        registry.get("ingest"), sources="{{ params.sources }}", skip="{{ params.skip_ingest }}",
    )
    batches = plan_batches()

    @task_group(group_id="episodes", tooltip="the registry's episode steps on one batch of episodes, as a graph")
    def episode_batch(episodes: Any) -> None:
        tasks: dict[str, Any] = {}
        for spec in registry.episode_steps():
            tasks[spec.name] = step_operator(
                spec, episodes=episodes, trigger_rule=TriggerRule.NONE_FAILED,
                # the grid names each mapped instance by its episodes, not "Map Index 0"
                map_index_template="{{ (task.episodes | first) if task.episodes else '-' }}"
                                   "{{ (' +%d' % ((task.episodes | length) - 1)) if (task.episodes | length) > 1 else '' }}",
                skip="{{ ((params.steps or []) | length > 0) and ('%s' not in (params.steps or [])) }}" % spec.name,
            )
            for upstream in spec.after:
                if upstream in tasks:
                    tasks[upstream] >> tasks[spec.name]

    # drama steps (characters, scenes, scripts...) run once every batch is through, in graph order
    drama_tasks: dict[str, Any] = {}
    for spec in registry.drama_steps():
        drama_tasks[spec.name] = step_operator(
            spec, trigger_rule=TriggerRule.NONE_FAILED,
            skip="{{ ((params.steps or []) | length > 0) and ('%s' not in (params.steps or [])) }}" % spec.name,
        )
        for upstream in spec.after:
            if upstream in drama_tasks:
                drama_tasks[upstream] >> drama_tasks[spec.name]

    gate = loss_gate(batches, claim)
    claim >> ingest >> batches
    last: Any = batches
    if registry.episode_steps():
        last = episode_batch.expand(episodes=batches)
        if not drama_tasks:
            last >> gate
    for t in drama_tasks.values():
        last >> t
        t >> gate
