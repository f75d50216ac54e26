"""The OpenAI-compatible chat client: lmdeploy's ``api_server``, vLLM, ``transformers serve``.

Written on ``httpx`` (a core dependency) rather than the ``openai`` package: the surface is one
POST and one GET, and owning it keeps the retry policy, the timeouts and the in-flight limit
explicit and testable, without a second retry layer inside a client library.

What it does about real servers:

* **Which model.** ``endpoint.model`` unset: ``GET /v1/models``; one model listed is used, several
  are a :class:`ModelServerMisconfigured` naming them, none (``transformers serve`` pinned to a
  local folder lists only its cache) sends requests without ``model`` so the server uses its own.
  A refusal (HTTP 400/401/403/404/422) or a 500 before any answer checks the name against the
  listing once: a name the server does not serve fails at once, naming what it serves.
* **Which failures retry.** Timeouts, connection errors, 408/409/425/429/502/503/504 retry up to
  ``endpoint.max_retries`` times with exponential backoff (or the server's Retry-After). A 500 is
  retried once: a server that cannot read an image repeats its 500 forever. Other 4xx never retry.
* **How many at once.** :class:`~skyscript.models.chat.limiter.AdaptiveLimiter`: from one request,
  up to ``endpoint.concurrency``, backing off on timeouts, 429/503 and queueing latency.
* **How long an answer.** Each request's ``max_tokens`` is capped by ``endpoint.max_tokens``. An
  answer cut off by that budget (``finish_reason: length``) is asked again once with twice the room
  (up to the cap), else it fails as ``truncated_answer`` with the partial text (unless the request
  says ``allow_truncated``).
* **A unit refused outright.** When every request of a :meth:`chat_many` batch ends in 400/401/403/404
  the configuration is wrong, not the data: :class:`ModelServerMisconfigured`, not a loss per item.
  When none reached the server at all (after its retries): :class:`ModelServerUnreachable`.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

import httpx

from skyscript.config import ModelEndpoint
from skyscript.models.chat.base import (
    CONFIG_STATUS,
    BackendUnavailable,
    ChatAnswer,
    ChatError,
    ChatRequest,
    ModelServerMisconfigured,
    ModelServerUnreachable,
    openai_messages,
)
from skyscript.models.chat.limiter import AdaptiveLimiter, Outcome

log = logging.getLogger(__name__)

TRANSIENT_STATUS = frozenset({408, 409, 425, 429, 502, 503, 504})
OVERLOAD_STATUS = frozenset({429, 503})  # the server says it is too busy: fewer in flight
REFUSED_STATUS = CONFIG_STATUS | {422}  # a request the server will never take as sent
SERVER_ERROR_RETRIES = 1


def api_base(url: str) -> str:
    """``http://h:23333``, ``.../v1/`` or ``.../v1/chat/completions`` -> ``http://h:23333/v1``."""
    base = url.rstrip("/").removesuffix("/chat/completions")
    if not base.endswith("/v1"):
        base += "/v1"
    return base


def completions_url(url: str) -> str:
    return api_base(url) + "/chat/completions"


def server_message(resp: httpx.Response, limit: int = 300) -> str:
    """The server's own words: ``error.message`` / ``error`` / ``detail`` / ``message``, else the body."""
    text = resp.text.strip()
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("error", "detail", "message"):
            val = body.get(key)
            if isinstance(val, dict):
                val = val.get("message") or json.dumps(val)
            if val:
                text = val if isinstance(val, str) else json.dumps(val)
                break
    return " ".join(text.split())[:limit] or resp.reason_phrase


