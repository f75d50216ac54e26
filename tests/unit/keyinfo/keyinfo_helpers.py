"""Helpers for the key-information tests (importable by name: tests dirs are on sys.path)."""

from __future__ import annotations

import cv2
import numpy as np


def jpeg_of(seed: int, size: tuple[int, int] = (64, 48)) -> bytes:
    """A small distinct JPEG (a colour gradient and a seed-coloured square)."""
    w, h = size
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
    img[..., 1] = (seed * 37) % 256
    cv2.rectangle(img, (5 + seed % 20, 5), (25 + seed % 20, 25), (255, 255 - seed % 256, seed % 256), -1)
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    return buf.tobytes()
