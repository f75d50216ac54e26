"""Monocular depth with Depth Anything V2 (paper 3.4) through transformers'
``DepthAnythingForDepthEstimation``.

The checkpoint is a transformers folder (``config.json`` + ``model.safetensors``) under the model
directory, named by ``DepthSettings.checkpoint`` (default ``depth-anything-v2-small``, e.g. the
``depth-anything/Depth-Anything-V2-Small-hf`` files); it is resolved and digested by
:mod:`skyscript.models.weights`, never downloaded. The model predicts *relative inverse depth*
(larger is nearer) up to an unknown scale and shift; the layout step calibrates it against the
geometric depth of the people it can measure.

Preprocessing is Depth Anything's own: RGB, the longer side resized to ``max_side`` rounded to a
multiple of the patch size (14), ImageNet mean and standard deviation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from skyscript.config import DepthSettings, Settings
from skyscript.errors import MissingWeights

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def pick_device(name: str) -> str:
    if name != "auto":
        return name
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class DepthEstimator:
    """A loaded Depth Anything model; :meth:`predict` gives a frame-sized float32 map."""

    def __init__(self, model: Any, device: str, max_side: int, model_id: str, weights_digest: str | None) -> None:
        self.model = model.to(device).eval()
        self.device = device
        self.max_side = max_side
        self.model_id = model_id
        self.weights_digest = weights_digest
        self.patch = int(getattr(getattr(model.config, "backbone_config", None), "patch_size", 14) or 14)

    @classmethod
    def load(cls, settings: Settings, params: DepthSettings) -> "DepthEstimator":
        """From the checkpoint folder under the model directory; :class:`MissingWeights` names the
        missing file."""
        from skyscript.models.weights import WeightSpec, resolve

        found = resolve(settings, WeightSpec("Depth Anything V2 checkpoint", params.checkpoint))
        if not any((found.path / f).is_file() for f in ("model.safetensors", "pytorch_model.bin")):
            raise MissingWeights(
                f"missing file {params.checkpoint}/model.safetensors (Depth Anything V2 weights): the folder {found.path} has only its config"
            )
        try:
            from transformers import DepthAnythingForDepthEstimation
        except ImportError as exc:  # pragma: no cover - transformers is in the detect and gpu extras
            raise MissingWeights(f"depth needs transformers and torch ({exc}): pip install 'skyscript[detect]'") from exc
        model = DepthAnythingForDepthEstimation.from_pretrained(str(found.path), local_files_only=True)
        return cls(model, pick_device(params.device), params.max_side, f"depth-anything:{params.checkpoint}", found.digest)

    def _input(self, image_bgr: np.ndarray) -> np.ndarray:
        import cv2

        h, w = image_bgr.shape[:2]
        s = self.max_side / max(h, w)
        nh = max(self.patch, int(round(h * s / self.patch)) * self.patch)
        nw = max(self.patch, int(round(w * s / self.patch)) * self.patch)
        rgb = cv2.cvtColor(cv2.resize(image_bgr, (nw, nh), interpolation=cv2.INTER_CUBIC), cv2.COLOR_BGR2RGB)
        x = (rgb.astype(np.float32) / 255.0 - MEAN) / STD
        return np.ascontiguousarray(x.transpose(2, 0, 1)[None])

    def predict(self, image_bgr: np.ndarray) -> np.ndarray:
        """Relative inverse depth at every pixel of the frame (float32, frame size)."""
        import cv2
        import torch

        x = torch.from_numpy(self._input(image_bgr)).to(self.device)
        with torch.inference_mode():
            out = self.model(pixel_values=x).predicted_depth[0].float().cpu().numpy()
        h, w = image_bgr.shape[:2]
        return cv2.resize(out, (w, h), interpolation=cv2.INTER_CUBIC).astype(np.float32)


def box_median(depth: np.ndarray, box: Any) -> float | None:
    """Median of the map inside a box (clipped to the frame); None for an empty box."""
    h, w = depth.shape[:2]
    x1, y1, x2, y2 = (int(round(float(v))) for v in box)
    x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
    if x2 <= x1 or y2 <= y1:
        return None
    return float(np.median(depth[y1:y2, x1:x2]))


def encode_png16(depth: np.ndarray) -> tuple[bytes, float, float]:
    """The map as a 16-bit greyscale PNG spanning its min..max, with that range."""
    import cv2

    lo, hi = float(depth.min()), float(depth.max())
    scaled = np.zeros(depth.shape, np.uint16) if hi <= lo else np.round((depth - lo) / (hi - lo) * 65535).astype(np.uint16)
    ok, buf = cv2.imencode(".png", scaled)
    if not ok:  # pragma: no cover
        raise ValueError("could not encode the depth map as PNG")
    return buf.tobytes(), lo, hi


def decode_png16(data: bytes, lo: float, hi: float) -> np.ndarray:
    import cv2

    raw = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    return (raw.astype(np.float32) / 65535.0) * (hi - lo) + lo
