"""The OpenAI-compatible client against the stand-in server: request format, which failures retry
and how often (transient classes with backoff, a 500 once, refusals never), timeouts, truncated
answers, the generation budget; and the lmdeploy backend's clear error without lmdeploy."""

from __future__ import annotations

import importlib.util
import time

import pytest
from keyinfo_helpers import jpeg_of
from openai_standin import Fail, Reply, Slow, StandinOpenAI

from skyscript.config import ModelEndpoint
from skyscript.keyinfo.vlm_client import (
    BackendUnavailable,
    ChatRequest,
    LmdeployPipelineBackend,
    OpenAIChatClient,
    VlmError,
    completions_url,
)


def client(standin: StandinOpenAI, **kw: object) -> OpenAIChatClient:
    ep = ModelEndpoint(url=standin.url, model=kw.pop("model", "internvl2"), timeout_s=kw.pop("timeout_s", 5.0),  # type: ignore[arg-type]
                       max_retries=kw.pop("max_retries", 2), concurrency=kw.pop("concurrency", 2), **kw)  # type: ignore[arg-type]
    return OpenAIChatClient(ep, backoff_s=0.01, max_backoff_s=0.05)


def test_sends_images_as_data_urls_and_returns_the_answer(standin: StandinOpenAI) -> None:
    a, b = jpeg_of(1), jpeg_of(2)
    standin.script_image(a, Reply('{"objects": []}'))
    with client(standin) as c:
        ans = c.chat(ChatRequest(system="sys", user="describe", images=[a, b], max_tokens=77))
    assert ans.text == '{"objects": []}' and ans.model == "internvl2-standin" and ans.attempts == 1
    [rec] = standin.requests
    assert rec.images == [a, b]  # both images, in order, decoded from base64 data URLs
    assert rec.system == "sys" and rec.user == "describe"
    assert rec.body["model"] == "internvl2" and rec.body["max_tokens"] == 77 and rec.body["temperature"] == 0.0
    # only fields every OpenAI-compatible server takes (transformers serve answers 422 to others)
    assert set(rec.body) == {"model", "messages", "max_tokens", "temperature"}


def test_text_only_request_is_plain_content(standin: StandinOpenAI) -> None:
    standin.script_text("fix this", Reply("{}"))
    with client(standin) as c:
        c.chat(ChatRequest("sys", "fix this"))
    assert standin.requests[0].body["messages"][1] == {"role": "user", "content": "fix this"}


def test_transient_errors_retry_with_backoff_then_succeed(standin: StandinOpenAI) -> None:
    img = jpeg_of(3)
    standin.script_image(img, Fail(503), Fail(502), Fail(504), Reply("ok"))
    with client(standin, max_retries=3) as c:
        ans = c.chat(ChatRequest("s", "u", [img]))
        stats = c.stats.snapshot()
    assert ans.text == "ok" and ans.attempts == 4
    assert stats["requests"] == 4 and stats["retry_transient"] == 3 and stats.get("retry_server_error", 0) == 0


def test_transient_errors_give_up_after_max_retries(standin: StandinOpenAI) -> None:
    img = jpeg_of(4)
    standin.script_image(img, Fail(503, "overloaded"))
    with client(standin, max_retries=2) as c, pytest.raises(VlmError) as err:
        c.chat(ChatRequest("s", "u", [img]))
    assert err.value.reason == "vlm_http_503" and err.value.attempts == 3
    assert "gave up after 3 attempts: overloaded" in str(err.value)
    assert len(standin.requests) == 3


def test_retry_after_is_honoured(standin: StandinOpenAI) -> None:
    img = jpeg_of(5)
    standin.script_image(img, Fail(429, "slow down", retry_after="0.4"), Reply("ok"))
    ep = ModelEndpoint(url=standin.url, model="m", max_retries=1)
    with OpenAIChatClient(ep, backoff_s=0.01, max_backoff_s=2.0) as c:
        t0 = time.monotonic()
        assert c.chat(ChatRequest("s", "u", [img])).text == "ok"
        waited = time.monotonic() - t0
    assert 0.4 <= waited < 1.5


