"""Audit reports for auditors: one per drama, one per calibration batch.

Each is a JSON document (the numbers) and an HTML page rendered from it (the same numbers, with
plots): loss by reason and by step against the loss threshold, loss across runs (the loss gate's
kept reports), accuracy of every calibration batch with its Wilson interval against the accuracy
threshold, accuracy across rounds, and keyframe ids to trace (``skyscript trace ID`` or the
plugin's lineage page). Both are written to the public area:
``reports/<drama>/audit/{index.html,audit.json}`` and
``reports/calibration/<batch>/{index.html,report.json}``.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from html import escape
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from skyscript.audit import svg
from skyscript.calibration.accuracy import batch_accuracy
from skyscript.calibration.review import get_batch, submitted_reviewers
from skyscript.config import Settings
from skyscript.db.models import CalibrationBatch, CalibrationPacket, Drama, Episode, Keyframe, Loss, StepRun
from skyscript.quality.loss import loss_report
from skyscript.store import Area, ObjectStore


class UnknownDrama(LookupError):
    pass


def drama_keys(drama_id: str) -> tuple[str, str]:
    return f"reports/{drama_id}/audit/index.html", f"reports/{drama_id}/audit/audit.json"


def batch_keys(batch_id: str) -> tuple[str, str]:
    return f"reports/calibration/{batch_id}/index.html", f"reports/calibration/{batch_id}/report.json"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _loss_runs(store: ObjectStore, drama_id: str) -> list[dict[str, Any]]:
    runs = []
    for key in store.list(Area.public, f"reports/{drama_id}/loss-gate/"):
        if not key.endswith(".json") or key.endswith("/latest.json"):
            continue
        try:
            doc = json.loads(store.get_bytes(Area.public, key))
        except (ValueError, OSError):
            continue
        loss = doc.get("loss") or {}
        runs.append({"run_id": doc.get("run_id"), "checked_at": doc.get("checked_at"), "passed": doc.get("passed"),
                     "loss_rate": loss.get("loss_rate"), "failures": doc.get("failures", []), "key": key})
    return sorted(runs, key=lambda r: r["checked_at"] or "")


def _batch_row(session: Session, settings: Settings, b: CalibrationBatch) -> dict[str, Any]:
    rep = b.result if b.status != "open" and b.result else batch_accuracy(session, settings, b.id).model_dump(mode="json")
    o = rep["overall"]
    gate = rep.get("gate") or {}
    return {"batch_id": b.id, "round": b.round, "parent": b.parent_id, "status": b.status, "size": b.size,
            "created_at": b.created_at.isoformat(), "n": o["n"], "correct": o["correct"], "accuracy": o["accuracy"],
            "lower": o["lower"], "upper": o["upper"],
            # an open batch has no verdict yet (its gate is judged when every packet is reviewed)
            "gate_passed": None if b.status == "open" else gate.get("passed"), "reason": gate.get("reason")}


def drama_audit(session: Session, settings: Settings, store: ObjectStore, drama_id: str) -> dict[str, Any]:
    if session.get(Drama, drama_id) is None:
        raise UnknownDrama(f"unknown drama {drama_id!r}")
    loss = loss_report(session, drama_id, settings.thresholds.max_loss_rate).as_dict()
    batches = [b for b in session.scalars(select(CalibrationBatch).order_by(CalibrationBatch.created_at)) if drama_id in (b.dramas or [])]
    steps: dict[str, dict[str, Any]] = {}
    for step, status, n in session.execute(
        select(StepRun.step, StepRun.status, func.count()).where(StepRun.drama_id == drama_id).group_by(StepRun.step, StepRun.status)
    ):
        steps.setdefault(step, {})[status] = n
    for run in session.scalars(select(StepRun).where(StepRun.drama_id == drama_id).order_by(StepRun.id)):
        steps.setdefault(run.step, {})["model"] = run.model_id
        steps[run.step]["version"] = run.step_version
    lost = [{"item_kind": r.item_kind, "item_id": r.item_id, "step": r.step, "reason": r.reason, "detail": r.detail}
            for r in session.scalars(select(Loss).where(Loss.drama_id == drama_id).order_by(Loss.step, Loss.item_id).limit(100))]
    traces = list(session.scalars(
        select(Keyframe.id).join(Episode, Keyframe.episode_id == Episode.id).where(Episode.drama_id == drama_id)
        .order_by(Keyframe.id).limit(20)
    ))
    return {
        "kind": "drama", "drama_id": drama_id, "generated_at": _now(),
        "max_loss_rate": settings.thresholds.max_loss_rate, "min_accuracy": settings.thresholds.min_accuracy,
        "gate_on": settings.calibration.gate_on, "loss": loss, "loss_runs": _loss_runs(store, drama_id),
        "calibration": [_batch_row(session, settings, b) for b in batches], "steps": steps,
        "lost_items": lost, "traces": traces,
    }


def batch_audit(session: Session, settings: Settings, batch_id: str) -> dict[str, Any]:
    b = get_batch(session, batch_id)
    rep = b.result if b.status != "open" and b.result else batch_accuracy(session, settings, batch_id).model_dump(mode="json")
    chain: list[dict[str, Any]] = []
    cur: CalibrationBatch | None = b
    while cur is not None:
        chain.append(_batch_row(session, settings, cur))
        cur = session.get(CalibrationBatch, cur.parent_id) if cur.parent_id else None
    packets = [{"packet_id": p.id, "keyframe_id": p.keyframe_id, "stratum": p.stratum, "items": len(p.items),
                "overlap": p.overlap, "reviewers": submitted_reviewers(session, p.id)}
               for p in session.scalars(select(CalibrationPacket).where(CalibrationPacket.batch_id == batch_id).order_by(CalibrationPacket.position))]
    return {"kind": "batch", "batch_id": batch_id, "generated_at": _now(), "dramas": list(b.dramas), "seed": b.seed,
            "round": b.round, "status": b.status, "min_accuracy": settings.thresholds.min_accuracy, "strata": b.strata,
            "population": b.population, "accuracy": rep, "rounds": list(reversed(chain)), "packets": packets,
            "rework": (b.result or {}).get("rework")}


# --- HTML --------------------------------------------------------------------------------------

CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1b1f24;max-width:1000px}
table{border-collapse:collapse;margin:8px 0 16px}th,td{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left}
.pass{color:#1a7f37;font-weight:600}.fail{color:#cf222e;font-weight:600}code{font-size:12px}h2{margin-top:28px}"""


