"""Label Studio round trip: a batch as Label Studio tasks, and a Label Studio JSON export back as
reviews and versioned corrections.

One task per packet. ``data.image`` is a presigned URL of the privacy-masked keyframe (public
area); our boxes come as ``predictions`` (``rectanglelabels`` regions whose ids name the item);
``data.items`` lists the packet's fields as dynamic choices of the ``wrong`` control (tick what is
wrong) and the ``fixes`` text area takes ``ITEM = new value`` lines. On import, a ticked field is a
reject (a fix when a fixes line names it), an unticked one an accept; a predicted box deleted in
the annotation is a reject, a moved one a fix with its new pixel coordinates.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from skyscript.calibration.items import Decision, ItemKind, render_value
from skyscript.calibration.review import decide, get_batch, packet_items, submit, submitted_reviewers
from skyscript.calibration.sampling import CalibrationError
from skyscript.db.models import CalibrationPacket, Keyframe
from skyscript.store import Area, ObjectStore

MODEL_VERSION = "skyscript"
BOX_LABELS = {"face.box": "face", "person.face_box": "person face", "person.body_box": "person body", "object.box": "object"}

LABEL_CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="box" toName="image">
    <Label value="face" background="#e6194b"/>
    <Label value="person face" background="#f58231"/>
    <Label value="person body" background="#3cb44b"/>
    <Label value="object" background="#4363d8"/>
  </RectangleLabels>
  <Header value="Tick every field that is wrong (unticked fields are correct)"/>
  <Choices name="wrong" toName="image" choice="multiple" value="$items"/>
  <Header value="Fixes: one line per fixed field, ITEM = new value (without a line a ticked field is rejected)"/>
  <TextArea name="fixes" toName="image" rows="4" editable="true"/>
</View>
"""


def _size(packet: CalibrationPacket) -> tuple[int, int]:
    for kind in ("keyinfo", "faces"):
        payload = (packet.snapshot.get(kind) or {}).get("payload") or {}
        if payload.get("width") and payload.get("height"):
            return int(payload["width"]), int(payload["height"])
    raise CalibrationError(f"packet {packet.id}: frame size unknown")


def _region(item_index: int, label: str, box: list[float], w: int, h: int) -> dict[str, Any]:
    x1, y1, x2, y2 = (float(v) for v in box)
    return {
        "id": f"item{item_index}", "from_name": "box", "to_name": "image", "type": "rectanglelabels",
        "original_width": w, "original_height": h, "image_rotation": 0,
        "value": {"x": 100 * x1 / w, "y": 100 * y1 / h, "width": 100 * (x2 - x1) / w, "height": 100 * (y2 - y1) / h,
                  "rotation": 0, "rectanglelabels": [label]},
    }


def export_tasks(session: Session, store: ObjectStore, batch_id: str, expires_s: int = 3600) -> list[dict[str, Any]]:
    get_batch(session, batch_id)
    tasks = []
    for p in session.scalars(select(CalibrationPacket).where(CalibrationPacket.batch_id == batch_id).order_by(CalibrationPacket.position)):
        kf = session.get(Keyframe, p.keyframe_id)
        if kf is None or not kf.public_key:
            raise CalibrationError(f"keyframe {p.keyframe_id} has no published (masked) frame: run the privacy step")
        w, h = _size(p)
        items = packet_items(p)
        regions = [_region(i, BOX_LABELS.get(it.field, "object"), it.value, w, h) for i, it in enumerate(items) if it.kind is ItemKind.box]
        tasks.append({
            "data": {
                "image": store.presigned_get(Area.public, kf.public_key, expires_s),
                "packet_id": p.id, "batch_id": batch_id, "keyframe_id": p.keyframe_id,
                "items": [{"value": it.key, "html": f"{it.label}: {render_value(it.value)}"} for it in items if it.kind is ItemKind.field],
            },
            "predictions": [{"model_version": MODEL_VERSION, "score": 1.0, "result": regions}],
        })
    return tasks


