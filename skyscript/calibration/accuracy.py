"""Batch accuracy per field and overall with Wilson intervals, reviewer agreement, and the gate.

An item is correct when its primary reviewer accepted it; a fix or a reject makes it wrong. The
gate passes when the chosen statistic (the Wilson lower bound by default, or the point estimate)
of overall item accuracy is at least ``thresholds.min_accuracy``. 90% observed on 200 items is
only about 85.1-93.4%: the lower bound passes from 189/200 correct.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from skyscript.calibration.review import get_batch, progress
from skyscript.calibration.stats import (
    cohens_kappa,
    fleiss_kappa,
    krippendorff_alpha_nominal,
    wilson_interval,
)
from skyscript.config import Settings
from skyscript.db.models import CalibrationPacket, ItemReview, PacketReview


class Proportion(BaseModel):
    n: int
    correct: int
    accuracy: float | None
    lower: float
    upper: float

    @classmethod
    def of(cls, correct: int, n: int, confidence: float) -> "Proportion":
        lo, hi = wilson_interval(correct, n, confidence)
        return cls(n=n, correct=correct, accuracy=(correct / n if n else None), lower=round(lo, 6), upper=round(hi, 6))


class Agreement(BaseModel):
    packets: int
    items: int
    observed: float | None = None  # share of items both reviewers judged alike
    cohens_kappa: float | None = None  # first vs second review of each packet
    fleiss_kappa: float | None = None
    krippendorff_alpha: float | None = None


class Gate(BaseModel):
    passed: bool
    on: str  # lower_bound | point
    value: float | None
    threshold: float
    failing_fields: list[str]
    reason: str


class AccuracyReport(BaseModel):
    batch_id: str
    dramas: list[str]
    round: int
    status: str
    confidence: float
    progress: dict[str, int]
    complete: bool
    overall: Proportion
    packets: Proportion  # a packet is correct when every item in it is
    fields: dict[str, Proportion]
    decisions: dict[str, int]
    agreement: Agreement
    gate: Gate | None


def _agreement(session: Session, packets: list[CalibrationPacket]) -> Agreement:
    units: list[tuple[bool, bool]] = []
    n_packets = 0
    for p in packets:
        if not p.overlap:
            continue
        revs = list(
            session.scalars(
                select(PacketReview)
                .where(PacketReview.packet_id == p.id, PacketReview.status == "submitted")
                .order_by(PacketReview.submitted_at)
            )
        )[:2]
        if len(revs) < 2:
            continue
        n_packets += 1
        a, b = ({r.item_key: r.decision == "accept" for r in session.scalars(select(ItemReview).where(ItemReview.review_id == rv.id))} for rv in revs)
        units.extend((a[k], b[k]) for k in sorted(set(a) & set(b)))
    out = Agreement(packets=n_packets, items=len(units))
    if not units:
        return out
    out.observed = round(sum(x == y for x, y in units) / len(units), 6)
    out.cohens_kappa = round(cohens_kappa([x for x, _ in units], [y for _, y in units]), 6)
    out.fleiss_kappa = round(fleiss_kappa([[int(x) + int(y), 2 - int(x) - int(y)] for x, y in units]), 6)
    out.krippendorff_alpha = round(krippendorff_alpha_nominal([list(u) for u in units]), 6)
    return out


def batch_accuracy(session: Session, settings: Settings, batch_id: str) -> AccuracyReport:
    batch = get_batch(session, batch_id)
    conf = settings.calibration.confidence
    packets = list(session.scalars(select(CalibrationPacket).where(CalibrationPacket.batch_id == batch_id).order_by(CalibrationPacket.position)))
    fields: dict[str, list[int]] = {}
    decisions: dict[str, int] = {}
    packet_ok = packet_n = 0
    for p in packets:
        rev = session.scalars(
            select(PacketReview).where(PacketReview.packet_id == p.id, PacketReview.is_primary.is_(True))
        ).first()
        if rev is None:
            continue
        rows = list(session.scalars(select(ItemReview).where(ItemReview.review_id == rev.id)))
        packet_n += 1
        packet_ok += all(r.decision == "accept" for r in rows)
        for r in rows:
            acc = fields.setdefault(r.field, [0, 0])
            acc[0] += r.decision == "accept"
            acc[1] += 1
            decisions[r.decision] = decisions.get(r.decision, 0) + 1
    correct = sum(c for c, _ in fields.values())
    total = sum(n for _, n in fields.values())
    prog = progress(session, batch_id)
    complete = prog["packets"] > 0 and prog["complete"] == prog["packets"]
    field_props = {f: Proportion.of(c, n, conf) for f, (c, n) in sorted(fields.items())}
    overall = Proportion.of(correct, total, conf)
    report = AccuracyReport(
        batch_id=batch.id,
        dramas=list(batch.dramas),
        round=batch.round,
        status=batch.status,
        confidence=conf,
        progress=prog,
        complete=complete,
        overall=overall,
        packets=Proportion.of(packet_ok, packet_n, conf),
        fields=field_props,
        decisions=decisions,
        agreement=_agreement(session, packets),
        gate=None,
    )
    if total:
        report.gate = judge(overall, field_props, settings.thresholds.min_accuracy, settings.calibration.gate_on)
    return report


def judge(overall: Proportion, fields: dict[str, Proportion], threshold: float, on: str) -> Gate:
    def stat(p: Proportion) -> float:
        return p.lower if on == "lower_bound" else (p.accuracy or 0.0)

    value = stat(overall)
    passed = value >= threshold
    # a field is sent to rework when its own accuracy is under the bar: per-field samples are small
    # (20 of 20 correct has a lower bound of 84%), so their bounds would condemn every field
    failing = [f for f, p in fields.items() if (p.accuracy or 0.0) < threshold]
    what = "Wilson lower bound" if on == "lower_bound" else "accuracy"
    rel = ">=" if passed else "<"
    reason = (
        f"{what} {value:.2%} {rel} {threshold:.0%} ({overall.correct}/{overall.n} items correct, "
        f"interval {overall.lower:.1%}-{overall.upper:.1%})"
    )
    if failing:
        reason += f"; fields under the bar: {', '.join(failing)}"
    return Gate(passed=passed, on=on, value=round(value, 6), threshold=threshold, failing_fields=failing, reason=reason)


def summary_line(report: AccuracyReport) -> str:
    o = report.overall
    acc = "n/a" if o.accuracy is None else f"{o.accuracy:.1%}"
    gate = "" if report.gate is None else f"; gate {'PASSED' if report.gate.passed else 'FAILED'}: {report.gate.reason}"
    return f"batch {report.batch_id}: {o.correct}/{o.n} items correct ({acc}, {int(report.confidence * 100)}% interval {o.lower:.1%}-{o.upper:.1%}){gate}"


def as_dict(report: AccuracyReport) -> dict[str, Any]:
    return report.model_dump(mode="json")
