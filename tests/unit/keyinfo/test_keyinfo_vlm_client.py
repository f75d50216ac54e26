"""The OpenAI-compatible client against the stand-in server: request format, retries with backoff,
timeouts, giving up, bounded concurrency; and the lmdeploy backend's clear error without lmdeploy."""

from __future__ import annotations

import importlib.util

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
    ep = ModelEndpoint(url=standin.url, model="internvl2", timeout_s=kw.pop("timeout_s", 5.0),  # type: ignore[arg-type]
                       max_retries=kw.pop("max_retries", 2), concurrency=kw.pop("concurrency", 2))  # type: ignore[arg-type]
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


def test_retries_500_then_succeeds(standin: StandinOpenAI) -> None:
    img = jpeg_of(3)
    standin.script_image(img, Fail(500), Fail(503), Reply("ok"))
    with client(standin, max_retries=3) as c:
        ans = c.chat(ChatRequest("s", "u", [img]))
    assert ans.text == "ok" and ans.attempts == 3
    assert standin.attempts[next(iter(standin.attempts))] == 3


def test_gives_up_after_max_retries(standin: StandinOpenAI) -> None:
    img = jpeg_of(4)
    standin.script_image(img, Fail(500))
    with client(standin, max_retries=2) as c, pytest.raises(VlmError) as err:
        c.chat(ChatRequest("s", "u", [img]))
    assert err.value.reason == "vlm_http_500" and err.value.attempts == 3
    assert "gave up after 3 attempts" in str(err.value)
    assert len(standin.requests) == 3


def test_client_errors_are_not_retried(standin: StandinOpenAI) -> None:
    img = jpeg_of(5)
    standin.script_image(img, Fail(400, "bad image"), Reply("never"))
    with client(standin, max_retries=3) as c, pytest.raises(VlmError) as err:
        c.chat(ChatRequest("s", "u", [img]))
    assert err.value.reason == "vlm_http_400" and len(standin.requests) == 1


def test_slow_answer_times_out_then_retry_succeeds(standin: StandinOpenAI) -> None:
    img = jpeg_of(6)
    standin.script_image(img, Slow(1.0, "late"), Reply("on time"))
    with client(standin, timeout_s=0.3, max_retries=1) as c:
        ans = c.chat(ChatRequest("s", "u", [img]))
    assert ans.text == "on time" and ans.attempts == 2


def test_slow_answers_every_time_give_a_timeout_error(standin: StandinOpenAI) -> None:
    img = jpeg_of(7)
    standin.script_image(img, Slow(1.0, "late"))
    with client(standin, timeout_s=0.2, max_retries=1) as c, pytest.raises(VlmError) as err:
        c.chat(ChatRequest("s", "u", [img]))
    assert err.value.reason == "vlm_timeout" and err.value.attempts == 2


def test_chat_many_keeps_order_and_bounds_concurrency(standin: StandinOpenAI) -> None:
    imgs = [jpeg_of(10 + i) for i in range(6)]
    for i, img in enumerate(imgs):
        standin.script_image(img, Slow(0.15, f"answer {i}") if i != 2 else Fail(500))
    with client(standin, concurrency=2, max_retries=0) as c:
        out = c.chat_many([ChatRequest("s", "u", [img]) for img in imgs])
    assert [o.text if not isinstance(o, VlmError) else o.reason for o in out] == [
        "answer 0", "answer 1", "vlm_http_500", "answer 3", "answer 4", "answer 5"]
    assert standin.max_in_flight == 2


def test_unreachable_endpoint_is_a_vlm_error() -> None:
    ep = ModelEndpoint(url="http://127.0.0.1:9/v1", timeout_s=1.0, max_retries=1)
    with OpenAIChatClient(ep, backoff_s=0.01) as c, pytest.raises(VlmError) as err:
        c.chat(ChatRequest("s", "u"))
    assert err.value.reason == "vlm_unreachable" and err.value.attempts == 2


def test_endpoint_url_forms() -> None:
    assert completions_url("http://h:23333") == "http://h:23333/v1/chat/completions"
    assert completions_url("http://h:23333/v1/") == "http://h:23333/v1/chat/completions"
    assert completions_url("http://h/v1/chat/completions") == "http://h/v1/chat/completions"
    with pytest.raises(BackendUnavailable, match="SKYSCRIPT_VLM__URL"):
        OpenAIChatClient(ModelEndpoint())


@pytest.mark.skipif(importlib.util.find_spec("lmdeploy") is not None, reason="lmdeploy is installed")
def test_lmdeploy_backend_says_how_to_get_it() -> None:
    with pytest.raises(BackendUnavailable, match="needs lmdeploy.*SKYSCRIPT_VLM__URL"):
        LmdeployPipelineBackend("/models/InternVL2-8B")
