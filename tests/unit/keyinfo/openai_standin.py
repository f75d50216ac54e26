"""A STAND-IN for lmdeploy's ``api_server`` (and vLLM): a local HTTP server speaking the OpenAI
chat-completions API with recorded answers and injected faults. It is not a model: each request is
answered from a script chosen by what the request carries (the digest of its first image, or for
image-less correction requests a marker found in the text), so answers do not depend on the order
in which concurrent requests arrive.

Script entries, one per attempt (the last one repeats):
``Reply(text, finish_reason)``, ``Fail(status, body, retry_after)``, ``Slow(seconds, text)``.

Server behaviours a real server has: ``served`` (what ``GET /v1/models`` lists; ``None``: no such
route, 404), ``pinned`` (a request naming another model gets HTTP 400, as ``transformers serve
DIR`` answers), ``serial`` (one request generates at a time, the others queue, as ``transformers
serve`` without continuous batching does), ``capacity`` (up to that many generate at once at the
same latency and the rest queue, as a batching server with a full batch does), ``api_key`` (other
keys get 401).

What it observes: ``max_in_flight`` (the most chat requests it held at once, queued ones included)
and :meth:`mean_in_flight` (held requests averaged over time since :meth:`reset_window`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Union


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a client opening 16+ connections at once must not hit the backlog (SYN retry: 1 s)


@dataclass(frozen=True)
class Reply:
    text: str
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Fail:
    status: int
    body: str = "internal error"
    retry_after: str | None = None


@dataclass(frozen=True)
class Slow:
    seconds: float
    text: str


Action = Union[Reply, Fail, Slow]


def image_key(jpeg: bytes) -> str:
    return hashlib.sha256(jpeg).hexdigest()[:16]


@dataclass
class Recorded:
    key: str
    body: dict[str, Any]
    images: list[bytes]
    system: str
    user: str


@dataclass
class StandinOpenAI:
    """Start with :meth:`start`; ``url`` is the ``/v1`` base to configure."""

    model: str = "internvl2-standin"
    by_image: dict[str, list[Action]] = field(default_factory=dict)  # image_key(first image) -> script
    by_text: list[tuple[str, list[Action]]] = field(default_factory=list)  # (marker in user text, script)
    default: Action | None = None
    requests: list[Recorded] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)
    max_in_flight: int = 0
    served: list[str] | None = None
    pinned: str | None = None
    serial: bool = False
    capacity: int | None = None
    api_key: str | None = None
    model_list_calls: int = 0
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _generate: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _slots: threading.Semaphore | None = None
    _window_start: float = 0.0
    _last_change: float = 0.0
    _area: float = 0.0  # in-flight requests x seconds since the window started
    on_request: Callable[[Recorded], None] | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def _count(self, delta: int) -> None:
        """One request more (or fewer) in flight; called with ``_lock`` held."""
        now = time.monotonic()
        self._area += self._in_flight * (now - self._last_change)
        self._last_change = now
        self._in_flight += delta
        self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def reset_window(self) -> None:
        """Observe afresh from now: the peak and the time-averaged in-flight count."""
        with self._lock:
            now = time.monotonic()
            self._window_start = self._last_change = now
            self._area = 0.0
            self.max_in_flight = self._in_flight

    def mean_in_flight(self) -> float:
        """Requests held (generating or queued), averaged over the time since :meth:`reset_window`."""
        with self._lock:
            now = time.monotonic()
            span = now - self._window_start
            area = self._area + self._in_flight * (now - self._last_change)
            return area / span if span > 0 else 0.0

    def script_image(self, jpeg: bytes, *actions: Action) -> None:
        self.by_image[image_key(jpeg)] = list(actions)

    def script_text(self, marker: str, *actions: Action) -> None:
        self.by_text.append((marker, list(actions)))

    def _choose(self, rec: Recorded) -> tuple[str, Action]:
        if rec.images:
            key = image_key(rec.images[0])
            script = self.by_image.get(key)
        else:
            key, script = "text:?", None
            for marker, actions in self.by_text:
                if marker in rec.user:
                    key, script = f"text:{marker}", actions
                    break
        with self._lock:
            n = self.attempts.get(key, 0)
            self.attempts[key] = n + 1
        if script is None:
            if self.default is None:
                return key, Fail(404, f"stand-in has no script for {key}")
            return key, self.default
        return key, script[min(n, len(script) - 1)]

    def start(self) -> "StandinOpenAI":
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, payload: bytes, ctype: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _authorised(self) -> bool:
                if standin.api_key is None or self.headers.get("Authorization") == f"Bearer {standin.api_key}":
                    return True
                self._send(401, b'{"error": {"message": "invalid api key"}}')
                return False

            def do_GET(self) -> None:  # noqa: N802
                if not self._authorised():
                    return
                if not self.path.endswith("/v1/models") or standin.served is None:
                    self._send(404, b'{"detail": "Not Found"}')
                    return
                with standin._lock:
                    standin.model_list_calls += 1
                data = [{"id": m, "object": "model", "owned_by": "standin"} for m in standin.served]
                self._send(200, json.dumps({"object": "list", "data": data}).encode())

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                if not self.path.endswith("/v1/chat/completions"):
                    self._send(404, b'{"error": "not found"}')
                    return
                if not self._authorised():
                    return
                if standin.pinned is not None and body.get("model", standin.pinned) != standin.pinned:
                    msg = f"Server is pinned to '{standin.pinned}'; requested '{body.get('model')}'."
                    with standin._lock:
                        standin.requests.append(Recorded("refused", body, [], "", ""))
                    self._send(400, json.dumps({"detail": msg}).encode())
                    return
                msgs = body["messages"]
                system = next((m["content"] for m in msgs if m["role"] == "system"), "")
                user_parts = next(m["content"] for m in msgs if m["role"] == "user")
                images, texts = [], []
                for part in user_parts if isinstance(user_parts, list) else [{"type": "text", "text": user_parts}]:
                    if part["type"] == "image_url":
                        url = part["image_url"]["url"]
                        assert url.startswith("data:image/jpeg;base64,"), url[:40]
                        images.append(base64.b64decode(url.split(",", 1)[1]))
                    else:
                        texts.append(part["text"])
                rec = Recorded("", body, images, system, "\n".join(texts))
                key, action = standin._choose(rec)
                rec.key = key
                with standin._lock:
                    standin.requests.append(rec)
                    standin._count(+1)
                try:
                    if isinstance(action, Fail):
                        payload = json.dumps({"error": action.body}).encode()
                        if action.retry_after is None:
                            self._send(action.status, payload)
                            return
                        self.send_response(action.status)
                        self.send_header("Retry-After", action.retry_after)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(payload)))
                        self.end_headers()
                        self.wfile.write(payload)
                        return
                    if isinstance(action, Slow):
                        if standin.serial:
                            with standin._generate:
                                time.sleep(action.seconds)
                        elif standin._slots is not None:
                            with standin._slots:
                                time.sleep(action.seconds)
                        else:
                            time.sleep(action.seconds)
                    answer = {
                        "id": "chatcmpl-standin", "object": "chat.completion", "created": int(time.time()),
                        "model": standin.model,
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": action.text},
                                     "finish_reason": getattr(action, "finish_reason", "stop")}],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }
                    self._send(200, json.dumps(answer).encode())
                finally:
                    with standin._lock:
                        standin._count(-1)

        self._slots = threading.Semaphore(self.capacity) if self.capacity else None
        self.reset_window()
        self._server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
