"""Reviewer decisions: fixes and rejects become new annotation versions by the reviewer; bad values
are refused; only the first review of a packet writes; a changed annotation is not overwritten."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from calib_seed import seed_drama
from skyscript.calibration.items import CorrectionError, Decision
from skyscript.calibration.review import REVIEW_SOURCE, decide, progress, queue, submit
from skyscript.calibration.sampling import CalibrationError, create_batch
from skyscript.config import Settings
from skyscript.db import lineage
from skyscript.db.engine import Database
from skyscript.db.models import CalibrationPacket, Keyframe


def _packet_with_people(db: Database, settings: Settings, people: int = 2, overlap: float = 0.0) -> tuple[str, str, str]:
    seed_drama(db, "d-rev", episodes=1, per_episode=6)
    settings.calibration.overlap_share = overlap
    with db.session() as s:
        b = create_batch(s, settings, ["d-rev"], seed=3)
        for p in s.scalars(select(CalibrationPacket).where(CalibrationPacket.batch_id == b.id)):
            if len(p.snapshot["keyinfo"]["payload"]["people"]) == people:
                return b.id, p.id, p.keyframe_id
    raise AssertionError("no packet with that many people")


def test_fix_and_reject_become_a_new_version_by_the_reviewer(db: Database, settings: Settings) -> None:
    batch, packet, kf = _packet_with_people(db, settings)
    with db.session() as s:
        decide(s, packet, "alice", "keyinfo:people/0/emotion", Decision.fix, "angry")
        decide(s, packet, "alice", "keyinfo:people/1/face_box", Decision.reject)
        decide(s, packet, "alice", "faces:faces/1/xyxy", Decision.reject)
        decide(s, packet, "alice", "keyinfo:people/0/valence", "fix", "7")
        with pytest.raises(CalibrationError, match=r"^9 item\(s\) not decided yet: shot size, person 1 age"):
            submit(s, packet, "alice")
    with db.session() as s:
        done = submit(s, packet, "alice", accept_rest=True)
    assert done.primary and done.versions == {"keyinfo": 2, "faces": 2}
    assert done.counts == {"fix": 2, "reject": 2, "accept": 9}
    with db.session() as s:
        hist = lineage.annotation_history(s, kf, "keyinfo")
        assert [(a.version, a.current, a.author) for a in hist] == [(1, False, None), (2, True, "alice")]
        assert hist[1].source == REVIEW_SOURCE
        people = hist[1].payload["people"]
        assert (people[0]["emotion"], people[0]["valence"], people[1]["face_box"]) == ("angry", 7, None)
        assert hist[0].payload["people"][0]["emotion"] == "calm"  # the machine version is kept
        faces = lineage.annotation_of(s, kf, "faces")
        assert faces.version == 2 and faces.payload["count"] == 1 and len(faces.payload["faces"]) == 1
        assert faces.payload["faces"][0]["xyxy"] == [200.0, 100.0, 280.0, 190.0]
        assert s.get(Keyframe, kf).face_count == 1
        assert lineage.annotation_of(s, kf, "shot_size").version == 1  # accepted: untouched
        # a machine re-run does not overwrite the reviewer's version
        assert lineage.put_annotation(s, kf, "keyinfo", hist[0].payload, "vlm", None) == 2
        assert lineage.annotation_of(s, kf, "keyinfo").payload["people"][0]["emotion"] == "angry"
    with db.session() as s:
        with pytest.raises(CalibrationError, match="already submitted"):
            decide(s, packet, "alice", "shot_size:shot_type", Decision.reject)
        assert packet not in [p.id for p in queue(s, "alice", batch)]
        assert progress(s, batch)["reviewed"] == 1


def test_bad_fixes_are_refused_with_a_reason(db: Database, settings: Settings) -> None:
    _batch, packet, _kf = _packet_with_people(db, settings)
    with db.session() as s:
        with pytest.raises(CorrectionError, match="valence"):
            decide(s, packet, "bob", "keyinfo:people/0/valence", Decision.fix, "12")
        with pytest.raises(CorrectionError, match="four numbers"):
            decide(s, packet, "bob", "faces:faces/0/xyxy", Decision.fix, "1,2,3")
        with pytest.raises(CorrectionError, match="x1 < x2"):
            decide(s, packet, "bob", "faces:faces/0/xyxy", Decision.fix, "50,2,10,30")
        with pytest.raises(CorrectionError, match="accept it instead"):
            decide(s, packet, "bob", "keyinfo:people/0/emotion", Decision.fix, "calm")
        with pytest.raises(CorrectionError, match="cannot be empty"):
            decide(s, packet, "bob", "shot_size:shot_type", Decision.fix, "")
        with pytest.raises(CorrectionError, match="unknown shot type 'banana'"):
            decide(s, packet, "bob", "shot_size:shot_type", Decision.fix, "banana")
        with pytest.raises(CalibrationError, match="no item"):
            decide(s, packet, "bob", "keyinfo:people/9/emotion", Decision.accept)
        with pytest.raises(ValueError):
            decide(s, packet, "bob", "keyinfo:people/0/emotion", "maybe")
        with pytest.raises(CalibrationError, match="reviewer"):
            decide(s, packet, " ", "keyinfo:people/0/emotion", Decision.accept)
        row = decide(s, packet, "bob", "faces:faces/0/xyxy", Decision.fix, "[201, 99, 281, 191]")
        assert row.value == [201.0, 99.0, 281.0, 191.0]


def test_second_review_counts_for_agreement_only(db: Database, settings: Settings) -> None:
    batch, packet, kf = _packet_with_people(db, settings, people=1, overlap=1.0)
    with db.session() as s:
        assert packet in [p.id for p in queue(s, "bob", batch)]
        decide(s, packet, "alice", "shot_size:shot_type", Decision.fix, "wide")
        submit(s, packet, "alice", accept_rest=True)
        assert packet in [p.id for p in queue(s, "bob", batch)]  # overlap: a second review is due
        assert packet not in [p.id for p in queue(s, "alice", batch)]
    with db.session() as s:
        decide(s, packet, "bob", "shot_size:shot_type", Decision.fix, "full")
        second = submit(s, packet, "bob", accept_rest=True)
        assert not second.primary and second.versions == {}
        assert lineage.annotation_of(s, kf, "shot_size").payload["shot_type"] == "wide"
        assert s.get(Keyframe, kf).shot_type == "wide"
        assert packet not in [p.id for p in queue(s, "carol", batch)]


def test_a_changed_annotation_is_not_overwritten(db: Database, settings: Settings) -> None:
    _batch, packet, kf = _packet_with_people(db, settings, people=1)
    with db.session() as s:
        current = lineage.annotation_of(s, kf, "shot_size")
        lineage.put_annotation(s, kf, "shot_size", {**current.payload, "shot_type": "full"}, "shot-size-rules", None)
        decide(s, packet, "alice", "shot_size:shot_type", Decision.fix, "close_up")
        with pytest.raises(CalibrationError, match="changed since batch"):
            submit(s, packet, "alice", accept_rest=True)
