"""The one face-detection module: offline face detection for privacy masking, face counts,
shot size and the face models of key information: OpenCV's Haar
cascades (frontal alt2, frontal default, profile both ways), dlib's HOG frontal face
detector (built into dlib, no weight file) and, unless turned off, MediaPipe's BlazeFace
(full range, :mod:`skyscript.models.blazeface`), each run as one *pass* over the frame.
In the exhaustive search BlazeFace's boxes are masked but not counted: it found the man in the
background of Megamind frame 35 that no other pass finds, and Messi's small face in messi5.jpg.

Two searches (``faces.search``):

* ``proposals`` (the default): BlazeFace full range over the reduced frame and two tiles proposes
  faces; dlib (upsampled once) and the two frontal cascades then search each proposal's
  neighbourhood, cut from the full frame and scaled so the face is about ``roi_face_px`` high, with
  windows from 0.6x to 1.8x the proposal. A face is counted when BlazeFace and a classic pass
  agree (or dlib is confident). About 35 ms per 720p frame on one core.
* ``exhaustive``: every classic pass (two frontal cascades, the profile cascade both ways, dlib)
  over the whole reduced frame at every scale, BlazeFace beside them; the rules below. About
  1.3 s per 720p frame.

Measured on every third frame of Megamind.avi at 720p (90 frames): the proposal search counts 97
faces where the exhaustive one counts 80 (it also counts the man at the table behind the woman in
frames 40-60, whom the cascades over the whole frame find too small); 3 faces the exhaustive search
counts are not proposed (one blurred face at the edge of one shot, frames 108-123) and are not
masked by the proposal search.

Two levels of result:

* ``detections``: every box any pass fired on. The privacy mosaic covers all of them (a
  false positive costs a little mosaic; a missed face is a privacy leak).
* ``faces``: detections that overlap are merged into one face (the member with the most skin
  tone is kept as its box). A face is ``confirmed`` when its centre holds at least
  ``min_skin`` skin-tone pixels (YCrCb test; skipped when the frame has no colour to judge
  by) and either at least ``min_support`` different passes found it or dlib alone scored it
  at least ``dlib_confirm``. Face counts and shot size use confirmed faces only: a single
  cascade fires on hair, shoulders and warm backgrounds (measured on Megamind.avi), and on
  jerseys, whose boxes have no skin in them (messi5.jpg). A pure profile is found by one pass
  only: it is masked but not counted.

Why dlib next to the cascades (measured on every 6th frame of Megamind.avi): no cascade fires
on lit, frontal faces a third of the frame high that dlib finds (decode frames 114, 198, 264),
nor on the man in the background of the first shot; the cascades find one face dlib misses
(frame 18, a tilted head). dlib's scores there: real faces 0.02-1.6, none false; the one false
face seen elsewhere (a patch of the astronaut's suit, upsampled) scores 0.12, below
``dlib_min_score``. Where two cascades agree on a box that a dlib face overlaps but does not
share (frame 114: the hair and forehead above his face), the box is masked and not counted
(``shadow_overlap``). The frame is upsampled once for dlib, so faces down to about 40 px are
found; the cascades go down to ``min_px``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from skyscript.config import FaceSettings
from skyscript.imaging import fit_max_side, shrink_by_whole_factor
from skyscript.errors import MissingWeights
from skyscript.ids import combined_digest
from skyscript.models.weights import file_sha256
from skyscript.schemas.annotations import FaceDetectionEntry, FaceEntry, FacesPayload

Box = tuple[float, float, float, float]

CASCADES: tuple[tuple[str, str, bool], ...] = (
    # (detector name, cascade file, run on the mirrored image too)
    ("haar-frontal-alt2", "haarcascade_frontalface_alt2.xml", False),
    ("haar-frontal", "haarcascade_frontalface_default.xml", False),
    ("haar-profile", "haarcascade_profileface.xml", True),
)

DLIB_PASS = "dlib-hog"
# dlib's box runs from the eyebrows to the chin; a mosaic must hide the forehead too. A frontal
# cascade's box for the same face is 1.22x as tall (Megamind decode frame 49).
DLIB_FOREHEAD = 0.25  # of the box's height, added above it for the mask


def forehead_grown(box: "Box") -> "Box":
    x0, y0, x1, y1 = box
    return (x0, max(0.0, y0 - DLIB_FOREHEAD * (y1 - y0)), x1, y1)

# YCrCb skin range (Chai & Ngan): Cr in [133, 173], Cb in [77, 127]
SKIN_LOW = (0, 133, 77)
SKIN_HIGH = (255, 173, 127)


@dataclass(frozen=True)
class FaceDetection:
    xyxy: Box  # full-frame pixels
    detector: str
    weight: float  # the cascade's level weight (comparable within one cascade only)


@dataclass(frozen=True)
class Face:
    xyxy: Box
    detector: str
    weight: float
    skin: float  # share of skin-tone pixels in the central part of the box
    confirmed: bool
    support: int  # how many different detector passes found this face

    @property
    def height(self) -> float:
        return self.xyxy[3] - self.xyxy[1]

    @property
    def area(self) -> float:
        return (self.xyxy[2] - self.xyxy[0]) * self.height

    def to_dict(self) -> dict[str, Any]:
        return {
            "xyxy": [round(v, 1) for v in self.xyxy],
            "detector": self.detector,
            "score": round(self.skin, 4),
            "weight": round(self.weight, 4),
            "confirmed": self.confirmed,
            "support": self.support,
        }


@dataclass
class FaceResult:
    width: int
    height: int
    faces: list[Face] = field(default_factory=list)
    detections: list[FaceDetection] = field(default_factory=list)

    @property
    def confirmed(self) -> list[Face]:
        return [f for f in self.faces if f.confirmed]

    @property
    def count(self) -> int:
        return len(self.confirmed)

    def mask_regions(self) -> list[Box]:
        """Every detection's box; a dlib box (eyebrows to chin) grown up over the forehead."""
        return [forehead_grown(d.xyxy) if d.detector == DLIB_PASS else d.xyxy for d in self.detections]

    def to_payload(self) -> FacesPayload:
        return FacesPayload(
            width=self.width,
            height=self.height,
            count=self.count,
            faces=[FaceEntry.model_validate(f.to_dict()) for f in self.faces],
            detections=[
                FaceDetectionEntry(xyxy=tuple(round(v, 1) for v in d.xyxy), detector=d.detector, weight=round(d.weight, 4))  # type: ignore[arg-type]
                for d in self.detections
            ],
        )


