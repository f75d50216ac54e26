"""The chat client against a REAL third-party OpenAI-compatible server: ``transformers serve``
(see conftest) running tiny random-weight models, a LLaVA VLM and a Llama LLM, built offline.
The answers are gibberish; the server is real: its model pinning and listing, its error
responses, its generation limits, ``finish_reason`` and usage, its one-at-a-time generation.
Fault injection beyond what the server really does lives in the stand-in tests (tests/unit/keyinfo).

The last two run the key-information step itself: a wrong model name fails the step with one line
naming the served model (not a loss per keyframe); an unset one is discovered and every keyframe is
accounted for."""

from __future__ import annotations

import io
import json
import logging
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tiny_servers import VLM_ID, Served

from skyscript.config import KeyInfoSettings, ModelEndpoint, Settings
from skyscript.context import StepContext, open_context
from skyscript.db import lineage
from skyscript.ids import Keys
from skyscript.keyinfo.extract import FaceStage, FrameInput, VlmExtractor
from skyscript.keyinfo.prompts import CORRECTION_SYSTEM, correction_user_prompt
from skyscript.keyinfo.repair import Outcome, interpret
from skyscript.models.chat import ChatError, ChatRequest, ModelServerMisconfigured, OpenAIChatClient
from skyscript.steps import registry
from skyscript.steps.runner import run_step
from skyscript.video.shot_size import ShotSizeRules

pytestmark = pytest.mark.integration
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "keyinfo"))  # keyinfo_seed: an episode in the lineage DB


def jpeg(seed: int, size: tuple[int, int] = (96, 64)) -> bytes:
    rgb = np.random.default_rng(seed).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG")
    return buf.getvalue()


def astronaut_jpeg() -> bytes:
    """A real photograph (scikit-image's astronaut portrait) as the keyframe."""
    from skimage import data

    buf = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def client(server: Served, label: str = "vlm", **kw: object) -> OpenAIChatClient:
    ep = ModelEndpoint(**{"url": server.url, "timeout_s": 60.0, "max_retries": 2, "concurrency": 4, **kw})
    return OpenAIChatClient(ep, label=label, backoff_s=0.05, max_backoff_s=0.2)


def test_unset_model_is_discovered_through_the_model_list(real_servers: dict[str, Served]) -> None:
    with client(real_servers["vlm"], model=None) as c:
        assert c.served_models() == [VLM_ID]
        ans = c.chat(ChatRequest("You describe pictures.", "Describe both.", [jpeg(1), jpeg(2)], max_tokens=8,
                                  allow_truncated=True))
        assert c.model_id == VLM_ID
    assert ans.model == f"{VLM_ID}@main" and ans.usage["completion_tokens"] == 8 and ans.text


def test_a_wrong_model_name_fails_naming_the_served_model(real_servers: dict[str, Served]) -> None:
    with client(real_servers["vlm"], model="internvl2") as c:
        with pytest.raises(ModelServerMisconfigured) as err:
            c.chat_many([ChatRequest("s", "u", [jpeg(i)], max_tokens=8) for i in range(4)])
        assert c.stats.snapshot()["requests"] == 1  # no retry, the rest of the batch never sent
    msg = str(err.value)
    assert "\n" not in msg and "does not serve model 'internvl2'" in msg and f"it serves: {VLM_ID}" in msg
    assert f"Server is pinned to '{VLM_ID}'; requested 'internvl2'" in msg and "SKYSCRIPT_VLM__MODEL" in msg


