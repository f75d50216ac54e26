"""One call each that publishes auditor material: a drama's audit report and the GX Data Docs of
its kept gate results (what ``skyscript run`` and the drama DAG call after the loss gate), and a
calibration batch's report and Data Docs (after the accuracy gate)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from skyscript.audit.datadocs import ROOT, build_site
from skyscript.audit.report import write_batch_audit, write_drama_audit
from skyscript.config import Settings
from skyscript.db.engine import Database
from skyscript.store import ObjectStore, open_store


def publish_drama_reports(settings: Settings, drama_id: str, trace_url: str | None = None) -> dict[str, str]:
    """Write ``reports/<drama>/audit/`` and refresh ``reports/data-docs/``; returns the keys."""
    store = open_store(settings)
    db = Database(settings.database_url or "")
    try:
        with db.session() as s:
            audit_key, _doc = write_drama_audit(s, settings, store, drama_id, trace_url)
    finally:
        db.dispose()
    from skyscript.quality.gate import gx_available

    if not gx_available():  # the embedded default: the audit page is written, Data Docs need GX
        return {"audit": audit_key}
    build_site(store, only=f"loss/{drama_id}/")
    return {"audit": audit_key, "data_docs": f"{ROOT}/index.html"}


def publish_batch_reports(session: Session, settings: Settings, store: ObjectStore, batch_id: str) -> dict[str, str]:
    """Write ``reports/calibration/<batch>/index.html`` and the batch's Data Docs pages."""
    key, _doc = write_batch_audit(session, settings, store, batch_id)
    build_site(store, only=f"accuracy/{batch_id}")
    return {"report": key, "data_docs": f"{ROOT}/index.html"}
