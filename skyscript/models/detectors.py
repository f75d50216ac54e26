"""Open-vocabulary detection behind one interface (paper section 3.3).

The vocabulary is per frame: the object types the VLM named plus ``person``. A detector returns
:class:`Detection` rows whose ``label`` is always one of the vocabulary entries it was given.

Adapters:

* :class:`GroundingDinoDetector`: Grounding DINO through ``transformers`` (the paper's choice).
  Weights: a local checkpoint folder under the model directory (``config.json``, weights,
  tokenizer, preprocessor), loaded with ``local_files_only``.
* :class:`YoloWorldDetector`: ultralytics YOLO-World (``set_classes`` with the vocabulary), or a
  closed-vocabulary YOLO whose class names are filtered by the vocabulary.

torch, transformers and ultralytics are imported only when an adapter is built.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Protocol, Sequence

import numpy as np

from skyscript.config import Settings
from skyscript.models.weights import MissingWeights, WeightSpec, resolve

DetBox = tuple[int, int, int, int]


@dataclass(frozen=True)
class Detection:
    label: str
    box: DetBox
    score: float


class OpenVocabDetector(Protocol):
    name: str
    model_id: str
    weights_digest: str | None

    def detect(self, image: np.ndarray, vocabulary: Sequence[str]) -> list[Detection]: ...


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def match_vocabulary(phrase: str, vocabulary: Sequence[str], overlap: bool = True) -> str | None:
    """The vocabulary entry a detector's output phrase stands for: exact, then containment, then
    (with ``overlap``) the entry sharing most words."""
    p = phrase.strip().lower()
    if not p:
        return None
    for v in vocabulary:
        if v.lower() == p:
            return v
    contained = [v for v in vocabulary if v.lower() in p or p in v.lower()]
    if contained:
        return max(contained, key=len)
    if not overlap:
        return None
    pw = _words(p)
    best, most = None, 0
    for v in vocabulary:
        n = len(pw & _words(v))
        if n > most:
            best, most = v, n
    return best


def _clip(box: Sequence[float], w: int, h: int) -> DetBox | None:
    x1, y1, x2, y2 = (float(v) for v in box)
    x1, y1, x2, y2 = max(0.0, x1), max(0.0, y1), min(float(w), x2), min(float(h), y2)
    if x2 - x1 < 1 or y2 - y1 < 1:
        return None
    return (int(round(x1)), int(round(y1)), int(round(x2)), int(round(y2)))


class GroundingDinoDetector:
    name = "grounding_dino"

    def __init__(
        self,
        model: Any,
        processor: Any,
        *,
        box_threshold: float = 0.35,
        text_threshold: float = 0.25,
        phrases_per_pass: int = 24,
        model_id: str = "grounding-dino",
        weights_digest: str | None = None,
        device: str | None = None,
    ) -> None:
        import torch

        self.torch = torch
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model = model.to(self.device).eval()
        self.processor = processor
        self.box_threshold = box_threshold
        self.text_threshold = text_threshold
        self.phrases_per_pass = phrases_per_pass
        self.model_id = model_id
        self.weights_digest = weights_digest

    @classmethod
    def from_model_dir(cls, settings: Settings, relpath: str = "grounding-dino-tiny", **kw: Any) -> "GroundingDinoDetector":
        spec = WeightSpec("Grounding DINO checkpoint", relpath)
        resolved = resolve(settings, spec)
        try:
            from transformers import AutoProcessor, GroundingDinoForObjectDetection
        except ImportError as exc:
            raise MissingWeights("Grounding DINO needs torch and transformers (the GPU image's extra)") from exc
        processor = AutoProcessor.from_pretrained(resolved.path, local_files_only=True)
        vocab_size = len(processor.tokenizer)
        if vocab_size < 1000:  # offline trap: a missing vocab file gives a few-token tokenizer, not an error
            raise MissingWeights(
                f"missing file {relpath}/vocab.txt (Grounding DINO tokenizer): the tokenizer in {resolved.path} has only "
                f"{vocab_size} tokens"
            )
        model = GroundingDinoForObjectDetection.from_pretrained(resolved.path, local_files_only=True)
        return cls(model, processor, model_id=f"grounding-dino:{relpath}", weights_digest=resolved.digest, **kw)

    def _pass(self, image: np.ndarray, phrases: Sequence[str]) -> list[Detection]:
        torch = self.torch
        h, w = image.shape[:2]
        text = " . ".join(p.lower() for p in phrases) + " ."
        inputs = self.processor(images=image, text=text, return_tensors="pt").to(self.device)
        with torch.no_grad():
            outputs = self.model(**inputs)
        res = self.processor.post_process_grounded_object_detection(
            outputs, inputs["input_ids"], threshold=self.box_threshold, text_threshold=self.text_threshold,
            target_sizes=[(h, w)],
        )[0]
        labels = res["text_labels"] if "text_labels" in res else res["labels"]
        out = []
        for box, score, phrase in zip(res["boxes"].tolist(), res["scores"].tolist(), labels):
            label = match_vocabulary(str(phrase), phrases)
            b = _clip(box, w, h)
            if label is not None and b is not None:
                out.append(Detection(label, b, float(score)))
        return out

    def detect(self, image: np.ndarray, vocabulary: Sequence[str]) -> list[Detection]:
        vocab = list(dict.fromkeys(v.strip().lower() for v in vocabulary if v.strip()))
        out: list[Detection] = []
        for i in range(0, len(vocab), self.phrases_per_pass):
            out.extend(self._pass(image, vocab[i : i + self.phrases_per_pass]))
        return sorted(out, key=lambda d: -d.score)


class YoloWorldDetector:
    name = "yolo_world"

    def __init__(
        self, model: Any, *, conf: float = 0.25, model_id: str = "yolo-world", weights_digest: str | None = None
    ) -> None:
        self.model = model
        self.conf = conf
        self.model_id = model_id
        self.weights_digest = weights_digest
        self._classes: tuple[str, ...] | None = None
        self.open_vocabulary = hasattr(getattr(model, "model", None), "set_classes") or type(model).__name__ == "YOLOWorld"

    @staticmethod
    def _offline_env() -> None:
        os.environ.setdefault("YOLO_OFFLINE", "1")
        os.environ.setdefault("YOLO_AUTOINSTALL", "false")

    @classmethod
    def from_model_dir(cls, settings: Settings, relpath: str = "yolov8s-worldv2.pt", **kw: Any) -> "YoloWorldDetector":
        resolved = resolve(settings, WeightSpec("YOLO-World weights", relpath))
        cls._offline_env()
        try:
            from ultralytics import YOLO, YOLOWorld
        except ImportError as exc:
            raise MissingWeights("YOLO-World needs ultralytics and torch (the GPU image's extra)") from exc
        model = YOLOWorld(str(resolved.path)) if "world" in relpath.lower() else YOLO(str(resolved.path))
        return cls(model, model_id=f"ultralytics:{relpath}", weights_digest=resolved.digest, **kw)

    def detect(self, image: np.ndarray, vocabulary: Sequence[str]) -> list[Detection]:
        vocab = list(dict.fromkeys(v.strip().lower() for v in vocabulary if v.strip()))
        if not vocab:
            return []
        if self.open_vocabulary and tuple(vocab) != self._classes:
            self.model.set_classes(vocab)  # YOLO-World: the text encoder embeds the vocabulary
            self._classes = tuple(vocab)
        h, w = image.shape[:2]
        bgr = np.ascontiguousarray(image[:, :, ::-1])
        result = self.model.predict(bgr, conf=self.conf, verbose=False)[0]
        names = result.names
        out = []
        boxes = result.boxes
        for xyxy, score, cls in zip(boxes.xyxy.tolist(), boxes.conf.tolist(), boxes.cls.tolist()):
            label = match_vocabulary(str(names[int(cls)]), vocab, overlap=self.open_vocabulary)
            if label is None:
                continue
            b = _clip(xyxy, w, h)
            if b is not None:
                out.append(Detection(label, b, float(score)))
        return sorted(out, key=lambda d: -d.score)


def load_detector(settings: Settings, kind: str, relpath: str | None = None) -> OpenVocabDetector | None:
    """The configured detector: ``none``, ``grounding_dino`` or ``yolo_world``."""
    if kind in ("", "none", None):
        return None
    if kind == "grounding_dino":
        return GroundingDinoDetector.from_model_dir(settings, relpath or "grounding-dino-tiny")
    if kind == "yolo_world":
        return YoloWorldDetector.from_model_dir(settings, relpath or "yolov8s-worldv2.pt")
    raise ValueError(f"unknown detector {kind!r}: use none, grounding_dino or yolo_world")
