"""Refined shooting scripts (paper Table 1): one per scene, as versioned JSON, Fountain and FDX.

A drama step after ``scenes``. For every scene it builds a
:class:`~skyscript.schemas.script.ShootingScript` (:mod:`skyscript.scripts.table1`) from the shots,
their keyframes' shot size and key information, and the scene-understanding kinds when present
(characters, depth, pose, layout, emotion, highlight); a field whose producer did not run is
``{"value": null, "missing": "<reason>"}``. Each script is validated against its model, then put in
the public area:

* ``scripts/<drama>/<script_id>.json`` (canonical), ``.fountain`` and ``.fdx``;
* ``scripts/<drama>/index.json``: the drama's current script ids with the digest of each JSON;
* ``scripts/<drama>/shooting_script.schema.json``: the JSON Schema.

The scene-understanding kinds are read only where their steps exist in this installation (see
``reads``), so the step joins a pipeline with or without them.
"""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from typing import Any

from skyscript.ids import content_digest
from skyscript.schemas.script import SCRIPT_SCHEMA_VERSION, ShootingScript, json_schema
from skyscript.steps.base import CPU_LIGHT, ModelInfo, ObjectRecord, Step, StepOutput
from skyscript.steps.view import DramaView, EpisodeView
from skyscript.store import Area

SCENE_KINDS = ("characters", "depth", "pose", "layout", "emotion", "highlight")


def _installed(kind: str) -> bool:
    return importlib.util.find_spec(f"skyscript.steps.{kind}") is not None


def script_keys(drama_id: str, sid: str) -> dict[str, str]:
    base = f"scripts/{drama_id}/{sid}"
    return {"json": f"{base}.json", "fountain": f"{base}.fountain", "fdx": f"{base}.fdx"}


def index_key(drama_id: str) -> str:
    return f"scripts/{drama_id}/index.json"


def schema_key(drama_id: str) -> str:
    return f"scripts/{drama_id}/shooting_script.schema.json"


def _dump(payload: Any) -> dict[str, Any] | None:
    if payload is None:
        return None
    return payload.model_dump(mode="json") if hasattr(payload, "model_dump") else dict(payload)


class ShootingScriptsStep(Step[Any]):
    name = "shooting_scripts"
    version = "1"
    scope = "drama"
    resources = CPU_LIGHT
    reads = ("shot.extra", "keyframe", "keyinfo", "shot_size") + tuple(k for k in SCENE_KINDS if _installed(k))
    writes = ("public:scripts",)
    description = "Table 1 shooting script per scene: JSON (with JSON Schema), Fountain, FDX; every field sourced or marked missing"

    def run(self, view: DramaView, params: Any) -> StepOutput:  # type: ignore[override]
        from skyscript.scripts import fdx, fountain

        out = StepOutput()
        counts: Counter[str] = Counter()
        index: list[dict[str, Any]] = []
        for ep in view.episodes:
            if ep.status == "quarantined":
                continue
            ev = view.episode(ep.id)
            for script in build_episode_scripts(view.drama_id, ev):
                data = json.dumps(script.model_dump(mode="json"), indent=1, ensure_ascii=False).encode()
                keys = script_keys(view.drama_id, script.script_id)
                out.objects += [
                    ObjectRecord(Area.public, keys["json"], data=data, content_type="application/json"),
                    ObjectRecord(Area.public, keys["fountain"], data=fountain.render(script).encode(), content_type="text/plain"),
                    ObjectRecord(Area.public, keys["fdx"], data=fdx.render(script), content_type="application/xml"),
                ]
                fields = script.fields()
                missing = sum(1 for _, f in fields if not f.ok)
                index.append({"script_id": script.script_id, "episode_id": script.episode_id,
                              "scene": script.scene.number, "shots": len(script.shots), "digest": content_digest(data),
                              "fields": len(fields), "missing": missing})
                counts["scripts"] += 1
                counts["shots"] += len(script.shots)
                counts["fields"] += len(fields)
                counts["fields_missing"] += missing
            if ev.shots and not any((sh.extra or {}).get("scene") for sh in ev.shots):
                counts["episodes_without_scenes"] += 1
        out.objects.append(ObjectRecord(
            Area.public, index_key(view.drama_id),
            data=json.dumps({"schema_version": SCRIPT_SCHEMA_VERSION, "scripts": index}, indent=1).encode(),
            content_type="application/json"))
        out.objects.append(ObjectRecord(Area.public, schema_key(view.drama_id),
                                        data=json.dumps(json_schema(), indent=1).encode(), content_type="application/json"))
        out.counts = dict(counts)
        out.model = ModelInfo(model_id=f"table1 builder v{self.version} (schema {SCRIPT_SCHEMA_VERSION})")
        return out


def build_episode_scripts(drama_id: str, ev: EpisodeView) -> list[ShootingScript]:
    """The episode's scripts, one per scene the ``scenes`` step recorded (none before it ran)."""
    from skyscript.scripts.table1 import KeyframeIn, ScriptBuilder, ShotIn
    from skyscript.steps.scenes import scene_of

    kfs: dict[int, list[KeyframeIn]] = {}
    for kf in ev.keyframes:
        ki = ev.current(kf.id, "keyinfo")
        ss = ev.current(kf.id, "shot_size")
        kinds = {k: _dump(ev.payload(kf.id, k)) for k in SCENE_KINDS if ev.current(kf.id, k) is not None}
        human = {k: bool(ev.current(kf.id, k) and ev.current(kf.id, k).human) for k in kinds}  # type: ignore[union-attr]
        kfs.setdefault(kf.shot_index, []).append(KeyframeIn(
            id=kf.id, frame_index=kf.frame_index, valid=kf.valid, shot_type=kf.shot_type,
            shot_type_human=bool(ss is not None and ss.human),
            keyinfo=_dump(ki.payload) if ki is not None and kf.valid else None, keyinfo_human=bool(ki is not None and ki.human),
            kinds={k: v for k, v in kinds.items() if v is not None}, human=human,
        ))
    scenes: dict[int, tuple[Any, list[ShotIn]]] = {}
    for sh in ev.shots:
        info = scene_of(sh.extra)
        if info is None:
            continue
        entry = scenes.setdefault(info.scene_index, (info, []))
        entry[1].append(ShotIn(sh.id, sh.shot_index, sh.start_s, sh.end_s, sh.camera_movement, sh.transition_in,
                               sh.extra or {}, kfs.get(sh.shot_index, [])))
    builder = ScriptBuilder(drama_id, ev.id)
    out = []
    number = 1
    for n in sorted(scenes):
        info, shots = scenes[n]
        script = builder.build(info, shots, number)
        number += len(shots)
        out.append(ShootingScript.model_validate(script.model_dump(mode="json")))  # re-validated from JSON
    return out
