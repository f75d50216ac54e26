"""Which model the client names, and a wrong configuration as one clear failure instead of a loss
per keyframe: a model the server does not serve, several served and none chosen, a refused key,
every request of a batch refused."""

from __future__ import annotations

import pytest
from keyinfo_helpers import jpeg_of
from openai_standin import Fail, Reply, StandinOpenAI

from skyscript.config import ModelEndpoint
from skyscript.keyinfo.vlm_client import ChatRequest, ModelServerMisconfigured, OpenAIChatClient, VlmError


def client(standin: StandinOpenAI, model: str | None, **kw: object) -> OpenAIChatClient:
    ep = ModelEndpoint(**{"url": standin.url, "model": model, "timeout_s": 5.0, "max_retries": 2, "concurrency": 2, **kw})
    return OpenAIChatClient(ep, backoff_s=0.01, max_backoff_s=0.05)


def requests(n: int, seed: int = 0) -> list[ChatRequest]:
    return [ChatRequest("s", "u", [jpeg_of(seed + i)]) for i in range(n)]


def test_unset_model_is_the_one_the_server_lists(standin: StandinOpenAI) -> None:
    standin.served = ["OpenGVLab/InternVL2-8B"]
    standin.pinned = "OpenGVLab/InternVL2-8B"
    standin.default = Reply("ok")
    with client(standin, None) as c:
        out = c.chat_many(requests(3))
        assert c.model_id == "OpenGVLab/InternVL2-8B"
    assert [o.text for o in out] == ["ok"] * 3  # type: ignore[union-attr]
    assert {r.body["model"] for r in standin.requests} == {"OpenGVLab/InternVL2-8B"}
    assert standin.model_list_calls == 1


def test_unset_model_and_several_served_names_them(standin: StandinOpenAI) -> None:
    standin.served = ["internvl2-8b", "qwen2-vl-7b"]
    standin.default = Reply("ok")
    with client(standin, None) as c, pytest.raises(ModelServerMisconfigured) as err:
        c.chat_many(requests(2))
    msg = str(err.value)
    assert "serves several models (internvl2-8b, qwen2-vl-7b)" in msg and "SKYSCRIPT_VLM__MODEL" in msg
    assert "\n" not in msg and standin.requests == []


def test_unset_model_without_a_listing_lets_the_server_choose(standin: StandinOpenAI) -> None:
    standin.served = None  # GET /v1/models: 404
    standin.pinned = "/models/tiny"
    standin.default = Reply("ok")
    with client(standin, None) as c:
        assert c.chat(ChatRequest("s", "u", [jpeg_of(1)])).text == "ok"
        assert c.model_id == "internvl2-standin"  # the model the server answered as
    assert "model" not in standin.requests[0].body


def test_a_model_the_server_does_not_serve_fails_at_the_first_refusal(standin: StandinOpenAI) -> None:
    standin.served = ["/srv/models/tiny-llava"]
    standin.pinned = "/srv/models/tiny-llava"
    standin.default = Reply("ok")
    with client(standin, "internvl2", concurrency=4) as c, pytest.raises(ModelServerMisconfigured) as err:
        c.chat_many(requests(6))
    msg = str(err.value)
    assert f"model server {standin.url} does not serve model 'internvl2'" in msg
    assert "it serves: /srv/models/tiny-llava" in msg and "SKYSCRIPT_VLM__MODEL" in msg and "\n" not in msg
    assert "Server is pinned to '/srv/models/tiny-llava'; requested 'internvl2'" in msg  # the server's own words
    # no retry, and the batch stopped: the adaptive limit starts at one request in flight
    assert len(standin.requests) == 1 and standin.model_list_calls == 1


def test_a_500_for_an_unknown_model_is_recognised_too(standin: StandinOpenAI) -> None:
    # transformers serve without a pinned model answers 500 when it cannot load the one named
    standin.served = ["skyscript/tiny-llava"]
    standin.default = Fail(500, "Internal Server Error")
    with client(standin, "internvl2") as c, pytest.raises(ModelServerMisconfigured, match="it serves: skyscript/tiny-llava"):
        c.chat(ChatRequest("s", "u", [jpeg_of(1)]))
    assert len(standin.requests) == 1


