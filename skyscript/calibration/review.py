"""Reviewer decisions on packets and the corrections they produce.

A reviewer opens a packet, decides accept / fix / reject on each item (stored at once, changeable
until submitted), then submits. The first submitted review of a packet is its *primary* review:
its decisions count for accuracy and its fixes are written as new annotation versions with the
reviewer as author (never an overwrite; machine re-runs leave them alone). A second review of an
overlap packet counts for agreement only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from skyscript.calibration.items import CorrectionError, Decision, Item, apply_decisions, parse_value
from skyscript.calibration.sampling import CalibrationError
from skyscript.db import lineage
from skyscript.steps.registry import PIPELINE
from skyscript.db.models import CalibrationBatch, CalibrationPacket, ItemReview, Keyframe, PacketReview, utcnow

REVIEW_SOURCE = "calibration-review"


def packet_items(packet: CalibrationPacket) -> list[Item]:
    return [Item.model_validate(i) for i in packet.items]


def get_packet(session: Session, packet_id: str) -> CalibrationPacket:
    packet = session.get(CalibrationPacket, packet_id)
    if packet is None:
        raise CalibrationError(f"unknown packet {packet_id!r}")
    return packet


def get_batch(session: Session, batch_id: str) -> CalibrationBatch:
    batch = session.get(CalibrationBatch, batch_id)
    if batch is None:
        raise CalibrationError(f"unknown batch {batch_id!r}")
    return batch


def _review(session: Session, packet_id: str, reviewer: str, create: bool = True) -> PacketReview | None:
    rev = session.scalars(
        select(PacketReview).where(PacketReview.packet_id == packet_id, PacketReview.reviewer == reviewer)
    ).first()
    if rev is None and create:
        rev = PacketReview(packet_id=packet_id, reviewer=reviewer, status="in_progress", is_primary=False, started_at=utcnow())
        session.add(rev)
        session.flush()
    return rev


def _check_reviewer(reviewer: str) -> str:
    reviewer = (reviewer or "").strip()
    if not reviewer:
        raise CalibrationError("a review needs the reviewer's name")
    return reviewer


def decide(
    session: Session, packet_id: str, reviewer: str, item_key: str, decision: Decision | str, value: Any = None
) -> ItemReview:
    """Record (or change) one decision. A fix's value is checked now, so a bad value is refused
    before anything is stored."""
    reviewer = _check_reviewer(reviewer)
    decision = Decision(decision)
    packet = get_packet(session, packet_id)
    if session.get(CalibrationBatch, packet.batch_id).status != "open":  # type: ignore[union-attr]
        raise CalibrationError(f"batch {packet.batch_id} is closed")
    item = next((i for i in packet_items(packet) if i.key == item_key), None)
    if item is None:
        raise CalibrationError(f"no item {item_key!r} in packet {packet_id}")
    stored: Any = None
    if decision is Decision.fix:
        stored = parse_value(value, item.value, item.kind)
        if stored == item.value:
            raise CorrectionError(f"the fixed value of {item.label} equals the current one: accept it instead")
        apply_decisions(packet.snapshot, [item], {item.key: (decision, stored)})  # refuse what the schema refuses
    rev = _review(session, packet_id, reviewer)
    assert rev is not None
    if rev.status == "submitted":
        raise CalibrationError(f"{reviewer} already submitted packet {packet_id}")
    row = session.scalars(select(ItemReview).where(ItemReview.review_id == rev.id, ItemReview.item_key == item_key)).first()
    if row is None:
        row = ItemReview(review_id=rev.id, item_key=item_key, field=item.field)
        session.add(row)
    row.decision = decision.value
    row.value = stored
    row.decided_at = utcnow()
    session.flush()
    return row


def decisions_of(session: Session, packet_id: str, reviewer: str) -> dict[str, tuple[Decision, Any]]:
    rev = _review(session, packet_id, reviewer, create=False)
    if rev is None:
        return {}
    rows = session.scalars(select(ItemReview).where(ItemReview.review_id == rev.id))
    return {r.item_key: (Decision(r.decision), r.value) for r in rows}


@dataclass
class Submitted:
    packet_id: str
    reviewer: str
    primary: bool
    versions: dict[str, int] = field(default_factory=dict)  # annotation kind -> version written
    counts: dict[str, int] = field(default_factory=dict)  # decision -> items


def submit(session: Session, packet_id: str, reviewer: str, accept_rest: bool = False) -> Submitted:
    """Close a reviewer's pass over a packet; the primary review writes its corrections."""
    reviewer = _check_reviewer(reviewer)
    packet = get_packet(session, packet_id)
    items = packet_items(packet)
    if accept_rest:
        have = decisions_of(session, packet_id, reviewer)
        for it in items:
            if it.key not in have:
                decide(session, packet_id, reviewer, it.key, Decision.accept)
    rev = _review(session, packet_id, reviewer)
    assert rev is not None
    if rev.status == "submitted":
        raise CalibrationError(f"{reviewer} already submitted packet {packet_id}")
    decisions = decisions_of(session, packet_id, reviewer)
    open_items = [it.label for it in items if it.key not in decisions]
    if open_items:
        raise CalibrationError(f"{len(open_items)} item(s) not decided yet: {', '.join(open_items[:5])}")
    has_primary = session.scalar(
        select(func.count()).select_from(PacketReview).where(
            PacketReview.packet_id == packet_id, PacketReview.is_primary.is_(True)
        )
    )
    primary = not has_primary
    versions: dict[str, int] = {}
    if primary:
        corrected = apply_decisions(packet.snapshot, items, decisions)
        for kind, payload in corrected.items():
            current = lineage.annotation_of(session, packet.keyframe_id, kind)
            if current is None or current.payload != packet.snapshot[kind]["payload"]:
                raise CalibrationError(
                    f"the {kind} annotation of {packet.keyframe_id} changed since batch {packet.batch_id} was drawn; "
                    "draw a new batch"
                )
            # the correction is checked against the kind's payload model, and the keyframe columns that
            # follow the kind take the corrected values (the same rule the step runner applies)
            kind_def = PIPELINE.kinds().get(kind)
            checked = kind_def.validate(payload) if kind_def is not None else None
            versions[kind] = lineage.put_annotation(
                session, packet.keyframe_id, kind, checked.model_dump(mode="json") if checked is not None else payload,
                REVIEW_SOURCE, None, author=reviewer, correction=True,
            )
            if kind_def is not None and kind_def.columns is not None and session.get(Keyframe, packet.keyframe_id):
                lineage.update_keyframe(session, packet.keyframe_id, **kind_def.columns(checked))
    rev.status = "submitted"
    rev.is_primary = primary
    rev.versions = versions
    rev.submitted_at = utcnow()
    counts: dict[str, int] = {}
    for d, _ in decisions.values():
        counts[d.value] = counts.get(d.value, 0) + 1
    return Submitted(packet_id, reviewer, primary, versions, counts)


