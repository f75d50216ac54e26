"""The reviewable items of a packet and how reviewer decisions turn into corrected payloads.

An item is one field or one box of a keyframe's current annotation, addressed by the annotation
kind and a path into its payload (``keyinfo:people/0/emotion``). Accuracy is counted per item;
``field`` groups items for per-field accuracy (``person.emotion``, ``object.box``).
"""

from __future__ import annotations

import copy
import json
from enum import Enum
from typing import Any

from pydantic import BaseModel, ValidationError

from skyscript.keyinfo.schema import KeyInfo, normalise_shot_type

# the annotation kinds a packet carries, in review order
REVIEWED_KINDS = ("shot_size", "keyinfo", "faces")

PERSON_FIELDS = (
    "age", "gender", "emotion", "valence", "arousal", "dominance", "temperament", "attractiveness", "looks",
    "race", "shot_type",
)
OBJECT_FIELDS = ("type", "description", "shot_type")


class Decision(str, Enum):
    accept = "accept"
    fix = "fix"
    reject = "reject"


class ItemKind(str, Enum):
    field = "field"
    box = "box"


class Item(BaseModel):
    key: str  # "<annotation kind>:<path>"
    ann_kind: str
    path: list[str | int]
    field: str  # what per-field accuracy groups by
    kind: ItemKind
    label: str  # what the review page shows
    value: Any


class CorrectionError(ValueError):
    """A fixed value that does not fit the annotation (a one-line reason)."""


def _key(ann_kind: str, path: list[str | int]) -> str:
    return f"{ann_kind}:" + "/".join(str(p) for p in path)


def items_of(snapshot: dict[str, Any]) -> list[Item]:
    """Every judgeable field and box of a packet's annotation snapshot (kind -> {payload, ...})."""
    out: list[Item] = []

    def add(ann: str, path: list[str | int], field: str, kind: ItemKind, label: str, value: Any) -> None:
        if value is None or value == "" or value == []:
            return
        out.append(Item(key=_key(ann, path), ann_kind=ann, path=path, field=field, kind=kind, label=label, value=value))

    shot = (snapshot.get("shot_size") or {}).get("payload") or {}
    add("shot_size", ["shot_type"], "shot_size", ItemKind.field, "shot size", shot.get("shot_type"))

    ki = (snapshot.get("keyinfo") or {}).get("payload") or {}
    for i, obj in enumerate(ki.get("objects") or []):
        for f in OBJECT_FIELDS:
            add("keyinfo", ["objects", i, f], f"object.{f}", ItemKind.field, f"object {i + 1} {f}", obj.get(f))
        add("keyinfo", ["objects", i, "box"], "object.box", ItemKind.box, f"object {i + 1} ({obj.get('type')})", obj.get("box"))
    for i, person in enumerate(ki.get("people") or []):
        for f in PERSON_FIELDS:
            add("keyinfo", ["people", i, f], f"person.{f}", ItemKind.field, f"person {i + 1} {f}", person.get(f))
        add("keyinfo", ["people", i, "face_box"], "person.face_box", ItemKind.box, f"person {i + 1} face", person.get("face_box"))
        add("keyinfo", ["people", i, "body_box"], "person.body_box", ItemKind.box, f"person {i + 1} body", person.get("body_box"))

    faces = (snapshot.get("faces") or {}).get("payload") or {}
    for i, face in enumerate(faces.get("faces") or []):
        add("faces", ["faces", i, "xyxy"], "face.box", ItemKind.box, f"face {i + 1} ({face.get('detector', '?')})", face.get("xyxy"))
    return out


def parse_value(raw: Any, like: Any, kind: ItemKind) -> Any:
    """A reviewer's fixed value in the type of the original (text from a form or a JSON value)."""
    if kind is ItemKind.box:
        if isinstance(raw, str):
            text = raw.strip().strip("[]()")
            try:
                raw = [float(v) for v in text.replace(",", " ").split()]
            except ValueError:
                raise CorrectionError(f"a box is four numbers x1,y1,x2,y2, not {raw!r}") from None
        if not isinstance(raw, (list, tuple)) or len(raw) != 4:
            raise CorrectionError(f"a box is four numbers x1,y1,x2,y2, not {raw!r}")
        x1, y1, x2, y2 = (float(v) for v in raw)
        if not (x1 < x2 and y1 < y2):
            raise CorrectionError(f"box {list(raw)} needs x1 < x2 and y1 < y2")
        as_int = all(isinstance(v, int) for v in (like or []))
        return [int(round(v)) for v in (x1, y1, x2, y2)] if as_int else [round(v, 1) for v in (x1, y1, x2, y2)]
    if isinstance(like, bool):
        if isinstance(raw, str):
            return raw.strip().lower() in ("1", "true", "yes")
        return bool(raw)
    if isinstance(like, int):
        try:
            return int(str(raw).strip())
        except ValueError:
            raise CorrectionError(f"expected a whole number, not {raw!r}") from None
    if isinstance(like, float):
        try:
            return float(str(raw).strip())
        except ValueError:
            raise CorrectionError(f"expected a number, not {raw!r}") from None
    value = str(raw).strip() if raw is not None else ""
    if not value:
        raise CorrectionError("a fixed value cannot be empty (reject the item instead)")
    return value


def _set(payload: Any, path: list[str | int], value: Any) -> None:
    node = payload
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value


def apply_decisions(
    snapshot: dict[str, Any], items: list[Item], decisions: dict[str, tuple[Decision, Any]]
) -> dict[str, dict[str, Any]]:
    """The corrected payload of every annotation kind the decisions change (kind -> payload).

    A fixed field or box takes the new value; a rejected field or keyinfo box becomes empty
    (null); a rejected face box is removed from the faces list (and ``count`` follows)."""
    by_key = {it.key: it for it in items}
    out: dict[str, dict[str, Any]] = {}
    removals: dict[str, list[int]] = {}
    for key, (decision, value) in decisions.items():
        it = by_key.get(key)
        if it is None:
            raise CorrectionError(f"no item {key!r} in this packet")
        if decision is Decision.accept:
            continue
        payload = out.setdefault(it.ann_kind, copy.deepcopy(snapshot[it.ann_kind]["payload"]))
        if decision is Decision.fix:
            _set(payload, it.path, parse_value(value, it.value, it.kind))
        elif it.ann_kind == "faces":
            removals.setdefault("faces", []).append(int(it.path[1]))
        else:
            _set(payload, it.path, None)
    for idx in sorted(removals.get("faces", []), reverse=True):
        out["faces"]["faces"].pop(idx)
    if "faces" in out and "count" in out["faces"]:
        out["faces"]["count"] = sum(1 for f in out["faces"]["faces"] if f.get("confirmed", True))
    if "shot_size" in out:
        out["shot_size"]["basis"] = "human"  # an annotator set it (ShotSizePayload.basis)
        try:
            shot = normalise_shot_type(out["shot_size"].get("shot_type"))
        except ValueError as exc:
            raise CorrectionError(str(exc)) from None
        out["shot_size"]["shot_type"] = shot.value if shot is not None else None
    if "keyinfo" in out:
        try:
            out["keyinfo"] = KeyInfo.model_validate(out["keyinfo"]).model_dump(mode="json")
        except ValidationError as exc:
            err = exc.errors()[0]
            where = "/".join(str(p) for p in err["loc"])
            raise CorrectionError(f"keyinfo {where}: {err['msg']}") from None
    return out


def render_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return value if isinstance(value, str) else json.dumps(value)
