"""Chat backends for vision-language models: one interface, two ways to reach the model.

* :class:`OpenAIChatClient` speaks the OpenAI chat-completions API over HTTP with images as
  base64 data URLs: what lmdeploy's ``api_server`` serves for InternVL2, and what vLLM serves too.
  It is written on ``httpx`` (already a dependency) rather than the ``openai`` package: the
  surface we need is one POST, and owning it keeps the retry policy (which errors, how long to
  wait, Retry-After) and the timeout explicit and testable, without a second retry layer inside
  a client library.
* :class:`LmdeployPipelineBackend` runs the in-process lmdeploy pipeline (turbomind) inside a GPU
  pod for batch throughput. lmdeploy is imported lazily; without it the constructor raises
  :class:`BackendUnavailable` saying how to get it.

Both take the same :class:`ChatRequest` and return a :class:`ChatAnswer` or raise :class:`VlmError`
(with a short ``reason`` that becomes a loss row).
"""

from __future__ import annotations

import base64
import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

import httpx

from skyscript.config import ModelEndpoint

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class VlmError(RuntimeError):
    """A chat call failed for good. ``reason`` is short and stable (it becomes a loss reason)."""

    def __init__(self, reason: str, detail: str, attempts: int = 1) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.attempts = attempts


class BackendUnavailable(RuntimeError):
    """The backend's package or configuration is missing."""


@dataclass(frozen=True)
class ChatRequest:
    system: str
    user: str
    images: Sequence[bytes] = ()
    image_mime: str = "image/jpeg"
    max_tokens: int = 2048
    temperature: float = 0.0


@dataclass
class ChatAnswer:
    text: str
    model: str
    attempts: int = 1
    finish_reason: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)


class ChatBackend(Protocol):
    model_id: str

    def chat(self, request: ChatRequest) -> ChatAnswer: ...

    def chat_many(self, requests: Sequence[ChatRequest]) -> list[ChatAnswer | VlmError]: ...

    def close(self) -> None: ...


def data_url(image: bytes, mime: str = "image/jpeg") -> str:
    return f"data:{mime};base64,{base64.b64encode(image).decode('ascii')}"


def openai_messages(request: ChatRequest) -> list[dict[str, Any]]:
    """The request as OpenAI chat messages: system text, then the images, then the user text."""
    content: list[dict[str, Any]] = [
        {"type": "image_url", "image_url": {"url": data_url(img, request.image_mime)}} for img in request.images
    ]
    content.append({"type": "text", "text": request.user})
    return [{"role": "system", "content": request.system}, {"role": "user", "content": content}]


def completions_url(base: str) -> str:
    base = base.rstrip("/")
    if base.endswith("/chat/completions"):
        return base
    if not base.endswith("/v1"):
        base += "/v1"
    return base + "/chat/completions"


def _answer_text(body: Any) -> tuple[str, str | None]:
    try:
        choice = body["choices"][0]
        content = choice["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise VlmError("vlm_bad_response", f"no choices[0].message.content in the answer: {str(body)[:200]}") from exc
    if isinstance(content, list):  # content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if not isinstance(content, str):
        raise VlmError("vlm_bad_response", f"message content is {type(content).__name__}, not text")
    return content, choice.get("finish_reason")


class _PoolMixin:
    concurrency: int

    def chat(self, request: ChatRequest) -> ChatAnswer:  # pragma: no cover - overridden
        raise NotImplementedError

    def chat_many(self, requests: Sequence[ChatRequest]) -> list[ChatAnswer | VlmError]:
        """Run requests with at most ``concurrency`` in flight; results in request order."""

        def one(req: ChatRequest) -> ChatAnswer | VlmError:
            try:
                return self.chat(req)
            except VlmError as exc:
                return exc

        if len(requests) <= 1 or self.concurrency <= 1:
            return [one(r) for r in requests]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(requests)), thread_name_prefix="vlm") as pool:
            return list(pool.map(one, requests))