def _pct(v: Any) -> str:
    return "n/a" if v is None else f"{100 * float(v):.1f}%"


def _table(head: list[str], rows: list[list[Any]]) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def _verdict(ok: bool | None) -> str:
    if ok is None:
        return "<span>open</span>"
    return '<span class="pass">pass</span>' if ok else '<span class="fail">FAIL</span>'


def render_drama(doc: dict[str, Any], trace_url: str | None = None) -> str:
    loss = doc["loss"]
    d = escape(doc["drama_id"])
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8><title>Audit: {d}</title><style>{CSS}</style></head><body>",
             f"<h1>Audit report: drama {d}</h1><p>generated {escape(doc['generated_at'])}</p>",
             f"<h2>Loss</h2><p id=loss>loss rate <b>{_pct(loss['loss_rate'])}</b> against at most {_pct(doc['max_loss_rate'])}: "
             f"{_verdict(loss['passed'])} (episodes {loss['episodes_lost']}/{loss['episodes']}, keyframes "
             f"{loss['keyframes_lost']}/{loss['keyframes']})</p>"]
    total = max(1, loss["keyframes"])
    parts.append(svg.bars(sorted(((k, v / total) for k, v in loss["by_reason"].items()), key=lambda r: -r[1]),
                          title="loss by reason (share of keyframes)", threshold=doc["max_loss_rate"], empty="no losses"))
    parts.append(svg.bars(sorted(((k, v / total) for k, v in loss["by_step"].items()), key=lambda r: -r[1]),
                          title="loss by step (share of keyframes)", threshold=doc["max_loss_rate"], empty="no losses"))
    parts.append("<h3>Loss across runs</h3>")
    parts.append(svg.trend([(r["run_id"] or "?", r["loss_rate"] or 0.0) for r in doc["loss_runs"]], title="loss rate by run",
                           threshold=doc["max_loss_rate"]))
    parts.append(_table(["run", "checked", "loss", "gate"],
                        [[escape(str(r["run_id"])), escape(str(r["checked_at"])), _pct(r["loss_rate"]), _verdict(r["passed"])] for r in doc["loss_runs"]]))
    parts.append(f"<h2>Accuracy</h2><p>gate: Wilson 95% {'lower bound' if doc['gate_on'] == 'lower_bound' else 'point estimate'} "
                 f"at least {_pct(doc['min_accuracy'])}</p>")
    cal = doc["calibration"]
    parts.append(svg.intervals([(f"{c['batch_id'][-6:]} r{c['round']}", c["accuracy"], c["lower"], c["upper"]) for c in cal],
                               title="batch accuracy with 95% intervals", threshold=doc["min_accuracy"]))
    parts.append(_table(["batch", "round", "state", "items", "accuracy", "interval", "gate"],
                        [[escape(c["batch_id"]), c["round"], escape(c["status"]), c["n"], _pct(c["accuracy"]),
                          f"{_pct(c['lower'])} to {_pct(c['upper'])}", _verdict(c["gate_passed"])] for c in cal]))
    parts.append("<h2>Steps</h2>" + _table(["step", "version", "model", "succeeded", "failed"],
                 [[escape(s), escape(str(v.get("version"))), escape(str(v.get("model"))), v.get("success", 0), v.get("failed", 0)]
                  for s, v in sorted(doc["steps"].items())]))
    parts.append("<h2>Lost items</h2>" + _table(["item", "step", "reason", "detail"],
                 [[f"<code>{escape(r['item_id'])}</code>", escape(r["step"]), escape(r["reason"]), escape(str(r["detail"] or ""))]
                  for r in doc["lost_items"]]))
    links = []
    for k in doc["traces"]:
        target = f'<a href="{escape(trace_url.format(id=k))}">{escape(k)}</a>' if trace_url else f"<code>skyscript trace {escape(k)}</code>"
        links.append(f"<li>{target}</li>")
    parts.append("<h2>Trace a keyframe</h2><ul>" + "".join(links) + "</ul></body></html>")
    return "".join(parts)


