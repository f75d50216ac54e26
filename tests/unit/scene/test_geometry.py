"""Camera geometry: DLT recovers a known camera from synthetic 2D-3D points and reprojects them
within a stated error; people are placed from size cues (close-up nearer than full shot); the
layout of a real full-body photo puts a standing adult's head 150-190 cm above the floor."""

from __future__ import annotations

import math

import numpy as np
import pytest

from skyscript.scene.geometry import Camera, dlt, place_person, reprojection_error

REPROJECTION_PX = 0.5  # the stated error bound for noise-free points, after 1 px noise: 1.5 px


def _known_camera() -> tuple[np.ndarray, np.ndarray]:
    """A camera 150 cm up, turned 10 degrees left and pitched 5 degrees down, f = 800 px."""
    k = np.array([[800.0, 0, 640], [0, -800.0, 360], [0, 0, 1]])
    yaw, pitch = math.radians(10), math.radians(-5)
    ry = np.array([[math.cos(yaw), 0, math.sin(yaw)], [0, 1, 0], [-math.sin(yaw), 0, math.cos(yaw)]])
    rx = np.array([[1, 0, 0], [0, math.cos(pitch), -math.sin(pitch)], [0, math.sin(pitch), math.cos(pitch)]])
    r = rx @ ry
    t = -r @ np.array([0.0, 150.0, 0.0])
    return k @ np.hstack([r, t[:, None]]), k


def _project(p: np.ndarray, world: np.ndarray) -> np.ndarray:
    h = (p @ np.hstack([world, np.ones((len(world), 1))]).T).T
    return h[:, :2] / h[:, 2:3]


def test_dlt_recovers_a_known_camera_from_synthetic_points() -> None:
    p_true, _ = _known_camera()
    rng = np.random.default_rng(3)
    world = np.column_stack([rng.uniform(-200, 200, 12), rng.uniform(0, 190, 12), rng.uniform(200, 900, 12)])
    image = _project(p_true, world)
    p = dlt(world, image)
    assert reprojection_error(p, world, image) < REPROJECTION_PX
    assert np.allclose(p / p[2, 3], p_true / p_true[2, 3], rtol=1e-4, atol=1e-6)
    # with one pixel of noise the error stays about the noise
    noisy = image + rng.normal(0, 1.0, image.shape)
    assert reprojection_error(dlt(world, noisy), world, noisy) < 1.5
    # and a new point projects where the true camera puts it
    new = np.array([[50.0, 165.0, 400.0]])
    assert np.abs(_project(p, new) - _project(p_true, new)).max() < 0.01


def test_dlt_refuses_too_few_or_coplanar_points() -> None:
    p_true, _ = _known_camera()
    world = np.array([[x, 0.0, z] for x in (-100, 0, 100) for z in (300, 600)], dtype=float)  # all on the floor
    with pytest.raises(ValueError, match="degenerate"):
        dlt(world, _project(p_true, world))
    with pytest.raises(ValueError, match="at least 6"):
        dlt(world[:5], _project(p_true, world[:5]))


def test_intrinsic_matrix_agrees_with_backprojection() -> None:
    cam = Camera.from_fov(1280, 720, 60)
    assert cam.focal_px == pytest.approx(640 / math.tan(math.radians(30)))
    xyz = cam.backproject(900, 200, 500)
    p = cam.matrix(camera_height_cm=150)
    world = np.array([[xyz[0], xyz[1] + 150, xyz[2]]])
    assert np.allclose(_project(p, world), [[900, 200]])


def test_close_up_is_nearer_than_full_shot() -> None:
    cam = Camera.from_fov(1280, 720, 60)
    close = place_person(cam, (560, 150, 760, 400), None, None, 165, 15)  # face 250 px high
    full = place_person(cam, (620, 100, 650, 130), (580, 80, 700, 660), None, 165, 15)  # face 30 px, whole body
    assert close is not None and full is not None
    assert close.cue == full.cue == "face"
    assert close.z_cm < full.z_cm / 5
    assert full.feet_v == 660


def test_keypoints_win_over_the_face() -> None:
    cam = Camera.from_fov(1000, 1000, 60)
    kps = [[0.0, 0.0, 0.0]] * 17
    kps = [list(k) for k in kps]
    kps[1] = [500, 200, 0.9]  # left eye
    kps[15] = [500, 650, 0.9]  # left ankle
    pl = place_person(cam, (480, 180, 520, 230), None, kps, 165, 15)
    assert pl is not None and pl.cue == "keypoints"
    assert pl.z_cm == pytest.approx(cam.focal_px * 0.897 * 165 / 450)
