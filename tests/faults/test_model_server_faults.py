"""`skyscript run` against model servers that fail: the VLM of the keyinfo step and the LLM of the
script_pairs step answer some requests with HTTP 500 (once, or every time), hang past the client's
timeout (once, or every time), or answer garbage, truncated JSON or prose. Both are loopback
STAND-INS (recorded answers with injected faults, not models). Every keyframe and every requested
restoration must end up either annotated or in a loss row with its reason: nothing lost silently."""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest
from fixtures.drama_rows import cli_env, skyscript

from skyscript import ids
from skyscript.keyinfo.prompts import CORRECTION_SYSTEM, EXTRACT_SYSTEM
from skyscript.schemas.script import script_id
from skyscript.scripts.restore import restoration_seed

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "keyinfo"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "scripts"))
from llm_standin import ScriptLLM  # noqa: E402
from openai_standin import Action, Fail, Recorded, Reply, Slow, StandinOpenAI, image_key  # noqa: E402

DRAMA = "models"
TIMEOUT_S = 1.0  # both clients' per-attempt timeout; a hang is three times that
ANSWER = {
    "objects": [{"type": "candle", "description": "a lit candle in a glass holder", "shot_type": "close_up"}],
    "people": [{"age": "adult", "gender": "male", "looks": "dark jacket, swept-back hair", "emotion": "amused",
                "continuous_emotion": {"valence": 7, "arousal": 5, "dominance": 6}}],
}
GOOD = json.dumps(ANSWER)
# what the VLM does with the n-th keyframe it is sent (requests go one at a time, in keyframe order):
# one script entry per attempt, the last repeating
PLAN: list[tuple[str, list[Action]]] = [
    ("parsed", [Reply(GOOD)]),
    ("500 once, then parsed", [Fail(500), Reply(GOOD)]),
    ("500 every time: vlm_failed", [Fail(500)]),
    ("hangs every time: vlm_failed", [Slow(3 * TIMEOUT_S, GOOD)]),
    ("garbage, corrected into garbage: unparseable_json", [Reply("GARBAGE I cannot help with that.")]),
    ("truncated JSON: repaired", [Reply(GOOD[:-25])]),
    ("prose, corrected into JSON", [Reply("PROSE a man in a dark jacket smiles beside a candle.")]),
    ("parsed", [Reply(GOOD)]),
    ("hangs once, then parsed", [Slow(3 * TIMEOUT_S, GOOD), Reply(GOOD)]),
]


@dataclass
class FaultyVlm(StandinOpenAI):
    """The keyinfo requests get :data:`PLAN` by the order their keyframes first arrive; the
    correction model answers the garbage with garbage and the prose with the JSON it describes."""

    order: dict[str, int] = field(default_factory=dict)
    _order_lock: threading.Lock = field(default_factory=threading.Lock)

    def _choose(self, rec: Recorded) -> tuple[str, Action]:
        if rec.system == CORRECTION_SYSTEM:
            return "correction", Reply("Sorry, there is no JSON to fix." if "GARBAGE" in rec.user else GOOD)
        assert rec.system == EXTRACT_SYSTEM and len(rec.images) == 1, rec.system[:80]
        key = image_key(rec.images[0])
        with self._order_lock:
            nth = self.order.setdefault(key, len(self.order))
            attempt = self.attempts.get(key, 0)
            self.attempts[key] = attempt + 1
        script = PLAN[nth][1]
        return key, script[min(attempt, len(script) - 1)]


@pytest.fixture
def vlm() -> Iterator[FaultyVlm]:
    server = FaultyVlm().start()
    yield server
    server.stop()


@pytest.fixture
def llm() -> Iterator[ScriptLLM]:
    server = ScriptLLM().start()
    yield server
    server.stop()


