"""
### SkyScript: calibrate annotation accuracy

The paper's calibration loop (200-500 packets reviewed, returned for repair until accuracy
exceeds 90%), one round per run:

1. **sample** draws a seeded, stratified batch of packets from `dramas` (or takes `batch_id`, the
   batch a previous round drew);
2. **wait_for_review** waits until every packet has its reviews (in the Airflow "Calibration
   review" page or imported from Label Studio with `skyscript calibrate import`). It is a sensor in
   *reschedule* mode: between checks (`SKYSCRIPT_CALIBRATION__REVIEW_POKE_S`, 300 s) it frees its
   worker slot; it gives up after `SKYSCRIPT_CALIBRATION__REVIEW_TIMEOUT_H` (72 h);
3. **accuracy_gate** validates the batch with Great Expectations: the Wilson 95% lower bound of
   item accuracy must reach `thresholds.min_accuracy` (0.90; `SKYSCRIPT_CALIBRATION__GATE_ON=point`
   gates on the point estimate). The report lands in the public store under
   `reports/calibration/<batch>/`;
4. **audit_reports** refreshes the dramas' audit reports and GX Data Docs, pass or fail;
5. passed: **done**. Failed: **rework** records the failing fields and the steps that own them
   (**rerun_privacy / rerun_shot_size / rerun_keyinfo** re-run those steps, as pods in Kubernetes
   mode, when `rerun_steps` is set), **resample** draws the next round's batch
   from keyframes not yet reviewed, and **next_round** triggers this DAG again with that batch,
   until a batch passes or `calibration.max_rounds` is reached.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import importlib.util
import sys
from pathlib import Path

from airflow.sdk import DAG, Param, TriggerRule, chain, task

if importlib.util.find_spec("operators") is None:  # parsed from a checkout: operators/ is beside dags/
    sys.path.append(str(Path(__file__).resolve().parents[1]))

from operators import step_operator  # noqa: E402
from skyscript.orchestration.config import OrchestrationSettings  # noqa: E402
from skyscript.steps import registry  # noqa: E402

ORCH = OrchestrationSettings()
# the steps whose annotations a reviewer judges, in pipeline order (what rework may re-run)
REWORK_STEPS = [spec for spec in registry.episode_steps() if spec.name in ("privacy", "shot_size", "keyinfo")]

PARAMS = {
    "dramas": Param(
        ["example-drama"], type="array", items={"type": "string", "pattern": r"^[a-z0-9]+(-[a-z0-9]+)*$"}, minItems=1,
        title="Dramas", description="Dramas to sample packets from (finished runs). Ignored when a batch id is given.",
    ),
    "size": Param(
        None, type=["null", "integer"], minimum=1, title="Packets per batch",
        description="Optional. Empty: the platform setting (SKYSCRIPT_CALIBRATION__BATCH_SIZE, 200; the paper's range "
                    "is 200-500). Never more than the dramas have.",
    ),
    "seed": Param(
        None, type=["null", "integer"], title="Random seed",
        description="Optional. Empty: a fresh seed, recorded on the batch so the draw can be repeated.",
    ),
    "batch_id": Param(
        None, type=["null", "string"], title="Batch id",
        description="Optional. Continue with this batch instead of drawing one (the next round passes it).",
    ),
    "rerun_steps": Param(
        False, type="boolean", title="Re-run steps on rework",
        description="When a batch fails, re-run the steps that own the failing fields before resampling "
                    "(after a model, prompt or setting changed; reviewers' corrections survive).",
    ),
}


def _settings() -> Any:
    from skyscript.config import Settings

    return Settings()


CAL = _settings().calibration  # environment only: parsing touches no database


@task
def sample(params: dict[str, Any] | None = None) -> str:
    """Draw the batch (or take the one given); returns its id."""
    from skyscript.calibration.sampling import create_batch
    from skyscript.db.engine import Database

    assert params is not None
    if params.get("batch_id"):
        return str(params["batch_id"])
    settings = _settings()
    db = Database(settings.database_url or "")
    db.upgrade()
    try:
        with db.session() as s:
            b = create_batch(s, settings, list(params["dramas"]), size=params.get("size"), seed=params.get("seed"),
                             created_by="airflow:skyscript_calibration")
            print(f"batch {b.id}: {b.size} packets from {b.population} keyframes, seed {b.seed}")
            return b.id
    finally:
        db.dispose()


@task.sensor(mode="reschedule", poke_interval=CAL.review_poke_s, timeout=CAL.review_timeout_h * 3600)
def wait_for_review(batch_id: str) -> Any:
    """Done when every packet of the batch has its reviews."""
    from airflow.sdk import PokeReturnValue

    from skyscript.calibration.review import progress
    from skyscript.db.engine import Database

    db = Database(_settings().database_url or "")
    try:
        with db.session() as s:
            p = progress(s, batch_id)
    finally:
        db.dispose()
    print(f"batch {batch_id}: {p['complete']}/{p['packets']} packets fully reviewed")
    return PokeReturnValue(is_done=p["packets"] > 0 and p["complete"] == p["packets"], xcom_value=p)


@task.branch
def accuracy_gate(batch_id: str) -> str:
    """Great Expectations validation of the batch's accuracy; branches to done or rework."""
    from skyscript.audit.publish import publish_batch_reports
    from skyscript.calibration.gate import run_accuracy_gate
    from skyscript.db.engine import Database
    from skyscript.store import open_store

    settings = _settings()
    store = open_store(settings)
    db = Database(settings.database_url or "")
    try:
        with db.session() as s:
            res = run_accuracy_gate(s, settings, store, batch_id)
        with db.session() as s:
            publish_batch_reports(s, settings, store, batch_id)
    finally:
        db.dispose()
    assert res.report.gate is not None
    print(f"accuracy gate {'passed' if res.passed else 'FAILED'}: {res.report.gate.reason} (report public/{res.report_key})")
    return "done" if res.passed else "rework"


