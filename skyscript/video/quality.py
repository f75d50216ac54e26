"""Frame quality: sharpness (motion blur) and occlusion, measured on the analysis frame.

Sharpness is the variance of the Laplacian of the grey analysis frame. The analysis frame
has a fixed width (``ScanSettings.analysis_width``), so the number does not depend on the
source resolution: a 1080p and a 480p copy of the same shot score alike.

Occlusion is judged from the share of the frame covered by flat, texture-less cells (a cell
is flat when its grey standard deviation is below ``FLAT_CELL_STD``). Flatness alone does not
make an occlusion: a plain wall, a night sky or a white studio backdrop is flat in every frame
of its shot. What covers the lens (a hand, a passer-by close to the camera, an object in the
foreground) comes and goes, so a frame is occluded when it is mostly flat *and* clearly flatter
than the clear frames of its own shot (the shot's lower-quartile flat share, measured on every
frame during the pass), or when it is all but blank.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FLAT_CELL_STD = 4.0  # grey levels; a blurred but real picture keeps more than this per cell
GRID = 8  # cells per side for the occlusion measure


@dataclass(frozen=True)
class FrameQuality:
    sharpness: float  # variance of the Laplacian (analysis width)
    directional_min: float  # weakest direction's second-derivative energy
    directional_max: float
    flat_share: float  # share of flat cells, 0..1
    luma_mean: float
    luma_std: float

    @property
    def anisotropy(self) -> float:
        """0: blur (or detail) alike in every direction; near 1: one direction only."""
        return 0.0 if self.directional_max <= 1e-9 else 1.0 - self.directional_min / self.directional_max


@dataclass(frozen=True)
class Verdict:
    valid: bool
    reason: str | None  # "motion_blur" | "occlusion" | None


def sharpness(gray: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Variance of the Laplacian, over the pixels of ``mask`` (uint8, non-zero) when given."""
    import cv2

    _mean, std = cv2.meanStdDev(cv2.Laplacian(gray, cv2.CV_16S, ksize=1), mask=mask)
    return float(std[0][0]) ** 2


def flat_cells(gray: np.ndarray, grid: int = GRID, cell_std: float = FLAT_CELL_STD) -> np.ndarray:
    """``grid`` x ``grid`` booleans: the cells whose grey standard deviation is below ``cell_std``
    (none for a picture too small to cut into cells).

    Cell means of the picture and of its square (area averages) give each cell's variance in
    two small resizes, cheap enough to run on every frame of the pass."""
    import cv2

    h, w = gray.shape[:2]
    if h < 2 * grid or w < 2 * grid:
        return np.zeros((grid, grid), dtype=bool)
    g = gray.astype(np.float32)
    mean = cv2.resize(g, (grid, grid), interpolation=cv2.INTER_AREA)
    mean_sq = cv2.resize(g * g, (grid, grid), interpolation=cv2.INTER_AREA)
    return np.maximum(mean_sq - mean * mean, 0.0) < cell_std * cell_std


def flat_share(gray: np.ndarray, grid: int = GRID, cell_std: float = FLAT_CELL_STD) -> float:
    """Share of the frame's cells that are flat (:func:`flat_cells`)."""
    return float(flat_cells(gray, grid, cell_std).mean())


