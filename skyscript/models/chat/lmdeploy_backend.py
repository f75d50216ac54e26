"""The in-process lmdeploy pipeline (turbomind engine) for a GPU pod: batch throughput without a
server. lmdeploy is imported lazily; without it the constructor raises :class:`BackendUnavailable`
saying how to get it."""

from __future__ import annotations

from typing import Any, Sequence

from skyscript.models.chat.base import BackendUnavailable, ChatAnswer, ChatError, ChatRequest, openai_messages


class LmdeployPipelineBackend:
    """``model_path`` is a local model folder (resolved from the model directory, never a hub id).
    The pipeline batches internally, so :meth:`chat_many` hands it all requests at once. An answer
    cut off by ``max_tokens`` fails as ``truncated_answer`` (no retry: the budget is the caller's)."""

    def __init__(self, model_path: str, *, tp: int = 1, session_len: int = 16384, model_id: str | None = None) -> None:
        try:
            from lmdeploy import TurbomindEngineConfig, pipeline
        except ImportError as exc:
            raise BackendUnavailable(
                "the in-process VLM backend needs lmdeploy, which is only in the GPU image "
                "(pip install lmdeploy timm); use an OpenAI-compatible endpoint (SKYSCRIPT_VLM__URL) instead"
            ) from exc
        self.model_id = model_id or model_path
        self._pipe = pipeline(model_path, backend_config=TurbomindEngineConfig(tp=tp, session_len=session_len))

    def _gen_config(self, request: ChatRequest) -> Any:
        from lmdeploy import GenerationConfig

        return GenerationConfig(max_new_tokens=request.max_tokens, temperature=request.temperature, top_k=1)

    def chat(self, request: ChatRequest) -> ChatAnswer:
        out = self.chat_many([request])[0]
        if isinstance(out, ChatError):
            raise out
        return out

    def chat_many(self, requests: Sequence[ChatRequest]) -> list[ChatAnswer | ChatError]:
        if not requests:
            return []
        budget = max(r.max_tokens for r in requests)
        try:
            outs = self._pipe([openai_messages(r) for r in requests], gen_config=self._gen_config(requests[0]))
        except Exception as exc:  # noqa: BLE001 - one failed batch becomes per-request errors
            return [ChatError("vlm_pipeline_error", f"{type(exc).__name__}: {exc}") for _ in requests]
        results: list[ChatAnswer | ChatError] = []
        for o in outs:
            finish = getattr(o, "finish_reason", None)
            if finish == "length":
                results.append(ChatError("truncated_answer", f"the answer was cut off at max_tokens={budget}",
                                         text=o.text))
            else:
                results.append(ChatAnswer(text=o.text, model=self.model_id, finish_reason=finish, max_tokens=budget))
        return results

    def close(self) -> None:
        closer = getattr(self._pipe, "close", None)
        if callable(closer):
            closer()