def _answer_text(body: Any) -> tuple[str, str | None]:
    try:
        choice = body["choices"][0]
        content = choice["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise ChatError("vlm_bad_response", f"no choices[0].message.content in the answer: {str(body)[:200]}") from exc
    if isinstance(content, list):  # content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if content is None:
        content = ""
    if not isinstance(content, str):
        raise ChatError("vlm_bad_response", f"message content is {type(content).__name__}, not text")
    return content, choice.get("finish_reason")


class ClientStats:
    """What the client did (thread-safe counters): ``requests`` sent, ``retries`` by class
    (``retry_transient``, ``retry_server_error``, ``retry_truncated``), ``timeouts``, HTTP statuses
    (``http_500``...), ``answers``, ``failures``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def bump(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.counts[key] += n

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)


class OpenAIChatClient:
    """An OpenAI-compatible chat endpoint; see the module docstring for the policy.

    ``label`` names the settings group in messages (``vlm`` -> ``SKYSCRIPT_VLM__MODEL``).
    """

    def __init__(
        self,
        endpoint: ModelEndpoint,
        *,
        label: str = "vlm",
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.label = label
        if not endpoint.url:
            raise BackendUnavailable(
                f"no endpoint url configured (set {self._env('URL')}, e.g. http://host:23333/v1)")
        self.endpoint = endpoint
        self.base = api_base(endpoint.url)
        self.url = self.base + "/chat/completions"
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.stats = ClientStats()
        self.limiter = AdaptiveLimiter(endpoint.concurrency, adaptive=endpoint.adaptive_concurrency,
                                       tolerance=endpoint.latency_tolerance)
        self._model: str | None = endpoint.model
        self._resolved = False
        self._verified = False  # an answer came back, or the listing names the model
        self._served: list[str] | None = None
        self._listed = False
        self._answered_model: str | None = None
        self._model_lock = threading.Lock()
        key = endpoint.api_key.get_secret_value()
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._http = httpx.Client(
            timeout=httpx.Timeout(endpoint.timeout_s, connect=min(10.0, endpoint.timeout_s)),
            headers=headers,
            transport=transport,
            limits=httpx.Limits(max_connections=endpoint.concurrency, max_keepalive_connections=endpoint.concurrency),
        )

    # --- plumbing -----------------------------------------------------------------------------

    def _env(self, field: str) -> str:
        return f"SKYSCRIPT_{self.label.upper()}__{field}"

    @property
    def model_id(self) -> str:
        """The model the requests name (after discovery), else the one the server answered as."""
        return self._model or self._answered_model or self.endpoint.model or "(server default)"

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

    # --- which model --------------------------------------------------------------------------

    def served_models(self) -> list[str] | None:
        """``GET /v1/models`` ids (cached); None when the server has no usable listing."""
        with self._model_lock:
            if self._listed:
                return self._served
            self._listed = True
            try:
                resp = self._http.get(self.base + "/models", timeout=min(10.0, self.endpoint.timeout_s))
            except httpx.HTTPError as exc:
                log.info("GET %s/models failed: %s", self.base, exc)
                return None
            if resp.status_code in (401, 403):
                raise ModelServerMisconfigured(
                    f"model server {self.base} refuses the API key (HTTP {resp.status_code} on GET /models: "
                    f"{server_message(resp, 120)}); set {self._env('API_KEY')}")
            try:
                data = resp.json()["data"] if resp.status_code == 200 else None
                self._served = [str(m["id"]) for m in data] if isinstance(data, list) else None
            except (ValueError, KeyError, TypeError):
                self._served = None
            return self._served

    def _ensure_model(self) -> str | None:
        if self._resolved:
            return self._model
        if self.endpoint.model is None:
            served = self.served_models()
            if served and len(served) > 1:
                raise ModelServerMisconfigured(
                    f"model server {self.base} serves several models ({', '.join(served)}) and {self._env('MODEL')} "
                    "is unset: set it to one of them")
            if served:
                self._model, self._verified = served[0], True
                log.info("model server %s serves %s: using it", self.base, self._model)
            else:
                log.info("model server %s lists no models: requests name none (the server's own model)", self.base)
        self._resolved = True
        return self._model

    def _check_model(self, status: int, message: str) -> None:
        """After a refusal or a 500 before any answer: is the model name the problem?"""
        if self._verified:
            return
        served = self.served_models()
        if served is None or not served:
            return
        if self._model is None or _served_name(self._model, served):
            self._verified = True
            return
        raise ModelServerMisconfigured(
            f"model server {self.base} does not serve model {self._model!r} (HTTP {status}: {message}); it serves: "
            f"{', '.join(served)}; set {self._env('MODEL')} to one of them, or unset it when it serves one")

    # --- one request --------------------------------------------------------------------------

    def _attempt(self, body: dict[str, Any], attempt: int) -> tuple[ChatAnswer | ChatError, Outcome, int | None, str | None]:
        """One POST: (answer or error, what it tells the limiter, completion tokens, Retry-After)."""
        self.stats.bump("requests")
        try:
            resp = self._http.post(self.url, json=body)
        except httpx.TimeoutException:
            self.stats.bump("timeouts")
            return ChatError("vlm_timeout", f"no answer within {self.endpoint.timeout_s:g}s from {self.url}", attempt), \
                "overload", None, None
        except httpx.TransportError as exc:
            self.stats.bump("unreachable")
            return ChatError("vlm_unreachable", f"{type(exc).__name__}: {exc} ({self.url})", attempt), "error", None, None
        status = resp.status_code
        self.stats.bump(f"http_{status}")
        if status != 200:
            err = ChatError(f"vlm_http_{status}", server_message(resp), attempt, status=status)
            retry_after = resp.headers.get("retry-after") if status in TRANSIENT_STATUS else None
            return err, "overload" if status in OVERLOAD_STATUS else "error", None, retry_after
        try:
            payload = resp.json()
        except ValueError:
            return ChatError("vlm_bad_response", f"answer is not JSON: {resp.text[:200]}", attempt), "error", None, None
        try:
            text, finish = _answer_text(payload)
        except ChatError as exc:
            exc.attempts = attempt
            return exc, "error", None, None
        usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else {}
        tokens = usage.get("completion_tokens") if isinstance(usage.get("completion_tokens"), int) else None
        model = str(payload.get("model") or body.get("model") or "")
        return ChatAnswer(text=text, model=model, attempts=attempt, finish_reason=finish, usage=usage,
                          max_tokens=body["max_tokens"]), "ok", tokens, None

    def chat(self, request: ChatRequest, abort: threading.Event | None = None) -> ChatAnswer:
        """One request with the retry policy; raises :class:`ChatError` (a loss for its items) or
        :class:`ModelServerMisconfigured` (the configuration is wrong)."""
        model = self._ensure_model()
        cap = self.endpoint.max_tokens
        budget = max(1, min(request.max_tokens, cap))
        transient = server_errors = truncations = 0
        attempt = 0
        while True:
            attempt += 1
            body: dict[str, Any] = {"messages": openai_messages(request), "max_tokens": budget,
                                    "temperature": request.temperature}
            if model is not None:
                body["model"] = model
            ticket = self.limiter.acquire(abort)
            if ticket is None:
                raise ChatError("vlm_aborted", "the batch was stopped (the model server is misconfigured)", attempt - 1)
            outcome: Outcome = "error"
            tokens: int | None = None
            try:  # the slot is held until the result is classified: a model check stops the others first
                result, outcome, tokens, retry_after = self._attempt(body, attempt)
                if isinstance(result, ChatError) and result.status is not None and (
                        result.status in REFUSED_STATUS or result.status == 500):
                    self._check_model(result.status, result.detail)  # raises when the model name is the problem
            finally:
                self.limiter.release(ticket, outcome, tokens)

            if isinstance(result, ChatAnswer):
                self._verified = True
                self._answered_model = result.model or None
                if result.finish_reason != "length" or request.allow_truncated:
                    self.stats.bump("answers")
                    return result
                if truncations == 0 and budget < cap:
                    truncations += 1
                    self.stats.bump("retry_truncated")
                    log.info("%s answer cut off at %d tokens; asking again with %d", self.label, budget, min(cap, budget * 2))
                    budget = min(cap, budget * 2)
                    continue
                self.stats.bump("failures")
                raise ChatError("truncated_answer", f"the answer was cut off at max_tokens={budget} "
                                f"(finish_reason=length; cap {self._env('MAX_TOKENS')}={cap})", attempt, text=result.text)

            err = result
            status = err.status
            if status == 500 and server_errors < SERVER_ERROR_RETRIES:
                server_errors += 1
                self.stats.bump("retry_server_error")
            elif (err.reason in ("vlm_timeout", "vlm_unreachable") or status in TRANSIENT_STATUS) \
                    and transient < self.endpoint.max_retries:
                transient += 1
                self.stats.bump("retry_transient")
            else:
                self.stats.bump("failures")
                if attempt > 1:
                    err = ChatError(err.reason, f"gave up after {attempt} attempts: {err.detail}", attempt, status=status)
                raise err
            log.warning("%s attempt %d failed (%s); retrying", self.label, attempt, err)
            self._wait(transient + server_errors - 1, retry_after)

    # --- a batch ------------------------------------------------------------------------------

    def chat_many(self, requests: Sequence[ChatRequest]) -> list[ChatAnswer | ChatError]:
        """All requests, at most the adaptive limit in flight; results in request order. Raises
        :class:`ModelServerMisconfigured` when the configuration is wrong and
        :class:`ModelServerUnreachable` when no request reached the server (see the module doc)."""
        if not requests:
            return []
        abort = threading.Event()
        fatal: list[ModelServerMisconfigured] = []

        def one(req: ChatRequest) -> ChatAnswer | ChatError:
            try:
                return self.chat(req, abort)
            except ChatError as exc:
                return exc
            except ModelServerMisconfigured as exc:
                fatal.append(exc)
                abort.set()
                return ChatError("vlm_aborted", str(exc))

        workers = min(self.endpoint.concurrency, len(requests))
        if workers <= 1:
            results = []
            for r in requests:
                results.append(one(r))
                if fatal:
                    break
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"{self.label}-chat") as pool:
                results = list(pool.map(one, requests))
        if fatal:
            raise fatal[0]
        refused = [r for r in results if isinstance(r, ChatError) and r.config_error]
        if len(refused) == len(requests):
            first = refused[0]
            served = self._served
            also = f"; it serves: {', '.join(served)}" if served else ""
            raise ModelServerMisconfigured(
                f"model server {self.base} refused all {len(requests)} requests for model {self.model_id!r} "
                f"(HTTP {first.status}: {first.detail}){also}; check {self._env('URL')}, {self._env('MODEL')} "
                f"and {self._env('API_KEY')}")
        if all(isinstance(r, ChatError) and r.reason == "vlm_unreachable" for r in results):
            first = results[0]
            assert isinstance(first, ChatError)
            raise ModelServerUnreachable(
                f"model server {self.base} unreachable for all {len(requests)} requests ({first.detail}); "
                f"check {self._env('URL')} and that the server is up")
        return results


def _served_name(model: str, served: list[str]) -> bool:
    """``model`` is listed (``name`` and ``name@main`` are the same model to ``transformers serve``)."""
    names = {s for s in served} | {s.split("@", 1)[0] for s in served}
    return model in names or model.split("@", 1)[0] in names