def directional_sharpness(gray: np.ndarray, directions: int = 12, mask: np.ndarray | None = None) -> tuple[float, float]:
    """Energy of the second derivative along ``directions`` evenly spaced angles: (min, max).

    Motion blur smears the picture along one direction only, so the weakest direction loses
    almost all its energy while the Laplacian (a sum over directions) stays moderate; defocus
    lowers every direction alike.

    The second derivative along angle t is ``d = c²·dxx + 2cs·dxy + s²·dyy`` (c = cos t,
    s = sin t), so its mean energy is a quadratic form in the six second moments of
    (dxx, dxy, dyy): those are measured once and every direction costs a few multiplications.
    With ``mask`` (uint8, non-zero where measured) the means run over its pixels only."""
    import cv2

    g = gray.astype(np.float32)
    dxx = cv2.Sobel(g, cv2.CV_32F, 2, 0, ksize=3)
    dyy = cv2.Sobel(g, cv2.CV_32F, 0, 2, ksize=3)
    dxy = cv2.Sobel(g, cv2.CV_32F, 1, 1, ksize=3)
    if mask is not None:
        keep = mask.ravel() != 0
        if not keep.any():
            return 0.0, 0.0
        dxx, dyy, dxy = dxx.ravel()[keep], dyy.ravel()[keep], dxy.ravel()[keep]
    n = float(dxx.size)
    xx, yy, xy = float(dxx.ravel() @ dxx.ravel()) / n, float(dyy.ravel() @ dyy.ravel()) / n, float(dxy.ravel() @ dxy.ravel()) / n
    x_y, x_xy, y_xy = float(dxx.ravel() @ dyy.ravel()) / n, float(dxx.ravel() @ dxy.ravel()) / n, float(dyy.ravel() @ dxy.ravel()) / n
    energies = []
    for k in range(directions):
        t = np.pi * k / directions
        c, s = float(np.cos(t)), float(np.sin(t))
        a, b, e = c * c, 2 * c * s, s * s  # d = a*dxx + b*dxy + e*dyy
        energies.append(a * a * xx + b * b * xy + e * e * yy + 2 * (a * b * x_xy + a * e * x_y + b * e * y_xy))
    return max(0.0, min(energies)), max(energies)


def measure(gray: np.ndarray) -> FrameQuality:
    """Quality of one grey analysis frame. Sharpness is measured on its textured cells only:
    a plain wall or sky next to a sharp face is not blur, and counting its pixels would pull
    the frame's numbers down. A frame with no textured cell has no sharpness at all."""
    import cv2

    mean, std = cv2.meanStdDev(gray)
    flat = flat_cells(gray)
    h, w = gray.shape[:2]
    textured = cv2.resize((~flat).astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
    if flat.all():
        sharp, (dmin, dmax) = 0.0, (0.0, 0.0)
    else:
        sharp, (dmin, dmax) = sharpness(gray, textured), directional_sharpness(gray, mask=textured)
    return FrameQuality(
        sharpness=sharp,
        directional_min=dmin,
        directional_max=dmax,
        flat_share=float(flat.mean()),
        luma_mean=float(mean[0][0]),
        luma_std=float(std[0][0]),
    )


@dataclass(frozen=True)
class OcclusionRule:
    """When a mostly flat frame counts as occluded (see the module doc)."""

    threshold: float  # flat share from which a frame may be occluded
    rise: float = 0.3  # how much flatter than the shot's clear frames it must be
    blank: float = 0.97  # flat share from which a frame is occluded whatever its shot


def is_occluded(flat: float, rule: OcclusionRule, shot_clear_flat: float | None) -> bool:
    """``shot_clear_flat``: the shot's lower-quartile flat share (None: no shot context, so
    flatness alone decides, as for a single photograph)."""
    if flat < rule.threshold:
        return False
    if flat >= rule.blank or shot_clear_flat is None:
        return True
    return flat - shot_clear_flat >= rule.rise


def judge(
    q: FrameQuality,
    blur_threshold: float,
    directional_threshold: float,
    occlusion: float | OcclusionRule,
    shot_clear_flat: float | None = None,
) -> Verdict:
    """Occlusion first (a covered frame has no detail either), then blur: too little
    Laplacian energy overall, or too little in the weakest direction (smear).

    A plain float for ``occlusion`` is the threshold of a default :class:`OcclusionRule`."""
    rule = occlusion if isinstance(occlusion, OcclusionRule) else OcclusionRule(occlusion)
    if is_occluded(q.flat_share, rule, shot_clear_flat):
        return Verdict(False, "occlusion")
    if q.sharpness < blur_threshold or q.directional_min < directional_threshold:
        return Verdict(False, "motion_blur")
    return Verdict(True, None)
