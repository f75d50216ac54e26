"""3D layout (paper 5.2, equation 1): every person's and key object's position in centimetres per
keyframe, in camera coordinates and in the script's world layout (Table 1), and the 3x4
projection matrix of each shot with its reprojection error (``shot.extra["projection"]``).

* Geometry path (always): pinhole intrinsics from the frame size and ``hfov_deg``; a person's
  depth from a size prior (keypoints from the ``pose`` annotation when head and ankles are
  visible, the face box otherwise, the whole body box last), see :mod:`skyscript.scene.geometry`.
* Depth path: where the ``depth`` annotation has medians, Depth Anything's relative inverse depth
  is scaled to centimetres by the people measured geometrically (``z = a / d``) and gives every
  person and object its depth; ``path`` says which produced each value.
* Camera height: from the feet of people whose feet are in frame, else ``camera_height_cm``.
* Checks across a shot (flagged, never fixed): nobody moves faster than ``max_speed_cm_s`` between
  keyframes; where depth exists, the geometric front-to-back order of overlapping people agrees
  with the depth map's (paper Figure 10).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from skyscript.config import LayoutSettings, Settings
from skyscript.schemas.scene import LayoutFlag, LayoutObject, LayoutPayload, LayoutPerson
from skyscript.steps.base import CPU_LIGHT, AnnotationRecord, Kind, ModelInfo, RowUpdate, Step, StepOutput
from skyscript.steps.view import EpisodeView

LAYOUT = Kind("layout", LayoutPayload, version="1", description="3D positions (cm) of people and objects; camera and world frames")
TEEN_HEIGHT_CM = 160.0


@dataclass
class _Placed:
    person: int
    xyz: tuple[float, float, float]
    image_xy: tuple[float, float]
    z_geometry: float
    cue: str
    path: str
    feet_v: float | None
    box: Any


def _round3(v: Any) -> tuple[float, float, float]:
    return (round(float(v[0]), 1), round(float(v[1]), 1), round(float(v[2]), 1))


def layout_keyframe(info: Any, depth: Any, pose: Any, params: LayoutSettings, pose_min_score: float = 0.3
                    ) -> tuple[LayoutPayload, list[tuple[tuple[float, float, float], tuple[float, float]]]]:
    """The layout of one keyframe and its 2D-3D correspondences (world point, pixel)."""
    from skyscript.scene.geometry import Camera, depth_scale, feet_height, place_object, place_person

    cam = Camera.from_fov(info.width, info.height, params.hfov_deg)
    kps = {p.person: p.keypoints for p in pose.people} if pose is not None else {}
    dmed = {p.person: p.median for p in depth.people} if depth is not None and depth.map_key else {}
    omed = {o.object: o.median for o in depth.objects} if depth is not None and depth.map_key else {}
    placed: list[_Placed] = []
    for i, p in enumerate(info.people):
        age = p.age.value if p.age is not None else None
        stature = params.child_height_cm if age == "child" else TEEN_HEIGHT_CM if age == "teenager" else params.person_height_cm
        pl = place_person(cam, p.face_box, p.body_box, kps.get(i), stature, params.face_height_cm, pose_min_score)
        if pl is not None:
            placed.append(_Placed(i, pl.camera_xyz, pl.image_xy, pl.z_cm, pl.cue, "geometry", pl.feet_v, p.body_box or p.face_box))
    a = depth_scale([q.z_geometry for q in placed if q.person in dmed], [dmed[q.person] for q in placed if q.person in dmed])
    if a is not None:
        for q in placed:
            if q.person in dmed and dmed[q.person] > 0:
                z = a / dmed[q.person]
                q.xyz = cam.backproject(q.image_xy[0], q.image_xy[1], z)
                q.path = "depth"
    heights = [-feet_height(cam, q.feet_v, q.xyz[2]) for q in placed if q.feet_v is not None]
    heights = [h for h in heights if h > 0]
    cam_h = sorted(heights)[len(heights) // 2] if heights else params.camera_height_cm
    payload = LayoutPayload(focal_px=round(cam.focal_px, 2), hfov_deg=params.hfov_deg, camera_height_cm=round(cam_h, 1),
                            camera_height_source="feet" if heights else "prior", source="depth" if a is not None else "geometry")
    points: list[tuple[tuple[float, float, float], tuple[float, float]]] = []
    for q in placed:
        world = (q.xyz[0], q.xyz[1] + cam_h, q.xyz[2])
        payload.people.append(LayoutPerson(person=q.person, camera_xyz_cm=_round3(q.xyz), world_xyz_cm=_round3(world),
                                           path=q.path, scale_cue=q.cue, image_xy=(round(q.image_xy[0], 1), round(q.image_xy[1], 1))))  # type: ignore[arg-type]
        points.append((world, q.image_xy))
        if q.feet_v is not None:
            fy = feet_height(cam, q.feet_v, q.xyz[2])
            points.append(((world[0], fy + cam_h, world[2]), (q.image_xy[0], q.feet_v)))
    for j, o in enumerate(info.objects):
        if o.box is None:
            continue
        xyz, uv, z = place_object(cam, o.box, params.object_size_cm)
        path = "geometry"
        if a is not None and omed.get(j, 0) > 0:
            xyz, path = cam.backproject(uv[0], uv[1], a / omed[j]), "depth"
        world = (xyz[0], xyz[1] + cam_h, xyz[2])
        payload.objects.append(LayoutObject(object=j, camera_xyz_cm=_round3(xyz), world_xyz_cm=_round3(world), path=path,  # type: ignore[arg-type]
                                            image_xy=(round(uv[0], 1), round(uv[1], 1))))
    # occlusion order (Figure 10): overlapping people, geometric order against the depth map's
    for x in range(len(placed)):
        for y in range(x + 1, len(placed)):
            p, q = placed[x], placed[y]
            if p.person not in dmed or q.person not in dmed or p.box is None or q.box is None or not _overlap(p.box, q.box):
                continue
            geo_front = p.person if p.z_geometry < q.z_geometry else q.person
            depth_front = p.person if dmed[p.person] > dmed[q.person] else q.person
            if geo_front != depth_front:
                payload.flags.append(LayoutFlag(check="occlusion_order", people=[p.person, q.person],
                                                detail=f"size cues put person {geo_front} in front, the depth map person {depth_front}"))
    return payload, points


def _overlap(a: Any, b: Any) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def speed_flags(prev: LayoutPayload, cur: LayoutPayload, dt_s: float, max_speed: float) -> list[LayoutFlag]:
    """People of ``cur`` that no one of ``prev`` could have reached at ``max_speed`` (best
    one-to-one matching by distance)."""
    if dt_s <= 0 or not prev.people or not cur.people:
        return []
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    d = np.array([[float(np.linalg.norm(np.subtract(c.camera_xyz_cm, p.camera_xyz_cm))) for c in cur.people] for p in prev.people])
    rows, cols = linear_sum_assignment(d)
    flags = []
    for r, c in zip(rows, cols):
        speed = d[r, c] / dt_s
        if speed > max_speed:
            flags.append(LayoutFlag(check="speed", people=[cur.people[c].person],
                                    detail=f"moved {d[r, c]:.0f} cm in {dt_s:.2f} s ({speed:.0f} cm/s > {max_speed:.0f}) since person "
                                           f"{prev.people[r].person} of the previous keyframe"))
    return flags


def shot_projection(points: list[tuple[tuple[float, float, float], tuple[float, float]]], info: Any, cam_h: float,
                    params: LayoutSettings) -> dict[str, Any]:
    """Equation 1's matrix for a shot: DLT from its correspondences when there are enough and
    they are not degenerate, else the assumed intrinsics; with the RMS reprojection error."""
    from skyscript.scene.geometry import Camera, dlt, reprojection_error

    world = [w for w, _ in points]
    image = [i for _, i in points]
    source, reason = "intrinsics", None
    cam = Camera.from_fov(info.width, info.height, params.hfov_deg)
    p = cam.matrix(cam_h)
    if len(points) >= params.min_correspondences:
        try:
            p = dlt(world, image)
            source = "dlt"
        except ValueError as exc:
            reason = str(exc)
    else:
        reason = f"{len(points)} 2D-3D points, {params.min_correspondences} needed for DLT"
    err = reprojection_error(p, world, image) if points else None
    return {"P": [[round(float(v), 6) for v in row] for row in p], "source": source, "points": len(points),
            "reprojection_error_px": round(err, 4) if err is not None else None, "hfov_deg": params.hfov_deg,
            "fallback_reason": reason}


class LayoutStep(Step[LayoutSettings]):
    name = "layout"
    version = "1"
    resources = CPU_LIGHT
    reads = ("keyinfo", "depth", "pose", "shot")
    writes = ("layout", "shot.extra")
    owns = (LAYOUT,)
    params_model = LayoutSettings
    settings_field = "layout"
    description = "3D positions of people and objects per keyframe; projection matrix per shot"

    def setup(self, settings: Settings) -> None:
        self.pose_min_score = settings.pose.min_score

    def run(self, view: EpisodeView, params: LayoutSettings) -> StepOutput:  # type: ignore[override]
        out = StepOutput()
        per_shot: dict[str, list[tuple[Any, LayoutPayload, Any]]] = {}
        paths = {"geometry": 0, "depth": 0}
        for kf in view.valid_keyframes:
            info = view.payload(kf.id, "keyinfo")
            if info is None:
                continue
            payload, points = layout_keyframe(info, view.payload(kf.id, "depth"), view.payload(kf.id, "pose"), params,
                                              self.pose_min_score)
            per_shot.setdefault(kf.shot_id, []).append((kf, payload, (points, info)))
        flagged = 0
        for shot in view.shots:
            items = sorted(per_shot.get(shot.id, []), key=lambda t: t[0].timestamp_s)
            for (ka, pa, _), (kb, pb, _) in zip(items, items[1:]):
                pb.flags += speed_flags(pa, pb, kb.timestamp_s - ka.timestamp_s, params.max_speed_cm_s)
            if not items:
                continue
            points = [pt for _, _, (pts, _) in items for pt in pts]
            cam_h = items[0][1].camera_height_cm
            proj = shot_projection(points, items[0][2][1], cam_h, params)
            out.updates.append(RowUpdate("shot", shot.id, {"extra": {**(shot.extra or {}), "projection": proj}}))
            for kf, payload, _ in items:
                flagged += len(payload.flags)
                for p in payload.people + payload.objects:  # type: ignore[operator]
                    paths[p.path] += 1
                out.annotations.append(AnnotationRecord(kf.id, LAYOUT.name, payload, payload.source))
        out.counts = {"keyframes": len(out.annotations), "shots": len(out.updates), "flags": flagged,
                      "geometry_values": paths["geometry"], "depth_values": paths["depth"]}
        out.model = ModelInfo(model_id="pinhole+size-prior" + ("+depth" if paths["depth"] else ""))
        out.params = {"pose_min_score": self.pose_min_score}
        return out
