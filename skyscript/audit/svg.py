"""Small inline SVG charts for the audit reports: bars against a threshold, proportions with
their intervals, and a trend line. Hand-written on purpose: three chart shapes do not justify a
plotting library (matplotlib is about 40 MB) in the core install, and inline SVG keeps a report
one self-contained file."""

from __future__ import annotations

from html import escape
from typing import Sequence

W = 640
ROW = 22
LEFT = 190


def _frame(height: int, body: str, title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" width="{W}" height="{height}" '
            f'viewBox="0 0 {W} {height}" font-family="sans-serif" font-size="12">{body}</svg>')


def bars(rows: Sequence[tuple[str, float]], *, title: str, threshold: float | None = None, scale: float | None = None,
         fmt: str = "{:.1%}", empty: str = "no data") -> str:
    """Horizontal bars (label, value), with an optional vertical threshold line."""
    if not rows:
        return _frame(30, f'<text x="4" y="20">{escape(empty)}</text>', title)
    top = max([v for _, v in rows] + [threshold or 0.0] + [1e-9])
    scale = scale or top * 1.1
    width = W - LEFT - 70
    parts = []
    for i, (label, value) in enumerate(rows):
        y = 6 + i * ROW
        w = max(0.0, width * value / scale)
        over = threshold is not None and value > threshold
        colour = "#cf222e" if over else "#2f81f7"
        parts.append(f'<text x="{LEFT - 6}" y="{y + 14}" text-anchor="end">{escape(label)}</text>'
                     f'<rect x="{LEFT}" y="{y + 2}" width="{w:.1f}" height="{ROW - 6}" fill="{colour}"/>'
                     f'<text x="{LEFT + w + 4:.1f}" y="{y + 14}">{escape(fmt.format(value))}</text>')
    height = 12 + len(rows) * ROW + 14
    if threshold is not None:
        x = LEFT + width * threshold / scale
        parts.append(f'<line x1="{x:.1f}" y1="2" x2="{x:.1f}" y2="{height - 14}" stroke="#000" stroke-dasharray="4 3"/>'
                     f'<text x="{x + 3:.1f}" y="{height - 2}">{escape(fmt.format(threshold))}</text>')
    return _frame(height, "".join(parts), title)


def intervals(rows: Sequence[tuple[str, float | None, float, float]], *, title: str, threshold: float) -> str:
    """Proportions (label, point, lower, upper) on 0..1 with whiskers and the threshold line."""
    if not rows:
        return _frame(30, '<text x="4" y="20">no data</text>', title)
    width = W - LEFT - 70
    parts = []
    for i, (label, point, lo, hi) in enumerate(rows):
        y = 18 + i * ROW + ROW / 2
        x_lo, x_hi = LEFT + width * lo, LEFT + width * hi
        colour = "#1a7f37" if lo >= threshold else "#cf222e"
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4}" text-anchor="end">{escape(label)}</text>'
                     f'<line x1="{x_lo:.1f}" y1="{y}" x2="{x_hi:.1f}" y2="{y}" stroke="{colour}" stroke-width="3"/>')
        if point is not None:
            parts.append(f'<circle cx="{LEFT + width * point:.1f}" cy="{y}" r="4" fill="{colour}"/>'
                         f'<text x="{LEFT + width + 6}" y="{y + 4}">{point:.1%}</text>')
    height = 24 + len(rows) * ROW + 14
    x = LEFT + width * threshold
    parts.append(f'<line x1="{x:.1f}" y1="14" x2="{x:.1f}" y2="{height - 14}" stroke="#000" stroke-dasharray="4 3"/>'
                 f'<text x="{x:.1f}" y="11" text-anchor="middle">{threshold:.0%}</text>'
                 f'<text x="{LEFT}" y="{height - 2}">0%</text><text x="{LEFT + width}" y="{height - 2}" text-anchor="end">100%</text>')
    return _frame(height, "".join(parts), title)


def trend(points: Sequence[tuple[str, float]], *, title: str, threshold: float | None = None, fmt: str = "{:.1%}") -> str:
    """Values over runs (label, value), oldest first, with the threshold line."""
    if not points:
        return _frame(30, '<text x="4" y="20">no runs yet</text>', title)
    h, pad = 180, 40
    top = max([v for _, v in points] + [threshold or 0.0] + [1e-9]) * 1.15
    n = len(points)
    xs = [pad + (W - 2 * pad) * (i / max(1, n - 1)) for i in range(n)]
    ys = [h - pad - (h - 2 * pad) * (v / top) for _, v in points]
    parts = [f'<polyline fill="none" stroke="#2f81f7" stroke-width="2" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))}"/>']
    for (label, v), x, y in zip(points, xs, ys):
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#2f81f7"><title>{escape(label)}: {escape(fmt.format(v))}</title></circle>')
    parts.append(f'<text x="{xs[0]:.1f}" y="{h - 8}">{escape(points[0][0][:24])}</text>')
    if n > 1:
        parts.append(f'<text x="{xs[-1]:.1f}" y="{h - 8}" text-anchor="end">{escape(points[-1][0][:24])}</text>')
    if threshold is not None:
        y = h - pad - (h - 2 * pad) * (threshold / top)
        parts.append(f'<line x1="{pad}" y1="{y:.1f}" x2="{W - pad}" y2="{y:.1f}" stroke="#cf222e" stroke-dasharray="4 3"/>'
                     f'<text x="{W - pad + 2}" y="{y + 4:.1f}">{escape(fmt.format(threshold))}</text>')
    return _frame(h, "".join(parts), title)
