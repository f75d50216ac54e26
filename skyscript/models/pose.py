"""Human pose: COCO-17 keypoints per person box (AlphaPose's keypoint order), behind one interface.

* :class:`OnnxPose`: a top-down ONNX pose model run with onnxruntime, rtmlib-style: each person
  box is widened to the model's aspect ratio (x1.25), warped to the input size, normalised with
  ImageNet mean/std (RGB, 0-255 scale), and the output decoded: SimCC (two outputs, ``x`` and
  ``y`` distributions at ``split`` times the input resolution, as RTMPose exports) or heatmaps
  (one ``(1, 17, h, w)`` output, as SimpleBaseline/HRNet export). Keypoints map back through the
  inverse warp.
* :class:`UltralyticsPose`: an ultralytics YOLO pose model (``yolo11n-pose.pt`` and the like, GPU
  image); its detections are matched to the person boxes by overlap.

Weights come from the model directory (:mod:`skyscript.models.weights`), never a hub.
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence

import numpy as np

from skyscript.config import PoseSettings, Settings
from skyscript.errors import MissingWeights

MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float32)
STD = np.array([58.395, 57.12, 57.375], dtype=np.float32)
N_KEYPOINTS = 17
Box = tuple[float, float, float, float]
PoseResult = tuple[list[tuple[float, float, float]], float]  # 17 (x, y, score), person score


class PoseBackend(Protocol):
    name: str
    model_id: str
    weights_digest: str | None

    def predict(self, image_bgr: np.ndarray, boxes: Sequence[Box]) -> list[PoseResult]: ...


def _warp(box: Box, size: tuple[int, int], padding: float = 1.25) -> np.ndarray:
    """The 2x3 affine taking the padded box (at the model's aspect) onto the input (w, h)."""
    w_in, h_in = size
    x1, y1, x2, y2 = box
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    bw, bh = (x2 - x1) * padding, (y2 - y1) * padding
    aspect = w_in / h_in
    if bw / max(bh, 1e-6) > aspect:
        bh = bw / aspect
    else:
        bw = bh * aspect
    s = w_in / bw
    return np.array([[s, 0.0, w_in / 2.0 - s * cx], [0.0, s, h_in / 2.0 - s * cy]], dtype=np.float64)


def decode_simcc(simcc_x: np.ndarray, simcc_y: np.ndarray, split: float) -> tuple[np.ndarray, np.ndarray]:
    """(17, 2) input-pixel locations and (17,) scores from SimCC distributions."""
    xs, ys = simcc_x.argmax(-1), simcc_y.argmax(-1)
    scores = np.minimum(simcc_x.max(-1), simcc_y.max(-1))
    return np.stack([xs, ys], -1).astype(np.float64) / split, scores.astype(np.float64)


def decode_heatmap(heat: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    k, h, w = heat.shape
    flat = heat.reshape(k, -1)
    idx = flat.argmax(-1)
    ys, xs = np.unravel_index(idx, (h, w))
    pts = np.stack([(xs + 0.5) * size[0] / w, (ys + 0.5) * size[1] / h], -1)
    return pts.astype(np.float64), flat.max(-1).astype(np.float64)


class OnnxPose:
    """A top-down ONNX pose model (SimCC or heatmap output) on onnxruntime."""

    name = "onnx"

    def __init__(self, path: str, weights_digest: str | None, model_id: str, providers: Sequence[str] | None = None) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        self.session = ort.InferenceSession(path, opts, providers=list(providers or ["CPUExecutionProvider"]))
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        _, _, h, w = inp.shape
        if not (isinstance(h, int) and isinstance(w, int)):
            raise ValueError(f"pose model {path}: its input needs a fixed height and width, got {inp.shape}")
        self.size = (int(w), int(h))
        self.outputs = [o.name for o in self.session.get_outputs()]
        self.model_id = model_id
        self.weights_digest = weights_digest

    @classmethod
    def load(cls, settings: Settings, params: PoseSettings) -> "OnnxPose":
        from skyscript.models.weights import WeightSpec, resolve

        found = resolve(settings, WeightSpec("pose model (ONNX)", params.onnx_file))
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
        import onnxruntime as ort

        available = set(ort.get_available_providers())
        return cls(str(found.path), found.digest, f"onnx:{params.onnx_file}", [p for p in providers if p in available])

    def _one(self, image_bgr: np.ndarray, box: Box) -> PoseResult:
        import cv2

        m = _warp(box, self.size)
        crop = cv2.warpAffine(image_bgr, m, self.size, flags=cv2.INTER_LINEAR)
        x = ((crop[:, :, ::-1].astype(np.float32) - MEAN) / STD).transpose(2, 0, 1)[None]
        outs = self.session.run(self.outputs, {self.input_name: np.ascontiguousarray(x)})
        if len(outs) >= 2:  # SimCC: (1, 17, W*split), (1, 17, H*split)
            split = outs[0].shape[-1] / self.size[0]
            pts, scores = decode_simcc(outs[0][0], outs[1][0], split)
        else:  # heatmaps (1, 17, h, w)
            pts, scores = decode_heatmap(outs[0][0], self.size)
        inv = cv2.invertAffineTransform(m)
        full = np.hstack([pts, np.ones((len(pts), 1))]) @ inv.T
        scores = np.clip(scores, 0.0, 1.0)
        kps = [(round(float(x), 2), round(float(y), 2), round(float(s), 4)) for (x, y), s in zip(full, scores)]
        return kps, round(float(scores.mean()), 4)

    def predict(self, image_bgr: np.ndarray, boxes: Sequence[Box]) -> list[PoseResult]:
        return [self._one(image_bgr, b) for b in boxes]


class UltralyticsPose:
    """An ultralytics YOLO pose model; detections matched to the given boxes by IoU."""

    name = "ultralytics"

    def __init__(self, model: Any, model_id: str, weights_digest: str | None) -> None:
        self.model = model
        self.model_id = model_id
        self.weights_digest = weights_digest

    @classmethod
    def load(cls, settings: Settings, params: PoseSettings) -> "UltralyticsPose":
        from skyscript.models.weights import WeightSpec, resolve

        found = resolve(settings, WeightSpec("ultralytics pose weights", params.ultralytics_weights))
        try:
            from ultralytics import YOLO
        except ImportError as exc:
            raise MissingWeights(f"the ultralytics pose backend needs ultralytics ({exc}); it comes with the GPU image") from exc
        return cls(YOLO(str(found.path)), f"ultralytics:{params.ultralytics_weights}", found.digest)

    def predict(self, image_bgr: np.ndarray, boxes: Sequence[Box]) -> list[PoseResult]:
        res = self.model.predict(image_bgr, verbose=False)[0]
        if res.keypoints is None or len(res.boxes) == 0:
            return [([(0.0, 0.0, 0.0)] * N_KEYPOINTS, 0.0) for _ in boxes]
        det = res.boxes.xyxy.cpu().numpy()
        conf = res.boxes.conf.cpu().numpy()
        kp = res.keypoints.data.cpu().numpy()  # (n, 17, 3)
        out: list[PoseResult] = []
        for b in boxes:
            ious = [iou(b, d) for d in det]
            j = int(np.argmax(ious))
            if ious[j] < 0.3:
                out.append(([(0.0, 0.0, 0.0)] * N_KEYPOINTS, 0.0))
                continue
            out.append(([(round(float(x), 2), round(float(y), 2), round(float(s), 4)) for x, y, s in kp[j]], round(float(conf[j]), 4)))
        return out


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``(x1, y1, x2, y2)`` boxes."""
    x1, y1, x2, y2 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def load_pose_backend(settings: Settings, params: PoseSettings) -> PoseBackend:
    """The configured backend; ``auto`` tries ONNX, then ultralytics. :class:`MissingWeights`
    names the missing file when none can load."""
    if params.backend == "onnx":
        return OnnxPose.load(settings, params)
    if params.backend == "ultralytics":
        return UltralyticsPose.load(settings, params)
    errors = []
    for loader in (OnnxPose.load, UltralyticsPose.load):
        try:
            return loader(settings, params)
        except MissingWeights as exc:
            errors.append(str(exc))
    raise MissingWeights("; ".join(errors))


def body_box_of(face_box: Sequence[float] | None, body_box: Sequence[float] | None, width: int, height: int) -> Box | None:
    """The box a top-down model looks in: the body box, else one grown from the face (four face
    widths wide, down to seven face heights below it), clipped to the frame."""
    if body_box is not None:
        return tuple(float(v) for v in body_box)  # type: ignore[return-value]
    if face_box is None:
        return None
    x1, y1, x2, y2 = (float(v) for v in face_box)
    fw, fh = x2 - x1, y2 - y1
    cx = (x1 + x2) / 2.0
    box = (max(0.0, cx - 2 * fw), max(0.0, y1 - 0.5 * fh), min(float(width), cx + 2 * fw), min(float(height), y2 + 7 * fh))
    return box if box[2] > box[0] and box[3] > box[1] else None