def test_a_server_pinned_to_a_folder_lists_nothing_and_names_it_when_refusing(real_servers: dict[str, Served]) -> None:
    llm = real_servers["llm"]
    with client(llm, label="correction", model=None) as c:
        assert c.served_models() == []
        ans = c.chat(ChatRequest("You fix JSON.", "{'a': 1", max_tokens=6, allow_truncated=True))  # no model named: the server's own
        assert ans.usage["completion_tokens"] == 6 and ans.model.startswith(llm.model)
    with client(llm, label="correction", model="json-corrector") as c, pytest.raises(ModelServerMisconfigured) as err:
        c.chat_many([ChatRequest("s", f"fix {i}", max_tokens=6) for i in range(2)])
    msg = str(err.value)
    assert "refused all 2 requests for model 'json-corrector'" in msg and f"pinned to '{llm.model}'" in msg
    assert "SKYSCRIPT_CORRECTION__MODEL" in msg and "\n" not in msg


def test_a_500_is_retried_once_then_lost_with_the_servers_message(real_servers: dict[str, Served]) -> None:
    with client(real_servers["vlm"], model=VLM_ID) as c:
        out = c.chat_many([ChatRequest("s", "u", [b"\xff\xd8 not a jpeg"], max_tokens=8),
                           ChatRequest("s", "u", [jpeg(3)], max_tokens=8, allow_truncated=True)])
        stats = c.stats.snapshot()
    bad, good = out
    assert isinstance(bad, ChatError) and bad.reason == "vlm_http_500" and bad.attempts == 2
    assert "gave up after 2 attempts: Internal Server Error" in bad.detail
    assert not isinstance(good, ChatError) and good.finish_reason == "length"
    assert stats["http_500"] == 2 and stats["retry_server_error"] == 1 and stats["requests"] == 3


def test_generation_is_bounded_and_a_cut_off_answer_is_retried_once(real_servers: dict[str, Served]) -> None:
    with client(real_servers["vlm"], model=VLM_ID, max_tokens=24) as c:
        with pytest.raises(ChatError) as err:
            c.chat(ChatRequest("s", "u", [jpeg(4)], max_tokens=16))
        stats = c.stats.snapshot()
    assert err.value.reason == "truncated_answer" and "max_tokens=24" in str(err.value)
    assert err.value.text  # the partial answer is kept
    assert stats["requests"] == 2 and stats["retry_truncated"] == 1  # 16, then 24 (twice 16, capped)


def test_adaptive_concurrency_on_a_server_that_answers_one_at_a_time(real_servers: dict[str, Served]) -> None:
    """Eight 4-image requests of 160 tokens, up to four in flight: the server queues them one at
    a time, the client finds that out and keeps at most two in flight; nothing times out."""
    reqs = [ChatRequest("s", "u", [jpeg(10 + 4 * i + k) for k in range(4)], max_tokens=160,
                        allow_truncated=True) for i in range(8)]
    with client(real_servers["vlm"], model=VLM_ID, timeout_s=30.0) as c:
        out = c.chat_many(reqs)
        stats, peak = c.stats.snapshot(), c.limiter.peak_in_flight
        decreases = c.limiter.decreases
    assert all(not isinstance(o, ChatError) for o in out)
    assert all(o.usage["completion_tokens"] == 160 for o in out)  # type: ignore[union-attr]
    assert stats["requests"] == 8 and stats.get("timeouts", 0) == 0
    assert peak == 2 and decreases >= 1  # it tried two at a time and backed off


def test_keyinfo_extraction_on_a_real_keyframe(real_servers: dict[str, Served]) -> None:
    """The extractor through the public client on the astronaut photograph: the random model's
    answer never ends, so the keyframe is a ``truncated_answer`` loss with the raw text stored,
    after one retry with twice the room; nothing else is lost or invented."""
    frame = FrameInput("d--ep--f0000010", 10, 0, astronaut_jpeg())
    with client(real_servers["vlm"], model=None, max_tokens=96) as vlm:
        ex = VlmExtractor(Keys("d"), KeyInfoSettings(max_tokens=256, images_per_request=4), vlm, None, None,
                          FaceStage(None, False), ShotSizeRules(), logging.getLogger("test"))
        res = ex.run("d--ep", [frame])  # one keyframe of four: 64 tokens, then 96 (the cap)
    [loss] = res.losses
    assert (loss.item_id, loss.reason) == (frame.keyframe_id, "truncated_answer") and "max_tokens=96" in loss.detail
    raw = json.loads(res.answers[loss.raw_key])  # type: ignore[index]
    assert raw["model"] == VLM_ID and raw["outcome"] == "lost" and raw["answer"]
    c = res.counts
    assert (c["vlm_requests"], c["vlm_http_requests"], c["vlm_retries"], c["answers_lost"]) == (1, 2, 1, 1)
    assert res.frames[0].keyinfo is None


