"""The loss gate: a Great Expectations 1.x validation of a drama's loss numbers.

Two tables are validated:

* ``summary``: one row with the drama's loss numbers from :func:`skyscript.quality.loss.loss_report`
  (the same numbers ``skyscript status`` shows); expectation: ``loss_rate <= max_loss_rate``.
* ``episodes``: one row per episode (batch, status, keyframes, lost keyframes, steps whose latest
  attempt did not succeed); expectations: at least one episode, unique episode ids, and no
  episode left with a failed or unfinished step (a failed step's outputs are missing, which the
  loss rows alone do not show).

The result (GX's validation JSON plus the tables and the per-batch loss) is kept for auditors
in the published area under ``reports/<drama>/loss-gate/``. Core code: no Airflow here.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from skyscript.db.models import Episode, Keyframe, Loss, StepRun
from skyscript.ids import Keys, slug
from skyscript.quality.loss import LOST_KEYFRAME_KINDS, loss_report
from skyscript.context import StepContext
from skyscript.store import Area

log = logging.getLogger("skyscript.quality.gate")

EPISODE_COLUMNS = ["episode_id", "batch", "status", "quarantined", "keyframes", "keyframes_lost", "failed_steps", "failed_step_names"]


@dataclass
class GateResult:
    drama_id: str
    run_id: str
    passed: bool
    loss_rate: float
    max_loss_rate: float
    episodes: int
    episodes_with_failed_steps: int
    report_key: str
    failures: list[str] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """What goes to logs and XCom: numbers and the report key only."""
        return {
            "drama_id": self.drama_id, "run_id": self.run_id, "passed": self.passed,
            "loss_rate": round(self.loss_rate, 6), "max_loss_rate": self.max_loss_rate,
            "episodes": self.episodes, "episodes_with_failed_steps": self.episodes_with_failed_steps,
            "report_key": self.report_key, "failures": self.failures,
        }


class LossGateFailed(RuntimeError):
    def __init__(self, result: GateResult) -> None:
        super().__init__(
            f"loss gate failed for drama {result.drama_id}: " + "; ".join(result.failures)
            + f" (report: public/{result.report_key})"
        )
        self.result = result


def _unfinished_steps(session: Session, drama_id: str) -> dict[str, list[str]]:
    """Per episode, the steps whose latest attempt is not a success (failed, or killed while running)."""
    latest = (
        select(func.max(StepRun.id))
        .where(StepRun.drama_id == drama_id, StepRun.episode_id.is_not(None))
        .group_by(StepRun.step, StepRun.episode_id)
    )
    rows = session.execute(
        select(StepRun.episode_id, StepRun.step, StepRun.status).where(StepRun.id.in_(latest))
    ).all()
    out: dict[str, list[str]] = {}
    for ep, step, status in rows:
        if status not in ("success", "unchanged"):  # unchanged: skipped on a re-run, inputs as before
            out.setdefault(ep, []).append(step)
    return out


def episode_rows(session: Session, drama_id: str, batches: Sequence[Sequence[str]] | None = None) -> list[dict[str, Any]]:
    batch_of = {ep: i for i, b in enumerate(batches or []) for ep in b}
    kf_counts = dict(
        session.execute(
            select(Keyframe.episode_id, func.count()).join(Episode, Keyframe.episode_id == Episode.id)
            .where(Episode.drama_id == drama_id).group_by(Keyframe.episode_id)
        ).all()
    )
    lost = dict(
        session.execute(
            select(Loss.episode_id, func.count(func.distinct(Loss.item_id)))
            .where(Loss.drama_id == drama_id, Loss.item_kind.in_(LOST_KEYFRAME_KINDS)).group_by(Loss.episode_id)
        ).all()
    )
    unfinished = _unfinished_steps(session, drama_id)
    rows = []
    for ep in session.scalars(select(Episode).where(Episode.drama_id == drama_id).order_by(Episode.id)):
        quarantined = ep.status == "quarantined"
        # a quarantined episode's failed step is its quarantine, counted as a loss already
        failed = [] if quarantined else sorted(unfinished.get(ep.id, []))
        rows.append({
            "episode_id": ep.id, "batch": batch_of.get(ep.id, -1), "status": ep.status,
            "quarantined": int(quarantined), "keyframes": int(kf_counts.get(ep.id, 0)),
            "keyframes_lost": int(lost.get(ep.id, 0)), "failed_steps": len(failed),
            "failed_step_names": ",".join(failed),
        })
    return rows


def batch_losses(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Loss per batch (for the auditors' report; the gate itself is on the drama)."""
    out: dict[int, dict[str, Any]] = {}
    for r in rows:
        b = out.setdefault(r["batch"], {"batch": r["batch"], "episodes": 0, "episodes_lost": 0, "keyframes": 0, "keyframes_lost": 0})
        b["episodes"] += 1
        b["episodes_lost"] += r["quarantined"]
        b["keyframes"] += r["keyframes"]
        b["keyframes_lost"] += r["keyframes_lost"]
    for b in out.values():
        ep_rate = b["episodes_lost"] / b["episodes"] if b["episodes"] else 0.0
        kf_rate = b["keyframes_lost"] / b["keyframes"] if b["keyframes"] else 0.0
        b["loss_rate"] = round(max(ep_rate, kf_rate), 6)
    return [out[k] for k in sorted(out)]


