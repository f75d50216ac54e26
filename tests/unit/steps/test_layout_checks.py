"""The layout's consistency checks flag, never fix: a person who would have to move faster than
a person can between keyframes, and an occlusion order the depth map contradicts (Figure 10)."""

from __future__ import annotations

from skyscript.config import LayoutSettings
from skyscript.keyinfo.schema import KeyInfo, Person
from skyscript.schemas.scene import DepthPayload, DepthPerson, LayoutPayload, LayoutPerson
from skyscript.steps.layout import layout_keyframe, speed_flags


def _at(*zs: float) -> LayoutPayload:
    return LayoutPayload(focal_px=500, hfov_deg=60, camera_height_cm=150, camera_height_source="prior", people=[
        LayoutPerson(person=i, camera_xyz_cm=(0.0, 0.0, z), world_xyz_cm=(0.0, 150.0, z), path="geometry",
                     scale_cue="face", image_xy=(0, 0)) for i, z in enumerate(zs)])


def test_speed_check_flags_only_the_impossible_move() -> None:
    prev, cur = _at(300, 800), _at(310, 2000)  # the second person jumps 12 m in half a second
    [flag] = speed_flags(prev, cur, 0.5, max_speed=1000)
    assert flag.check == "speed" and flag.people == [1] and "1200 cm in 0.50 s" in flag.detail
    assert speed_flags(prev, _at(320, 900), 0.5, max_speed=1000) == []
    assert speed_flags(prev, cur, 0.0, max_speed=1000) == []


def test_occlusion_order_against_the_depth_map() -> None:
    # person 0's face is larger (nearer by size), the boxes overlap, and depth agrees or not
    info = KeyInfo(origin="offline", width=1000, height=600, people=[
        Person(face_box=(400, 100, 500, 200)), Person(face_box=(450, 120, 490, 160))])
    agree = DepthPayload(map_key="k", source="depth", people=[DepthPerson(person=0, median=9.0), DepthPerson(person=1, median=2.0)])
    layout, _ = layout_keyframe(info, agree, None, LayoutSettings())
    assert layout.flags == [] and [p.path for p in layout.people] == ["depth", "depth"]
    assert layout.people[0].camera_xyz_cm[2] < layout.people[1].camera_xyz_cm[2]
    contradict = DepthPayload(map_key="k", source="depth", people=[DepthPerson(person=0, median=2.0), DepthPerson(person=1, median=9.0)])
    layout, _ = layout_keyframe(info, contradict, None, LayoutSettings())
    [flag] = layout.flags
    assert flag.check == "occlusion_order" and flag.people == [0, 1]
    assert "size cues put person 0 in front, the depth map person 1" in flag.detail
