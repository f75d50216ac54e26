"""Privacy masking: mosaic (pixelate) faces and caption/name text on the published copy of a
keyframe, as in the paper's Figure 4. The unmasked frame never leaves the private area.

A region is grown by ``padding`` of its size on each side (detector boxes are tight: a
Haar box stops at the eyebrows and chin, an OCR box at the glyphs), clipped to the frame, then
split into ``block`` x ``block`` cells anchored at the region's top-left corner; each cell is
filled with its mean colour.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Box = tuple[float, float, float, float]
RegionSource = Literal["face", "text"]


@dataclass(frozen=True)
class MaskRegion:
    xyxy: tuple[int, int, int, int]  # padded and clipped, integer pixels, end-exclusive
    source: RegionSource

    def to_dict(self) -> dict[str, Any]:
        return {"xyxy": list(self.xyxy), "source": self.source}


def pad_box(box: Box, padding: float, width: int, height: int) -> tuple[int, int, int, int] | None:
    """Grow ``box`` by ``padding`` of its width/height on each side and clip it to the frame;
    ``None`` when nothing of it is inside the frame."""
    x0, y0, x1, y1 = box
    dx = (x1 - x0) * padding
    dy = (y1 - y0) * padding
    ix0 = max(0, int(np.floor(x0 - dx)))
    iy0 = max(0, int(np.floor(y0 - dy)))
    ix1 = min(width, int(np.ceil(x1 + dx)))
    iy1 = min(height, int(np.ceil(y1 + dy)))
    if ix1 <= ix0 or iy1 <= iy0:
        return None
    return (ix0, iy0, ix1, iy1)


def pixelate(region: np.ndarray, block: int) -> np.ndarray:
    """Each ``block`` x ``block`` cell (smaller at the right and bottom edges) becomes its mean."""
    if block < 1:
        raise ValueError(f"mosaic block must be at least 1 pixel, got {block}")
    h, w = region.shape[:2]
    ys = np.arange(0, h, block)
    xs = np.arange(0, w, block)
    sums = np.add.reduceat(np.add.reduceat(region.astype(np.float64), ys, axis=0), xs, axis=1)
    ny = np.diff(np.append(ys, h))
    nx = np.diff(np.append(xs, w))
    counts = (ny[:, None] * nx[None, :]).reshape(len(ys), len(xs), *([1] * (region.ndim - 2)))
    means = np.clip(np.rint(sums / counts), 0, 255).astype(region.dtype)
    return np.repeat(np.repeat(means, ny, axis=0), nx, axis=1)


def mosaic(
    img: np.ndarray,
    faces: list[Box],
    texts: list[Box],
    block: int = 12,
    padding: float = 0.15,
) -> tuple[np.ndarray, list[MaskRegion]]:
    """A masked copy of ``img`` and the regions that were mosaicked (the input is untouched)."""
    out = img.copy()
    h, w = img.shape[:2]
    regions: list[MaskRegion] = []
    for source, boxes in (("face", faces), ("text", texts)):
        for box in boxes:
            r = pad_box(box, padding, w, h)
            if r is None:
                continue
            x0, y0, x1, y1 = r
            out[y0:y1, x0:x1] = pixelate(out[y0:y1, x0:x1], block)
            regions.append(MaskRegion(r, source))  # type: ignore[arg-type]
    return out, regions
