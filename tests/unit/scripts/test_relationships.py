"""Relationships and shipping: the documented formula on hand-made samples (values computed by
hand), mutual gaze from COCO keypoints, and the step on the runner with and without the
characters annotations."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from script_fixtures import drama_with_scripts, scene_kinds, scene_payloads
from skyscript.context import StepContext
from skyscript.db import lineage
from skyscript.scripts.relationships import Person, Together, build_graph, facing, mutual_gaze
from skyscript.steps.registry import PIPELINE
from skyscript.steps.relationships import KINDS, RelationshipsStep, graph_key, plot_key
from skyscript.steps.runner import run_step
from skyscript.store import Area


def kp(nose_x: float, left_x: float, right_x: float) -> list[list[float]]:
    pts = [[0.0, 0.0, 0.0] for _ in range(17)]
    pts[0], pts[5], pts[6] = [nose_x, 50, 0.9], [left_x, 100, 0.9], [right_x, 100, 0.9]
    return pts


def test_facing_and_mutual_gaze_from_keypoints() -> None:
    left = Person("a", "A", box=(0, 0, 100, 300), keypoints=kp(80, 40, 60))  # nose right of the shoulders: faces +x
    right = Person("b", "B", box=(300, 0, 400, 300), keypoints=kp(320, 340, 360))  # faces -x
    assert facing(left) == 1 and facing(right) == -1
    assert mutual_gaze(left, right) is True
    away = replace(right, keypoints=kp(380, 340, 360))
    assert mutual_gaze(left, away) is False
    assert facing(replace(left, keypoints=kp(50, 40, 60))) is None  # facing the camera
    assert mutual_gaze(replace(left, keypoints=None), right) is None


def test_strength_and_shipping_follow_the_documented_formula() -> None:
    a = Person("a", "EMMA", box=(0, 0, 100, 300), xyz_cm=(0, 165, 300), keypoints=kp(80, 40, 60), valence=7, arousal=5,
               attractiveness=4, temperament="lively")
    b = Person("b", "JACK", box=(300, 0, 400, 300), xyz_cm=(150, 180, 300), keypoints=kp(320, 340, 360), valence=5,
               arousal=3, attractiveness=3, temperament="calm")
    # 30 s together in window 0 (of 60 s), nothing in window 1
    samples = [Together(t, 10.0, 500.0, a, b) for t in (5, 15, 25)]
    g = build_graph(samples, window_s=60, decay=0.5, duration_s=120)
    (e,) = g["edges"]
    d = ((150 ** 2 + 15 ** 2) ** 0.5)
    evidence = 0.5 * (1 / (1 + d / 150)) * 1.5
    assert e["strength"][0]["evidence"] == pytest.approx(evidence, abs=1e-4)
    assert e["strength"][0]["strength"] == pytest.approx(0.5 * evidence, abs=1e-4)
    assert e["strength"][1]["strength"] == pytest.approx(0.25 * evidence, abs=1e-4)
    assert e["mutual_gaze_share"] == 1.0 and e["distance_cm"] == pytest.approx(d, abs=0.1)
    comps = e["shipping"]["components"]
    assert comps["bond"]["value"] == 1.0
    assert comps["attractiveness"]["value"] == pytest.approx((3.5 - 1) / 4 * (1 - 1 / 4), abs=1e-4)
    (w1, e1), (w2, e2) = (0.6, 0.9), (0.3, -0.8)
    assert comps["temperament"]["value"] == pytest.approx(0.5 * (1 - abs(w1 - w2) / 2) + 0.5 * abs(e1 - e2) / 2, abs=1e-4)
    assert comps["shared_emotion"]["value"] == pytest.approx((6 - 1) / 8 * (1 - 2 / 8), abs=1e-4)
    expected = sum(w * comps[k]["value"] for k, w in e["shipping"]["weights"].items())
    assert e["shipping"]["score"] == pytest.approx(expected, abs=1e-3)


def test_unknown_components_are_missing_and_the_weights_renormalise() -> None:
    a, b = Person("a", "A", box=(0, 0, 10, 10)), Person("b", "B", box=(20, 0, 30, 10))
    g = build_graph([Together(1, 5.0, 100.0, a, b)], window_s=10, decay=0.0, duration_s=10)
    ship = g["edges"][0]["shipping"]
    assert ship["components"]["temperament"]["missing"] and ship["components"]["shared_emotion"]["missing"]
    assert ship["score"] == 1.0  # only the bond is known, and it is the drama's strongest
    assert g["edges"][0]["distance_missing"] and g["edges"][0]["gaze_missing"]


def test_the_step_writes_the_graph_with_and_without_characters(ctx: StepContext, tmp_path: Path) -> None:
    drama_with_scripts(ctx, tmp_path)

    class Filled(RelationshipsStep):
        reads = RelationshipsStep.reads + tuple(k for k in KINDS if k not in RelationshipsStep.reads)

    kinds = {**PIPELINE.kinds(), **scene_kinds()}
    res = run_step(Filled(), ctx, None, kinds=kinds)
    assert res.status == "success" and res.counts["edges"] == 0
    graph = json.loads(ctx.store.get_bytes(Area.public, graph_key(ctx.drama_id)))
    assert graph["missing"] == "characters step has not run: no identities to relate"

    with ctx.db.session() as s:
        for kf in lineage.keyframes_of(s, f"{ctx.drama_id}--ep1"):
            for kind, payload in scene_payloads().items():
                lineage.put_annotation(s, kf.id, kind, payload, "test", None)
    res = run_step(Filled(), ctx, None, kinds=kinds)
    assert res.status == "success" and res.counts == {"samples": 6, "characters": 2, "edges": 1}
    graph = json.loads(ctx.store.get_bytes(Area.public, graph_key(ctx.drama_id)))
    (edge,) = graph["edges"]
    assert edge["names"] == ["EMMA", "JACK"] and edge["keyframes"] == 6 and graph["missing"] is None
    assert edge["distance_cm"] == pytest.approx(((60 ** 2 + 15 ** 2 + 20 ** 2) ** 0.5), abs=0.1)
    assert edge["valence_together"] == [8.0, 4.0] and edge["shipping"]["score"] is not None
    assert ctx.store.get_bytes(Area.public, plot_key(ctx.drama_id))[:8] == b"\x89PNG\r\n\x1a\n"