def _check(kind: str, success: bool, observed: Any, **kwargs: Any) -> dict[str, Any]:
    return {"success": success, "expectation_config": {"type": kind, "kwargs": kwargs},
            "result": {"observed_value": observed}}


def _validate_python(summary: dict[str, Any], episodes: list[dict[str, Any]], max_loss_rate: float) -> dict[str, Any]:
    """The same two suites as :func:`_validate`, in plain Python and in GX's result shape: what
    ``skyscript status`` shows and what ``skyscript run`` uses where Great Expectations is not
    installed (the embedded default). One rule set, two engines."""
    ids = [e["episode_id"] for e in episodes]
    summary_results = [
        _check("expect_table_row_count_to_equal", True, 1, value=1),
        _check("expect_column_values_to_be_between", 0.0 <= summary["loss_rate"] <= max_loss_rate, summary["loss_rate"],
               column="loss_rate", min_value=0.0, max_value=max_loss_rate),
    ]
    episode_results = [
        _check("expect_table_row_count_to_be_between", len(episodes) >= 1, len(episodes), min_value=1),
        _check("expect_column_values_to_be_unique", len(set(ids)) == len(ids), len(ids) - len(set(ids)), column="episode_id"),
        _check("expect_column_values_to_be_between", all(e["failed_steps"] == 0 for e in episodes),
               sum(1 for e in episodes if e["failed_steps"]), column="failed_steps", min_value=0, max_value=0),
    ]
    return {
        "summary": {"success": all(r["success"] for r in summary_results), "results": summary_results, "engine": "python"},
        "episodes": {"success": all(r["success"] for r in episode_results), "results": episode_results, "engine": "python"},
    }


def gx_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("great_expectations") is not None


def _validate(summary: dict[str, Any], episodes: list[dict[str, Any]], max_loss_rate: float) -> dict[str, Any]:
    """Run the two expectation suites; returns GX's validation results as JSON dicts."""
    # GX logs about 220 INFO lines on import and per validation; its warnings still show
    import great_expectations as gx
    import great_expectations.expectations as gxe
    import pandas as pd

    from skyscript.quality.gx_context import ephemeral_pandas

    context, source = ephemeral_pandas("skyscript-loss")

    summary_suite = gx.ExpectationSuite(name="drama-loss")
    summary_suite.add_expectation(gxe.ExpectTableRowCountToEqual(value=1))
    summary_suite.add_expectation(
        gxe.ExpectColumnValuesToBeBetween(column="loss_rate", min_value=0.0, max_value=max_loss_rate)
    )
    episode_suite = gx.ExpectationSuite(name="episode-completeness")
    episode_suite.add_expectation(gxe.ExpectTableRowCountToBeBetween(min_value=1))
    episode_suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="episode_id"))
    episode_suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="failed_steps", min_value=0, max_value=0))

    results: dict[str, Any] = {}
    for name, rows, columns, suite in (
        ("summary", [summary], list(summary), summary_suite),
        ("episodes", episodes, EPISODE_COLUMNS, episode_suite),
    ):
        frame = pd.DataFrame(rows, columns=columns)
        batch_def = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("all")
        batch = batch_def.get_batch(batch_parameters={"dataframe": frame})
        results[name] = batch.validate(context.suites.add(suite)).to_json_dict()
    return results


