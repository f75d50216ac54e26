"""How the extractor treats what the client reports: a truncated answer is a ``truncated_answer``
loss with the partial text kept; a misconfigured VLM or correction server fails the unit instead
of losing every keyframe; each request's budget follows its keyframe count; garbage holding a
``[`` is ``unparseable_json``; the client's counters reach the step's counts."""

from __future__ import annotations

import json
import logging

import pytest
from keyinfo_helpers import jpeg_of
from openai_standin import Fail, Reply, StandinOpenAI

from skyscript.config import KeyInfoSettings, ModelEndpoint
from skyscript.ids import Keys
from skyscript.keyinfo.extract import FaceStage, FrameInput, VlmExtractor
from skyscript.keyinfo.vlm_client import ModelServerMisconfigured, OpenAIChatClient
from skyscript.video.shot_size import ShotSizeRules

GOOD = {"objects": [{"type": "cup"}], "people": []}


def extractor(vlm: OpenAIChatClient, corrector: OpenAIChatClient | None = None, **params: object) -> VlmExtractor:
    return VlmExtractor(Keys("d"), KeyInfoSettings(**params), vlm, corrector, None, FaceStage(None, False),  # type: ignore[arg-type]
                        ShotSizeRules(), logging.getLogger("test"))


def frames(n: int, shot_of: int = 1) -> list[FrameInput]:
    return [FrameInput(f"d--ep--f{i:07d}", i, i // shot_of, jpeg_of(i)) for i in range(n)]


def endpoint(standin: StandinOpenAI, **kw: object) -> ModelEndpoint:
    return ModelEndpoint(**{"url": standin.url, "model": "m", "timeout_s": 5.0, "max_retries": 1, **kw})


def test_truncated_answers_are_their_own_loss_with_the_partial_text(standin: StandinOpenAI) -> None:
    fr = frames(3)
    standin.script_image(fr[0].private_jpeg, Reply(json.dumps(GOOD)))
    standin.script_image(fr[1].private_jpeg, Reply('{"objects": [{"type": "cup", "descr', "length"))
    standin.script_image(fr[2].private_jpeg, Reply('{"objects": [{"ty', "length"), Reply(json.dumps(GOOD)))
    with OpenAIChatClient(endpoint(standin, max_tokens=2048)) as vlm:
        ex = extractor(vlm, max_tokens=400, images_per_request=1)
        res = ex.run("d--ep", fr)
    assert [(l.item_id, l.reason) for l in res.losses] == [(fr[1].keyframe_id, "truncated_answer")]
    assert "cut off at max_tokens=800" in res.losses[0].detail
    raw = json.loads(res.answers[res.losses[0].raw_key])  # type: ignore[index]
    assert raw["answer"] == '{"objects": [{"type": "cup", "descr' and raw["outcome"] == "lost"
    c = res.counts
    assert (c["answers_parsed"], c["answers_lost"], c["truncated_answer"]) == (2, 1, 1)
    assert (c["vlm_requests"], c["vlm_http_requests"], c["vlm_retries"], c["vlm_timeouts"]) == (3, 5, 2, 0)
    assert sorted(r.body["max_tokens"] for r in standin.requests) == [400, 400, 400, 800, 800]


def test_budget_follows_the_keyframes_in_a_request_and_the_cap(standin: StandinOpenAI) -> None:
    standin.default = Reply(json.dumps({"frames": [GOOD, GOOD, GOOD]}))
    with OpenAIChatClient(endpoint(standin, max_tokens=1000)) as vlm:
        ex = extractor(vlm, max_tokens=900, images_per_request=3)
        ex.run("d--ep", frames(4, shot_of=4))  # one shot: a request of 3 keyframes and one of 1
        assert (ex.budget(3), ex.budget(1), ex.budget(2)) == (900, 300, 600)
    assert sorted(r.body["max_tokens"] for r in standin.requests) == [300, 900]
    standin.requests.clear()
    with OpenAIChatClient(endpoint(standin, max_tokens=1000)) as vlm:
        ex = extractor(vlm, max_tokens=5000, images_per_request=1)
        ex.run("d--ep", frames(1))
    assert [r.body["max_tokens"] for r in standin.requests] == [1000]  # capped by SKYSCRIPT_VLM__MAX_TOKENS


def test_a_vlm_that_does_not_serve_the_model_fails_the_unit(standin: StandinOpenAI) -> None:
    standin.served = ["tiny-llava"]
    standin.pinned = "tiny-llava"
    with OpenAIChatClient(endpoint(standin, model="internvl2")) as vlm:
        ex = extractor(vlm)
        with pytest.raises(ModelServerMisconfigured, match="does not serve model 'internvl2'.*it serves: tiny-llava"):
            ex.run("d--ep", frames(5))
    assert len(standin.requests) == 1


def test_a_misconfigured_correction_server_fails_the_unit(standin: StandinOpenAI) -> None:
    fr = frames(2)
    standin.served = ["m", "json-fixer"]
    standin.script_image(fr[0].private_jpeg, Reply(json.dumps(GOOD)))
    standin.script_image(fr[1].private_jpeg, Reply("PROSE: a cup on a table"))
    standin.script_text("PROSE", Fail(404, "model 'json-corrector' not found"))
    with OpenAIChatClient(endpoint(standin)) as vlm, \
            OpenAIChatClient(endpoint(standin, model="json-corrector"), label="correction") as corr:
        ex = extractor(vlm, corr)
        with pytest.raises(ModelServerMisconfigured, match="json-corrector.*SKYSCRIPT_CORRECTION__MODEL"):
            ex.run("d--ep", fr)


def test_a_failed_correction_of_one_answer_is_still_a_loss(standin: StandinOpenAI) -> None:
    fr = frames(1)
    standin.served = ["m", "json-fixer"]
    standin.script_image(fr[0].private_jpeg, Reply("PROSE: a cup"))
    standin.script_text("PROSE", Fail(500, "CUDA error"))
    with OpenAIChatClient(endpoint(standin)) as vlm, \
            OpenAIChatClient(endpoint(standin, model="json-fixer"), label="correction") as corr:
        ex = extractor(vlm, corr)
        res = ex.run("d--ep", fr)
    [loss] = res.losses
    assert loss.reason == "unparseable_json" and "correction failed" in loss.detail and "CUDA error" in loss.detail


def test_garbage_with_a_bracket_is_unparseable_not_a_schema_violation(standin: StandinOpenAI) -> None:
    fr = frames(2)
    standin.script_image(fr[0].private_jpeg, Reply("oman@\u00ff@{\"|\x03oman@"))  # what the random-weight VLM says
    standin.script_image(fr[1].private_jpeg, Reply("I see [a cat] here"))
    with OpenAIChatClient(endpoint(standin)) as vlm:
        ex = extractor(vlm)
        res = ex.run("d--ep", fr)
    assert [l.reason for l in res.losses] == ["unparseable_json", "unparseable_json"]
    assert "json-repair read a list of str" in res.losses[1].detail


def test_a_500_storm_gives_one_retry_per_request_and_a_vlm_failed_loss_each(standin: StandinOpenAI) -> None:
    standin.default = Fail(500, "CUDA error: an illegal memory access was encountered")
    with OpenAIChatClient(endpoint(standin, max_retries=3, concurrency=4)) as vlm:
        ex = extractor(vlm)
        res = ex.run("d--ep", frames(4))
    assert [l.reason for l in res.losses] == ["vlm_failed"] * 4
    assert all("gave up after 2 attempts: CUDA error" in l.detail for l in res.losses)
    c = res.counts
    assert (c["vlm_requests"], c["vlm_http_requests"], c["vlm_retries"], c["vlm_failed"]) == (4, 8, 4, 4)
