"""Interval and agreement statistics against hand-worked values and statsmodels."""

from __future__ import annotations

import math

import pytest
from statsmodels.stats.inter_rater import cohens_kappa as sm_cohens_kappa
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa
from statsmodels.stats.proportion import proportion_confint

from skyscript.calibration.stats import cohens_kappa, fleiss_kappa, krippendorff_alpha_nominal, wilson_interval


@pytest.mark.parametrize("k,n", [(189, 200), (188, 200), (281, 300), (280, 300), (464, 500), (0, 10), (10, 10), (7, 9)])
def test_wilson_matches_statsmodels(k: int, n: int) -> None:
    lo, hi = wilson_interval(k, n)
    slo, shi = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert lo == pytest.approx(slo, abs=1e-12) and hi == pytest.approx(shi, abs=1e-12)


def test_wilson_thresholds_of_the_gate() -> None:
    # the smallest counts whose 95% lower bound reaches 90% (NOTES: 189/200, 281/300, 464/500)
    assert wilson_interval(189, 200)[0] >= 0.90 > wilson_interval(188, 200)[0]
    assert wilson_interval(281, 300)[0] >= 0.90 > wilson_interval(280, 300)[0]
    assert wilson_interval(464, 500)[0] >= 0.90 > wilson_interval(463, 500)[0]
    # by hand: p = 0.9, n = 200, z = 1.959964: centre 0.89597, half-width 0.04163
    lo, hi = wilson_interval(180, 200)
    assert (round(lo, 4), round(hi, 4)) == (0.8506, 0.9343)
    with pytest.raises(ValueError):
        wilson_interval(5, 4)


def test_kappas_and_alpha_on_a_small_table_by_hand() -> None:
    a = [1, 1, 0, 0]
    b = [1, 0, 0, 0]
    # observed 3/4; chance 0.5*0.25 + 0.5*0.75 = 0.5 -> kappa 0.5
    assert cohens_kappa(a, b) == pytest.approx(0.5)
    # Fleiss: P-bar 0.75, P_e (3/8)^2 + (5/8)^2 = 34/64 -> 7/15
    table = [[x + y, 2 - x - y] for x, y in zip(a, b)]
    assert fleiss_kappa(table) == pytest.approx(7 / 15)
    # Krippendorff: coincidences o11=2, o10=o01=1, o00=4; n1=3, n0=5, n=8;
    # D_o=2, D_e=(3*5+5*3)/7 -> alpha = 1 - 14/30 = 8/15
    assert krippendorff_alpha_nominal(list(zip(a, b))) == pytest.approx(8 / 15)


def test_kappas_match_statsmodels() -> None:
    a = ["ok", "ok", "bad", "ok", "bad", "ok", "ok", "bad", "ok", "ok"]
    b = ["ok", "bad", "bad", "ok", "bad", "ok", "ok", "ok", "ok", "ok"]
    cats = ["ok", "bad"]
    confusion = [[sum(1 for x, y in zip(a, b) if x == ci and y == cj) for cj in cats] for ci in cats]
    assert cohens_kappa(a, b) == pytest.approx(sm_cohens_kappa(confusion).kappa)
    table = [[3, 0, 0], [1, 2, 0], [0, 1, 2], [1, 1, 1], [0, 0, 3]]
    assert fleiss_kappa(table) == pytest.approx(sm_fleiss_kappa(table))


def test_krippendorff_alpha_with_missing_values() -> None:
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers, 12 units,
    # nominal alpha = 0.743
    n = None
    obs = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, n, n, n],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, n, 3],
        [n, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, n],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, n],
    ]
    units = [list(u) for u in zip(*obs)]
    assert round(krippendorff_alpha_nominal(units), 3) == 0.743
    assert krippendorff_alpha_nominal([[1, 1], [2, 2]]) == 1.0
    with pytest.raises(ValueError):
        krippendorff_alpha_nominal([[1, None]])
    assert math.isclose(cohens_kappa([1, 1], [1, 1]), 1.0)