def _failures(results: dict[str, Any], summary: dict[str, Any], episodes: list[dict[str, Any]], max_loss_rate: float,
              by_reason: dict[str, int], drama_id: str) -> list[str]:
    """What failed, in words an operator can act on (GX's own results stay in the report)."""
    out = []
    for table, res in results.items():
        for r in res.get("results", []):
            if r.get("success"):
                continue
            cfg = r.get("expectation_config", {})
            kind, column = cfg.get("type"), cfg.get("kwargs", {}).get("column")
            if table == "summary" and column == "loss_rate":
                reasons = ", ".join(f"{k} {v}" for k, v in sorted(by_reason.items(), key=lambda kv: -kv[1])) or "none recorded"
                out.append(
                    f"loss rate {summary['loss_rate']:.2%} is above the {max_loss_rate:.2%} limit "
                    f"({summary['loss_rate']:.4g} > {max_loss_rate:g}): {summary['keyframes_lost']} of {summary['keyframes']} "
                    f"keyframes and {summary['episodes_lost']} of {summary['episodes']} episodes lost; reasons: {reasons}"
                )
            elif table == "episodes" and column == "failed_steps":
                bad = [f"{e['episode_id']} ({e['failed_step_names']})" for e in episodes if e["failed_steps"]]
                out.append(f"{len(bad)} episode(s) with failed or unfinished steps: {', '.join(bad[:10])}"
                           f"{' ...' if len(bad) > 10 else ''}; see `skyscript status --drama {drama_id}`")
            elif table == "episodes" and kind == "expect_table_row_count_to_be_between":
                out.append(f"drama {drama_id} has no episodes: ingest its sources first")
            else:
                kwargs = {k: v for k, v in cfg.get("kwargs", {}).items() if k != "batch_id"}
                observed = r.get("result", {})
                seen = observed.get("observed_value", observed.get("partial_unexpected_list"))
                out.append(f"{table}: {kind} {kwargs} failed (observed {seen})")
    return out


def check_gate(session: Session, drama_id: str, max_loss_rate: float) -> tuple[bool, list[str]]:
    """The loss gate's verdict without writing a report (``skyscript status``): the same rules
    as :func:`run_loss_gate`, failed and never-finished steps included."""
    report = loss_report(session, drama_id, max_loss_rate)
    rows = episode_rows(session, drama_id)
    summary = _summary(drama_id, report)
    results = _validate_python(summary, rows, max_loss_rate)
    return all(r["success"] for r in results.values()), _failures(results, summary, rows, max_loss_rate, report.by_reason, drama_id)


def _summary(drama_id: str, report: Any) -> dict[str, Any]:
    return {
        "drama_id": drama_id,
        "episodes": report.episodes, "episodes_lost": report.episodes_lost,
        "keyframes": report.keyframes, "keyframes_lost": report.keyframes_lost,
        "episode_loss_rate": report.episode_loss_rate, "keyframe_loss_rate": report.keyframe_loss_rate,
        "loss_rate": report.loss_rate,
    }


def run_loss_gate(
    ctx: StepContext,
    *,
    batches: Sequence[Sequence[str]] | None = None,
    max_loss_rate: float | None = None,
    run_id: str | None = None,
) -> GateResult:
    """Validate the drama's loss numbers and store the report; raise nothing (see :func:`enforce`).
    Great Expectations validates where it is installed; elsewhere the same rules run in Python."""
    threshold = ctx.settings.thresholds.max_loss_rate if max_loss_rate is None else float(max_loss_rate)
    run = run_id or ctx.dag_run_id or "adhoc"
    logger = ctx.logger("loss_gate")
    with ctx.db.session() as s:
        report = loss_report(s, ctx.drama_id, threshold)
        rows = episode_rows(s, ctx.drama_id, batches)
    summary = _summary(ctx.drama_id, report)
    results = (_validate if gx_available() else _validate_python)(summary, rows, threshold)
    passed = all(r.get("success") for r in results.values())
    failures = _failures(results, summary, rows, threshold, report.by_reason, ctx.drama_id)
    keys = Keys(ctx.drama_id)
    report_key = keys.report(f"loss-gate/{slug(run, 120)}.json")
    document = {
        "drama_id": ctx.drama_id, "run_id": run, "checked_at": datetime.now(timezone.utc).isoformat(),
        "passed": passed, "max_loss_rate": threshold, "failures": failures,
        "loss": report.as_dict(), "batches": batch_losses(rows), "episodes": rows,
        "validation": results,
    }
    data = json.dumps(document, indent=2, default=str).encode("utf-8")
    ctx.store.put_bytes(Area.public, report_key, data, "application/json")
    ctx.store.put_bytes(Area.public, keys.report("loss-gate/latest.json"), data, "application/json")
    result = GateResult(
        drama_id=ctx.drama_id, run_id=run, passed=passed, loss_rate=report.loss_rate, max_loss_rate=threshold,
        episodes=len(rows), episodes_with_failed_steps=sum(1 for r in rows if r["failed_steps"]),
        report_key=report_key, failures=failures, report=document,
    )
    (logger.info if passed else logger.error)(
        "loss gate %s: loss %.2f%% (max %.2f%%), %d episodes, %d with failed steps%s; report public/%s",
        "passed" if passed else "FAILED", 100 * report.loss_rate, 100 * threshold, len(rows),
        result.episodes_with_failed_steps, "".join(f"; {f}" for f in failures), report_key,
    )
    return result


def enforce(result: GateResult) -> GateResult:
    """Raise :class:`LossGateFailed` when the gate did not pass."""
    if not result.passed:
        raise LossGateFailed(result)
    return result