class LsResult(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str | None = None
    from_name: str
    type: str
    value: dict[str, Any]
    original_width: int | None = None
    original_height: int | None = None


class LsAnnotation(BaseModel):
    model_config = ConfigDict(extra="ignore")
    result: list[LsResult] = Field(default_factory=list)
    was_cancelled: bool = False
    completed_by: Any = None
    updated_at: str | None = None


class LsTask(BaseModel):
    model_config = ConfigDict(extra="ignore")
    data: dict[str, Any]
    annotations: list[LsAnnotation] = Field(default_factory=list)


def _reviewer(ann: LsAnnotation, default: str | None) -> str:
    if default:
        return default
    who = ann.completed_by
    if isinstance(who, dict):
        return str(who.get("email") or who.get("username") or f"labelstudio-user-{who.get('id')}")
    if who is not None:
        return f"labelstudio-user-{who}"
    raise CalibrationError("the export does not say who annotated: pass --reviewer")


def decisions_from_annotation(packet: CalibrationPacket, ann: LsAnnotation) -> dict[str, tuple[Decision, Any]]:
    items = packet_items(packet)
    w, h = _size(packet)
    wrong: set[str] = set()
    fixes: dict[str, str] = {}
    boxes: dict[str, list[float]] = {}
    for r in ann.result:
        if r.from_name == "wrong" and r.type == "choices":
            wrong |= set(r.value.get("choices", []))
        elif r.from_name == "fixes" and r.type == "textarea":
            for line in "\n".join(r.value.get("text", [])).splitlines():
                key, sep, val = line.partition("=")
                if sep:
                    fixes[key.strip()] = val.strip()
        elif r.from_name == "box" and r.type == "rectanglelabels" and r.id:
            v = r.value
            ow, oh = r.original_width or w, r.original_height or h
            boxes[r.id] = [v["x"] * ow / 100, v["y"] * oh / 100, (v["x"] + v["width"]) * ow / 100, (v["y"] + v["height"]) * oh / 100]
    out: dict[str, tuple[Decision, Any]] = {}
    for i, it in enumerate(items):
        if it.kind is ItemKind.box:
            got = boxes.get(f"item{i}")
            if got is None:
                out[it.key] = (Decision.reject, None)
            elif max(abs(a - float(b)) for a, b in zip(got, it.value)) > 0.5:
                out[it.key] = (Decision.fix, got)
            else:
                out[it.key] = (Decision.accept, None)
        elif it.key in fixes:
            out[it.key] = (Decision.fix, fixes[it.key])
        elif it.key in wrong:
            out[it.key] = (Decision.reject, None)
        else:
            out[it.key] = (Decision.accept, None)
    return out


def import_export(session: Session, batch_id: str, data: Any, default_reviewer: str | None = None) -> dict[str, int]:
    """Apply a Label Studio JSON export (a list of tasks with annotations) to a batch."""
    if not isinstance(data, list):
        raise CalibrationError("a Label Studio JSON export is a list of tasks")
    get_batch(session, batch_id)
    tasks = [LsTask.model_validate(t) for t in data]
    done = corrected = skipped = 0
    for t in tasks:
        pid = t.data.get("packet_id")
        if t.data.get("batch_id") != batch_id or not pid:
            skipped += 1
            continue
        packet = session.get(CalibrationPacket, pid)
        anns = [a for a in t.annotations if not a.was_cancelled]
        if packet is None or not anns:
            skipped += 1
            continue
        ann = sorted(anns, key=lambda a: a.updated_at or "")[-1]
        reviewer = _reviewer(ann, default_reviewer)
        if reviewer in submitted_reviewers(session, pid):
            skipped += 1
            continue
        for key, (decision, value) in decisions_from_annotation(packet, ann).items():
            decide(session, pid, reviewer, key, decision, value)
        res = submit(session, pid, reviewer)
        done += 1
        corrected += bool(res.versions)
    return {"packets": done, "corrections": corrected, "skipped": skipped}
