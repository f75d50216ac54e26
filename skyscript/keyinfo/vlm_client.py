"""The chat backends the key-information step uses; they live in :mod:`skyscript.models.chat`
(model adapters). This module keeps the names the step layer imports."""

from skyscript.models.chat import (
    BackendUnavailable,
    ChatAnswer,
    ChatBackend,
    ChatError,
    ChatRequest,
    LmdeployPipelineBackend,
    ModelServerMisconfigured,
    ModelServerUnreachable,
    OpenAIChatClient,
    VlmError,
    completions_url,
    data_url,
    openai_messages,
)

__all__ = [
    "BackendUnavailable", "ChatAnswer", "ChatBackend", "ChatError", "ChatRequest", "LmdeployPipelineBackend",
    "ModelServerMisconfigured", "ModelServerUnreachable", "OpenAIChatClient", "VlmError", "completions_url", "data_url", "openai_messages",
]
