"""Chat backends for vision-language and language models: one interface, two ways to reach a model.

* :class:`OpenAIChatClient` speaks the OpenAI chat-completions API over HTTP (lmdeploy's
  ``api_server`` serving InternVL2, vLLM, ``transformers serve``), with model discovery, classified
  retries, adaptive concurrency and bounded generation (:mod:`.openai_client`).
* :class:`LmdeployPipelineBackend` runs the in-process lmdeploy pipeline inside a GPU pod.

Both take a :class:`ChatRequest` and return a :class:`ChatAnswer` or a :class:`ChatError` (a loss
for that item); :class:`ModelServerMisconfigured` (the configuration is wrong) and
:class:`ModelServerUnreachable` (no request of a batch reached the server) fail the step.
"""

from skyscript.models.chat.base import (
    BackendUnavailable,
    ChatAnswer,
    ChatBackend,
    ChatError,
    ChatRequest,
    ModelServerMisconfigured,
    ModelServerUnreachable,
    VlmError,
    data_url,
    openai_messages,
)
from skyscript.models.chat.limiter import AdaptiveLimiter
from skyscript.models.chat.lmdeploy_backend import LmdeployPipelineBackend
from skyscript.models.chat.openai_client import ClientStats, OpenAIChatClient, api_base, completions_url

__all__ = [
    "AdaptiveLimiter", "BackendUnavailable", "ChatAnswer", "ChatBackend", "ChatError", "ChatRequest", "ClientStats",
    "LmdeployPipelineBackend", "ModelServerMisconfigured", "ModelServerUnreachable", "OpenAIChatClient", "VlmError", "api_base",
    "completions_url", "data_url", "openai_messages",
]
