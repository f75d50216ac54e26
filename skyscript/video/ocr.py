"""Text on keyframes: OCR with RapidOCR (PP-OCRv6 ONNX models, offline), the share of the
frame covered by text, subtitle detection and the classification of text for masking.

How text is classified (documented choice):

* ``subtitle``: a text row whose centre lies in the bottom ``subtitle_band`` of the frame, whose
  horizontal centre is within ``subtitle_centre_tolerance`` (share of width) of the frame centre
  and which is at least ``subtitle_min_width`` wide. Lines OCR split on one row are joined
  before the test. This is the Open-Sora "remove videos with text" idea narrowed to the place
  where dialogue subtitles sit.
* ``name_card``: any other line of at most ``name_card_max_chars`` characters: character-name
  captions ("Li Wei, CEO"), channel logos and watermarks are short overlays.
* ``text``: any other, longer line (signs, documents, narration cards).

Masking (``mask`` on each box): name cards and other text are always mosaicked; subtitles are
mosaicked too unless ``mask_subtitles`` is off, because dialogue lines often name characters
and the published frames are for visual annotation, which ignores text anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from skyscript.config import TextSettings
from skyscript.errors import MissingWeights
from skyscript.schemas.annotations import OcrPayload, TextBoxPayload
from skyscript.imaging import fit_max_side
from skyscript.models.weights import file_sha256
from skyscript.ids import combined_digest

TextKind = Literal["subtitle", "name_card", "text"]

DET_FILE = "PP-OCRv6_det_small.onnx"
REC_FILE = "PP-OCRv6_rec_small.onnx"


# --- what OCR returns ------------------------------------------------------------------------


@dataclass(frozen=True)
class TextLine:
    """One recognised line, in full-frame pixel coordinates."""

    polygon: tuple[tuple[float, float], ...]  # the detector's quadrilateral, clockwise from top-left
    text: str
    score: float

    @property
    def xyxy(self) -> tuple[float, float, float, float]:
        xs = [p[0] for p in self.polygon]
        ys = [p[1] for p in self.polygon]
        return (min(xs), min(ys), max(xs), max(ys))


@dataclass(frozen=True)
class TextBox:
    line: TextLine
    kind: TextKind
    mask: bool

    def to_dict(self) -> dict[str, Any]:
        x0, y0, x1, y1 = self.line.xyxy
        return {
            "text": self.line.text,
            "score": round(self.line.score, 4),
            "polygon": [[round(x, 1), round(y, 1)] for x, y in self.line.polygon],
            "xyxy": [round(x0, 1), round(y0, 1), round(x1, 1), round(y1, 1)],
            "kind": self.kind,
            "mask": self.mask,
        }


@dataclass(frozen=True)
class TextLayout:
    """The parameters of text classification, taken from :class:`~skyscript.config.TextSettings`."""

    subtitle_band: float = 0.3
    centre_tolerance: float = 0.15
    min_subtitle_width: float = 0.08
    name_card_max_chars: int = 16
    mask_subtitles: bool = True

    @classmethod
    def from_settings(cls, video: TextSettings) -> "TextLayout":
        return cls(
            subtitle_band=video.subtitle_band,
            centre_tolerance=video.subtitle_centre_tolerance,
            min_subtitle_width=video.subtitle_min_width,
            name_card_max_chars=video.name_card_max_chars,
            mask_subtitles=video.mask_subtitles,
        )


@dataclass
class OcrResult:
    width: int
    height: int
    boxes: list[TextBox] = field(default_factory=list)
    text_area_ratio: float = 0.0
    has_subtitle: bool = False

    @property
    def subtitle_text(self) -> str:
        return " ".join(b.line.text for b in self.boxes if b.kind == "subtitle")

    def mask_regions(self) -> list[tuple[float, float, float, float]]:
        return [b.line.xyxy for b in self.boxes if b.mask]

    def to_payload(self) -> OcrPayload:
        return OcrPayload(
            width=self.width,
            height=self.height,
            text_area_ratio=round(self.text_area_ratio, 6),
            has_subtitle=self.has_subtitle,
            subtitle_text=self.subtitle_text,
            boxes=[TextBoxPayload.model_validate(b.to_dict()) for b in self.boxes],
        )


def text_area_ratio(polygons: list[tuple[tuple[float, float], ...]], width: int, height: int) -> float:
    """Share of the frame covered by the union of the polygons (overlaps count once)."""
    if not polygons or width <= 0 or height <= 0:
        return 0.0
    canvas = np.zeros((height, width), dtype=np.uint8)
    for p in polygons:
        # one call per polygon: fillPoly with several polygons fills their overlaps even-odd
        cv2.fillPoly(canvas, [np.round(np.asarray(p, dtype=np.float64)).astype(np.int32)], 1)
    return float(np.count_nonzero(canvas)) / float(width * height)


def _rows(lines: list[TextLine], max_gap: float = 1.0) -> list[list[TextLine]]:
    """Pieces of one line of text: lines whose vertical extents overlap by at least half the
    smaller height, split where the horizontal gap exceeds ``max_gap`` line heights (a word
    space is well under one; a name card beside a subtitle is far away)."""
    pieces: list[list[TextLine]] = []
    for row in _same_height_rows(lines):
        row = sorted(row, key=lambda ln: ln.xyxy[0])
        height = float(np.median([ln.xyxy[3] - ln.xyxy[1] for ln in row]))
        piece = [row[0]]
        for line in row[1:]:
            if line.xyxy[0] - max(ln.xyxy[2] for ln in piece) > max_gap * height:
                pieces.append(piece)
                piece = []
            piece.append(line)
        pieces.append(piece)
    return pieces


def _same_height_rows(lines: list[TextLine]) -> list[list[TextLine]]:
    rows: list[list[TextLine]] = []
    for line in sorted(lines, key=lambda ln: (ln.xyxy[1] + ln.xyxy[3]) / 2):
        _, y0, _, y1 = line.xyxy
        for row in rows:
            ry0 = min(r.xyxy[1] for r in row)
            ry1 = max(r.xyxy[3] for r in row)
            overlap = min(y1, ry1) - max(y0, ry0)
            if overlap >= 0.5 * min(y1 - y0, ry1 - ry0):
                row.append(line)
                break
        else:
            rows.append([line])
    return rows


def classify_lines(lines: list[TextLine], width: int, height: int, layout: TextLayout) -> list[TextBox]:
    """Label every line subtitle / name_card / text and decide whether it is masked."""
    band_top = height * (1.0 - layout.subtitle_band)
    subtitle_ids: set[int] = set()
    for row in _rows(lines):
        x0 = min(ln.xyxy[0] for ln in row)
        x1 = max(ln.xyxy[2] for ln in row)
        y0 = min(ln.xyxy[1] for ln in row)
        y1 = max(ln.xyxy[3] for ln in row)
        centre_x = (x0 + x1) / 2
        centre_y = (y0 + y1) / 2
        if (
            centre_y >= band_top
            and abs(centre_x - width / 2) <= layout.centre_tolerance * width
            and (x1 - x0) >= layout.min_subtitle_width * width
        ):
            subtitle_ids.update(id(ln) for ln in row)
    boxes: list[TextBox] = []
    for line in lines:
        kind: TextKind
        if id(line) in subtitle_ids:
            kind = "subtitle"
        elif len(line.text.strip()) <= layout.name_card_max_chars:
            kind = "name_card"
        else:
            kind = "text"
        mask = layout.mask_subtitles if kind == "subtitle" else True
        boxes.append(TextBox(line, kind, mask))
    return boxes


def analyse(lines: list[TextLine], width: int, height: int, layout: TextLayout) -> OcrResult:
    boxes = classify_lines(lines, width, height, layout)
    return OcrResult(
        width=width,
        height=height,
        boxes=boxes,
        text_area_ratio=text_area_ratio([b.line.polygon for b in boxes], width, height),
        has_subtitle=any(b.kind == "subtitle" for b in boxes),
    )


# --- the OCR engine --------------------------------------------------------------------------


@dataclass(frozen=True)
class OcrModels:
    det: Path
    rec: Path

    def digest(self) -> str:
        """One digest over both ONNX files (sha256 of their sha256s, in order det, rec)."""
        return combined_digest(file_sha256(p) for p in (self.det, self.rec))


def bundled_model_dir() -> Path:
    import rapidocr

    return Path(rapidocr.__file__).resolve().parent / "models"


def resolve_ocr_models(model_dir: Path | None) -> OcrModels:
    """The ONNX files: ``<model_dir>/rapidocr/`` when that folder exists (it must then hold both
    files), else the models the rapidocr wheel ships. Never downloads."""
    override = model_dir / "rapidocr" if model_dir is not None else None
    if override is not None and override.is_dir():
        folder, where = override, f"the model directory {override}"
    else:
        folder, where = bundled_model_dir(), f"the rapidocr package ({bundled_model_dir()})"
    missing = [name for name in (DET_FILE, REC_FILE) if not (folder / name).is_file()]
    if missing:
        raise MissingWeights(
            f"OCR weights {', '.join(missing)} not found in {where}: copy them from a rapidocr 3.x wheel "
            f"(rapidocr/models/) into {override or '<model_dir>/rapidocr'}"
        )
    return OcrModels(det=folder / DET_FILE, rec=folder / REC_FILE)


def rapidocr_version() -> str:
    from importlib.metadata import version

    return version("rapidocr")


class OcrEngine:
    """RapidOCR: text detection on the frame scaled to ``max_side``, recognition on full-resolution
    crops; results in full-frame coordinates."""

    def __init__(self, models: OcrModels, max_side: int = 960, min_score: float = 0.6, threads: int = 1) -> None:
        from rapidocr import RapidOCR

        self.models = models
        self.max_side = max_side
        self.min_score = min_score
        self.threads = threads
        self.version = rapidocr_version()
        self._ocr = RapidOCR(
            params={
                "Global.log_level": "error",  # it warns on every frame without text
                "Global.use_cls": False,  # horizontal overlays; the angle classifier only costs time
                "Global.text_score": min_score,
                "Global.max_side_len": 2000,
                "Det.model_path": str(models.det),
                "Rec.model_path": str(models.rec),
                "Det.limit_type": "max",
                "Det.limit_side_len": max_side,
                # ONNX Runtime's default (a thread per core, spinning between runs) doubles the CPU
                # per frame on two cores (measured: 182 against 91 ms at 640 px); workers
                # parallelise across episodes instead (skyscript run --jobs)
                "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
        )

    @property
    def model_id(self) -> str:
        return f"rapidocr {self.version} ({self.models.det.stem}, {self.models.rec.stem})"

    @property
    def source(self) -> str:
        return f"rapidocr-{self.version}"

    def params(self) -> dict[str, Any]:
        return {"ocr_max_side": self.max_side, "ocr_min_score": self.min_score}

    def read(self, img: np.ndarray) -> list[TextLine]:
        """Text lines of ``img``: boxes found on a copy scaled to ``max_side`` (the detection
        network's cost grows with its input area), each line recognised on its crop of the
        full-resolution frame (RapidOCR maps the boxes back and crops the input it was given)."""
        scaled = fit_max_side(img, 2000)  # RapidOCR's own input cap, applied here so boxes map back by one factor
        out = self._ocr(scaled.image)
        if out is None or getattr(out, "boxes", None) is None or getattr(out, "txts", None) is None:
            return []
        lines: list[TextLine] = []
        for box, text, score in zip(out.boxes, out.txts, out.scores):
            if not str(text).strip() or float(score) < self.min_score:
                continue
            poly = tuple((float(x) / scaled.scale, float(y) / scaled.scale) for x, y in np.asarray(box).reshape(-1, 2))
            lines.append(TextLine(polygon=poly, text=str(text).strip(), score=float(score)))
        return lines


def ocr_frame(engine: OcrEngine, img: np.ndarray, layout: TextLayout) -> OcrResult:
    h, w = img.shape[:2]
    return analyse(engine.read(img), w, h, layout)


__all__ = [
    "OcrEngine",
    "OcrModels",
    "OcrResult",
    "TextBox",
    "TextLayout",
    "TextLine",
    "analyse",
    "classify_lines",
    "ocr_frame",
    "resolve_ocr_models",
    "text_area_ratio",
]
