"""The accuracy gate as a Great Expectations validation (like the loss gate), and its report.

Two tables are validated: ``summary`` (one row: items reviewed, overall accuracy, the Wilson
bounds and the gated statistic; expectations: at least one item, the statistic between
``min_accuracy`` and 1, every packet reviewed) and ``fields`` (one row per field). Field rows are
informational: the gate is on the overall statistic. The report (our numbers plus GX's validation
JSON) is kept in the public area under ``reports/calibration/<batch>/``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm import Session

from skyscript.calibration.accuracy import AccuracyReport, batch_accuracy
from skyscript.calibration.review import get_batch
from skyscript.calibration.sampling import CalibrationError
from skyscript.config import Settings
from skyscript.db.models import utcnow
from skyscript.store import Area, ObjectStore

log = logging.getLogger("skyscript.calibration.gate")


def report_key(batch_id: str, name: str) -> str:
    return f"reports/calibration/{batch_id}/{name}"


@dataclass
class AccuracyGateResult:
    batch_id: str
    passed: bool
    report: AccuracyReport
    report_key: str
    failures: list[str]

    def summary(self) -> dict[str, Any]:
        g = self.report.gate
        return {
            "batch_id": self.batch_id, "passed": self.passed, "accuracy": self.report.overall.accuracy,
            "lower": self.report.overall.lower, "upper": self.report.overall.upper,
            "threshold": g.threshold if g else None, "failing_fields": g.failing_fields if g else [],
            "report_key": self.report_key, "failures": self.failures,
        }


def _validate(report: AccuracyReport, threshold: float) -> dict[str, Any]:
    import great_expectations as gx
    import great_expectations.expectations as gxe
    import pandas as pd

    from skyscript.quality.gx_context import ephemeral_pandas

    context, source = ephemeral_pandas("skyscript-accuracy")
    o = report.overall
    gated = o.lower if report.gate is None or report.gate.on == "lower_bound" else (o.accuracy or 0.0)
    summary = {
        "batch_id": report.batch_id, "items": o.n, "correct": o.correct, "accuracy": o.accuracy,
        "lower": o.lower, "upper": o.upper, "gated": gated,
        "packets_left": report.progress["packets"] - report.progress["complete"],
    }
    fields = [{"field": f, "items": p.n, "correct": p.correct, "accuracy": p.accuracy, "lower": p.lower, "upper": p.upper}
              for f, p in report.fields.items()]
    s_suite = gx.ExpectationSuite(name="batch-accuracy")
    s_suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="items", min_value=1))
    s_suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="gated", min_value=threshold, max_value=1.0))
    s_suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="packets_left", min_value=0, max_value=0))
    f_suite = gx.ExpectationSuite(name="field-accuracy")
    f_suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="field"))
    results: dict[str, Any] = {}
    for name, rows, suite in (("summary", [summary], s_suite), ("fields", fields, f_suite)):
        frame = pd.DataFrame(rows, columns=list(rows[0]) if rows else ["field"])
        batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("all").get_batch(
            batch_parameters={"dataframe": frame}
        )
        results[name] = batch.validate(context.suites.add(suite)).to_json_dict()
    return results


def run_accuracy_gate(session: Session, settings: Settings, store: ObjectStore | None, batch_id: str) -> AccuracyGateResult:
    """Validate a fully reviewed batch, close it (passed or failed) and store the report."""
    batch = get_batch(session, batch_id)
    if batch.status != "open":
        raise CalibrationError(f"batch {batch_id} is already {batch.status}")
    report = batch_accuracy(session, settings, batch_id)
    if not report.complete:
        p = report.progress
        raise CalibrationError(f"batch {batch_id} is not fully reviewed: {p['complete']}/{p['packets']} packets done")
    if report.gate is None:
        raise CalibrationError(f"batch {batch_id} has no reviewed items")
    threshold = settings.thresholds.min_accuracy
    validation = _validate(report, threshold)
    passed = all(r.get("success") for r in validation.values())
    failures = [] if passed else [report.gate.reason]
    batch.status = "passed" if passed else "failed"
    batch.closed_at = utcnow()
    report.status = batch.status
    batch.result = report.model_dump(mode="json")
    key = report_key(batch_id, "accuracy-gate.json")
    if store is not None:
        doc = {"checked_at": datetime.now(timezone.utc).isoformat(), "passed": passed, "threshold": threshold,
               "failures": failures, "accuracy": batch.result, "validation": validation}
        store.put_bytes(Area.public, key, json.dumps(doc, indent=2, default=str).encode(), "application/json")
    (log.info if passed else log.warning)("accuracy gate %s: %s", "passed" if passed else "FAILED", report.gate.reason)
    return AccuracyGateResult(batch_id, passed, report, key, failures)
