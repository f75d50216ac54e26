"""What every chat backend shares: the request and answer, the errors, the backend protocol, and the
OpenAI message shape (system text, then the images as data URLs, then the user text)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

from skyscript.errors import StepError


class ChatError(RuntimeError):
    """One chat call failed for good; the unit goes on. ``reason`` is short and stable (it becomes
    a loss detail, or with ``truncated_answer`` the loss reason); ``text`` holds a partial answer."""

    def __init__(self, reason: str, detail: str, attempts: int = 1, *, status: int | None = None,
                 text: str | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.attempts = attempts
        self.status = status
        self.text = text

    @property
    def config_error(self) -> bool:
        """HTTP 400/401/403/404: the kind of refusal a wrong URL, key or model name gives."""
        return self.status in CONFIG_STATUS


# The old name: the key-information code and its tests know the error by it.
VlmError = ChatError

CONFIG_STATUS = frozenset({400, 401, 403, 404})


class ModelServerMisconfigured(StepError):
    """The endpoint cannot work as configured (wrong model name, key or URL): the whole step fails
    with this one-line message, instead of every item becoming a loss."""


class ModelServerUnreachable(StepError):
    """No request of a batch reached the server (connection refused, no such host): the step fails
    and can be retried, instead of every item becoming a loss."""


class BackendUnavailable(RuntimeError):
    """The backend's package or configuration is missing."""


@dataclass(frozen=True)
class ChatRequest:
    system: str
    user: str
    images: Sequence[bytes] = ()
    image_mime: str = "image/jpeg"
    max_tokens: int = 1024
    temperature: float = 0.0
    allow_truncated: bool = False  # True: an answer cut off at max_tokens is returned as it is (finish_reason "length")


@dataclass
class ChatAnswer:
    text: str
    model: str
    attempts: int = 1
    finish_reason: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    max_tokens: int | None = None  # the generation budget of the attempt that answered


class ChatBackend(Protocol):
    model_id: str

    def chat(self, request: ChatRequest) -> ChatAnswer: ...

    def chat_many(self, requests: Sequence[ChatRequest]) -> list[ChatAnswer | ChatError]: ...

    def close(self) -> None: ...


def data_url(image: bytes, mime: str = "image/jpeg") -> str:
    return f"data:{mime};base64,{base64.b64encode(image).decode('ascii')}"


def openai_messages(request: ChatRequest) -> list[dict[str, Any]]:
    """The request as OpenAI chat messages: system text, then the images, then the user text."""
    if not request.images:
        return [{"role": "system", "content": request.system}, {"role": "user", "content": request.user}]
    content: list[dict[str, Any]] = [
        {"type": "image_url", "image_url": {"url": data_url(img, request.image_mime)}} for img in request.images
    ]
    content.append({"type": "text", "text": request.user})
    return [{"role": "system", "content": request.system}, {"role": "user", "content": content}]