def render_batch(doc: dict[str, Any]) -> str:
    rep = doc["accuracy"]
    o = rep["overall"]
    gate = rep.get("gate") or {}
    b = escape(doc["batch_id"])
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8><title>Calibration batch {b}</title><style>{CSS}</style></head><body>",
             f"<h1>Calibration batch {b}</h1><p>dramas {escape(', '.join(doc['dramas']))}; round {doc['round']}; "
             f"{doc['population']} keyframes, {len(doc['packets'])} packets, seed {doc['seed']}; generated {escape(doc['generated_at'])}</p>",
             f"<p id=accuracy>{o['correct']}/{o['n']} items correct: <b>{_pct(o['accuracy'])}</b>, 95% interval "
             f"{_pct(o['lower'])} to {_pct(o['upper'])} against {_pct(doc['min_accuracy'])}: {_verdict(gate.get('passed'))}</p>"]
    if gate.get("reason"):
        parts.append(f"<p>{escape(gate['reason'])}</p>")
    fields = rep["fields"]
    parts.append(svg.intervals([(f, v["accuracy"], v["lower"], v["upper"]) for f, v in fields.items()],
                               title="accuracy per field", threshold=doc["min_accuracy"]))
    parts.append(_table(["field", "correct", "items", "accuracy", "interval"],
                        [[escape(f), v["correct"], v["n"], _pct(v["accuracy"]), f"{_pct(v['lower'])} to {_pct(v['upper'])}"] for f, v in fields.items()]))
    ag = rep["agreement"]
    if ag["items"]:
        parts.append(f"<p>Agreement on {ag['items']} items of {ag['packets']} overlap packets: observed {_pct(ag['observed'])}, "
                     f"Cohen's kappa {ag['cohens_kappa']:.3f}, Fleiss' kappa {ag['fleiss_kappa']:.3f}, Krippendorff's alpha "
                     f"{ag['krippendorff_alpha']:.3f}</p>")
    parts.append("<h2>Rounds</h2>" + svg.trend([(f"round {r['round']}", r["accuracy"] or 0.0) for r in doc["rounds"]],
                                               title="accuracy by round", threshold=doc["min_accuracy"]))
    parts.append(_table(["batch", "round", "state", "accuracy", "interval", "gate"],
                        [[escape(r["batch_id"]), r["round"], escape(r["status"]), _pct(r["accuracy"]),
                          f"{_pct(r['lower'])} to {_pct(r['upper'])}", _verdict(r["gate_passed"])] for r in doc["rounds"]]))
    parts.append("<h2>Strata</h2>" + _table(["stratum", "population", "drawn"],
                 [[escape(k), v["population"], v["drawn"]] for k, v in doc["strata"].items()]))
    parts.append("<h2>Packets</h2>" + _table(["packet", "keyframe", "items", "reviewed by"],
                 [[escape(p["packet_id"]), f"<code>{escape(p['keyframe_id'])}</code>", p["items"], escape(", ".join(p["reviewers"]))]
                  for p in doc["packets"]]))
    return "".join(parts) + "</body></html>"


def _put(store: ObjectStore, html_key: str, json_key: str, html: str, doc: dict[str, Any]) -> None:
    store.put_bytes(Area.public, json_key, json.dumps(doc, indent=2, default=str).encode(), "application/json")
    store.put_bytes(Area.public, html_key, html.encode(), "text/html; charset=utf-8")


def write_drama_audit(session: Session, settings: Settings, store: ObjectStore, drama_id: str,
                      trace_url: str | None = None) -> tuple[str, dict[str, Any]]:
    doc = drama_audit(session, settings, store, drama_id)
    html_key, json_key = drama_keys(drama_id)
    _put(store, html_key, json_key, render_drama(doc, trace_url), doc)
    return html_key, doc


def write_batch_audit(session: Session, settings: Settings, store: ObjectStore, batch_id: str) -> tuple[str, dict[str, Any]]:
    doc = batch_audit(session, settings, batch_id)
    html_key, json_key = batch_keys(batch_id)
    _put(store, html_key, json_key, render_batch(doc), doc)
    return html_key, doc