def faces_from_payload(payload: FacesPayload) -> list[Face]:
    """The faces of a ``faces`` annotation (what shot size and key information read)."""
    return [
        Face(xyxy=f.xyxy, detector=f.detector, weight=f.weight, skin=f.score, confirmed=f.confirmed, support=f.support)
        for f in payload.faces
    ]


# --- geometry --------------------------------------------------------------------------------


def intersection_over_smaller(a: Box, b: Box) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return (iw * ih) / smaller if smaller > 0 else 0.0


def cluster_boxes(boxes: list[Box], min_overlap: float = 0.3) -> list[list[int]]:
    """Connected groups of boxes whose intersection covers ``min_overlap`` of the smaller one."""
    parent = list(range(len(boxes)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            if intersection_over_smaller(boxes[i], boxes[j]) >= min_overlap:
                parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(boxes)):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])


def skin_share(img: np.ndarray, box: Box) -> float:
    """Share of skin-tone pixels in the central two thirds of ``box``."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cx0, cx1 = int(round(x0 + w / 6)), int(round(x1 - w / 6))
    cy0, cy1 = int(round(y0 + h / 6)), int(round(y1 - h / 6))
    H, W = img.shape[:2]
    cx0, cy0 = max(0, cx0), max(0, cy0)
    cx1, cy1 = min(W, cx1), min(H, cy1)
    if cx1 <= cx0 or cy1 <= cy0:
        return 0.0
    ycc = cv2.cvtColor(img[cy0:cy1, cx0:cx1], cv2.COLOR_BGR2YCrCb)
    return float(np.count_nonzero(cv2.inRange(ycc, SKIN_LOW, SKIN_HIGH))) / float((cy1 - cy0) * (cx1 - cx0))


def is_low_chroma(img: np.ndarray, threshold: float = 4.0) -> bool:
    """Grey or near-grey frames (black and white film, night vision) give the skin test nothing."""
    small = fit_max_side(img, 160).image  # averaging first: sensor noise is not colour
    ycc = cv2.cvtColor(small, cv2.COLOR_BGR2YCrCb)
    cr = cv2.absdiff(ycc[..., 1], 128)
    cb = cv2.absdiff(ycc[..., 2], 128)
    return float(cv2.mean(cr)[0] + cv2.mean(cb)[0]) < threshold


# --- the detector ----------------------------------------------------------------------------


def dlib_hog_faces(hog: Any, image: np.ndarray, upsample: int, min_score: float) -> list[tuple[Box, float]]:
    """dlib's HOG frontal faces as ``(box, score)``, box end-exclusive in ``image`` pixels
    (grey or RGB). The privacy detector and the offline face-attribute backend both use it."""
    rects, scores, _ = hog.run(np.ascontiguousarray(image), upsample, min_score)
    return [
        ((float(r.left()), float(r.top()), float(r.right() + 1), float(r.bottom() + 1)), float(score))
        for r, score in zip(rects, scores)
    ]


def cascade_dir() -> Path:
    return Path(cv2.data.haarcascades)


class FaceDetector:
    def __init__(
        self,
        folder: Path | None = None,
        max_side: int = 800,
        min_px: int = 20,
        min_skin: float = 0.3,
        min_support: int = 2,
        min_neighbors: int = 5,
        scale_factor: float = 1.1,
        dlib_min_score: float = 0.15,
        dlib_confirm: float = 0.25,
        dlib_upsample: int = 1,
        shadow_overlap: float = 0.1,
        neural: str = "full",
        neural_min_score: float = 0.5,
        search: str = "proposals",
        roi_face_px: int = 60,
        roi_margin: float = 0.4,
    ) -> None:
        if search not in ("exhaustive", "proposals"):
            raise ValueError(f"face search must be 'exhaustive' or 'proposals', not {search!r}")
        if search == "proposals" and neural == "none":
            raise ValueError("the proposal search needs the neural pass (faces.neural 'full' or 'short')")
        self.search = search
        self.roi_face_px = roi_face_px
        self.roi_margin = roi_margin
        self.folder = folder or cascade_dir()
        self.max_side = max_side
        self.min_px = min_px
        self.min_skin = min_skin
        self.min_support = min_support
        self.min_neighbors = min_neighbors
        self.scale_factor = scale_factor
        self.dlib_min_score = dlib_min_score
        self.dlib_confirm = dlib_confirm
        self.dlib_upsample = dlib_upsample
        self.shadow_overlap = shadow_overlap
        try:
            import dlib
        except ImportError as exc:
            raise MissingWeights(f"the face detector needs dlib ({exc}): pip install 'dlib-bin>=20,<21'") from exc
        self._dlib_version = str(dlib.__version__)
        self.neural_min_score = neural_min_score
        self._neural = None
        if neural != "none":
            from skyscript.models.blazeface import BlazeFace

            self._neural = BlazeFace(neural, min_score=neural_min_score)  # type: ignore[arg-type]
        self._hog = dlib.get_frontal_face_detector()
        self._cascades: list[tuple[str, cv2.CascadeClassifier, bool]] = []
        self.files: list[Path] = []
        for name, filename, mirrored in CASCADES:
            path = self.folder / filename
            if not path.is_file():
                raise MissingWeights(
                    f"face cascade {filename} not found in {self.folder}: it ships with opencv-python-headless<5 "
                    "(cv2.data.haarcascades)"
                )
            cascade = cv2.CascadeClassifier(str(path))
            if cascade.empty():
                raise MissingWeights(f"face cascade {path} could not be loaded")
            self._cascades.append((name, cascade, mirrored))
            self.files.append(path)

    @classmethod
    def from_settings(cls, faces: FaceSettings) -> "FaceDetector":
        return cls(
            max_side=faces.max_side, min_px=faces.min_px, min_skin=faces.min_skin,
            dlib_min_score=faces.dlib_min_score, dlib_confirm=faces.dlib_confirm,
            neural=faces.neural, neural_min_score=faces.neural_min_score,
            search=faces.search, roi_face_px=faces.roi_face_px, roi_margin=faces.roi_margin,
        )

    @property
    def model_id(self) -> str:
        return (
            f"opencv {cv2.__version__} haar cascades ({', '.join(p.stem for p in self.files)})"
            f" + dlib {self._dlib_version} hog frontal face detector"
            + (f" + {self._neural.model_id}" if self._neural is not None else "")
        )

    @property
    def source(self) -> str:
        """What annotations record as their source."""
        return f"opencv-haar-{cv2.__version__}+dlib-hog-{self._dlib_version}"

    def weights_digest(self) -> str:
        """The cascade files' digests and dlib's version (its HOG model is compiled into dlib)."""
        neural = [self._neural.weights.sha256] if self._neural is not None else []
        return combined_digest([*(file_sha256(p) for p in self.files), f"dlib-{self._dlib_version}", *neural])

    def params(self) -> dict[str, Any]:
        return {
            "face_max_side": self.max_side,
            "face_min_px": self.min_px,
            "face_min_skin": self.min_skin,
            "face_min_support": self.min_support,
            "min_neighbors": self.min_neighbors,
            "scale_factor": self.scale_factor,
            "dlib_min_score": self.dlib_min_score,
            "dlib_confirm": self.dlib_confirm,
            "dlib_upsample": self.dlib_upsample,
            "shadow_overlap": self.shadow_overlap,
            "neural": self._neural.variant if self._neural is not None else "none",
            "neural_min_score": self.neural_min_score,
            "face_search": self.search,
            **({"roi_face_px": self.roi_face_px, "roi_margin": self.roi_margin}
               if self.search == "proposals" else {}),
        }

    def detect_raw(self, img: np.ndarray) -> list[FaceDetection]:
        """Every pass's boxes in full-frame pixels; a Haar detection's weight is its cascade
        level weight, a dlib one's its HOG score."""
        if self.search == "proposals":
            return self._detect_proposals(img)
        return self._detect_exhaustive(img)

    # --- the proposal search: cheap passes over the frame, the classic ones where they fire --------

    def _detect_proposals(self, img: np.ndarray) -> list[FaceDetection]:
        """BlazeFace (whole reduced frame and two tiles) proposes faces; each proposal's neighbourhood is then cut from the
        full frame, scaled so the face is about ``roi_face_px`` high, and searched by dlib and the
        frontal cascades with window sizes around the proposal's. The costly passes thus run on a few small crops instead
        of the whole frame at every scale (measured: 1.3 s of the exhaustive search per 720p
        keyframe against about 0.06 s); what they find there is what face counting and the
        agreement rules of the module docstring work on, as in the exhaustive search."""
        assert self._neural is not None
        # BlazeFace letterboxes what it gets to its own 192 px input: a whole-factor reduction
        # (block means, exact scale) serves it as well as an arbitrary one and costs a 25th
        scaled = shrink_by_whole_factor(img, self.max_side)
        out = [FaceDetection(scaled.to_full(box), self._neural.name, score)
               for box, score in self._neural.detect(scaled.image, tiles=True)]
        H, W = img.shape[:2]
        for group in cluster_boxes([d.xyxy for d in out], min_overlap=0.3):
            members = [out[i].xyxy for i in group]
            side = float(np.median([max(b[2] - b[0], b[3] - b[1]) for b in members]))
            x0 = min(b[0] for b in members) - self.roi_margin * side
            y0 = min(b[1] for b in members) - self.roi_margin * side
            x1 = max(b[2] for b in members) + self.roi_margin * side
            y1 = max(b[3] for b in members) + self.roi_margin * side
            roi = (max(0, int(x0)), max(0, int(y0)), min(W, int(np.ceil(x1))), min(H, int(np.ceil(y1))))
            out += self._search_roi(img, roi, side)
        return out

    def _search_roi(self, img: np.ndarray, roi: tuple[int, int, int, int], side: float) -> list[FaceDetection]:
        rx0, ry0, rx1, ry1 = roi
        if rx1 - rx0 < 8 or ry1 - ry0 < 8:
            return []
        scale = min(2.0, self.roi_face_px / max(side, 1.0))
        crop = img[ry0:ry1, rx0:rx1]
        if scale != 1.0:
            size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
            crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        plain = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
        gray = cv2.equalizeHist(plain)

        def full(box: Box) -> Box:
            return (rx0 + box[0] / scale, ry0 + box[1] / scale, rx0 + box[2] / scale, ry0 + box[3] / scale)

        # dlib's window is 80 px: the crop is searched at twice the cascades' scale
        out = [FaceDetection(full(box), DLIB_PASS, score)
               for box, score in dlib_hog_faces(self._hog, plain, 1, self.dlib_min_score)]
        face = side * scale
        lo = max(self.min_px, int(face * 0.6))
        hi = max(lo + 1, int(face * 1.8))
        # the frontal cascades only: a profile is found by one pass at most, which never counts it,
        # and the proposal that led here is masked already
        for name, cascade, mirrored in self._cascades:
            if mirrored:
                continue
            rects, _levels, weights = cascade.detectMultiScale3(
                gray, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
                minSize=(lo, lo), maxSize=(hi, hi), outputRejectLevels=True,
            )
            for (x, y, w, h), wt in zip(np.asarray(rects).reshape(-1, 4), np.asarray(weights).reshape(-1)):
                out.append(FaceDetection(full((float(x), float(y), float(x + w), float(y + h))), name, float(wt)))
        return out

    # --- the exhaustive search: every pass over the whole reduced frame ----------------------------

    def _detect_exhaustive(self, img: np.ndarray) -> list[FaceDetection]:
        scaled = fit_max_side(img, self.max_side)
        plain = cv2.cvtColor(scaled.image, cv2.COLOR_BGR2GRAY)
        gray = cv2.equalizeHist(plain)
        width = gray.shape[1]
        out: list[FaceDetection] = []
        for box, score in dlib_hog_faces(self._hog, plain, self.dlib_upsample, self.dlib_min_score):
            out.append(FaceDetection(scaled.to_full(box), DLIB_PASS, score))
        for name, cascade, mirrored in self._cascades:
            for flip in (False, True) if mirrored else (False,):
                g = cv2.flip(gray, 1) if flip else gray
                rects, _levels, weights = cascade.detectMultiScale3(
                    g,
                    scaleFactor=self.scale_factor,
                    minNeighbors=self.min_neighbors,
                    minSize=(self.min_px, self.min_px),
                    outputRejectLevels=True,
                )
                for (x, y, w, h), wt in zip(np.asarray(rects).reshape(-1, 4), np.asarray(weights).reshape(-1)):
                    x0 = float(width - (x + w)) if flip else float(x)
                    box = scaled.to_full((x0, float(y), x0 + float(w), float(y + h)))
                    out.append(FaceDetection(box, f"{name}-mirrored" if flip else name, float(wt)))
        if self._neural is not None:
            # on the reduced frame too; BlazeFace letterboxes it to its own input size
            for box, score in self._neural.detect(scaled.image, tiles=True):
                out.append(FaceDetection(scaled.to_full(box), self._neural.name, score))
        return out

    def detect(self, img: np.ndarray) -> FaceResult:
        h, w = img.shape[:2]
        detections = self.detect_raw(img)
        grey = is_low_chroma(img)
        faces: list[Face] = []
        # the neural pass adds recall for the mask (small, turned, dim faces); counting stays with
        # the passes whose agreement rules were measured (see the module docstring)
        proposals = self.search == "proposals"
        if proposals:
            # the classic passes ran only where BlazeFace proposed a face, at the face's scale: a
            # face needs BlazeFace and a classic pass to agree, or a confident dlib score
            counted = detections
        else:
            counted = [d for d in detections if not d.detector.startswith("blazeface")]
        dlib_boxes = [d.xyxy for d in counted if d.detector == DLIB_PASS]
        for group in cluster_boxes([d.xyxy for d in counted]):
            members = [counted[i] for i in group]
            hog = [d for d in members if d.detector == DLIB_PASS]
            scored = [(skin_share(img, d.xyxy), (d.xyxy[2] - d.xyxy[0]) * (d.xyxy[3] - d.xyxy[1]), d) for d in members]
            skin, _, best = max(scored, key=lambda t: (round(t[0], 2), t[1]))
            support = len({d.detector for d in members})
            dlib_score = max((d.weight for d in hog), default=float("-inf"))
            # cascades that fire beside a face dlib placed (on the hair above it) are not another face
            shadowed = not hog and any(intersection_over_smaller(best.xyxy, b) >= self.shadow_overlap for b in dlib_boxes)
            agreed = support >= self.min_support
            if proposals:
                agreed = agreed and any(d.detector.startswith("blazeface") for d in members)
            found = (agreed or dlib_score >= self.dlib_confirm) and not shadowed
            faces.append(
                Face(
                    xyxy=best.xyxy,
                    detector=best.detector,
                    weight=best.weight,
                    skin=skin,
                    confirmed=found and (grey or skin >= self.min_skin),
                    support=support,
                )
            )
        faces.sort(key=lambda f: -f.area)
        return FaceResult(width=w, height=h, faces=faces, detections=detections)
