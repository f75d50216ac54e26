"""A STAND-IN for lmdeploy's ``api_server`` (and vLLM): a local HTTP server speaking the OpenAI
chat-completions API with recorded answers and injected faults. It is not a model: each request is
answered from a script chosen by what the request carries (the digest of its first image, or for
image-less correction requests a marker found in the text), so answers do not depend on the order
in which concurrent requests arrive.

Script entries, one per attempt (the last one repeats):
``Reply(text)``, ``Fail(status)``, ``Slow(seconds, text)``.
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


@dataclass(frozen=True)
class Reply:
    text: str


@dataclass(frozen=True)
class Fail:
    status: int
    body: str = "internal error"


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
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    on_request: Callable[[Recorded], None] | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

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

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                if not self.path.endswith("/v1/chat/completions"):
                    self._send(404, b'{"error": "not found"}')
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
                    standin._in_flight += 1
                    standin.max_in_flight = max(standin.max_in_flight, standin._in_flight)
                try:
                    if isinstance(action, Fail):
                        self._send(action.status, json.dumps({"error": action.body}).encode())
                        return
                    if isinstance(action, Slow):
                        time.sleep(action.seconds)
                    answer = {
                        "id": "chatcmpl-standin", "object": "chat.completion", "created": int(time.time()),
                        "model": standin.model,
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": action.text},
                                     "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }
                    self._send(200, json.dumps(answer).encode())
                finally:
                    with standin._lock:
                        standin._in_flight -= 1

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