def test_a_500_storm_is_retried_once_per_request_then_lost_with_the_servers_message(standin: StandinOpenAI) -> None:
    imgs = [jpeg_of(20 + i) for i in range(5)]
    for img in imgs:
        standin.script_image(img, Fail(500, "cannot identify image file <_io.BytesIO>"))
    with client(standin, max_retries=3, concurrency=2) as c:
        out = c.chat_many([ChatRequest("s", "u", [img]) for img in imgs])
        stats = c.stats.snapshot()
    assert all(isinstance(o, VlmError) for o in out)
    assert [(o.reason, o.attempts) for o in out] == [("vlm_http_500", 2)] * 5  # type: ignore[union-attr]
    assert all("cannot identify image file" in str(o) for o in out)
    assert len(standin.requests) == 10 and sorted(standin.attempts.values()) == [2] * 5
    assert stats["retry_server_error"] == 5 and stats.get("retry_transient", 0) == 0 and stats["failures"] == 5


def test_a_500_then_an_answer(standin: StandinOpenAI) -> None:
    img = jpeg_of(6)
    standin.script_image(img, Fail(500), Reply("ok"))
    with client(standin) as c:
        assert c.chat(ChatRequest("s", "u", [img])).attempts == 2


def test_refusals_are_not_retried_and_one_does_not_stop_the_batch(standin: StandinOpenAI) -> None:
    good, bad = jpeg_of(7), jpeg_of(8)
    standin.served = ["internvl2"]
    standin.script_image(good, Reply("fine"))
    standin.script_image(bad, Fail(400, "image too large"), Reply("never"))
    with client(standin, max_retries=3) as c:
        out = c.chat_many([ChatRequest("s", "u", [good]), ChatRequest("s", "u", [bad])])
    assert out[0].text == "fine"  # type: ignore[union-attr]
    assert isinstance(out[1], VlmError) and out[1].reason == "vlm_http_400" and out[1].config_error
    assert "image too large" in out[1].detail
    assert len([r for r in standin.requests if r.images == [bad]]) == 1


def test_slow_answer_times_out_then_retry_succeeds(standin: StandinOpenAI) -> None:
    img = jpeg_of(9)
    standin.script_image(img, Slow(1.0, "late"), Reply("on time"))
    with client(standin, timeout_s=0.3, max_retries=1) as c:
        ans = c.chat(ChatRequest("s", "u", [img]))
        assert c.stats.snapshot()["timeouts"] == 1
    assert ans.text == "on time" and ans.attempts == 2


def test_slow_answers_every_time_give_a_timeout_error(standin: StandinOpenAI) -> None:
    img = jpeg_of(10)
    standin.script_image(img, Slow(1.0, "late"))
    with client(standin, timeout_s=0.2, max_retries=1) as c, pytest.raises(VlmError) as err:
        c.chat(ChatRequest("s", "u", [img]))
    assert err.value.reason == "vlm_timeout" and err.value.attempts == 2


def test_truncated_answer_is_asked_again_with_twice_the_room(standin: StandinOpenAI) -> None:
    img = jpeg_of(11)
    standin.script_image(img, Reply('{"objects": [{"type": "cu', "length"), Reply('{"objects": []}'))
    with client(standin) as c:
        ans = c.chat(ChatRequest("s", "u", [img], max_tokens=300))
    assert ans.text == '{"objects": []}' and ans.attempts == 2 and ans.max_tokens == 600
    assert [r.body["max_tokens"] for r in standin.requests] == [300, 600]


def test_truncated_twice_is_a_truncated_answer_with_the_partial_text(standin: StandinOpenAI) -> None:
    img = jpeg_of(12)
    standin.script_image(img, Reply('{"objects": [{"type": "cu', "length"))
    with client(standin, max_tokens=1000) as c, pytest.raises(VlmError) as err:
        c.chat(ChatRequest("s", "u", [img], max_tokens=800))
    assert err.value.reason == "truncated_answer" and err.value.text == '{"objects": [{"type": "cu'
    assert "max_tokens=1000" in str(err.value) and "SKYSCRIPT_VLM__MAX_TOKENS=1000" in str(err.value)
    assert [r.body["max_tokens"] for r in standin.requests] == [800, 1000]  # twice the room, capped