class OpenAIChatClient(_PoolMixin):
    """OpenAI-compatible chat endpoint with timeouts, bounded concurrency and retries with backoff.

    A call is retried on timeouts, connection errors and HTTP 408/409/425/429/5xx, up to
    ``endpoint.max_retries`` extra attempts, waiting ``backoff_s * 2**n`` (capped at
    ``max_backoff_s``, or the server's Retry-After when it sends one) plus a little jitter.
    Other HTTP errors (400, 401, 404, ...) fail at once: retrying cannot fix them.
    """

    def __init__(
        self,
        endpoint: ModelEndpoint,
        *,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not endpoint.url:
            raise BackendUnavailable("no endpoint url configured (set SKYSCRIPT_VLM__URL, e.g. http://host:23333/v1)")
        self.endpoint = endpoint
        self.url = completions_url(endpoint.url)
        self.model_id = endpoint.model
        self.concurrency = endpoint.concurrency
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        key = endpoint.api_key.get_secret_value()
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._http = httpx.Client(
            timeout=httpx.Timeout(endpoint.timeout_s, connect=min(10.0, endpoint.timeout_s)),
            headers=headers,
            transport=transport,
            limits=httpx.Limits(max_connections=endpoint.concurrency, max_keepalive_connections=endpoint.concurrency),
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "OpenAIChatClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        delay = min(self.max_backoff_s, self.backoff_s * (2**attempt))
        if retry_after:
            try:
                delay = min(self.max_backoff_s, max(0.0, float(retry_after)))
            except ValueError:
                pass
        time.sleep(delay * (1.0 + 0.1 * random.random()))

    def chat(self, request: ChatRequest) -> ChatAnswer:
        body = {
            "model": self.endpoint.model,
            "messages": openai_messages(request),
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        attempts = self.endpoint.max_retries + 1
        last: VlmError | None = None
        for attempt in range(attempts):
            retry_after: str | None = None
            try:
                resp = self._http.post(self.url, json=body)
            except httpx.TimeoutException as exc:
                last = VlmError("vlm_timeout", f"no answer within {self.endpoint.timeout_s:g}s from {self.url}", attempt + 1)
                log.warning("vlm attempt %d/%d timed out: %s", attempt + 1, attempts, exc)
            except httpx.TransportError as exc:
                last = VlmError("vlm_unreachable", f"{type(exc).__name__}: {exc} ({self.url})", attempt + 1)
                log.warning("vlm attempt %d/%d failed: %s", attempt + 1, attempts, exc)
            else:
                if resp.status_code == 200:
                    try:
                        payload = resp.json()
                    except ValueError as exc:
                        raise VlmError("vlm_bad_response", f"answer is not JSON: {resp.text[:200]}", attempt + 1) from exc
                    text, finish = _answer_text(payload)
                    return ChatAnswer(
                        text=text,
                        model=str(payload.get("model") or self.endpoint.model),
                        attempts=attempt + 1,
                        finish_reason=finish,
                        usage=payload.get("usage") or {},
                    )
                last = VlmError(f"vlm_http_{resp.status_code}", resp.text[:300], attempt + 1)
                if resp.status_code not in RETRYABLE_STATUS:
                    raise last
                retry_after = resp.headers.get("retry-after")
                log.warning("vlm attempt %d/%d: HTTP %d", attempt + 1, attempts, resp.status_code)
            if attempt + 1 < attempts:
                self._wait(attempt, retry_after)
        assert last is not None
        raise VlmError(last.reason, f"gave up after {attempts} attempts: {last.detail}", attempts)


class LmdeployPipelineBackend(_PoolMixin):
    """The in-process lmdeploy pipeline (turbomind engine) for a GPU pod.

    ``model_path`` is a local model folder (resolved from the model directory, never a hub id).
    The pipeline batches internally, so :meth:`chat_many` hands it all requests at once.
    """

    def __init__(self, model_path: str, *, tp: int = 1, session_len: int = 16384, model_id: str | None = None) -> None:
        try:
            from lmdeploy import TurbomindEngineConfig, pipeline
        except ImportError as exc:
            raise BackendUnavailable(
                "the in-process VLM backend needs lmdeploy, which is only in the GPU image "
                "(pip install lmdeploy timm); use an OpenAI-compatible endpoint (SKYSCRIPT_VLM__URL) instead"
            ) from exc
        self.model_id = model_id or model_path
        self.concurrency = 1
        self._pipe = pipeline(model_path, backend_config=TurbomindEngineConfig(tp=tp, session_len=session_len))

    def _gen_config(self, request: ChatRequest) -> Any:
        from lmdeploy import GenerationConfig

        return GenerationConfig(max_new_tokens=request.max_tokens, temperature=request.temperature, top_k=1)

    def chat(self, request: ChatRequest) -> ChatAnswer:
        out = self.chat_many([request])[0]
        if isinstance(out, VlmError):
            raise out
        return out

    def chat_many(self, requests: Sequence[ChatRequest]) -> list[ChatAnswer | VlmError]:
        if not requests:
            return []
        try:
            outs = self._pipe([openai_messages(r) for r in requests], gen_config=self._gen_config(requests[0]))
        except Exception as exc:  # noqa: BLE001 - one failed batch becomes per-request errors
            return [VlmError("vlm_pipeline_error", f"{type(exc).__name__}: {exc}") for _ in requests]
        return [ChatAnswer(text=o.text, model=self.model_id, finish_reason=getattr(o, "finish_reason", None)) for o in outs]

    def close(self) -> None:
        closer = getattr(self._pipe, "close", None)
        if callable(closer):
            closer()
