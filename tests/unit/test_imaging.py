"""Image scaling helpers: the scale factors map boxes back exactly."""

from __future__ import annotations

import numpy as np
import pytest

from skyscript.imaging import fit_max_side, shrink_by_whole_factor


@pytest.mark.parametrize(("h", "w", "max_side", "k"), [(720, 1280, 800, 2), (1080, 1920, 800, 3), (721, 1283, 800, 2), (360, 640, 800, 1)])
def test_whole_factor_shrink_takes_block_means(h: int, w: int, max_side: int, k: int) -> None:
    img = np.random.default_rng(h + w).integers(0, 256, (h, w, 3), dtype=np.uint8)
    s = shrink_by_whole_factor(img, max_side)
    assert s.scale == 1.0 / k and max(s.image.shape[:2]) <= max_side
    assert s.image.shape[:2] == (h // k, w // k)
    if k > 1:  # each pixel is the rounded mean of its k x k block
        block = img[:k, k : 2 * k].reshape(-1, 3).mean(axis=0)
        assert np.abs(s.image[0, 1].astype(float) - block).max() <= 0.5 + 1e-9
    assert s.to_full((10.0, 20.0, 30.0, 40.0)) == (10.0 * k, 20.0 * k, 30.0 * k, 40.0 * k)


def test_fit_max_side_never_upscales() -> None:
    img = np.zeros((100, 200, 3), np.uint8)
    assert fit_max_side(img, 400).image is img
    small = fit_max_side(img, 100)
    assert small.image.shape[:2] == (50, 100) and small.scale == 0.5
