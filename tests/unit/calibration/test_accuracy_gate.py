"""A scripted reviewer marks a known share of items wrong: accuracy, its Wilson interval and the
gate match hand-computed values; a failed batch is reworked and resampled; agreement on overlap
packets matches a hand-worked table."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from statsmodels.stats.proportion import proportion_confint

from calib_seed import seed_drama
from skyscript.calibration.accuracy import batch_accuracy, summary_line
from skyscript.calibration.gate import report_key, run_accuracy_gate
from skyscript.calibration.review import decide, submit
from skyscript.calibration.rework import rework, resample
from skyscript.calibration.sampling import CalibrationError, create_batch
from skyscript.config import Settings
from skyscript.db.engine import Database
from skyscript.db.models import CalibrationPacket
from skyscript.store import Area, open_store


def _review_all(db: Database, batch_id: str, wrong: set[str], reviewer: str = "alice") -> None:
    """Reject every item whose field is in ``wrong``; accept the rest."""
    with db.session() as s:
        for p in s.scalars(select(CalibrationPacket).where(CalibrationPacket.batch_id == batch_id).order_by(CalibrationPacket.position)):
            for it in p.items:
                decide(s, p.id, reviewer, it["key"], "reject" if it["field"] in wrong else "accept")
            submit(s, p.id, reviewer)


def test_scripted_reviewer_failing_batch_reworked_and_resampled(db: Database, settings: Settings) -> None:
    # 2 episodes x 10 keyframes. Per episode: 4 keyframes without people (shot size + object type
    # + object box = 3 items), 3 with one person (shot size, age, gender, emotion, valence, face box
    # in keyinfo, face box in faces = 7) and 3 with two people (1 + 2 x 5 + 2 = 13): 72 items.
    # Emotion items per episode: 3 x 1 + 3 x 2 = 9.
    seed_drama(db, "d-acc", episodes=2, per_episode=10)
    settings.calibration.overlap_share = 0.0
    store = open_store(settings)
    with db.session() as s:
        b = create_batch(s, settings, ["d-acc"], size=20, seed=11)
        batch_id = b.id
    _review_all(db, batch_id, wrong={"person.emotion"})
    with db.session() as s:
        rep = batch_accuracy(s, settings, batch_id)
    assert (rep.overall.n, rep.overall.correct) == (144, 126)
    assert rep.overall.accuracy == pytest.approx(126 / 144)
    lo, hi = proportion_confint(126, 144, alpha=0.05, method="wilson")
    assert (rep.overall.lower, rep.overall.upper) == (round(lo, 6), round(hi, 6))
    assert rep.fields["person.emotion"].n == 18 and rep.fields["person.emotion"].correct == 0
    assert rep.fields["shot_size"].n == 20 and rep.fields["shot_size"].accuracy == 1.0
    assert rep.packets.n == 20 and rep.packets.correct == 8  # the 8 packets without people
    assert rep.decisions == {"accept": 126, "reject": 18}
    assert rep.complete and not rep.gate.passed and rep.gate.failing_fields == ["person.emotion"]
    assert "87.50%" not in rep.gate.reason and "126/144 items correct" in rep.gate.reason

    with db.session() as s:
        with pytest.raises(CalibrationError, match="only a failed batch"):
            rework(s, batch_id)
        res = run_accuracy_gate(s, settings, store, batch_id)
    assert not res.passed and res.report.status == "failed"
    doc = json.loads(store.get_bytes(Area.public, report_key(batch_id, "accuracy-gate.json")))
    assert doc["passed"] is False and doc["validation"]["summary"]["success"] is False
    assert doc["accuracy"]["overall"]["correct"] == 126

    with db.session() as s:
        with pytest.raises(CalibrationError, match="resample after rework"):
            resample(s, settings, batch_id)
        ran: list[list[str]] = []
        plan = rework(s, batch_id, rerun=lambda p: ran.append(p.steps))
        assert (plan.fields, plan.kinds, plan.steps, plan.rerun) == (["person.emotion"], ["keyinfo"], ["keyinfo"], True)
        assert ran == [["keyinfo"]] and plan.episodes == ["d-acc--ep01", "d-acc--ep02"]
        nxt = resample(s, settings, batch_id, seed=12)
        nxt_id, nxt_round, nxt_parent, nxt_size = nxt.id, nxt.round, nxt.parent_id, nxt.size
    assert (nxt_round, nxt_parent, nxt_size) == (2, batch_id, 20)  # 40 keyframes... only 20 exist: all again

    # the second round: the 18 rejected emotions were removed by the first review's corrections, so
    # 126 items are left; a reviewer who finds one wrong box -> 125/126, lower bound 95.6%, passes
    with db.session() as s:
        first = s.scalars(select(CalibrationPacket).where(CalibrationPacket.batch_id == nxt_id, CalibrationPacket.position == 0)).one()
        box = next(i["key"] for i in first.items if i["kind"] == "box" or i["field"] == "object.box")
        for p in s.scalars(select(CalibrationPacket).where(CalibrationPacket.batch_id == nxt_id)):
            for it in p.items:
                decide(s, p.id, "bob", it["key"], "reject" if (p.id, it["key"]) == (first.id, box) else "accept")
            submit(s, p.id, "bob")
        res2 = run_accuracy_gate(s, settings, store, nxt_id)
    lo2, _ = proportion_confint(125, 126, alpha=0.05, method="wilson")
    assert res2.passed and (res2.report.overall.n, res2.report.overall.correct) == (126, 125)
    assert res2.report.overall.lower == round(lo2, 6) and round(lo2, 4) == 0.9564
    assert summary_line(res2.report).startswith(f"batch {nxt_id}: 125/126 items correct (99.2%")


def test_gate_on_point_estimate_and_incomplete_batch(db: Database, settings: Settings) -> None:
    seed_drama(db, "d-pt", episodes=1, per_episode=10)
    settings.calibration.overlap_share = 0.0
    with db.session() as s:
        b = create_batch(s, settings, ["d-pt"], seed=5)
        batch_id = b.id
        p0 = s.scalars(select(CalibrationPacket).where(CalibrationPacket.batch_id == batch_id, CalibrationPacket.position == 0)).one()
        submit(s, p0.id, "alice", accept_rest=True)
        valence_in_p0 = sum(it["field"] == "person.valence" for it in p0.items)
        with pytest.raises(CalibrationError, match=r"not fully reviewed: 1/10 packets done"):
            run_accuracy_gate(s, settings, None, batch_id)
    # 72 items; every person.valence (3 x 1 + 3 x 2 = 9 items) wrong except in the accepted first packet
    with db.session() as s:
        for p in s.scalars(select(CalibrationPacket).where(CalibrationPacket.batch_id == batch_id, CalibrationPacket.position > 0)):
            for it in p.items:
                decide(s, p.id, "alice", it["key"], "reject" if it["field"] == "person.valence" else "accept")
            submit(s, p.id, "alice")
        rep = batch_accuracy(s, settings, batch_id)
        wrong = rep.decisions.get("reject", 0)
        assert wrong == 9 - valence_in_p0 and rep.overall.n == 72 and rep.overall.correct == 72 - wrong
        settings.thresholds.min_accuracy = 0.85
        settings.calibration.gate_on = "point"
        point = batch_accuracy(s, settings, batch_id).gate
        settings.calibration.gate_on = "lower_bound"
        bound = batch_accuracy(s, settings, batch_id).gate
    acc = (72 - wrong) / 72
    lo, _ = proportion_confint(72 - wrong, 72, alpha=0.05, method="wilson")
    assert acc >= 0.85 > lo  # chosen so that the two rules disagree
    assert point.passed and point.value == round(acc, 6)
    assert not bound.passed and bound.value == round(lo, 6)


def test_agreement_on_overlap_packets(db: Database, settings: Settings) -> None:
    seed_drama(db, "d-ov", episodes=1, per_episode=3)  # 3 + 7 + 13 = 23 items
    settings.calibration.overlap_share = 1.0
    with db.session() as s:
        b = create_batch(s, settings, ["d-ov"], seed=2)
        batch_id = b.id
        packets = list(s.scalars(select(CalibrationPacket).where(CalibrationPacket.batch_id == batch_id).order_by(CalibrationPacket.position)))
        keys = [(p.id, it["key"]) for p in packets for it in p.items]
        # alice rejects the first 4 items, bob the first 2 and the 5th: 23 items, agree on 20
        alice = set(keys[:4])
        bob = set(keys[:2]) | {keys[4]}
        for who, wrong in (("alice", alice), ("bob", bob)):
            for p in packets:
                for it in p.items:
                    decide(s, p.id, who, it["key"], "reject" if (p.id, it["key"]) in wrong else "accept")
                submit(s, p.id, who)
        ag = batch_accuracy(s, settings, batch_id).agreement
    # by hand: a = 4 wrong / 19 right, b = 3 / 20, agree on 20 of 23.
    # kappa: p_o = 20/23, p_e = (4*3 + 19*20)/23^2 = 392/529 -> (460/529 - 392/529) / (137/529) = 68/137
    assert (ag.packets, ag.items) == (3, 23)
    assert ag.observed == round(20 / 23, 6)
    assert ag.cohens_kappa == round(68 / 137, 6)
    # alpha: n = 46, wrong pairs 7 values, right 39; D_o = 3 disagreements x 2 = 6;
    # D_e = 2*7*39/45 -> alpha = 1 - 6*45/(2*7*39) = 1 - 270/546
    assert ag.krippendorff_alpha == round(1 - 270 / 546, 6)
    # Fleiss with two raters: p_j = 7/46, 39/46; P-bar = 20/23
    pe = (7 / 46) ** 2 + (39 / 46) ** 2
    assert ag.fleiss_kappa == round((20 / 23 - pe) / (1 - pe), 6)