def test_vlm_and_llm_faults_are_retried_or_lost_with_their_reasons(
    tmp_path: Path, sample_media: Path, vlm: FaultyVlm, llm: ScriptLLM
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "Megamind.avi").symlink_to(sample_media / "Megamind.avi")
    episode = ids.episode_id(DRAMA, "Megamind.avi")
    seeds = [restoration_seed(script_id(episode, 1), 1009, i) for i in range(5)]
    llm.faults = {seeds[1]: ["http:500", "ok"], seeds[2]: ["http:500"], seeds[3]: [f"slow:{3 * TIMEOUT_S}"],
                  seeds[4]: ["jargon"]}
    env = cli_env(
        tmp_path / "home",
        SKYSCRIPT_SCAN__KEYFRAMES_PER_SHOT="3", SKYSCRIPT_KEYINFO__IMAGES_PER_REQUEST="1",
        SKYSCRIPT_VLM__URL=vlm.url, SKYSCRIPT_VLM__MODEL=vlm.model, SKYSCRIPT_VLM__TIMEOUT_S=str(TIMEOUT_S),
        SKYSCRIPT_VLM__MAX_RETRIES="1", SKYSCRIPT_VLM__CONCURRENCY="1",
        SKYSCRIPT_CORRECTION__URL=vlm.url, SKYSCRIPT_CORRECTION__TIMEOUT_S="5",
        SKYSCRIPT_LLM__URL=llm.url, SKYSCRIPT_LLM__MODEL=llm.model, SKYSCRIPT_LLM__TIMEOUT_S=str(TIMEOUT_S),
        SKYSCRIPT_LLM__MAX_RETRIES="1", SKYSCRIPT_PAIRS__RESTORATIONS="5", SKYSCRIPT_PAIRS__EMBEDDINGS="false",
    )
    # the steps that lead to the models (privacy is left out: the VLM gets unmasked frames anyway)
    res = skyscript(["run", str(src), "--drama", DRAMA, "--no-progress",
                     "--steps", "probe,scan,keyinfo,scenes,shooting_scripts,script_pairs"], env)
    assert "Traceback" not in res.stderr, res.stderr[-3000:]
    # 3 of 9 keyframes lost is above the 4% loss limit: the run says so and exits 1
    assert res.returncode == 1, res.stdout + res.stderr[-3000:]
    assert "lost 2 x vlm_failed" in res.stdout and "lost 1 x unparseable_json" in res.stdout, res.stdout

    with sqlite3.connect(tmp_path / "home" / "lineage.db") as db:
        keyframes = [r[0] for r in db.execute("select id from keyframe where valid order by frame_index")]
        annotated = {r[0]: json.loads(r[1])["answer_outcome"] for r in db.execute(
            "select keyframe_id, payload from annotation where kind = 'keyinfo' and current")}
        lost = {r[0]: (r[1], r[2]) for r in db.execute(
            "select item_id, reason, detail from loss where step = 'keyinfo'")}
        counts = {r[0]: json.loads(r[1]) for r in db.execute(
            "select step, counts from step_run where status = 'success'")}
        pair_losses = sorted(db.execute("select item_id, reason from loss where step = 'script_pairs'").fetchall())
    assert len(keyframes) == len(PLAN) == 9
    assert set(annotated) | set(lost) == set(keyframes) and not set(annotated) & set(lost)  # nothing lost silently
    outcome = {i: annotated.get(kf) or lost[kf][0] for i, kf in enumerate(keyframes)}
    assert outcome == {0: "parsed", 1: "parsed", 2: "vlm_failed", 3: "vlm_failed", 4: "unparseable_json",
                       5: "repaired", 6: "corrected", 7: "parsed", 8: "parsed"}
    assert "vlm_http_500" in lost[keyframes[2]][1] and "gave up after 2 attempts" in lost[keyframes[2]][1]
    assert "vlm_timeout" in lost[keyframes[3]][1] and "gave up after 2 attempts" in lost[keyframes[3]][1]
    ki = counts["keyinfo"]
    assert (ki["keyframes"], ki["keyframes_annotated"], ki["vlm_failed"]) == (9, 6, 2)
    outcomes = ("answers_parsed", "answers_repaired", "answers_corrected", "answers_lost")
    assert [ki[k] for k in outcomes] == [4, 1, 1, 3] and sum(ki[k] for k in outcomes) == ki["keyframes"]
    # retried: the two single 500s, the 500 given up on after its one retry, the two hangs (one
    # retry each, max_retries=1); the client's counts match what the server saw
    assert (ki["vlm_retries"], ki["vlm_timeouts"], ki["vlm_http_requests"]) == (4, 3, 13)
    keyinfo_requests = [r for r in vlm.requests if r.system == EXTRACT_SYSTEM]
    assert len(keyinfo_requests) == 13 and sorted(vlm.attempts[k] for k in vlm.order) == [1, 1, 1, 1, 1, 2, 2, 2, 2]
    assert sum(1 for r in vlm.requests if r.system == CORRECTION_SYSTEM) == 2

    # the LLM: 5 restorations asked for the one shooting script, 2 pairs, 3 loss rows
    sp = counts["script_pairs"]
    assert (sp["restorations_requested"], sp["pairs"], sp["rejected"], sp["llm_failed"]) == (5, 2, 1, 2)
    sid = script_id(episode, 1)
    assert pair_losses == [(f"{sid}--r0002", "llm_failed"), (f"{sid}--r0003", "llm_failed"),
                           (f"{sid}--r0004", "restoration_rejected")]
    assert sp["pairs"] + len(pair_losses) == sp["restorations_requested"]
    assert [llm.attempts[f"seed:{s}"] for s in seeds] == [1, 2, 2, 2, 1]  # 500 and hang retried once
    print(f"\nFAULT-TABLE | VLM/LLM 500s, hangs, garbage | runs 1 | keyframes {len(keyframes)} annotated "
          f"{len(annotated)} lost-with-reason {len(lost)} silently lost {len(keyframes) - len(annotated) - len(lost)} | "
          f"restorations 5 pairs {sp['pairs']} lost-with-reason {len(pair_losses)}")
