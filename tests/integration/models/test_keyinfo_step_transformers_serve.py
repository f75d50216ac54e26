"""The key-information step end to end against ``transformers serve`` (see conftest): a wrong
model name fails the step with one line naming the served model (not a loss per keyframe); an
unset one is discovered and the step runs, every keyframe accounted for."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from tiny_servers import VLM_ID, Served

from skyscript.config import ModelEndpoint, Settings
from skyscript.context import open_context
from skyscript.db import lineage
from skyscript.steps import registry
from skyscript.steps.base import StepContext
from skyscript.steps.runner import run_step

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "keyinfo"))
pytestmark = pytest.mark.integration
cv2 = pytest.importorskip("cv2")


def keyframes() -> list[np.ndarray]:
    from skimage import data

    astro = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    return [astro, cv2.flip(astro, 1)]


def make_ctx(tmp_path: Path, server: Served, model: str | None) -> StepContext:
    s = Settings(home=tmp_path / "home",
                 vlm=ModelEndpoint(url=server.url, model=model, timeout_s=60.0, max_tokens=64, concurrency=2))
    c = open_context(s, "test-drama")
    c.params = {"keyinfo": {"face_backend": "none", "tokens_per_image": 32}}
    return c


def test_a_wrong_model_name_fails_the_step_with_one_line(tmp_path: Path, real_servers: dict[str, Served]) -> None:
    from keyinfo_seed import EP, seed

    ctx = make_ctx(tmp_path, real_servers["vlm"], "internvl2")
    seed(ctx, keyframes())
    res = run_step(registry.get("keyinfo").load(), ctx, EP)
    assert res.status == "failed" and res.error is not None and "\n" not in res.error
    assert res.error.startswith("ModelServerMisconfigured: model server ")
    assert "does not serve model 'internvl2'" in res.error and f"it serves: {VLM_ID}" in res.error
    with ctx.db.session() as s:
        reasons = [l.reason for l in lineage.losses_of(s, "test-drama")]
    assert reasons == ["step_failed"]  # not a vlm_failed loss per keyframe
    ctx.db.dispose()


def test_the_step_discovers_the_model_and_accounts_for_every_keyframe(tmp_path: Path, real_servers: dict[str, Served]) -> None:
    from keyinfo_seed import EP, seed

    ctx = make_ctx(tmp_path, real_servers["vlm"], None)
    frames = seed(ctx, keyframes())
    res = run_step(registry.get("keyinfo").load(), ctx, EP)
    assert res.status == "success", res.error
    c = res.counts
    assert (c["keyframes"], c["vlm_requests"], c["answers_lost"], c["truncated_answer"]) == (2, 2, 2, 2)
    assert c["vlm_http_requests"] == 4 and c["vlm_retries"] == 2 and c["vlm_timeouts"] == 0  # 32 tokens, then 64
    with ctx.db.session() as s:
        losses = {(l.item_id, l.reason) for l in lineage.losses_of(s, "test-drama")}
    assert losses == {(f.keyframe_id, "truncated_answer") for f in frames}
    ctx.db.dispose()