def reviews_needed(packet: CalibrationPacket) -> int:
    return 2 if packet.overlap else 1


def submitted_reviewers(session: Session, packet_id: str) -> list[str]:
    return list(
        session.scalars(
            select(PacketReview.reviewer)
            .where(PacketReview.packet_id == packet_id, PacketReview.status == "submitted")
            .order_by(PacketReview.submitted_at)
        )
    )


def queue(session: Session, reviewer: str, batch_id: str | None = None) -> list[CalibrationPacket]:
    """Packets of open batches that still need a review and that ``reviewer`` has not submitted."""
    q = (
        select(CalibrationPacket)
        .join(CalibrationBatch, CalibrationPacket.batch_id == CalibrationBatch.id)
        .where(CalibrationBatch.status == "open")
        .order_by(CalibrationBatch.created_at, CalibrationPacket.position)
    )
    if batch_id is not None:
        q = q.where(CalibrationPacket.batch_id == batch_id)
    out = []
    for p in session.scalars(q):
        done = submitted_reviewers(session, p.id)
        if reviewer not in done and len(done) < reviews_needed(p):
            out.append(p)
    return out


def progress(session: Session, batch_id: str) -> dict[str, int]:
    """Packets in the batch, packets with their primary review, and packets fully reviewed."""
    packets = list(session.scalars(select(CalibrationPacket).where(CalibrationPacket.batch_id == batch_id)))
    primary = done = 0
    for p in packets:
        n = len(submitted_reviewers(session, p.id))
        primary += n >= 1
        done += n >= reviews_needed(p)
    return {"packets": len(packets), "reviewed": primary, "complete": done, "overlap": sum(p.overlap for p in packets)}
