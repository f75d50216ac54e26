"""The pose and depth adapters' real inference code on randomly initialised models (the weights
are random, so only shapes, ranges, coordinate mapping and error messages are asserted)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from random_pose_onnx import heatmap_model, random_depth_anything, simcc_model  # noqa: E402

from skyscript.config import DepthSettings, PoseSettings, Settings  # noqa: E402
from skyscript.errors import MissingWeights  # noqa: E402
from skyscript.models.pose import OnnxPose, _warp, body_box_of, load_pose_backend  # noqa: E402

pytest.importorskip("onnx", reason="building the test model needs onnx")


def _image() -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.integers(0, 255, (360, 640, 3), dtype=np.uint8)


@pytest.mark.parametrize("build", [simcc_model, heatmap_model])
def test_onnx_pose_runs_and_maps_keypoints_into_the_box(tmp_path: Path, build) -> None:  # type: ignore[no-untyped-def]
    path = build(tmp_path / "pose.onnx")
    pose = OnnxPose(str(path), None, "onnx:test")
    assert pose.size == (192, 256)
    box = (300.0, 50.0, 380.0, 330.0)
    [(kps, score)] = pose.predict(_image(), [box])
    assert len(kps) == 17 and 0 <= score <= 1
    # every keypoint lands inside the padded box the model looked at (x1.25, widened to 3:4)
    m = _warp(box, pose.size)
    for x, y, s in kps:
        u, v = m @ np.array([x, y, 1.0])
        assert -1 <= u <= 193 and -1 <= v <= 257 and 0 <= s <= 1


def test_pose_backend_names_the_missing_file(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    with pytest.raises(MissingWeights, match="pose/rtmpose-s-coco17.onnx"):
        load_pose_backend(settings, PoseSettings(backend="onnx"))
    with pytest.raises(MissingWeights, match="yolo11n-pose.pt"):
        load_pose_backend(settings, PoseSettings(backend="auto"))


def test_ultralytics_backend_behind_the_same_interface(tmp_path: Path) -> None:
    pytest.importorskip("ultralytics", reason="ultralytics (with a matching torchvision) comes with the GPU image only")
    from ultralytics import YOLO

    from skyscript.models.pose import UltralyticsPose

    model = YOLO("yolo11n-pose.yaml")  # built from its config: random weights, nothing downloaded
    pose = UltralyticsPose(model, "ultralytics:random", None)
    out = pose.predict(_image(), [(300.0, 50.0, 380.0, 330.0)])
    assert len(out) == 1 and len(out[0][0]) == 17


def test_body_box_from_a_face() -> None:
    assert body_box_of(None, (1, 2, 3, 4), 100, 100) == (1.0, 2.0, 3.0, 4.0)
    assert body_box_of((40, 10, 60, 30), None, 100, 100) == (10.0, 0.0, 90.0, 100.0)
    assert body_box_of(None, None, 100, 100) is None


def test_depth_anything_runs_on_a_random_model(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    from skyscript.models.depth import DepthEstimator, box_median, decode_png16, encode_png16

    settings = Settings(home=tmp_path)
    with pytest.raises(MissingWeights, match="depth-anything-v2-small"):
        DepthEstimator.load(settings, DepthSettings())
    random_depth_anything(settings.model_dir / "depth-anything-v2-small")  # type: ignore[operator]
    est = DepthEstimator.load(settings, DepthSettings(max_side=140, device="cpu"))
    assert est.weights_digest and est.weights_digest.startswith("sha256:")
    depth = est.predict(_image())
    assert depth.shape == (360, 640) and depth.dtype == np.float32 and np.isfinite(depth).all()
    data, lo, hi = encode_png16(depth)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    back = decode_png16(data, lo, hi)
    assert np.abs(back - depth).max() <= (hi - lo) / 65535 + 1e-6
    assert lo <= box_median(depth, (10, 10, 100, 100)) <= hi  # type: ignore[operator]
    assert box_median(depth, (700, 10, 800, 100)) is None
