"""Relationships and shipping (paper 5.3): a time-varying relationship graph per drama.

A drama step. For every keyframe with two or more identified characters (the ``characters``
kind) it gathers, per pair, their boxes (keyinfo), 3D positions (layout), keypoints (pose),
valence/arousal (emotion, else keyinfo) and attractiveness/temperament (keyinfo); the formula
(strength per window, shipping compatibility) is in :mod:`skyscript.scripts.relationships`. The
graph goes to the public area as ``relationships/<drama>/graph.json`` (nodes, edges with their
strength over time and shipping score with components) and ``relationships/<drama>/strength.png``.
Without the characters step there are no identities to relate: the graph says so
(``missing``) and has no edges.
"""

from __future__ import annotations

import importlib.util
import io
import json
from typing import Any

from skyscript.config import RelationshipSettings
from skyscript.steps.base import CPU_LIGHT, ModelInfo, ObjectRecord, Step, StepOutput
from skyscript.steps.view import DramaView, EpisodeView
from skyscript.store import Area

KINDS = ("characters", "pose", "layout", "emotion")


def graph_key(drama_id: str) -> str:
    return f"relationships/{drama_id}/graph.json"


def plot_key(drama_id: str) -> str:
    return f"relationships/{drama_id}/strength.png"


def _d(payload: Any) -> dict[str, Any]:
    return payload.model_dump(mode="json") if hasattr(payload, "model_dump") else dict(payload or {})


class RelationshipsStep(Step[RelationshipSettings]):
    name = "relationships"
    version = "1"
    scope = "drama"
    resources = CPU_LIGHT
    reads = ("shot", "keyframe", "keyinfo") + tuple(k for k in KINDS if importlib.util.find_spec(f"skyscript.steps.{k}"))
    writes = ("public:relationships",)
    params_model = RelationshipSettings
    settings_field = "relationships"
    description = "character pairs over time: co-occurrence, distance, gaze, shared emotion; strength and shipping score"

    def run(self, view: DramaView, params: RelationshipSettings) -> StepOutput:  # type: ignore[override]
        from skyscript.scripts.relationships import build_graph

        samples: list[Any] = []
        offset = 0.0
        identified = 0
        for ep in view.episodes:
            if ep.status == "quarantined":
                continue
            ev = view.episode(ep.id)
            got, n = self._samples(ev, offset)
            samples += got
            identified += n
            offset += ep.duration_s or (max((s.end_s for s in ev.shots), default=0.0))
        graph = build_graph(samples, window_s=params.window_s, decay=params.decay, duration_s=offset)
        graph["drama_id"] = view.drama_id
        graph["missing"] = None if identified else "characters step has not run: no identities to relate"
        out = StepOutput(counts={"samples": len(samples), "characters": len(graph["nodes"]), "edges": len(graph["edges"])})
        out.objects.append(ObjectRecord(Area.public, graph_key(view.drama_id), data=json.dumps(graph, indent=1).encode(),
                                        content_type="application/json"))
        png = _plot(graph)
        if png is not None:
            out.objects.append(ObjectRecord(Area.public, plot_key(view.drama_id), data=png, content_type="image/png"))
        out.model = ModelInfo(model_id="relationships formula v1 (skyscript.scripts.relationships)")
        return out

    def _samples(self, ev: EpisodeView, offset: float) -> tuple[list[Any], int]:
        from skyscript.scripts.relationships import Person, Together

        per_shot: dict[int, int] = {}
        for kf in ev.valid_keyframes:
            per_shot[kf.shot_index] = per_shot.get(kf.shot_index, 0) + 1
        shots = {s.shot_index: s for s in ev.shots}
        out: list[Any] = []
        identified = 0
        for kf in ev.valid_keyframes:
            chars = _d(ev.payload(kf.id, "characters"))
            info = _d(ev.payload(kf.id, "keyinfo"))
            if not chars.get("people") or not info:
                continue
            identified += 1
            pose = {p["person"]: p for p in _d(ev.payload(kf.id, "pose")).get("people", [])}
            layout = {p["person"]: p for p in _d(ev.payload(kf.id, "layout")).get("people", [])}
            emo = {p["person"]: p for p in _d(ev.payload(kf.id, "emotion")).get("people", [])}
            people = info.get("people", [])
            persons = []
            for c in chars["people"]:
                i = int(c["person"])
                if i >= len(people):
                    continue
                kp = people[i]
                e = emo.get(i, {})
                persons.append(Person(
                    character_id=str(c["character_id"]), name=str(c.get("name")),
                    box=tuple(kp.get("body_box") or kp.get("face_box") or ()) or None,  # type: ignore[arg-type]
                    xyz_cm=tuple(layout[i]["world_xyz_cm"]) if i in layout else None,  # type: ignore[arg-type]
                    keypoints=pose[i]["keypoints"] if i in pose else None,
                    valence=e.get("valence", kp.get("valence")), arousal=e.get("arousal", kp.get("arousal")),
                    attractiveness=kp.get("attractiveness"), temperament=kp.get("temperament"),
                ))
            sh = shots.get(kf.shot_index)
            weight = ((sh.end_s - sh.start_s) if sh else 0.0) / per_shot[kf.shot_index]
            diag = float((info.get("width", 1) ** 2 + info.get("height", 1) ** 2) ** 0.5)
            for x in range(len(persons)):
                for y in range(x + 1, len(persons)):
                    if persons[x].character_id != persons[y].character_id:
                        out.append(Together(offset + kf.timestamp_s, weight, diag, persons[x], persons[y]))
        return out, identified


def _plot(graph: dict[str, Any]) -> bytes | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for e in graph["edges"][:8]:
        ax.plot([w["start_s"] for w in e["strength"]], [w["strength"] for w in e["strength"]], marker=".",
                label=f"{e['names'][0]} & {e['names'][1]} (ship {e['shipping']['score']})")
    ax.set_title("Relationship strength over time" + ("" if graph["edges"] else f" ({graph.get('missing') or 'no pairs'})"),
                 fontsize=9)
    ax.set_xlabel("drama time, seconds")
    ax.set_ylabel("strength")
    if graph["edges"]:
        ax.legend(fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()
