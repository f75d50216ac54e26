"""Interval and agreement statistics, written out so the core needs no statistics package.

The tests check each against statsmodels (``proportion_confint(method='wilson')``,
``cohens_kappa``, ``fleiss_kappa``) and Krippendorff's alpha against values worked by hand
(the ``krippendorff`` package is GPL, so it is not a dependency).
"""

from __future__ import annotations

import math
from collections import Counter
from statistics import NormalDist
from typing import Hashable, Sequence


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (``(0, 1)`` when ``n`` is 0)."""
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes}/{n}")
    if n == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def cohens_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Cohen's kappa of two raters over the same items (1.0 when both always agree on one label)."""
    if len(a) != len(b) or not a:
        raise ValueError("two equally long, non-empty rating lists are needed")
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
    if expected == 1.0:
        return 1.0
    return (observed - expected) / (1 - expected)


def fleiss_kappa(table: Sequence[Sequence[int]]) -> float:
    """Fleiss' kappa from an items x categories table of rater counts (same raters per item)."""
    if not table:
        raise ValueError("empty table")
    raters = sum(table[0])
    if raters < 2 or any(sum(row) != raters for row in table):
        raise ValueError("every item needs the same number (>= 2) of ratings")
    n_items = len(table)
    cats = len(table[0])
    p_j = [sum(row[j] for row in table) / (n_items * raters) for j in range(cats)]
    p_i = [(sum(c * c for c in row) - raters) / (raters * (raters - 1)) for row in table]
    p_bar = sum(p_i) / n_items
    p_e = sum(p * p for p in p_j)
    if p_e == 1.0:
        return 1.0
    return (p_bar - p_e) / (1 - p_e)


def krippendorff_alpha_nominal(units: Sequence[Sequence[Hashable | None]]) -> float:
    """Krippendorff's alpha for nominal data. ``units`` holds each unit's ratings (``None`` for a
    missing one); units with fewer than two ratings are not pairable and are dropped."""
    coincid: Counter[tuple[Hashable, Hashable]] = Counter()
    for unit in units:
        vals = [v for v in unit if v is not None]
        m = len(vals)
        if m < 2:
            continue
        for i, x in enumerate(vals):
            for j, y in enumerate(vals):
                if i != j:
                    coincid[(x, y)] += 1 / (m - 1)
    n_c: Counter[Hashable] = Counter()
    for (x, _y), w in coincid.items():
        n_c[x] += w
    n = sum(n_c.values())
    if n <= 1:
        raise ValueError("no unit has two ratings")
    d_o = sum(w for (x, y), w in coincid.items() if x != y)
    d_e = sum(n_c[x] * n_c[y] for x in n_c for y in n_c if x != y) / (n - 1)
    if d_e == 0:
        return 1.0
    return 1 - d_o / d_e