def test_budget_is_capped_and_not_grown_at_the_cap(standin: StandinOpenAI) -> None:
    img = jpeg_of(13)
    standin.script_image(img, Reply("partial", "length"))
    with client(standin, max_tokens=256) as c, pytest.raises(VlmError) as err:
        c.chat(ChatRequest("s", "u", [img], max_tokens=2048))
    assert err.value.reason == "truncated_answer" and [r.body["max_tokens"] for r in standin.requests] == [256]


def test_unreachable_endpoint_is_a_vlm_error() -> None:
    ep = ModelEndpoint(url="http://127.0.0.1:9/v1", model="m", timeout_s=1.0, max_retries=1)
    with OpenAIChatClient(ep, backoff_s=0.01) as c, pytest.raises(VlmError) as err:
        c.chat(ChatRequest("s", "u"))
    assert err.value.reason == "vlm_unreachable" and err.value.attempts == 2


def test_endpoint_url_forms() -> None:
    assert completions_url("http://h:23333") == "http://h:23333/v1/chat/completions"
    assert completions_url("http://h:23333/v1/") == "http://h:23333/v1/chat/completions"
    assert completions_url("http://h/v1/chat/completions") == "http://h/v1/chat/completions"
    with pytest.raises(BackendUnavailable, match="SKYSCRIPT_VLM__URL"):
        OpenAIChatClient(ModelEndpoint())
    with pytest.raises(BackendUnavailable, match="SKYSCRIPT_CORRECTION__URL"):
        OpenAIChatClient(ModelEndpoint(), label="correction")


def test_endpoint_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from skyscript.config import Settings

    monkeypatch.setenv("SKYSCRIPT_VLM__MAX_TOKENS", "1500")
    monkeypatch.setenv("SKYSCRIPT_VLM__CONCURRENCY", "8")
    monkeypatch.setenv("SKYSCRIPT_VLM__ADAPTIVE_CONCURRENCY", "false")
    s = Settings()
    assert (s.vlm.max_tokens, s.vlm.concurrency, s.vlm.adaptive_concurrency, s.vlm.model) == (1500, 8, False, None)


@pytest.mark.skipif(importlib.util.find_spec("lmdeploy") is not None, reason="lmdeploy is installed")
def test_lmdeploy_backend_says_how_to_get_it() -> None:
    with pytest.raises(BackendUnavailable, match="needs lmdeploy.*SKYSCRIPT_VLM__URL"):
        LmdeployPipelineBackend("/models/InternVL2-8B")


def test_a_caller_may_take_a_truncated_answer_as_it_is(standin: StandinOpenAI) -> None:
    img = jpeg_of(14)
    standin.script_image(img, Reply("partial", "length"))
    with client(standin) as c:
        ans = c.chat(ChatRequest("s", "u", [img], max_tokens=50, allow_truncated=True))
    assert (ans.text, ans.finish_reason, ans.attempts, len(standin.requests)) == ("partial", "length", 1, 1)


def test_a_batch_that_never_reaches_the_server_fails_instead_of_losing_everything() -> None:
    from skyscript.keyinfo.vlm_client import ModelServerUnreachable

    ep = ModelEndpoint(url="http://127.0.0.1:9/v1", model="m", timeout_s=1.0, max_retries=1)
    with OpenAIChatClient(ep, backoff_s=0.01) as c, pytest.raises(ModelServerUnreachable) as err:
        c.chat_many([ChatRequest("s", "u"), ChatRequest("s", "v")])
    assert "unreachable for all 2 requests" in str(err.value) and "SKYSCRIPT_VLM__URL" in str(err.value)
    assert c.stats.snapshot()["requests"] == 4  # each retried once first