@task
def done(batch_id: str) -> str:
    return batch_id


@task(trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
def audit_reports(batch_id: str) -> dict[str, str]:
    """Refresh the auditors' reports of the batch's dramas (audit report, Data Docs), pass or fail."""
    from skyscript.audit.publish import publish_drama_reports
    from skyscript.db.engine import Database
    from skyscript.db.models import CalibrationBatch

    settings = _settings()
    db = Database(settings.database_url or "")
    try:
        with db.session() as s:
            b = s.get(CalibrationBatch, batch_id)
            dramas = list(b.dramas) if b is not None else []
    finally:
        db.dispose()
    out = {}
    for d in dramas:
        out[d] = publish_drama_reports(settings, d)["audit"]
        print(f"audit report of {d}: public/{out[d]}")
    return out


@task(multiple_outputs=False)  # one XCom: the plan (a dict annotation would split it by key)
def rework(batch_id: str) -> dict[str, Any]:
    """Record the failing fields and the steps that own them."""
    from skyscript.calibration.rework import rework as do_rework
    from skyscript.db.engine import Database

    settings = _settings()
    db = Database(settings.database_url or "")
    try:
        with db.session() as s:
            plan = do_rework(s, batch_id)
    finally:
        db.dispose()
    print(f"rework of {batch_id}: fields {plan.fields}, steps {plan.steps}")
    return plan.model_dump(mode="json")


@task
def rerun_targets(plan: dict[str, Any], params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """What the rerun step tasks are mapped over: one entry per drama, empty unless ``rerun_steps``."""
    assert params is not None
    if not params.get("rerun_steps"):
        return []
    out = []
    for d in plan["dramas"]:
        eps = [e for e in plan["episodes"] if e.startswith(f"{d}--")]
        if eps:
            out.append({"drama": d, "episodes": eps})
    return out


@task(trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS, multiple_outputs=False)
def resample(plan: dict[str, Any], params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Draw the next round's batch; returns the next run's configuration."""
    from skyscript.calibration.rework import resample as do_resample
    from skyscript.db.engine import Database

    assert params is not None
    settings = _settings()
    db = Database(settings.database_url or "")
    try:
        with db.session() as s:
            b = do_resample(s, settings, plan["batch_id"], size=params.get("size"))
            new_id = b.id
    finally:
        db.dispose()
    return {**{k: params[k] for k in PARAMS}, "batch_id": new_id}


with DAG(
    dag_id="skyscript_calibration",
    description="Calibrate accuracy: sample packets, wait for review, gate (Wilson lower bound >= 90%), rework, resample",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params=PARAMS,
    doc_md=__doc__,
    tags=["skyscript", "calibration"],
    max_active_runs=4,
    default_args=ORCH.default_args(),
) as dag:
    from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

    batch = sample()
    reviewed = wait_for_review(batch)
    branch = accuracy_gate(batch)
    plan = rework(batch)
    targets = rerun_targets(plan)
    reruns = [
        step_operator(
            spec, task_id=f"rerun_{spec.name}", expand_kwargs=targets, trigger_rule=TriggerRule.NONE_FAILED,
            skip="{{ '%s' not in ti.xcom_pull(task_ids='rework')['steps'] }}" % spec.name,
        )
        for spec in REWORK_STEPS
    ]
    conf = resample(plan)
    next_round = TriggerDagRunOperator(
        task_id="next_round", trigger_dag_id="skyscript_calibration", conf=conf, wait_for_completion=False,
    )
    finished = done(batch)
    reviewed >> branch
    branch >> [finished, plan]
    [finished, plan] >> audit_reports(batch)  # after whichever branch ran
    chain(targets, *reruns, conf, next_round)