def test_the_correction_model_on_a_real_server(real_servers: dict[str, Served]) -> None:
    """The repair ladder's last rung against the LLM server: prose goes to the correction model,
    whose (endless, random) answer is cut off, so the answer is lost as unparseable with the reason."""
    with client(real_servers["llm"], label="correction", model=real_servers["llm"].model, max_tokens=32) as corr:
        def correct(raw: str, problem: str, n: int) -> str:
            return corr.chat(ChatRequest(CORRECTION_SYSTEM, correction_user_prompt(raw, problem, n), max_tokens=16)).text

        r = interpret("A woman in a white space suit smiles.", 1, correct)
        stats = corr.stats.snapshot()
    assert r.outcome is Outcome.lost and r.reason == "unparseable_json"
    assert "correction failed: truncated_answer" in (r.detail or "")
    assert stats["requests"] == 2 and stats["retry_truncated"] == 1


# --- the key-information step ------------------------------------------------------------


def keyframes() -> list[np.ndarray]:
    import cv2
    from skimage import data

    astro = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    return [astro, cv2.flip(astro, 1)]


def make_ctx(tmp_path: Path, server: Served, model: str | None) -> StepContext:
    s = Settings(home=tmp_path / "home",
                 vlm=ModelEndpoint(url=server.url, model=model, timeout_s=60.0, max_tokens=128, concurrency=2))
    c = open_context(s, "test-drama")
    c.params = {"keyinfo": {"face_backend": "none", "max_tokens": 256}}  # 64 per keyframe of four
    return c


def test_a_wrong_model_name_fails_the_step_with_one_line(tmp_path: Path, real_servers: dict[str, Served]) -> None:
    from keyinfo_seed import EP, seed

    ctx = make_ctx(tmp_path, real_servers["vlm"], "internvl2")
    seed(ctx, keyframes())
    res = run_step(registry.get("keyinfo").load(), ctx, EP)
    assert res.status == "failed" and res.error is not None and "\n" not in res.error
    assert res.error.startswith("ModelServerMisconfigured: model server ")
    assert "does not serve model 'internvl2'" in res.error and f"it serves: {VLM_ID}" in res.error
    with ctx.db.session() as s:
        reasons = [l.reason for l in lineage.losses_of(s, "test-drama")]
    assert reasons == ["step_failed"]  # not a vlm_failed loss per keyframe
    ctx.db.dispose()


def test_the_step_discovers_the_model_and_accounts_for_every_keyframe(tmp_path: Path, real_servers: dict[str, Served]) -> None:
    from keyinfo_seed import EP, seed

    ctx = make_ctx(tmp_path, real_servers["vlm"], None)
    frames = seed(ctx, keyframes())
    res = run_step(registry.get("keyinfo").load(), ctx, EP)
    assert res.status == "success", res.error
    c = res.counts
    assert (c["keyframes"], c["vlm_requests"], c["answers_lost"], c["truncated_answer"]) == (2, 2, 2, 2)
    assert c["vlm_http_requests"] == 4 and c["vlm_retries"] == 2 and c["vlm_timeouts"] == 0  # 64 tokens, then 128
    with ctx.db.session() as s:
        losses = {(l.item_id, l.reason) for l in lineage.losses_of(s, "test-drama")}
    assert losses == {(f.keyframe_id, "truncated_answer") for f in frames}
    ctx.db.dispose()
