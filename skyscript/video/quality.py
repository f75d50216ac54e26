"""Frame quality: sharpness (motion blur) and occlusion, measured on the analysis frame.

Sharpness is the variance of the Laplacian of the grey analysis frame. The analysis frame
has a fixed width (``VideoSettings.analysis_width``), so the number does not depend on the
source resolution: a 1080p and a 480p copy of the same shot score alike.

Occlusion is the share of the frame covered by flat, texture-less cells (a hand or an
object over the lens, a black or blown-out frame): a cell is flat when its grey standard
deviation is below ``flat_cell_std``.
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


def sharpness(gray: np.ndarray) -> float:
    import cv2

    _mean, std = cv2.meanStdDev(cv2.Laplacian(gray, cv2.CV_16S, ksize=1))
    return float(std[0][0]) ** 2


def flat_share(gray: np.ndarray, grid: int = GRID, cell_std: float = FLAT_CELL_STD) -> float:
    """Share of grid cells whose grey standard deviation is below ``cell_std``."""
    h, w = gray.shape[:2]
    ch, cw = h // grid, w // grid
    if ch < 2 or cw < 2:
        return 0.0
    cells = gray[: ch * grid, : cw * grid].reshape(grid, ch, grid, cw).astype(np.float32)
    std = cells.std(axis=(1, 3))
    return float((std < cell_std).mean())


def directional_sharpness(gray: np.ndarray, directions: int = 12) -> tuple[float, float]:
    """Energy of the second derivative along ``directions`` evenly spaced angles: (min, max).

    Motion blur smears the picture along one direction only, so the weakest direction loses
    almost all its energy while the Laplacian (a sum over directions) stays moderate; defocus
    lowers every direction alike.

    The second derivative along angle t is ``d = c²·dxx + 2cs·dxy + s²·dyy`` (c = cos t,
    s = sin t), so its mean energy is a quadratic form in the six second moments of
    (dxx, dxy, dyy): those are measured once and every direction costs a few multiplications."""
    import cv2

    g = gray.astype(np.float32)
    dxx = cv2.Sobel(g, cv2.CV_32F, 2, 0, ksize=3)
    dyy = cv2.Sobel(g, cv2.CV_32F, 0, 2, ksize=3)
    dxy = cv2.Sobel(g, cv2.CV_32F, 1, 1, ksize=3)
    n = float(g.size)
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
    import cv2

    mean, std = cv2.meanStdDev(gray)
    dmin, dmax = directional_sharpness(gray)
    return FrameQuality(
        sharpness=sharpness(gray),
        directional_min=dmin,
        directional_max=dmax,
        flat_share=flat_share(gray),
        luma_mean=float(mean[0][0]),
        luma_std=float(std[0][0]),
    )


def judge(q: FrameQuality, blur_threshold: float, directional_threshold: float, occlusion_threshold: float) -> Verdict:
    """Occlusion first (a covered frame has no detail either), then blur: too little
    Laplacian energy overall, or too little in the weakest direction (smear)."""
    if q.flat_share >= occlusion_threshold:
        return Verdict(False, "occlusion")
    if q.sharpness < blur_threshold or q.directional_min < directional_threshold:
        return Verdict(False, "motion_blur")
    return Verdict(True, None)