def test_every_request_refused_without_a_listing_fails_the_batch(standin: StandinOpenAI) -> None:
    standin.served = None
    standin.pinned = "/srv/models/tiny-llava"
    with client(standin, "internvl2") as c, pytest.raises(ModelServerMisconfigured) as err:
        c.chat_many(requests(3))
    msg = str(err.value)
    assert "refused all 3 requests for model 'internvl2' (HTTP 400: Server is pinned to '/srv/models/tiny-llava'" in msg
    assert "\n" not in msg and len(standin.requests) == 3


def test_a_refused_key_fails_at_once(standin: StandinOpenAI) -> None:
    standin.served = ["m"]
    standin.api_key = "right"
    with client(standin, "m", api_key="wrong") as c, pytest.raises(ModelServerMisconfigured, match="refuses the API key.*SKYSCRIPT_VLM__API_KEY"):
        c.chat_many(requests(2))


def test_served_model_with_some_refusals_is_data_not_configuration(standin: StandinOpenAI) -> None:
    standin.served = ["m@main"]  # transformers serve lists revisions this way; "m" is the same model
    imgs = [jpeg_of(i) for i in range(3)]
    standin.script_image(imgs[0], Fail(400, "bad image"))
    standin.script_image(imgs[1], Reply("ok"))
    standin.script_image(imgs[2], Fail(400, "bad image"))
    with client(standin, "m") as c:
        out = c.chat_many([ChatRequest("s", "u", [i]) for i in imgs])
    assert [o.reason if isinstance(o, VlmError) else o.text for o in out] == ["vlm_http_400", "ok", "vlm_http_400"]


def test_the_correction_endpoint_names_its_own_settings(standin: StandinOpenAI) -> None:
    standin.served = ["a", "b"]
    ep = ModelEndpoint(url=standin.url, model=None)
    with OpenAIChatClient(ep, label="correction") as c, pytest.raises(ModelServerMisconfigured, match="SKYSCRIPT_CORRECTION__MODEL"):
        c.chat(ChatRequest("s", "u"))


def test_server_messages_of_the_usual_servers_are_read() -> None:
    import httpx

    from skyscript.models.chat.openai_client import server_message

    def resp(status: int, body: object) -> httpx.Response:
        return httpx.Response(status, json=body) if not isinstance(body, str) else httpx.Response(status, text=body)

    # lmdeploy / vLLM, transformers serve (FastAPI), OpenAI, a plain-text 500
    assert server_message(resp(404, {"object": "error", "message": "The model `internvl2` does not exist.", "code": 404})) \
        == "The model `internvl2` does not exist."
    assert server_message(resp(400, {"detail": "Server is pinned to 'x'; requested 'y'."})) == "Server is pinned to 'x'; requested 'y'."
    assert server_message(resp(401, {"error": {"message": "Incorrect API key", "type": "invalid_request_error"}})) \
        == "Incorrect API key"
    assert server_message(resp(500, "Internal Server Error")) == "Internal Server Error"
    assert server_message(resp(502, "")) == "Bad Gateway"
    assert server_message(resp(422, {"detail": [{"loc": ["body", "top_k"], "msg": "extra"}]})).startswith('[{"loc"')


def test_an_lmdeploy_style_404_for_an_unknown_model(standin: StandinOpenAI) -> None:
    standin.served = ["InternVL2-8B"]
    standin.default = Fail(404, "The model `internvl2` does not exist.")
    with client(standin, "internvl2") as c, pytest.raises(ModelServerMisconfigured) as err:
        c.chat(ChatRequest("s", "u", [jpeg_of(1)]))
    assert "it serves: InternVL2-8B" in str(err.value) and "does not exist" in str(err.value)
